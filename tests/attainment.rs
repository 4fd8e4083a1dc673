//! `revalign check --as-declared`: each period judged by the targets in force
//! at its end, read from a real git repository built here with pinned commit
//! dates, over the bundled Acme data (numbers known from the plain check).

mod common;

use std::path::Path;

use common::{acme_repo, change, git, run_in};
use serde_json::Value;

fn check(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let mut all = vec![
        "check",
        "alignment",
        "--format",
        "json",
        "--as-of",
        "2026-11-01",
    ];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run_in(dir, &all);
    let doc = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (code, doc, stderr)
}

fn row<'a>(doc: &'a Value, id: &str, period: &str) -> &'a Value {
    doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["id"] == id && r["period"] == period)
        .unwrap_or_else(|| panic!("no row {id} {period} in {doc:#}"))
}

fn has_row(doc: &Value, id: &str, period: &str) -> bool {
    doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .any(|r| r["id"] == id && r["period"] == period)
}

/// mql-delivery as committed: `>= 600` (warn `>= 660`) from 2026-06-10,
/// `>= 700` (warn `>= 760`) from 2026-09-15, and `>= 750` from the first
/// instant of October in New York (2026-10-01T04:00:00Z).
fn raised_twice() -> tempfile::TempDir {
    let tmp = acme_repo();
    change(
        tmp.path(),
        "sla.toml",
        "target = \">= 600\"\nwarn = \">= 660\"",
        "target = \">= 700\"\nwarn = \">= 760\"",
        "2026-09-15T12:00:00Z",
        "Raise the MQL target (#12)",
    );
    change(
        tmp.path(),
        "sla.toml",
        "target = \">= 700\"\nwarn = \">= 760\"",
        "target = \">= 750\"\nwarn = \">= 760\"",
        "2026-10-01T04:00:00Z",
        "Raise it again for Q4",
    );
    tmp
}

#[test]
fn each_period_is_judged_by_the_target_in_force_at_its_end() {
    let tmp = raised_twice();
    let dir = tmp.path();
    let sel = [
        "--period",
        "2026-10",
        "--last",
        "6",
        "--goal",
        "mql-delivery",
    ];
    let (_, today, _) = check(dir, &sel);
    let mut declared_args = sel.to_vec();
    declared_args.push("--as-declared");
    let (code, doc, stderr) = check(dir, &declared_args);
    assert_eq!(code, 1, "{stderr}");

    // Acme's MQLs per month (the plain check's actuals): June 630, July 564,
    // August 585, September 701, October 755.
    let actual = |p| row(&doc, "mql-delivery", p)["actual"].as_f64();
    assert_eq!(actual("2026-06"), Some(630.0));
    assert_eq!(actual("2026-09"), Some(701.0));
    assert_eq!(actual("2026-10"), Some(755.0));
    for p in ["2026-06", "2026-09", "2026-10"] {
        assert_eq!(
            row(&doc, "mql-delivery", p)["actual"],
            row(&today, "mql-delivery", p)["actual"]
        );
    }

    // June: 630 against >= 600 (warn >= 660) is a warn; today's >= 750 fails it.
    let june = row(&doc, "mql-delivery", "2026-06");
    assert_eq!(june["target"], ">= 600");
    assert_eq!(june["status"], "warn");
    assert_eq!(june["declared"]["subject"], "Initial agreement");
    assert_eq!(june["declared"]["date"], "2026-06-10T12:00:00+00:00");
    assert_eq!(june["declared"]["author"], "Priya Raman");
    assert_eq!(row(&today, "mql-delivery", "2026-06")["status"], "fail");
    assert_eq!(row(&today, "mql-delivery", "2026-06")["target"], ">= 750");
    assert!(row(&today, "mql-delivery", "2026-06")["declared"].is_null());

    // August: 585 fails >= 600 either way.
    assert_eq!(row(&doc, "mql-delivery", "2026-08")["status"], "fail");
    assert_eq!(row(&doc, "mql-delivery", "2026-08")["target"], ">= 600");

    // September ended before the second raise (made at October's first
    // instant): 701 against >= 700 (warn >= 760) is a warn.
    let sep = row(&doc, "mql-delivery", "2026-09");
    assert_eq!(sep["target"], ">= 700");
    assert_eq!(sep["status"], "warn");
    assert_eq!(sep["declared"]["pull_request"], 12);
    // October: 755 against >= 750.
    let oct = row(&doc, "mql-delivery", "2026-10");
    assert_eq!(oct["target"], ">= 750");
    assert_eq!(oct["status"], "warn");
    assert_eq!(oct["declared"]["subject"], "Raise it again for Q4");

    // The track record: met, missed, period by period.
    let track = &doc["track_record"][0];
    assert_eq!(track["id"], "mql-delivery");
    let met: Vec<(String, Value)> = track["periods"]
        .as_array()
        .expect("periods")
        .iter()
        .map(|p| {
            (
                p["period"].as_str().unwrap_or("").to_string(),
                p["met"].clone(),
            )
        })
        .collect();
    assert_eq!(
        met,
        vec![
            ("2026-06".to_string(), Value::Bool(true)),
            ("2026-07".to_string(), Value::Bool(false)),
            ("2026-08".to_string(), Value::Bool(false)),
            ("2026-09".to_string(), Value::Bool(true)),
            ("2026-10".to_string(), Value::Bool(true)),
        ]
    );
    // May ended before anything was committed: not judged, and said so.
    assert!(!has_row(&doc, "mql-delivery", "2026-05"));
    assert_eq!(
        doc["notes"][0],
        "no version of the agreement was committed by the end of 2026-05: not judged"
    );

    // Markdown and text show the grid and the commits behind it.
    let (_, md, _) = run_in(
        dir,
        &[
            "check",
            "alignment",
            "--as-of",
            "2026-11-01",
            "--period",
            "2026-10",
            "--last",
            "5",
            "--goal",
            "mql-delivery",
            "--as-declared",
            "--format",
            "markdown",
        ],
    );
    assert!(md.contains("#### Track record"), "{md}");
    assert!(
        md.contains("| month | 2026-06 | 2026-07 | 2026-08 | 2026-09 | 2026-10 |"),
        "{md}"
    );
    assert!(
        md.contains(
            "| commitment `mql-delivery` | ⚠️ warn 630 (`>= 600`) | ❌ fail 564 (`>= 600`) |"
        ),
        "{md}"
    );
    assert!(
        md.contains("Raise the MQL target (#12) (Priya Raman)"),
        "{md}"
    );
    let (_, text, _) = run_in(
        dir,
        &[
            "check",
            "alignment",
            "--as-of",
            "2026-11-01",
            "--period",
            "2026-10",
            "--last",
            "5",
            "--goal",
            "mql-delivery",
            "--as-declared",
        ],
    );
    assert!(
        text.contains("commitment mql-delivery  warn     fail     fail     warn     warn"),
        "{text}"
    );
}

#[test]
fn targets_added_removed_and_redefined_over_time() {
    let tmp = acme_repo();
    let dir = tmp.path();
    // September 20: upmarket-mix is dropped from the SLA.
    let sla = std::fs::read_to_string(dir.join("alignment/sla.toml")).expect("sla");
    let start = sla
        .find("[[commitment]]\nid = \"upmarket-mix\"")
        .expect("upmarket-mix");
    let end = start + 1 + sla[start + 1..].find("[[commitment]]").expect("next");
    std::fs::write(
        dir.join("alignment/sla.toml"),
        format!("{}{}", &sla[..start], &sla[end..]),
    )
    .expect("write");
    git(
        dir,
        "2026-09-20T12:00:00Z",
        &["commit", "-q", "-a", "-m", "Drop the upmarket mix"],
    );
    // October 10: mql_volume counts only mid-market and enterprise MQLs.
    change(
        dir,
        "metrics.toml",
        "kind = \"stage_count\"\nstage = \"mql\"\n",
        "kind = \"stage_count\"\nstage = \"mql\"\nfilter = { field = \"segment\", in = [\"mid-market\", \"enterprise\"] }\n",
        "2026-10-10T12:00:00Z",
        "Count upmarket MQLs only",
    );

    let sel = [
        "--period",
        "2026-10",
        "--last",
        "3",
        "--as-declared",
        "--no-drift",
    ];
    let (_, doc, stderr) = check(dir, &sel);
    // The dropped commitment keeps its August record, judged as it stood; it
    // has no line in today's files.
    let aug = row(&doc, "upmarket-mix", "2026-08");
    assert_eq!(aug["status"], "pass", "{stderr}");
    assert!(aug["file"].is_null());
    assert!(!has_row(&doc, "upmarket-mix", "2026-09"));
    assert!(!has_row(&doc, "upmarket-mix", "2026-10"));

    // Each version's metric definition measures its own periods: August and
    // September count every MQL (585, 701), October only upmarket ones, which
    // is what the mql_volume_upmarket metric counts (upmarket-mix in August).
    assert_eq!(
        row(&doc, "mql-delivery", "2026-08")["actual"].as_f64(),
        Some(585.0)
    );
    assert_eq!(
        row(&doc, "mql-delivery", "2026-09")["actual"].as_f64(),
        Some(701.0)
    );
    let (_, today, _) = check(dir, &["--period", "2026-10", "--last", "3", "--no-drift"]);
    assert_eq!(
        row(&doc, "mql-delivery", "2026-10")["actual"],
        row(&today, "mql-delivery", "2026-10")["actual"]
    );
    assert_eq!(
        row(&today, "mql-delivery", "2026-08")["actual"],
        row(&doc, "upmarket-mix", "2026-08")["actual"],
        "today's mql_volume is the upmarket count"
    );
    assert_ne!(
        row(&today, "mql-delivery", "2026-08")["actual"],
        row(&doc, "mql-delivery", "2026-08")["actual"]
    );
}

#[test]
fn as_declared_needs_the_history() {
    // Not in a git repository: exit 3 (as for diff and history), saying so.
    let plain = tempfile::tempdir().expect("tempdir");
    common::copy_minimal(plain.path());
    let (code, _, stderr) = run_in(
        plain.path(),
        &["check", "alignment", "--as-declared", "--period", "2026-10"],
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("not inside a git repository"), "{stderr}");

    // A shallow clone that does not reach back to a period's end: exit 3,
    // naming the fix, never judging by a later target.
    let tmp = raised_twice();
    let clone = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", tmp.path().display());
    git(
        clone.path(),
        "2026-11-01T00:00:00Z",
        &["clone", "-q", "--depth", "1", &url, "c"],
    );
    let (code, _, stderr) = run_in(
        &clone.path().join("c"),
        &[
            "check",
            "alignment",
            "--as-declared",
            "--as-of",
            "2026-11-01",
            "--period",
            "2026-10",
            "--last",
            "3",
            "--goal",
            "mql-delivery",
        ],
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("shallow"), "{stderr}");
    assert!(stderr.contains("fetch"), "{stderr}");
}
