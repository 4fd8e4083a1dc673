//! Helpers shared by the integration tests.

use std::path::Path;
use std::process::Command;

/// Runs the binary in `cwd` with a clean, fixed environment: exit code, stdout, stderr.
#[allow(dead_code)] // each test crate uses a subset of these helpers
pub fn run_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_revalign"))
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run revalign");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs git in `dir` as Priya Raman at a pinned date, without the user's or
/// the system's configuration; panics when git fails. Trimmed stdout.
#[allow(dead_code)] // each test crate uses a subset of these helpers
pub fn git(dir: &Path, date: &str, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Priya Raman")
        .env("GIT_AUTHOR_EMAIL", "priya@acme.example")
        .env("GIT_COMMITTER_NAME", "Priya Raman")
        .env("GIT_COMMITTER_EMAIL", "priya@acme.example")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Copies examples/minimal's files into `dir/alignment`.
#[allow(dead_code)] // each test crate uses a subset of these helpers
pub fn copy_minimal(dir: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal");
    let to = dir.join("alignment");
    std::fs::create_dir_all(&to).expect("mkdir alignment");
    for entry in std::fs::read_dir(&from).expect("examples/minimal") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, to.join(path.file_name().expect("name"))).expect("copy");
        }
    }
}

/// A repository holding examples/acme under `alignment/`, committed on 2026-06-10.
#[allow(dead_code)] // each test crate uses a subset of these helpers
pub fn acme_repo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme");
    copy_alignment(&from, &tmp.path().join("alignment"));
    git(
        tmp.path(),
        "2026-06-10T12:00:00Z",
        &["init", "-q", "-b", "main"],
    );
    git(tmp.path(), "2026-06-10T12:00:00Z", &["add", "."]);
    git(
        tmp.path(),
        "2026-06-10T12:00:00Z",
        &["commit", "-q", "-m", "Initial agreement"],
    );
    tmp
}

/// Replaces `from` by `to` in `alignment/<file>` and commits at `date`.
#[allow(dead_code)] // each test crate uses a subset of these helpers
pub fn change(dir: &Path, file: &str, from: &str, to: &str, date: &str, subject: &str) {
    let path = dir.join("alignment").join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{file} holds {from}");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    git(dir, date, &["commit", "-q", "-a", "-m", subject]);
}

/// Copies an alignment folder's files and its `data/` files.
#[allow(dead_code)] // each test crate uses a subset of these helpers
pub fn copy_alignment(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("data")).expect("mkdir");
    for sub in ["", "data"] {
        for entry in std::fs::read_dir(from.join(sub)).expect("alignment folder") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, to.join(sub).join(path.file_name().expect("name")))
                    .expect("copy");
            }
        }
    }
}

#[path = "../fake/http.rs"]
pub mod http;
#[allow(unused_imports)] // each test crate uses a subset of these helpers
pub use http::{Request, read_request};

/// `revalign check` of October 2026 (and September) as of 2026-11-01, in
/// JSON, reading every target from `source`, with the variables `env` set
/// (credentials): exit code, the document, stderr. Every secret in
/// `secrets` and every value in `env` are searched for in the output and in
/// the source's cache: found, the test fails.
#[allow(dead_code)] // each test crate uses a subset of these helpers
pub fn check_api(
    dir: &Path,
    source: &str,
    env: &[(&str, &str)],
    extra: &[&str],
    secrets: &[&str],
) -> (i32, serde_json::Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_revalign"));
    cmd.args([
        "check",
        ".",
        "--format",
        "json",
        "--period",
        "2026-10",
        "--last",
        "2",
        "--as-of",
        "2026-11-01",
        "--source",
        source,
    ])
    .args(extra)
    .current_dir(dir)
    .env_clear()
    .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (var, value) in env {
        cmd.env(var, value);
    }
    let out = cmd.output().expect("run revalign");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut written = format!("{stdout}{stderr}");
    if let Ok(entries) = std::fs::read_dir(dir.join(".revalign/cache").join(source)) {
        for e in entries.flatten() {
            written.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    for t in secrets.iter().copied().chain(env.iter().map(|(_, v)| *v)) {
        assert!(!written.contains(t), "the token is never printed or cached");
    }
    let doc = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));
    (out.status.code().unwrap_or(-1), doc, stderr)
}

/// Status, counts and value of every result, and the drift counts.
#[allow(dead_code)] // each test crate uses a subset of these helpers
pub fn numbers(doc: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {} {}",
                r["id"], r["period"], r["status"], r["actual"], r["hits"], r["total"]
            )
        })
        .collect();
    for d in doc["drift"].as_array().expect("drift") {
        out.push(format!(
            "drift {} {} {} {}",
            d["stage"], d["judged"], d["drifted"], d["left_funnel"]
        ));
    }
    out
}

/// The status of every result, and its note and help.
#[allow(dead_code)] // each test crate uses a subset of these helpers
pub fn statuses(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
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

/// Acme with its export also served by an API source: `section` is the
/// `[source.<id>]` table appended to the manifest.
#[allow(dead_code)] // each test crate uses a subset of these helpers
pub fn acme_with_source(section: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let acme = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme");
    copy_alignment(&acme, tmp.path());
    let manifest = tmp.path().join("revalign.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, format!("{text}\n{section}")).expect("write");
    tmp
}

/// Every column of an Acme export (`leads.csv`, `deals.csv`) but `skip`,
/// mapped to the API field `field(column)`, as the inside of a TOML inline
/// table: `mql = "mql_at__c", segment = "segment__c"` (a `<stage>_at`
/// column is the stage's field; `closed_at` is `closed`).
#[allow(dead_code)] // each test crate uses a subset of these helpers
pub fn acme_columns(file: &str, skip: &[&str], field: impl Fn(&str) -> String) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/acme/data")
        .join(file);
    let text = std::fs::read_to_string(path).expect("csv");
    text.lines()
        .next()
        .expect("header")
        .split(',')
        .filter(|c| !skip.contains(c))
        .map(|c| {
            let name = if c == "closed_at" {
                "closed"
            } else {
                c.trim_end_matches("_at")
            };
            format!("{name} = \"{}\"", field(c))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every target of `doc` is an error whose note says `want` and whose help
/// says `help`.
#[allow(dead_code)] // each test crate uses a subset of these helpers
pub fn assert_all_errors(doc: &serde_json::Value, want: &str, help: &str) {
    let all = statuses(doc);
    assert!(!all.is_empty(), "{want}: targets judged");
    for (status, note) in all {
        assert_eq!(status, "error", "{want}: {note}");
        assert!(note.contains(want) && note.contains(help), "{want}: {note}");
    }
}

/// The latest time among a record's fields (ISO 8601, Salesforce's `+0000`
/// too), in epoch milliseconds: when a CRM last modified it (0: none).
#[allow(dead_code)] // each test crate uses a subset of these helpers
pub fn last_event(fields: &serde_json::Map<String, serde_json::Value>) -> i64 {
    fields
        .values()
        .filter_map(|v| {
            v.as_str()?
                .replace("+0000", "Z")
                .parse::<jiff::Timestamp>()
                .ok()
        })
        .map(|t| t.as_millisecond())
        .max()
        .unwrap_or(0)
}
