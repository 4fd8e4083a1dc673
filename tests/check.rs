//! `revalign check` on small hand-made exports, every expected number worked
//! out by hand in the comments: time zones and daylight saving, period and
//! fiscal boundaries, stages out of order and skipped, missing timestamps,
//! duplicate ids, bad values, missing columns, empty periods.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const MANIFEST: &str = r#"
[organization]
name = "Test Co"
time_zone = "America/New_York"
fiscal_year_start = "february"

[team.marketing]
name = "Marketing"
head = { name = "Ada Park", email = "ada@test.example", handle = "adapark" }

[team.sales]
name = "Sales"
head = { name = "Ben Cruz", email = "ben@test.example", handle = "bencruz" }

[source.crm]
kind = "csv"
leads = "leads.csv"
deals = "deals.csv"

[defaults]
period = "month"
source = "crm"
currency = "USD"
"#;

const LEADS_TOML: &str = r#"
[[stage]]
id = "mql"
name = "MQL"
owner = "marketing"

[[stage]]
id = "sal"
name = "SAL"
owner = "sales"

[[stage]]
id = "sql"
name = "SQL"
owner = "sales"
from = ["sal", "mql"]
"#;

const METRICS: &str = r#"
[[metric]]
id = "mql_volume"
name = "MQL volume"
unit = "count"
owners = ["marketing"]
kind = "stage_count"
stage = "mql"

[[metric]]
id = "sql_volume"
name = "SQL volume"
unit = "count"
owners = ["marketing", "sales"]
kind = "stage_count"
stage = "sql"

[[metric]]
id = "acceptance"
name = "Acceptance (7 days)"
unit = "percent"
owners = ["marketing", "sales"]
kind = "conversion"
from = "mql"
to = "sal"
within = "7d"

[[metric]]
id = "speed_median"
name = "Speed to lead (median)"
unit = "duration"
owners = ["sales"]
kind = "duration"
from = "mql"
to = "first_touch"

[[metric]]
id = "speed_p90"
name = "Speed to lead (p90)"
unit = "duration"
owners = ["sales"]
kind = "duration"
from = "mql"
to = "first_touch"
percentile = 90

[[metric]]
id = "touched_24h"
name = "Touched within 24h"
unit = "percent"
owners = ["sales"]
kind = "share"
stage = "mql"
from = "mql"
to = "first_touch"
within = "24h"

[[metric]]
id = "reasons"
name = "Dispositions with a reason"
unit = "percent"
owners = ["sales"]
kind = "share"
stage = "mql"
filter = { field = "status", in = ["recycled", "disqualified"] }
condition = { any = [ { field = "recycle_reason", exists = true }, { field = "disqualify_reason", exists = true } ] }

[[metric]]
id = "pipeline"
name = "Pipeline created"
unit = "currency"
owners = ["marketing", "sales"]
kind = "sum"
field = "amount"
filter = { field = "type", eq = "new-business" }

[[metric]]
id = "bookings"
name = "Bookings"
unit = "currency"
owners = ["marketing", "sales"]
kind = "sum"
field = "amount"
date = "closed"
condition = { field = "won", eq = true }

[[metric]]
id = "win_rate"
name = "Win rate"
unit = "percent"
owners = ["marketing", "sales"]
kind = "win_rate"
"#;

const SLA: &str = r#"
[[commitment]]
id = "mql-delivery"
description = "MQLs"
provider = "marketing"
consumer = "sales"
metric = "mql_volume"
target = ">= 5"
warn = ">= 6"

[[commitment]]
id = "sqls"
description = "SQLs"
provider = "marketing"
consumer = "sales"
metric = "sql_volume"
target = ">= 1"

[[commitment]]
id = "acceptance"
description = "Acceptance"
provider = "marketing"
consumer = "sales"
metric = "acceptance"
target = ">= 75%"

[[commitment]]
id = "speed"
description = "Median speed to lead"
provider = "sales"
consumer = "marketing"
metric = "speed_median"
target = "<= 1h"
warn = "<= 30m"

[[commitment]]
id = "speed-tail"
description = "p90 speed to lead"
provider = "sales"
consumer = "marketing"
metric = "speed_p90"
target = "<= 24h"

[[commitment]]
id = "touched"
description = "Touched within 24h"
provider = "sales"
consumer = "marketing"
metric = "touched_24h"
target = ">= 80%"
warn = ">= 90%"

[[commitment]]
id = "reasons"
description = "Reasons"
provider = "sales"
consumer = "marketing"
metric = "reasons"
target = ">= 95%"
"#;

const GOALS: &str = r#"
[[goal]]
id = "mql-growth"
title = "Grow MQLs 50% month over month"
metric = "mql_volume"
target = "+50%"
owners = ["marketing", "sales"]

[[goal]]
id = "pipeline"
title = "Pipeline"
metric = "pipeline"
target = ">= 4000"
owners = ["marketing", "sales"]

[[goal]]
id = "bookings"
title = "Bookings"
metric = "bookings"
target = ">= 2000"
owners = ["marketing", "sales"]

[[goal]]
id = "win-rate"
title = "Win rate"
metric = "win_rate"
target = ">= 50%"
owners = ["marketing", "sales"]

[[goal]]
id = "quarter-mqls"
title = "MQLs a quarter"
metric = "mql_volume"
target = ">= 7"
period = "quarter"
owners = ["marketing", "sales"]
"#;

// New York: EST (UTC-5) until 2026-03-08 02:00, EDT (UTC-4) after.
// March 2026 runs 2026-03-01T05:00Z to 2026-04-01T04:00Z.
const LEADS_CSV: &str = "\
id,created_at,mql_at,sal_at,sql_at,first_touch_at,segment,status,recycle_reason,disqualify_reason
L1,2026-03-01T04:00:00Z,2026-03-01T05:00:00Z,2026-03-02T05:00:00Z,,2026-03-01T05:30:00Z,smb,accepted,,
L2,2026-02-27T12:00:00Z,2026-03-01T04:59:59Z,,,2026-03-01T07:59:59Z,enterprise,open,,
L3,2026-03-30T12:00:00Z,2026-03-31T23:30:00-04:00,2026-04-10T12:00:00Z,,,mid-market,accepted,,
L4,2026-03-15T10:00:00Z,2026-03-15 10:00:00,2026-03-15T13:00:00Z,,2026-03-14T00:00:00Z,smb,accepted,,
L5,2026-03-20T11:00:00Z,,,2026-03-20T12:00:00Z,2026-03-20T12:10:00Z,enterprise,qualified,,
L6,2026-03-31T12:00:00Z,2026-04-01T04:00:00Z,2026-04-01T05:00:00Z,,2026-04-01T06:00:00Z,smb,accepted,,
L7,2026-03-16T10:00:00Z,1773669600000,2026-03-21T14:00:00Z,,2026-03-17T00:00:00Z,smb,recycled,no-budget,
L8,2026-03-09T10:00:00Z,2026-03-10,,,2026-03-10T04:45:00Z,smb,disqualified,,
";

const DEALS_CSV: &str = "\
id,created_at,closed_at,won,amount,currency,type
D1,2026-03-05T15:00:00Z,2026-03-20T15:00:00Z,true,\"1,000.50\",USD,new-business
D2,2026-03-06T15:00:00Z,2026-03-25T15:00:00Z,false,2000,USD,new-business
D3,2026-02-28T23:00:00-05:00,2026-03-02T15:00:00Z,true,500,USD,new-business
D4,2026-03-07T15:00:00Z,,,700,USD,new-business
D5,2026-03-08T15:00:00Z,2026-03-09T15:00:00Z,,300,USD,new-business
D6,2026-03-09T15:00:00Z,,,9999,USD,renewal
";

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
}

fn alignment(leads: &str, deals: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(
        tmp.path(),
        &[
            ("revalign.toml", MANIFEST),
            ("leads.toml", LEADS_TOML),
            ("metrics.toml", METRICS),
            ("sla.toml", SLA),
            ("goals.toml", GOALS),
            ("leads.csv", leads),
            ("deals.csv", deals),
        ],
    );
    tmp
}

fn revalign(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_revalign"))
        .arg("check")
        .arg(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run revalign");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    if !args.contains(&"--as-of") {
        all.extend(["--as-of", "2026-06-01"]);
    }
    all.extend_from_slice(args);
    let (code, stdout, stderr) = revalign(dir, &all);
    let v = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (code, v)
}

fn row<'a>(doc: &'a Value, id: &str, period: &str) -> &'a Value {
    doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["id"] == id && r["period"] == period)
        .unwrap_or_else(|| panic!("no row {id} {period} in {doc:#}"))
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-6)
}

#[test]
fn every_kind_matches_hand_computed_values() {
    let tmp = alignment(LEADS_CSV, DEALS_CSV);
    let (code, doc) = json(tmp.path(), &["--period", "2026-03"]);
    let r = |id| row(&doc, id, "2026-03");

    // March MQLs in New York time: L1 (00:00 EST on Mar 1), L3 (23:30 EDT on
    // Mar 31), L4 (naive time, read in New York), L7 (epoch millis), L8 (a
    // date: midnight EDT). Not L2 (23:59:59 EST on Feb 28), not L6 (00:00 EDT
    // on Apr 1), not L5 (skipped MQL).
    assert!(
        close(&r("mql-delivery")["actual"], 5.0),
        "{:#}",
        r("mql-delivery")
    );
    assert_eq!(
        r("mql-delivery")["status"],
        "warn",
        "5 meets >= 5, not >= 6"
    );
    // L5 went straight to SQL.
    assert!(close(&r("sqls")["actual"], 1.0));
    // Accepted within 7 days: L1 (24h), L4 (SAL before MQL: counts), L7 (5d);
    // not L3 (9+ days), not L8 (never). 3 of 5.
    let acc = r("acceptance");
    assert!(close(&acc["actual"], 60.0), "{acc:#}");
    assert_eq!(
        (acc["hits"].as_u64(), acc["total"].as_u64()),
        (Some(3), Some(5))
    );
    assert_eq!(acc["status"], "fail");
    // First touch minus MQL: L1 30m, L4 touched before: 0, L7 10h, L8 45m; L3
    // never touched: left out. Sorted 0, 1800, 2700, 36000 s: median
    // (1800 + 2700) / 2 = 2250 s; p90 at rank 2.7: 2700 + 0.7 * 33300 = 26010 s.
    let speed = r("speed");
    assert!(close(&speed["actual"], 2250.0), "{speed:#}");
    assert_eq!(speed["left_out"], 1);
    assert_eq!(speed["status"], "warn", "37m30s meets <= 1h, not <= 30m");
    assert!(close(&r("speed-tail")["actual"], 26010.0));
    assert_eq!(r("speed-tail")["status"], "pass", "7h 13m 30s meets <= 24h");
    // Touched within 24h of MQL: L1, L4 (before), L7 (10h), L8 (45m); not L3: 4 of 5.
    assert!(close(&r("touched")["actual"], 80.0));
    assert_eq!(r("touched")["status"], "warn");
    // Recycled or disqualified: L7 (reason), L8 (none): 1 of 2.
    assert!(close(&r("reasons")["actual"], 50.0));
    // Created in March, new business: D1 1,000.50 + D2 2,000 + D4 700 + D5 300
    // = 4,000.50; D3 was created on Feb 28 (New York); D6 is a renewal.
    assert!(
        close(&r("pipeline")["actual"], 4000.5),
        "{:#}",
        r("pipeline")
    );
    assert_eq!(r("pipeline")["status"], "pass");
    // Closed won in March: D1 1,000.50 + D3 500 = 1,500.50.
    assert!(close(&r("bookings")["actual"], 1500.5));
    assert_eq!(r("bookings")["status"], "fail");
    // Closed in March with an outcome: D1 won, D2 lost, D3 won; D5 (no
    // outcome) left out: 2 of 3.
    let win = r("win-rate");
    assert!(close(&win["actual"], 200.0 / 3.0), "{win:#}");
    assert_eq!(win["left_out"], 1);
    // +50% on February's 1 MQL (L2): 5 is +400%.
    let growth = r("mql-growth");
    assert!(close(&growth["previous"], 1.0));
    assert!(close(&growth["compared"], 400.0));
    assert_eq!(growth["status"], "pass");
    // Fiscal Q1 FY2026 is February to April: all seven MQLs.
    let q = row(&doc, "quarter-mqls", "FY2026-Q1");
    assert!(close(&q["actual"], 7.0), "{q:#}");
    assert_eq!(q["period_start"], "2026-02-01T00:00:00-05:00");
    assert_eq!(q["period_end"], "2026-05-01T00:00:00-04:00");
    assert_eq!(code, 1, "failed targets exit 1");
}

#[test]
fn relative_target_with_empty_previous_period_is_no_data() {
    let tmp = alignment(LEADS_CSV, DEALS_CSV);
    // January has no MQLs, and the data starts in February: nothing to compare.
    let (_, doc) = json(tmp.path(), &["--period", "2026-02", "--goal", "mql-growth"]);
    let g = row(&doc, "mql-growth", "2026-02");
    assert_eq!(g["status"], "no-data", "{g:#}");
    assert!(g["note"].as_str().unwrap_or("").contains("previous period"));
}

#[test]
fn periods_outside_the_data_are_no_data_not_zero() {
    let tmp = alignment(LEADS_CSV, DEALS_CSV);
    let (code, doc) = json(tmp.path(), &["--period", "2026-07"]);
    for r in doc["results"].as_array().expect("results") {
        if r["period"] == "2026-07" {
            assert_eq!(r["status"], "no-data", "{r:#}");
        }
    }
    assert_eq!(code, 0, "no-data is not a failure");
    // An empty cohort inside the data's span: May has no MQLs, but deals? No:
    // the data ends in April, so May is outside too. Within the span, a month
    // with no MQLs is a real zero count and an empty (no-data) ratio.
    let quiet = LEADS_CSV.replace("L6,2026-03-31T12:00:00Z", "L6,2026-06-30T12:00:00Z");
    let quiet = quiet.replace(
        "2026-04-01T04:00:00Z,2026-04-01T05:00:00Z,,2026-04-01T06:00:00Z",
        "2026-06-01T04:00:00Z,2026-06-01T05:00:00Z,,2026-06-01T06:00:00Z",
    );
    let tmp = alignment(&quiet, DEALS_CSV);
    let (_, doc) = json(
        tmp.path(),
        &["--period", "2026-05", "--as-of", "2026-07-15"],
    );
    let m = row(&doc, "mql-delivery", "2026-05");
    assert!(close(&m["actual"], 0.0), "{m:#}");
    assert_eq!(m["status"], "fail");
    assert_eq!(row(&doc, "acceptance", "2026-05")["status"], "no-data");
}

#[test]
fn open_period_is_judged_on_pace() {
    let tmp = alignment(LEADS_CSV, DEALS_CSV);
    // At noon on March 16 (EDT), L1, L8, L4 and L7 (14:00Z) are MQLs; L3 is
    // in the future and not counted.
    let (code, doc) = json(
        tmp.path(),
        &[
            "--period",
            "current",
            "--as-of",
            "2026-03-16T16:00:00Z",
            "--goal",
            "mql-delivery",
        ],
    );
    let m = row(&doc, "mql-delivery", "2026-03");
    assert!(close(&m["actual"], 4.0), "{m:#}");
    // Elapsed: from 2026-03-01T05:00Z to 2026-03-16T16:00Z = 15d 11h = 371 h,
    // of 743 h in March (31 days less the lost DST hour): 4 / (371/743) = 8.01
    // projected: passes >= 6.
    assert!(close(&m["compared"], 4.0 * 743.0 / 371.0), "{m:#}");
    assert_eq!(m["status"], "pass");
    assert_eq!(code, 0);
}

#[test]
fn conversions_whose_window_is_open_are_maturing() {
    let tmp = alignment(LEADS_CSV, DEALS_CSV);
    // On April 3, the 7-day window of March 31's MQL is still open.
    let (_, doc) = json(
        tmp.path(),
        &[
            "--period",
            "2026-03",
            "--as-of",
            "2026-04-03",
            "--goal",
            "acceptance",
        ],
    );
    let a = row(&doc, "acceptance", "2026-03");
    assert_eq!(a["status"], "warn", "{a:#}");
    assert!(a["note"].as_str().unwrap_or("").contains("maturing"));
}

#[test]
fn bad_values_name_file_row_and_column() {
    let bad = LEADS_CSV.replace("2026-03-15 10:00:00", "15/03/2026");
    let tmp = alignment(&bad, DEALS_CSV);
    let (code, stdout, _) = revalign(
        tmp.path(),
        &["--period", "2026-03", "--as-of", "2026-06-01"],
    );
    assert_eq!(code, 3, "{stdout}");
    assert!(
        stdout.contains("leads.csv:5: column `mql_at`: `15/03/2026` is not a timestamp"),
        "{stdout}"
    );
    assert!(stdout.contains("max_bad_rows"), "{stdout}");
    // Deal metrics read the other file and still judge.
    assert!(stdout.contains("pass    goal pipeline"), "{stdout}");

    // Tolerated: the row is skipped and reported, the rest is computed.
    let lenient = MANIFEST.replace(
        "deals = \"deals.csv\"",
        "deals = \"deals.csv\"\nmax_bad_rows = 1",
    );
    write(tmp.path(), &[("revalign.toml", &lenient)]);
    let (code, doc) = json(tmp.path(), &["--period", "2026-03"]);
    assert_eq!(code, 1);
    assert!(close(&row(&doc, "mql-delivery", "2026-03")["actual"], 4.0));
    assert_eq!(doc["sources"][0]["leads"]["bad_rows"], 1);
}

#[test]
fn duplicate_ids_are_errors() {
    let dup = format!("{LEADS_CSV}L3,2026-03-30T12:00:00Z,2026-03-31T10:00:00Z,,,,smb,open,,\n");
    let tmp = alignment(&dup, DEALS_CSV);
    let (code, stdout, _) = revalign(
        tmp.path(),
        &["--period", "2026-03", "--as-of", "2026-06-01"],
    );
    assert_eq!(code, 3);
    assert!(
        stdout.contains("leads.csv:10: id `L3` appears again"),
        "{stdout}"
    );
}

#[test]
fn missing_columns_and_files_are_errors_for_the_targets_that_need_them() {
    let no_touch = LEADS_CSV
        .lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells.remove(5);
            cells.join(",")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let tmp = alignment(&no_touch, DEALS_CSV);
    let (code, doc) = json(tmp.path(), &["--period", "2026-03"]);
    assert_eq!(code, 3);
    let speed = row(&doc, "speed", "2026-03");
    assert_eq!(speed["status"], "error");
    assert!(
        speed["note"]
            .as_str()
            .unwrap_or("")
            .contains("no column `first_touch_at`"),
        "{speed:#}"
    );
    assert!(
        speed["help"]
            .as_str()
            .unwrap_or("")
            .contains("[source.crm.columns] first_touch")
    );
    // Targets that do not need the column are judged.
    assert_eq!(row(&doc, "acceptance", "2026-03")["status"], "fail");

    // Mapping the column by another name fixes it.
    let renamed = LEADS_CSV.replacen("first_touch_at", "First Touch", 1);
    let tmp = alignment(&renamed, DEALS_CSV);
    let mapped = MANIFEST.replace(
        "deals = \"deals.csv\"",
        "deals = \"deals.csv\"\ncolumns = { first_touch = \"First Touch\" }",
    );
    write(tmp.path(), &[("revalign.toml", &mapped)]);
    let (_, doc) = json(tmp.path(), &["--period", "2026-03"]);
    assert!(close(&row(&doc, "speed", "2026-03")["actual"], 2250.0));

    // No deals file: deal targets error, lead targets are judged.
    std::fs::remove_file(tmp.path().join("deals.csv")).expect("rm");
    let (code, doc) = json(tmp.path(), &["--period", "2026-03"]);
    assert_eq!(code, 3);
    let p = row(&doc, "pipeline", "2026-03");
    assert_eq!(p["status"], "error");
    assert!(
        p["note"]
            .as_str()
            .unwrap_or("")
            .contains("cannot read `deals.csv`: no such file"),
        "{p:#}"
    );
    assert_eq!(row(&doc, "acceptance", "2026-03")["status"], "fail");
}

#[test]
fn ndjson_gives_the_same_numbers() {
    let tmp = alignment(LEADS_CSV, DEALS_CSV);
    let csv_doc = json(tmp.path(), &["--period", "2026-03"]).1;
    // The same records as NDJSON: timestamps as strings or epoch numbers.
    let mut nd = String::new();
    let mut lines = LEADS_CSV.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    for l in lines {
        let obj: serde_json::Map<String, Value> = header
            .iter()
            .zip(l.split(','))
            .map(|(k, v)| {
                // Empty cells become nulls, integers numbers (epoch millis).
                let val = match v.parse::<i64>() {
                    _ if v.is_empty() => Value::Null,
                    Ok(n) => Value::from(n),
                    Err(_) => Value::from(v),
                };
                (k.to_string(), val)
            })
            .collect();
        nd.push_str(&serde_json::to_string(&obj).expect("json"));
        nd.push('\n');
    }
    let deals_nd = "{\"id\":\"D1\",\"created_at\":\"2026-03-05T15:00:00Z\",\"closed_at\":\"2026-03-20T15:00:00Z\",\"won\":true,\"amount\":1000.5,\"type\":\"new-business\"}\n\
{\"id\":\"D2\",\"created_at\":\"2026-03-06T15:00:00Z\",\"closed_at\":\"2026-03-25T15:00:00Z\",\"won\":false,\"amount\":2000,\"type\":\"new-business\"}\n\
{\"id\":\"D3\",\"created_at\":\"2026-02-28T23:00:00-05:00\",\"closed_at\":\"2026-03-02T15:00:00Z\",\"won\":true,\"amount\":500,\"type\":\"new-business\"}\n\
{\"id\":\"D4\",\"created_at\":\"2026-03-07T15:00:00Z\",\"closed_at\":null,\"amount\":700,\"type\":\"new-business\"}\n\
{\"id\":\"D5\",\"created_at\":\"2026-03-08T15:00:00Z\",\"closed_at\":\"2026-03-09T15:00:00Z\",\"amount\":300,\"type\":\"new-business\"}\n";
    write(
        tmp.path(),
        &[("leads.ndjson", &nd), ("deals.ndjson", deals_nd)],
    );
    let manifest = MANIFEST
        .replace("kind = \"csv\"", "kind = \"ndjson\"")
        .replace("leads.csv", "leads.ndjson")
        .replace("deals.csv", "deals.ndjson");
    write(tmp.path(), &[("revalign.toml", &manifest)]);
    let nd_doc = json(tmp.path(), &["--period", "2026-03"]).1;
    let values = |d: &Value| -> Vec<(String, String, Value)> {
        d["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                (
                    r["id"].to_string(),
                    r["period"].to_string(),
                    r["actual"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(values(&csv_doc), values(&nd_doc));
}

#[test]
fn output_formats() {
    let tmp = alignment(LEADS_CSV, DEALS_CSV);
    let args = ["--period", "2026-03", "--as-of", "2026-06-01"];
    let with = |f: &str| {
        let mut a = args.to_vec();
        a.extend(["--format", f]);
        revalign(tmp.path(), &a).1
    };
    let junit = with("junit");
    assert!(junit.contains("<testcase classname=\"commitment\" name=\"acceptance 2026-03\"><failure message=\"Acceptance (7 days): actual 60.00%, target &gt;= 75%\"/></testcase>"), "{junit}");
    let gh = with("github");
    assert!(
        gh.contains("/sla.toml,line=19,title=fail commitment acceptance (2026-03)::"),
        "{gh}"
    );
    assert!(gh.contains("actual 60.00%25, target >= 75%25"), "{gh}");
    let md = with("markdown");
    assert!(md.contains("| ❌ fail | commitment `acceptance` | 2026-03 | Acceptance (7 days) | 60.00% | `>= 75%` |"), "{md}");
    let (code, _, stderr) = revalign(tmp.path(), &["--format", "sarif"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("has no `sarif` format"));
}

#[test]
fn explain_lists_the_misses_first() {
    let tmp = alignment(LEADS_CSV, DEALS_CSV);
    let (_, stdout, _) = revalign(
        tmp.path(),
        &[
            "--period",
            "2026-03",
            "--as-of",
            "2026-06-01",
            "--explain",
            "acceptance",
        ],
    );
    let listing = stdout.split("ID  ROW").nth(1).expect("listing");
    let ids: Vec<&str> = listing
        .lines()
        .skip(1)
        .filter_map(|l| l.split("  ").next())
        .collect();
    // Misses (L3 longest wait first, then L8 never accepted), then hits.
    assert_eq!(ids, ["L3", "L8", "L7", "L1", "L4"], "{stdout}");
    assert!(stdout.contains("5 records, 3 counted, 2 not"), "{stdout}");
}

#[test]
fn usage_errors_exit_2() {
    let tmp = alignment(LEADS_CSV, DEALS_CSV);
    for (args, says) in [
        (
            &["--period", "2026-13"][..],
            "--period: `2026-13` is not a period",
        ),
        (&["--goal", "acceptanse"], "did you mean `acceptance`?"),
        (&["--source", "nope"], "no source `nope`"),
        (&["--as-of", "soon"], "--as-of `soon`"),
    ] {
        let (code, _, stderr) = revalign(tmp.path(), args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // An invalid alignment is not judged.
    write(tmp.path(), &[("sla.toml", "[[commitment]]\nid = 3\n")]);
    let (code, _, stderr) = revalign(tmp.path(), &["--period", "2026-03"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("targets cannot be judged until it validates"),
        "{stderr}"
    );
}

#[test]
fn the_acme_scorecard() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, stdout, _) = revalign(
        &root.join("examples/acme"),
        &["--period", "2026-10", "--as-of", "2026-11-01"],
    );
    assert_eq!(code, 1, "acme misses some targets in October 2026");
    insta::assert_snapshot!(
        "acme-2026-10",
        stdout.replace(&root.display().to_string(), "[ROOT]")
    );
}

#[test]
fn the_committed_acme_data_is_what_the_generator_makes() {
    // `cargo test` builds the examples next to the test binaries.
    let exe = std::env::current_exe().expect("test binary");
    let generator = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| {
            d.join("examples")
                .join(format!("gen-acme{}", std::env::consts::EXE_SUFFIX))
        })
        .expect("target dir");
    assert!(generator.exists(), "{} not built", generator.display());
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = Command::new(&generator)
        .args(["--seed", "7", "--leads", "48000", "--out"])
        .arg(tmp.path())
        .output()
        .expect("run gen-acme");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme/data");
    for f in ["leads.csv", "deals.csv"] {
        let made = std::fs::read(tmp.path().join(f)).expect("generated");
        let committed = std::fs::read(root.join(f)).expect("committed");
        assert!(
            made == committed,
            "examples/acme/data/{f} differs from the generator's output: run `cargo run --release --example gen-acme`"
        );
    }
}

/// A file big enough to be read in two halves, whose every row holds a quoted
/// value with line breaks: the split cannot be trusted, and the numbers must
/// be those of a whole read.
#[test]
fn quoted_line_breaks_across_the_split_read_right() {
    let rows = 15_000;
    let mut csv = String::from("id,mql_at,notes\n");
    let note = "called\n".repeat(50);
    for i in 0..rows {
        csv.push_str(&format!("L{i},2026-03-10T12:00:00Z,\"{note}\"\n"));
    }
    assert!(csv.len() > 4 << 20);
    let tmp = alignment(&csv, DEALS_CSV);
    let (code, doc) = json(
        tmp.path(),
        &["--period", "2026-03", "--goal", "mql-delivery"],
    );
    let m = row(&doc, "mql-delivery", "2026-03");
    assert!(close(&m["actual"], rows as f64), "{m:#}");
    assert_eq!(code, 0);

    // Plain rows, read in two halves; an id repeated in the second half is
    // still found, on its line.
    let mut csv = String::from("id,mql_at,notes\n");
    for i in 0..200_000 {
        csv.push_str(&format!("L{i},2026-03-10T12:00:00Z,none\n"));
    }
    let (_, doc) = json(
        alignment(&csv, DEALS_CSV).path(),
        &["--period", "2026-03", "--goal", "mql-delivery"],
    );
    assert!(close(
        &row(&doc, "mql-delivery", "2026-03")["actual"],
        200_000.0
    ));
    csv.push_str("L7,2026-03-10T12:00:00Z,again\n");
    assert!(csv.len() > 4 << 20);
    let tmp = alignment(&csv, DEALS_CSV);
    let (code, stdout, _) = revalign(
        tmp.path(),
        &[
            "--period",
            "2026-03",
            "--goal",
            "mql-delivery",
            "--as-of",
            "2026-06-01",
        ],
    );
    assert_eq!(code, 3);
    assert!(
        stdout.contains("leads.csv:200002: id `L7` appears again"),
        "{stdout}"
    );
}

const DRIFT_STAGES: &str = r#"
[[stage]]
id = "mql"
name = "MQL"
owner = "marketing"
entry = { field = "score", gte = 65 }

[[stage]]
id = "sal"
name = "SAL"
owner = "sales"
entry = { field = "status", eq = "accepted" }

[[stage]]
id = "sql"
name = "SQL"
owner = "sales"
from = ["sal", "mql"]
entry = { any = [ { field = "status", eq = "qualified" }, { field = "segment", eq = "enterprise" } ] }
"#;

// March 2026 in New York: 2026-03-01T05:00Z to 2026-04-01T04:00Z.
// Each lead sits in its furthest stage; those that entered it in March are
// judged against its entry criteria, unless they carry a recycle or
// disqualify reason (left the funnel):
//   mql: A1 ok, A2 score 50, A9 score 64 (23:30 New York on 31 March) -> 2 of 3; A3 left
//   sal: A4 recycled without a reason (status not accepted), A5 ok -> 1 of 2
//        (A5's low score is MQL's criterion, not SAL's)
//   sql: A7 skipped MQL and SAL, enterprise: ok; A8 smb and open -> 1 of 2
//   not judged: A6 (MQL in February), A10 (MQL in April in New York),
//   A11 (sits in SQL since April, even judged as of 2026-04-01).
const DRIFT_CSV: &str = "\
id,created_at,mql_at,sal_at,sql_at,score,segment,status,recycle_reason,owner
A1,2026-03-05T12:00:00Z,2026-03-05T12:00:00Z,,,70,smb,open,,ana
A2,2026-03-06T12:00:00Z,2026-03-06T12:00:00Z,,,50,smb,open,,ben
A3,2026-03-07T12:00:00Z,2026-03-07T12:00:00Z,,,40,smb,recycled,no-budget,ana
A4,2026-03-08T12:00:00Z,2026-03-08T12:00:00Z,2026-03-09T12:00:00Z,,80,smb,recycled,,ben
A5,2026-03-08T12:00:00Z,2026-03-08T12:00:00Z,2026-03-09T12:00:00Z,,10,smb,accepted,,ana
A6,2026-02-20T12:00:00Z,2026-02-20T12:00:00Z,,,10,smb,open,,ana
A7,2026-03-10T12:00:00Z,,,2026-03-10T12:00:00Z,,enterprise,open,,ben
A8,2026-03-01T12:00:00Z,2026-03-01T12:00:00Z,,2026-03-11T12:00:00Z,90,smb,open,,ana
A9,2026-03-31T12:00:00Z,2026-03-31T23:30:00-04:00,,,64,smb,open,,ben
A10,2026-03-31T12:00:00Z,2026-04-01T04:00:00Z,,,0,smb,open,,ana
A11,2026-03-15T12:00:00Z,2026-03-15T12:00:00Z,2026-03-20T12:00:00Z,2026-04-15T12:00:00Z,90,smb,accepted,,ana
";

fn drift_alignment(leads_csv: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(
        tmp.path(),
        &[
            ("revalign.toml", MANIFEST),
            ("leads.toml", DRIFT_STAGES),
            ("leads.csv", leads_csv),
        ],
    );
    tmp
}

fn drift<'a>(doc: &'a Value, stage: &str) -> &'a Value {
    doc["drift"]
        .as_array()
        .expect("drift")
        .iter()
        .find(|d| d["stage"] == stage)
        .unwrap_or_else(|| panic!("no drift for {stage} in {doc:#}"))
}

#[test]
fn definition_drift_counts_records_sitting_in_a_stage_without_its_criteria() {
    let tmp = drift_alignment(DRIFT_CSV);
    for as_of in ["2026-06-01", "2026-04-01"] {
        let (code, doc) = json(tmp.path(), &["--period", "2026-03", "--as-of", as_of]);
        assert_eq!(code, 0, "drift alone does not fail the check");
        let counts = |s: &str| {
            let d = drift(&doc, s);
            (
                d["status"].as_str().unwrap_or("").to_string(),
                d["judged"].as_u64(),
                d["drifted"].as_u64(),
                d["left_funnel"].as_u64(),
            )
        };
        assert_eq!(
            counts("mql"),
            ("drift".into(), Some(3), Some(2), Some(1)),
            "{as_of}"
        );
        assert_eq!(
            counts("sal"),
            ("drift".into(), Some(2), Some(1), Some(0)),
            "{as_of}"
        );
        assert_eq!(
            counts("sql"),
            ("drift".into(), Some(2), Some(1), Some(0)),
            "{as_of}"
        );
        let mql = drift(&doc, "mql");
        let examples: Vec<(&str, &str)> = mql["examples"]
            .as_array()
            .expect("examples")
            .iter()
            .map(|e| {
                (
                    e["id"].as_str().unwrap_or(""),
                    e["failed"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            examples,
            [("A2", "score >= 65 (is 50)"), ("A9", "score >= 65 (is 64)")]
        );
        assert_eq!(mql["examples"][0]["owner"], "ben");
        assert_eq!(mql["line"], 6, "points at the stage's entry criteria");
        assert_eq!(
            drift(&doc, "sql")["examples"][0]["failed"],
            r#"none of: status = "qualified" (is "open") | segment = "enterprise" (is "smb")"#
        );
    }

    // The human form, the gate and the opt-out.
    let (code, text, _) = revalign(
        tmp.path(),
        &["--period", "2026-03", "--as-of", "2026-06-01"],
    );
    assert_eq!(code, 0);
    assert!(text.contains("drift  mql  2 of 3 (66.7%); 1 recycled or disqualified, not judged\n  A2 (row 3, owner ben): score >= 65 (is 50)\n"), "{text}");
    let (code, _, _) = revalign(
        tmp.path(),
        &[
            "--period",
            "2026-03",
            "--as-of",
            "2026-06-01",
            "--fail-on-drift",
        ],
    );
    assert_eq!(code, 1);
    let (_, doc) = json(tmp.path(), &["--period", "2026-03", "--no-drift"]);
    assert_eq!(doc["drift"], Value::Array(Vec::new()));
    let (_, text, _) = revalign(tmp.path(), &["--period", "2026-03", "--format", "github"]);
    assert!(
        text.contains(
            "line=6,title=definition drift in stage mql::2 of 3 records that entered mql"
        ),
        "{text}"
    );

    // A missing entry time of a later stage: the earlier stages cannot be told
    // apart from it, so they are not judged either; a missing criteria field
    // blocks only its stage. Neither is reported as no drift.
    let drop = |col: usize| {
        DRIFT_CSV
            .lines()
            .map(|l| {
                let mut cells: Vec<&str> = l.split(',').collect();
                cells.remove(col);
                cells.join(",") + "\n"
            })
            .collect::<String>()
    };
    let tmp = drift_alignment(&drop(3)); // sal_at
    let (code, doc) = json(tmp.path(), &["--period", "2026-03"]);
    assert_eq!(code, 0);
    assert_eq!(drift(&doc, "mql")["status"], "error");
    assert!(
        drift(&doc, "mql")["note"]
            .as_str()
            .unwrap_or("")
            .contains("no column `sal_at`"),
        "{doc:#}"
    );
    assert_eq!(drift(&doc, "sal")["status"], "error");
    assert_eq!(drift(&doc, "sql")["status"], "drift");
    let (code, _, _) = revalign(tmp.path(), &["--period", "2026-03", "--fail-on-drift"]);
    assert_eq!(code, 3, "an unjudged stage under --fail-on-drift");
    let tmp = drift_alignment(&drop(5)); // score
    let (_, doc) = json(tmp.path(), &["--period", "2026-03"]);
    assert_eq!(drift(&doc, "mql")["status"], "error");
    assert_eq!(drift(&doc, "mql")["judged"], 0);
    assert_eq!(drift(&doc, "sal")["drifted"], 1);
}
