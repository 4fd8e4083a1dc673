//! The `postgres` source against a real PostgreSQL server, started by the
//! test in a throwaway cluster on loopback (initdb + pg_ctl from Debian's
//! `postgresql` package; as root they run as the `postgres` user).
//!
//! The differential tests load the same records into the warehouse (COPY)
//! and keep them as CSV, and require every number of `revalign check` to be
//! the same through SQL as through the in-process engine: counts exactly,
//! ratios and durations to 1e-9. Without PostgreSQL the tests fail saying how
//! to get it; `REVALIGN_NO_POSTGRES=1` skips them knowingly (CI never does).

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::str::FromStr;

use serde_json::Value;

mod common;

const PASSWORD: &str = "s3cret-Test-Pa55";

/// A PostgreSQL cluster in a temporary folder, stopped when dropped.
struct Server {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn pg_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").is_file() && p.join("pg_ctl").is_file())
        .collect();
    found.sort();
    found.pop()
}

impl Server {
    fn start() -> Option<Server> {
        Server::start_with(None)
    }

    /// With `tls`, a folder holding `server.pem` and `server.key`: TLS on,
    /// and connections without it refused (`hostssl` only).
    fn start_with(tls: Option<&Path>) -> Option<Server> {
        if std::env::var_os("REVALIGN_NO_POSTGRES").is_some() {
            return None;
        }
        let bin = pg_bin().unwrap_or_else(|| {
            panic!(
                "these tests need a PostgreSQL server: `apt-get install postgresql` (the test starts its own cluster), or set REVALIGN_NO_POSTGRES=1 to skip them"
            )
        });
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).expect("pwfile");
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success());
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let server = Server {
            dir,
            bin,
            port,
            as_postgres,
        };
        let out = server.pg(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-U",
                "revalign",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                &format!("--pwfile={}", pwfile.display()),
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut opts = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={} -c fsync=off",
            server.dir.path().display()
        );
        if let Some(certs) = tls {
            let hba = data.join("pg_hba.conf");
            let text = std::fs::read_to_string(&hba).expect("pg_hba.conf");
            let only_tls: String = text
                .lines()
                .map(|l| match l.strip_prefix("host ") {
                    Some(rest) => format!("hostssl {rest}\n"),
                    None => format!("{l}\n"),
                })
                .collect();
            std::fs::write(&hba, only_tls).expect("pg_hba.conf");
            opts.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                certs.join("server.pem").display(),
                certs.join("server.key").display()
            ));
        }
        let out = server.pg(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-o",
                &opts,
                "-l",
                &server.dir.path().join("log").display().to_string(),
                "-w",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(server.dir.path().join("log")).unwrap_or_default()
        );
        Some(server)
    }

    fn pg(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .output()
            .expect(tool)
    }

    /// The URL without the password (given through `password_env`).
    fn url(&self) -> String {
        format!("postgres://revalign@127.0.0.1:{}/postgres", self.port)
    }

    fn client(&self) -> postgres::Client {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user("revalign")
            .password(PASSWORD)
            .dbname("postgres")
            .connect(postgres::NoTls)
            .expect("connect")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.dir.path().join("data").display().to_string();
        let _ = self.pg("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}

/// Creates a table with the CSV's header as columns (`*_at` timestamptz;
/// the listed numeric and boolean columns typed; the rest text) and COPYs
/// the file in.
fn load(
    client: &mut postgres::Client,
    table: &str,
    csv: &Path,
    numeric: &[&str],
    boolean: &[&str],
) {
    let text = std::fs::read_to_string(csv).expect("csv");
    let header = text.lines().next().expect("header");
    let cols: Vec<String> = header
        .split(',')
        .map(|c| {
            let ty = if c.ends_with("_at") {
                "timestamptz"
            } else if numeric.contains(&c) {
                "double precision"
            } else if boolean.contains(&c) {
                "boolean"
            } else {
                "text"
            };
            format!("\"{c}\" {ty}")
        })
        .collect();
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} ({})",
            cols.join(", ")
        ))
        .expect("create");
    let mut w = client
        .copy_in(&format!(
            "COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)"
        ))
        .expect("copy");
    w.write_all(text.as_bytes()).expect("write");
    w.finish().expect("finish");
}

/// Loads an alignment's `data/` exports into `leads` and `deals`, typed.
fn load_acme(client: &mut postgres::Client, dir: &Path) {
    load(
        client,
        "leads",
        &dir.join("data/leads.csv"),
        &["score"],
        &[],
    );
    load(
        client,
        "deals",
        &dir.join("data/deals.csv"),
        &["amount"],
        &["won"],
    );
}

/// The Acme alignment in a folder, with a `warehouse` source beside the CSV one.
fn acme_with_warehouse(extra_manifest: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    common::copy_alignment(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme"),
        tmp.path(),
    );
    let manifest = tmp.path().join("revalign.toml");
    let mut text = std::fs::read_to_string(&manifest).expect("manifest");
    text.push_str(&format!(
        "\n[source.warehouse]\nkind = \"postgres\"\nurl_env = \"REVALIGN_TEST_PG_URL\"\npassword_env = \"REVALIGN_TEST_PG_PASSWORD\"\n{extra_manifest}"
    ));
    std::fs::write(&manifest, text).expect("write");
    tmp
}

fn revalign(server: &Server, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_revalign"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("REVALIGN_TEST_PG_URL", server.url())
        .env("REVALIGN_TEST_PG_PASSWORD", PASSWORD)
        .output()
        .expect("run revalign");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scorecard(server: &Server, dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["check", ".", "--format", "json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = revalign(server, dir, &all);
    assert!(
        (0..=3).contains(&code) && code != 2,
        "exit {code}: {stderr}\n{stdout}"
    );
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The scorecards of the CSV source and of the warehouse, for the same flags.
fn both(server: &Server, dir: &Path, args: &[&str]) -> (Value, Value) {
    let csv = scorecard(server, dir, &[args, &["--source", "crm_export"]].concat());
    let sql = scorecard(server, dir, &[args, &["--source", "warehouse"]].concat());
    (csv, sql)
}

/// Definition drift agrees stage by stage: counts, and the example records
/// (ids rise with the files' rows here, so both keep the same five) with
/// what they fail; warehouse rows have no file line.
fn same_drift(csv: &Value, sql: &Value, what: &str) -> u64 {
    let strip = |doc: &Value| -> Vec<Value> {
        let mut d = doc["drift"].as_array().expect("drift").clone();
        for stage in &mut d {
            for e in stage["examples"].as_array_mut().expect("examples") {
                e.as_object_mut().expect("example").remove("row");
            }
            stage.as_object_mut().expect("stage").remove("source");
        }
        d
    };
    let (a, b) = (strip(csv), strip(sql));
    assert!(!a.is_empty(), "{what}: drift judged");
    assert_eq!(a, b, "{what}: drift");
    a.iter().map(|d| d["judged"].as_u64().unwrap_or(0)).sum()
}

/// Every result of the two scorecards agrees: status, counts exactly,
/// values to 1e-9, and the definition drift. Returns how many results were
/// compared.
fn same_numbers(csv: &Value, sql: &Value, what: &str) -> usize {
    if !csv["drift"].as_array().is_some_and(Vec::is_empty) {
        same_drift(csv, sql, what);
    }
    let a = csv["results"].as_array().expect("results");
    let b = sql["results"].as_array().expect("results");
    assert_eq!(a.len(), b.len(), "{what}: as many results");
    let mut with_value = 0;
    for (x, y) in a.iter().zip(b) {
        let key = format!("{what}: {} {} {}", x["kind"], x["id"], x["period"]);
        assert_eq!((&x["id"], &x["period"]), (&y["id"], &y["period"]), "{key}");
        assert_eq!(x["status"], y["status"], "{key}: {x:#} vs {y:#}");
        if x["status"] == "error" {
            // The same failure, not two different ones (only a foreign
            // currency in a sum is expected here).
            assert_eq!(x["note"], y["note"], "{key}");
        }
        for k in ["hits", "total", "left_out"] {
            assert_eq!(x[k], y[k], "{key} {k}");
        }
        for k in ["actual", "previous", "compared"] {
            match (x[k].as_f64(), y[k].as_f64()) {
                (Some(p), Some(q)) => {
                    assert!(
                        (p - q).abs() <= 1e-9 * p.abs().max(1.0),
                        "{key} {k}: {p} vs {q}"
                    )
                }
                (p, q) => assert_eq!(p, q, "{key} {k}"),
            }
        }
        with_value += x["actual"].is_number() as usize;
    }
    with_value
}

#[test]
fn acme_through_sql_equals_the_engine() {
    let Some(server) = Server::start() else {
        return;
    };
    let dir = acme_with_warehouse("");
    let mut client = server.client();
    load(
        &mut client,
        "leads",
        &dir.path().join("data/leads.csv"),
        &["employees", "score", "bant_score", "amount"],
        &[],
    );
    load(
        &mut client,
        "deals",
        &dir.path().join("data/deals.csv"),
        &["amount"],
        &["won"],
    );
    let mut compared = 0;
    for args in [
        // Weeks, months, fiscal quarters and the fiscal year, closed.
        &[
            "--period",
            "2026-10",
            "--last",
            "8",
            "--as-of",
            "2026-11-01",
        ][..],
        // An open period judged on pace, with events after the cutoff ignored.
        &["--period", "2026-10", "--as-of", "2026-10-17T15:30:00Z"],
        // Periods before the data: no data, not zero.
        &["--period", "2024-12", "--as-of", "2026-11-01"],
    ] {
        let (csv, sql) = both(&server, dir.path(), args);
        compared += same_numbers(&csv, &sql, &args.join(" "));
    }
    assert!(compared > 150, "compared {compared} values");
    let args = [
        "--period",
        "2026-10",
        "--last",
        "6",
        "--as-of",
        "2026-11-01",
    ];
    let (csv, sql) = both(&server, dir.path(), &args);
    assert!(same_drift(&csv, &sql, "acme drift") > 1000);

    // --explain: the same records behind each kind of number, with their
    // times, amounts and owners (warehouse rows have no file line).
    for id in [
        "follow-up-24h",
        "mql-acceptance",
        "speed-to-lead",
        "pipeline-coverage",
        "win-rate",
        "sql-volume",
        "sales-recycle-reasons",
    ] {
        let records = |source: &str| -> Vec<Value> {
            let (code, stdout, stderr) = revalign(
                &server,
                dir.path(),
                &[
                    "check",
                    ".",
                    "--format",
                    "json",
                    "--period",
                    "2026-10",
                    "--as-of",
                    "2026-11-01",
                    "--source",
                    source,
                    "--explain",
                    id,
                ],
            );
            assert!(code < 2, "{id} {source}: {stderr}");
            let doc: Value = serde_json::from_str(&stdout).expect("json");
            let mut rows: Vec<Value> = doc["records"].as_array().expect("records").clone();
            for r in &mut rows {
                r.as_object_mut().expect("object").remove("row");
            }
            rows.sort_by_key(|r| r["id"].as_str().unwrap_or("").to_string());
            rows
        };
        let (csv, sql) = (records("crm_export"), records("warehouse"));
        assert!(!csv.is_empty(), "{id}");
        assert_eq!(csv, sql, "{id}");
    }

    // The layout `warehouse init-sql` prints: it runs, holds what the
    // metrics read, and gives the same numbers.
    let (code, ddl, stderr) = revalign(&server, dir.path(), &["warehouse", "init-sql", "."]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!ddl.to_uppercase().contains("DROP") && !ddl.to_uppercase().contains("ALTER"));
    client
        .batch_execute(&format!(
            "CREATE SCHEMA layout; SET search_path TO layout; {ddl}"
        ))
        .expect("the printed DDL runs");
    for table in ["leads", "deals"] {
        let cols: Vec<(String, String)> = client
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = 'layout' AND table_name = $1 ORDER BY ordinal_position",
                &[&table],
            )
            .expect("columns")
            .iter()
            .map(|r| (format!("\"{}\"", r.get::<_, String>(0)), r.get::<_, String>(1)))
            .filter(|(c, _)| c != "\"is_closed\"")
            .collect();
        let names: Vec<&str> = cols.iter().map(|(c, _)| c.as_str()).collect();
        let casts: Vec<String> = cols.iter().map(|(c, t)| format!("{c}::{t}")).collect();
        client
            .batch_execute(&format!(
                "INSERT INTO layout.{table} ({}) SELECT {} FROM public.{table}",
                names.join(", "),
                casts.join(", ")
            ))
            .expect("insert");
    }
    let manifest = dir.path().join("revalign.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(
        &manifest,
        format!("{text}leads = \"layout.leads\"\ndeals = \"layout.deals\"\n"),
    )
    .expect("write");
    let args = [
        "--period",
        "2026-10",
        "--last",
        "3",
        "--as-of",
        "2026-11-01",
    ];
    let (csv, sql) = both(&server, dir.path(), &args);
    assert!(same_numbers(&csv, &sql, "init-sql layout") > 30);
}

/// Metrics beyond Acme's, for every kind of predicate: numbers compared and
/// equal, numbers written as text, booleans written every way, `not_in`,
/// `any`, `not`, `exists = false`, percentiles, `within` on shares, sums of
/// closed deals with a condition on the amount, win rates.
const MORE_METRICS: &str = r#"
[[metric]]
id = "r_score"
name = "MQLs scoring 65 or more"
unit = "count"
owners = ["marketing"]
kind = "stage_count"
stage = "mql"
filter = { field = "score", gte = 65 }

[[metric]]
id = "r_employees"
name = "Leads from 158-person companies, or at most 20"
unit = "count"
owners = ["marketing"]
kind = "stage_count"
stage = "lead"
filter = { any = [ { field = "employees", eq = 158 }, { field = "employees", lte = 20.5 } ] }

[[metric]]
id = "r_not_in"
name = "MQLs outside the US that are not SMB"
unit = "percent"
owners = ["marketing"]
kind = "share"
stage = "mql"
filter = { not = { field = "country", eq = "US" } }
condition = { field = "segment", not_in = ["smb"] }

[[metric]]
id = "r_mixed"
name = "SAL to SQL for low scores or business mail"
unit = "percent"
owners = ["marketing"]
kind = "conversion"
from = "sal"
to = "sql"
within = "30d"
filter = { any = [ { field = "bant_score", in = [1, 2, "3"] }, { field = "email_type", ne = "personal" } ] }

[[metric]]
id = "r_meeting"
name = "MQLs with a meeting booked"
unit = "count"
owners = ["marketing"]
kind = "stage_count"
stage = "mql"
filter = { field = "meeting_booked", eq = true }

[[metric]]
id = "r_unowned"
name = "Leads nobody owns"
unit = "count"
owners = ["marketing"]
kind = "stage_count"
stage = "lead"
filter = { field = "owner", exists = false }

[[metric]]
id = "r_p75"
name = "Lead to MQL, 75th percentile"
unit = "duration"
owners = ["marketing"]
kind = "duration"
from = "created"
to = "mql"
percentile = 75

[[metric]]
id = "r_share_within"
name = "SALs reaching SQL within 30 days of the MQL"
unit = "percent"
owners = ["marketing"]
kind = "share"
stage = "sal"
from = "mql"
to = "sql"
within = "30d"

[[metric]]
id = "r_big_closed"
name = "Closed deals over 10k"
unit = "currency"
owners = ["sales"]
kind = "sum"
field = "amount"
date = "closed"
condition = { field = "amount", gt = 10000 }

[[metric]]
id = "r_win_smb"
name = "SMB win rate"
unit = "percent"
owners = ["sales"]
kind = "win_rate"
filter = { field = "segment", eq = "smb" }
"#;

/// A goal per metric (monthly and quarterly), targets that any value meets.
fn goals_for(metrics: &str) -> String {
    let mut out = String::new();
    let mut id = None;
    for line in metrics.lines() {
        if let Some(v) = line.strip_prefix("id = ") {
            id = Some(v.trim_matches('"').to_string());
        }
        if let (Some(m), Some(unit)) = (&id, line.strip_prefix("unit = ")) {
            let target = match unit.trim_matches('"') {
                "percent" => ">= 50%",
                "duration" => "<= 24h",
                _ => ">= 100",
            };
            for period in ["month", "quarter", "week"] {
                out.push_str(&format!(
                    "[[goal]]\nid = \"g-{}-{period}\"\ntitle = \"{m}\"\nmetric = \"{m}\"\ntarget = \"{target}\"\nperiod = \"{period}\"\nowners = [\"marketing\", \"sales\"]\n\n",
                    m.replace('_', "-")
                ));
            }
            id = None;
        }
    }
    out
}

/// Acme's records, cut to a sample and disturbed: timestamps blanked, moved
/// onto period boundaries (to the millisecond either side of midnight in the
/// organisation's zone), stages out of order, booleans and numbers written
/// the ways exports write them, blank segments and owners, currencies in
/// other cases and a foreign one.
fn randomized(seed: u64, dir: &Path) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let acme = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme/data");
    let leads = std::fs::read_to_string(acme.join("leads.csv")).expect("leads");
    let mut lines = leads.lines();
    let header = lines.next().expect("header");
    let cols: Vec<&str> = header.split(',').collect();
    let times: Vec<usize> = (0..cols.len())
        .filter(|i| cols[*i].ends_with("_at"))
        .collect();
    let col = |n: &str| cols.iter().position(|c| *c == n).expect(n);
    let boundaries = [
        "2026-10-01T04:00:00Z",
        "2026-10-01T03:59:59.999Z",
        "2026-09-30T18:30:00Z",
        "2026-11-01T04:00:00.000Z",
        "2026-08-01T04:00:00+00:00",
        "2026-10-31T23:59:59-04:00",
    ];
    let mut out = format!("{header}\n");
    for line in lines {
        if rng.u8(..) >= 40 {
            continue;
        }
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        if cells.len() != cols.len() {
            continue;
        }
        for &t in &times {
            if cells[t].is_empty() {
                continue;
            }
            match rng.u8(..100) {
                0..=5 => cells[t].clear(),
                6..=9 => cells[t] = boundaries[rng.usize(..boundaries.len())].to_string(),
                _ => {}
            }
        }
        if rng.u8(..100) < 5 {
            let (a, b) = (
                times[rng.usize(..times.len())],
                times[rng.usize(..times.len())],
            );
            cells.swap(a, b);
        }
        let meeting = col("meeting_booked");
        cells[meeting] =
            ["", "true", "TRUE", "yes", "No", "0", "1", "false"][rng.usize(..8)].into();
        // Missing written as nothing, as `null`, and values with a tab.
        let segment = col("segment");
        match rng.u8(..100) {
            0..=9 => cells[segment].clear(),
            10..=12 => cells[segment] = "NULL".into(),
            13..=15 => cells[segment] = format!("{}\t", cells[segment]),
            _ => {}
        }
        // Numbers with thousands commas.
        let employees = col("employees");
        if rng.u8(..100) < 10 && cells[employees].len() > 3 {
            let n = &cells[employees];
            cells[employees] = format!("\"{},{}\"", &n[..n.len() - 3], &n[n.len() - 3..]);
        }
        if rng.u8(..100) < 20 {
            cells[col("owner")].clear();
        }
        let bant = col("bant_score");
        cells[bant] = ["", "1", "2", "3", "3.0", " 2 ", "4"][rng.usize(..7)].into();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    std::fs::write(dir.join("data/leads.csv"), out).expect("write");

    let deals = std::fs::read_to_string(acme.join("deals.csv")).expect("deals");
    let mut lines = deals.lines();
    let header = lines.next().expect("header");
    let cols: Vec<&str> = header.split(',').collect();
    let col = |n: &str| cols.iter().position(|c| *c == n).expect(n);
    let mut out = format!("{header}\n");
    for line in lines {
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        let won = col("won");
        cells[won] = match (cells[won].as_str(), rng.u8(..100)) {
            (_, 0..=4) => String::new(),
            ("true", 5..=30) => "yes".into(),
            ("false", 5..=30) => "0".into(),
            (w, _) => w.to_string(),
        };
        let cur = col("currency");
        if rng.u8(..100) < 5 {
            cells[cur] = "usd".into();
        }
        if rng.u16(..1000) < 2 {
            cells[cur] = "EUR".into();
        }
        if rng.u8(..100) < 5 {
            cells[col("closed_at")] = boundaries[rng.usize(..boundaries.len())].into();
        }
        if rng.u8(..100) < 3 {
            cells[col("amount")].clear();
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    std::fs::write(dir.join("data/deals.csv"), out).expect("write");
}

#[test]
fn randomized_records_through_sql_equal_the_engine() {
    let Some(server) = Server::start() else {
        return;
    };
    let mut client = server.client();
    let mut compared = 0;
    for (seed, zone) in [(1, "America/New_York"), (2, "Asia/Kolkata"), (3, "UTC")] {
        let dir = acme_with_warehouse("");
        randomized(seed, dir.path());
        // Another zone (half-hour offsets in Kolkata), the extra metrics, a
        // goal per metric and period kind, no SLA.
        let manifest = dir.path().join("revalign.toml");
        let text = std::fs::read_to_string(&manifest).expect("manifest");
        std::fs::write(&manifest, text.replace("America/New_York", zone)).expect("write");
        let metrics_path = dir.path().join("metrics.toml");
        let mut metrics = std::fs::read_to_string(&metrics_path).expect("metrics");
        metrics.push_str(MORE_METRICS);
        std::fs::write(&metrics_path, &metrics).expect("write");
        std::fs::write(dir.path().join("goals.toml"), goals_for(&metrics)).expect("goals");
        std::fs::remove_file(dir.path().join("sla.toml")).expect("sla");
        // Every column text: the SQL reads numbers and booleans from text as
        // the file source does.
        load(
            &mut client,
            "leads",
            &dir.path().join("data/leads.csv"),
            &[],
            &[],
        );
        load(
            &mut client,
            "deals",
            &dir.path().join("data/deals.csv"),
            &[],
            &[],
        );
        for args in [
            &[
                "--period",
                "2026-10",
                "--last",
                "4",
                "--as-of",
                "2026-11-01",
            ][..],
            &["--period", "2026-10", "--as-of", "2026-10-12T00:00:00.001Z"],
        ] {
            let what = format!("seed {seed} {zone} {}", args.join(" "));
            let (csv, sql) = both(&server, dir.path(), args);
            compared += same_numbers(&csv, &sql, &what);
        }
    }
    assert!(compared > 300, "compared {compared} values");
}

/// Runs `check` on the warehouse with these environment variables.
fn check_with(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_revalign"));
    cmd.args([
        "check",
        ".",
        "--format",
        "json",
        "--no-drift",
        "--source",
        "warehouse",
    ])
    .args(["--period", "2026-10", "--as-of", "2026-11-01"])
    .args(args)
    .current_dir(dir)
    .env_clear()
    .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run revalign");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));
    (out.status.code().unwrap_or(-1), doc, stderr)
}

fn statuses(doc: &Value) -> Vec<(String, String, String)> {
    doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["metric"].as_str().unwrap_or("").to_string(),
                r["status"].as_str().unwrap_or("").to_string(),
                format!(
                    "{} | {}",
                    r["note"].as_str().unwrap_or(""),
                    r["help"].as_str().unwrap_or("")
                ),
            )
        })
        .collect()
}

#[test]
fn warehouse_faults_are_errors_never_passes() {
    let Some(server) = Server::start() else {
        return;
    };
    let dir = acme_with_warehouse("");
    let mut client = server.client();
    load_acme(&mut client, dir.path());
    let url = server.url();
    let good = [
        ("REVALIGN_TEST_PG_URL", url.as_str()),
        ("REVALIGN_TEST_PG_PASSWORD", PASSWORD),
    ];
    let (code, doc, stderr) = check_with(dir.path(), &good, &[]);
    assert_eq!(code, 1, "acme misses targets in October: {stderr}");
    assert!(
        statuses(&doc).iter().all(|(_, s, _)| s != "error"),
        "{doc:#}"
    );

    // Every target is an error (exit 3), with the reason and the fix; no
    // secret in anything printed.
    let all_errors = |env: &[(&str, &str)], want: &str, help: &str| {
        let (code, doc, stderr) = check_with(dir.path(), env, &[]);
        assert_eq!(code, 3, "{want}: {stderr}");
        for (m, s, note) in statuses(&doc) {
            assert_eq!(s, "error", "{want}: {m}");
            assert!(note.contains(want), "{m}: {note}");
            assert!(note.contains(help), "{m}: {note}");
        }
        let text = format!("{doc}{stderr}");
        assert!(
            !text.contains(PASSWORD) && !text.contains("wrong-Pa55"),
            "{text}"
        );
    };
    // No server there.
    let closed = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let nowhere = format!("postgres://revalign@127.0.0.1:{closed}/postgres");
    all_errors(
        &[
            ("REVALIGN_TEST_PG_URL", &nowhere),
            ("REVALIGN_TEST_PG_PASSWORD", PASSWORD),
        ],
        &format!("cannot reach PostgreSQL at 127.0.0.1:{closed}/postgres"),
        "REVALIGN_TEST_PG_URL",
    );
    // Wrong password.
    all_errors(
        &[
            ("REVALIGN_TEST_PG_URL", &url),
            ("REVALIGN_TEST_PG_PASSWORD", "wrong-Pa55"),
        ],
        "refused the credentials",
        "REVALIGN_TEST_PG_PASSWORD",
    );
    // A password inside the URL is not echoed either.
    let inline = format!(
        "postgres://revalign:wrong-Pa55@127.0.0.1:{}/postgres",
        server.port
    );
    all_errors(
        &[("REVALIGN_TEST_PG_URL", &inline)],
        "environment variable REVALIGN_TEST_PG_PASSWORD (password_env) is not set",
        "export REVALIGN_TEST_PG_PASSWORD",
    );
    // The URL variable is not set.
    all_errors(
        &[("REVALIGN_TEST_PG_PASSWORD", PASSWORD)],
        "the environment variable REVALIGN_TEST_PG_URL is not set",
        "export REVALIGN_TEST_PG_URL=postgres://",
    );
    // A statement timeout (set in the URL's options).
    let slow = format!("{url}?options=-c%20statement_timeout%3D1");
    let (code, doc, _) = check_with(
        dir.path(),
        &[
            ("REVALIGN_TEST_PG_URL", &slow),
            ("REVALIGN_TEST_PG_PASSWORD", PASSWORD),
        ],
        &["--last", "24"],
    );
    assert_eq!(code, 3);
    assert!(
        statuses(&doc)
            .iter()
            .any(|(_, s, n)| s == "error" && n.contains("statement timeout")),
        "{doc:#}"
    );
    assert!(
        statuses(&doc).iter().all(|(_, s, _)| s != "pass"),
        "nothing passes on a timeout"
    );

    // A missing table, named with the key that fixes it; a missing column
    // fails only the metrics that need it, naming the mapping key.
    let manifest = dir.path().join("revalign.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, format!("{text}leads = \"crm.contacts\"\n")).expect("write");
    let (code, doc, _) = check_with(dir.path(), &good, &[]);
    assert_eq!(code, 3);
    for (m, s, note) in statuses(&doc) {
        let on_deals = [
            "bookings",
            "pipeline_created",
            "expansion_bookings",
            "win_rate",
        ]
        .contains(&m.as_str());
        if on_deals {
            assert_ne!(s, "error", "{m}: deals are still read");
        } else {
            assert_eq!(s, "error", "{m}");
            assert!(
                note.contains("table `crm.contacts` does not exist"),
                "{note}"
            );
            assert!(note.contains("[source.warehouse] leads"), "{note}");
        }
    }
    std::fs::write(
        &manifest,
        format!("{text}[source.warehouse.columns]\nsal = \"sal_date\"\n"),
    )
    .expect("write");
    let (code, doc, _) = check_with(dir.path(), &good, &[]);
    assert_eq!(code, 3);
    let rows = statuses(&doc);
    let (broken, fine): (Vec<_>, Vec<_>) = rows.iter().partition(|(_, s, _)| s == "error");
    assert!(
        broken.iter().all(|(m, _, n)| {
            ["mql_acceptance", "time_to_accept"].contains(&m.as_str())
                && n.contains("table `leads` has no column `sal_date` for `sal`")
                && n.contains("fix `sal` in [source.warehouse.columns]")
        }),
        "{broken:#?}"
    );
    assert!(!broken.is_empty() && fine.len() > 10, "{rows:#?}");
}

/// A CA and a server certificate for 127.0.0.1 signed by it (openssl).
fn certificates(dir: &Path, as_postgres: bool) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (apt-get install openssl)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=revalign test CA",
        "-days",
        "2",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext",
    ]);
    let key = dir.join("server.key");
    let mut perms = std::fs::metadata(&key).expect("key").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
    std::fs::set_permissions(&key, perms).expect("chmod");
    if as_postgres {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .expect("chown");
        assert!(status.success());
    }
}

#[test]
fn tls_verified_against_the_named_ca() {
    if std::env::var_os("REVALIGN_NO_POSTGRES").is_some() {
        return;
    }
    let certs = tempfile::tempdir().expect("tempdir");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root {
        // The server (as postgres) must reach the folder.
        let mut perms = std::fs::metadata(certs.path()).expect("dir").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(certs.path(), perms).expect("chmod");
    }
    certificates(certs.path(), root);
    let Some(server) = Server::start_with(Some(certs.path())) else {
        return;
    };
    let dir = acme_with_warehouse("");
    let ca = certs.path().join("ca.pem").display().to_string();
    let encoded = ca.replace('/', "%2F");
    let url = server.url();
    {
        // The test's own client over TLS (the server takes nothing else).
        let mut client = postgres::Config::from_str(&format!("{url}?sslmode=require"))
            .expect("url")
            .password(PASSWORD)
            .connect(tls_trusting(&ca))
            .expect("connect over TLS");
        load_acme(&mut client, dir.path());
    }
    let with = |url: &str, extra: &[(&str, &str)]| {
        let mut env = vec![
            ("REVALIGN_TEST_PG_URL", url),
            ("REVALIGN_TEST_PG_PASSWORD", PASSWORD),
        ];
        env.extend_from_slice(extra);
        check_with(dir.path(), &env, &[])
    };
    // Plain text is refused by this server: an error naming why, not a pass.
    let (code, doc, _) = with(&format!("{url}?sslmode=disable"), &[]);
    assert_eq!(code, 3);
    for (m, s, note) in statuses(&doc) {
        assert_eq!(s, "error", "{m}");
        assert!(note.contains("no encryption"), "{note}");
    }
    // TLS, but the server's CA is not among Mozilla's roots: refused, with the fix.
    let (code, doc, _) = with(&format!("{url}?sslmode=require"), &[]);
    assert_eq!(code, 3);
    for (m, s, note) in statuses(&doc) {
        assert_eq!(s, "error", "{m}");
        assert!(
            note.contains("no trusted TLS connection") && note.contains("sslrootcert"),
            "{note}"
        );
    }
    // The CA named in the URL, or in PGSSLROOTCERT with the default sslmode:
    // the same scorecard as without TLS (October misses targets: exit 1).
    for (url, extra) in [
        (
            format!("{url}?sslmode=require&sslrootcert={encoded}"),
            vec![],
        ),
        (url.clone(), vec![("PGSSLROOTCERT", ca.as_str())]),
    ] {
        let (code, doc, stderr) = with(&url, &extra);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            statuses(&doc).iter().all(|(_, s, _)| s != "error"),
            "{doc:#}"
        );
    }
}

/// The test's TLS for its own client: trusting the test CA.
fn tls_trusting(ca: &str) -> tokio_postgres_rustls::MakeRustlsConnect {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(ca).expect("ca") {
        roots.add(c.expect("cert")).expect("add");
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}
