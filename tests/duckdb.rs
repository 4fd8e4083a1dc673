//! Cross-check: every number `revalign check` gives on the acme data over six
//! months of periods (weeks, months, fiscal quarters, the fiscal year) equals
//! what DuckDB computes with SQL written independently from the engine
//! (`benches/check_duckdb.py`, also the benchmark's peer), and so do the
//! definition-drift counts per stage.
//!
//! Needs Python 3 with `duckdb` (`python3 -m pip install duckdb`; `.ci/run`
//! installs it). Set `REVALIGN_NO_DUCKDB=1` to skip it knowingly.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

#[test]
fn acme_numbers_match_duckdb() {
    if std::env::var_os("REVALIGN_NO_DUCKDB").is_some() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let has_duckdb = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_duckdb,
        "this test needs DuckDB: `python3 -m pip install duckdb` (or set REVALIGN_NO_DUCKDB=1 to skip it)"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_revalign"))
        .args([
            "check",
            "examples/acme",
            "--period",
            "2026-10",
            "--last",
            "6",
        ])
        .args(["--as-of", "2026-11-01", "--format", "json"])
        .current_dir(root)
        .output()
        .expect("run revalign");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("check JSON");
    let rows: Vec<&Value> = doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["actual"].is_number())
        .collect();
    assert!(rows.len() > 100, "only {} rows with numbers", rows.len());
    let plan: Vec<Value> = rows
        .iter()
        .map(|r| json!({"metric": r["metric"], "start": r["period_start"], "end": r["period_end"]}))
        .collect();
    let tmp = tempfile::tempdir().expect("tempdir");
    let plan_path = tmp.path().join("plan.json");
    std::fs::write(&plan_path, serde_json::to_vec(&plan).expect("plan")).expect("write plan");
    let out = Command::new("python3")
        .arg("benches/check_duckdb.py")
        .args(["--metrics", "examples/acme/metrics.toml"])
        .args(["--leads", "examples/acme/data/leads.csv"])
        .args(["--deals", "examples/acme/data/deals.csv"])
        .arg("--plan")
        .arg(&plan_path)
        .args(["--stages", "examples/acme/leads.toml"])
        .arg("--drift-start")
        .arg(doc["selection_start"].as_str().expect("selection_start"))
        .arg("--drift-end")
        .arg(doc["selection_end"].as_str().expect("selection_end"))
        .current_dir(root)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let duck: Value = serde_json::from_slice(&out.stdout).expect("duckdb JSON");
    // Definition drift: the same counts per stage.
    let ours: Vec<Value> = doc["drift"]
        .as_array()
        .expect("drift")
        .iter()
        .map(|d| json!({"stage": d["stage"], "judged": d["judged"], "drifted": d["drifted"], "left_funnel": d["left_funnel"]}))
        .collect();
    assert_eq!(ours.len(), 6, "every acme stage has entry criteria");
    assert!(ours.iter().any(|d| d["drifted"].as_u64() > Some(0)));
    assert_eq!(&Value::Array(ours), &duck["drift"]);
    let duck = duck["metrics"].as_array().expect("metrics");
    assert_eq!(duck.len(), rows.len());
    let mut mismatches = Vec::new();
    for (r, d) in rows.iter().zip(duck) {
        let ours = r["actual"].as_f64().unwrap_or(f64::NAN);
        let theirs = d["value"].as_f64().unwrap_or(f64::NAN);
        let same_value = (ours - theirs).abs() <= 1e-9 * ours.abs().max(1.0);
        let same_total = d["total"].is_null() || r["total"] == d["total"];
        let same_hits = d["hits"].is_null() || r["hits"] == d["hits"];
        if !(same_value && same_total && same_hits) {
            mismatches.push(format!(
                "{} {} ({}): revalign {} ({}/{}), duckdb {} ({}/{})",
                r["id"],
                r["period"],
                r["metric"],
                ours,
                r["hits"],
                r["total"],
                theirs,
                d["hits"],
                d["total"]
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        rows.len(),
        mismatches.join("\n")
    );
}
