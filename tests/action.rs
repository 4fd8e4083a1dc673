//! The GitHub Action's main script (`.github/action/run.sh`), run as the
//! action runs it: with its inputs in the environment, revalign on PATH, and
//! GitHub's output and job-summary files, in a git repository built here.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn git(dir: &Path, args: &[&str]) -> String {
    common::git(dir, "2026-01-05T09:00:00Z", args)
}

struct Ran {
    exit_code: String,
    stdout: String,
    summary: String,
    out: PathBuf,
}

/// Runs the script with the action's inputs; the script itself must exit 0
/// (the action's last step exits with revalign's code).
fn action(repo: &Path, scratch: &Path, inputs: &[(&str, &str)]) -> Ran {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_revalign"));
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = scratch.join("github-output");
    let summary = scratch.join("step-summary");
    let out = scratch.join("out");
    let _ = std::fs::remove_file(&output);
    let _ = std::fs::remove_file(&summary);
    let mut cmd = Command::new("bash");
    cmd.arg(root().join(".github/action/run.sh"))
        .current_dir(repo)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("OUT", &out);
    for var in ["COMMAND", "DIRECTORY", "ARGS", "FAIL_ON", "BASE_SHA"] {
        cmd.env(var, "");
    }
    for (k, v) in inputs {
        cmd.env(k, v);
    }
    let ran = cmd.output().expect("bash runs");
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let outputs = std::fs::read_to_string(&output).unwrap_or_default();
    Ran {
        exit_code: outputs
            .lines()
            .find_map(|l| l.strip_prefix("exit-code="))
            .unwrap_or("")
            .to_string(),
        stdout: String::from_utf8_lossy(&ran.stdout).into_owned(),
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        out,
    }
}

#[test]
fn the_action_validates_diffs_and_checks() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let repo = scratch.path().join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    git(&repo, &["init", "-q", "-b", "main"]);
    common::copy_minimal(&repo);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "Agree on the first SLA"]);
    let base = git(&repo, &["rev-parse", "HEAD"]);

    // validate: clean, then annotations on a broken file.
    let ran = action(&repo, scratch.path(), &[("COMMAND", "validate")]);
    assert_eq!(ran.exit_code, "0", "{}", ran.stdout);
    let sla = repo.join("alignment/sla.toml");
    let text = std::fs::read_to_string(&sla).expect("read");
    std::fs::write(
        &sla,
        text.replace("target = \">= 15%\"", "target = \">= 15 parsecs\""),
    )
    .expect("write");
    let ran = action(
        &repo,
        scratch.path(),
        &[("COMMAND", "validate"), ("DIRECTORY", "alignment")],
    );
    assert_eq!(ran.exit_code, "1", "{}", ran.stdout);
    assert!(
        ran.stdout.contains("::error file=alignment/sla.toml,line="),
        "{}",
        ran.stdout
    );

    // diff: a loosened target fails the gate; the markdown is the comment and the summary.
    std::fs::write(
        &sla,
        text.replace("target = \">= 15%\"", "target = \">= 12%\""),
    )
    .expect("write");
    git(&repo, &["commit", "-q", "-am", "Lower the MQL quality bar"]);
    let inputs = [
        ("COMMAND", "diff"),
        ("BASE_SHA", base.as_str()),
        ("FAIL_ON", "breaking, loosened"),
        ("DIRECTORY", "alignment"),
    ];
    let ran = action(&repo, scratch.path(), &inputs);
    assert_eq!(ran.exit_code, "1", "{}", ran.summary);
    let comment = std::fs::read_to_string(ran.out.join("diff.md")).expect("diff.md");
    assert!(
        comment.contains("mql-quality") && comment.contains("loosened"),
        "{comment}"
    );
    assert_eq!(ran.summary, comment);
    let ran = action(
        &repo,
        scratch.path(),
        &[
            ("COMMAND", "diff"),
            ("BASE_SHA", &base),
            ("FAIL_ON", "breaking"),
        ],
    );
    assert_eq!(
        ran.exit_code, "0",
        "only breaking changes gate: {}",
        ran.summary
    );

    // check: JSON artifact, markdown summary, annotations; acme's October misses.
    let acme = root().join("examples/acme");
    let acme = acme.to_str().expect("utf-8 path");
    let inputs = [
        ("COMMAND", "check"),
        ("DIRECTORY", acme),
        ("ARGS", "--period 2026-10 --as-of 2026-11-01"),
        // examples/acme was committed after October 2026: today's targets.
        (
            "REPORT_ARGS",
            "--period 2026-10 --as-of 2026-11-01 --periods 3 --todays-targets",
        ),
    ];
    let ran = action(&repo, scratch.path(), &inputs);
    assert_eq!(
        ran.exit_code, "1",
        "acme misses targets in October: {}",
        ran.summary
    );
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(ran.out.join("scorecard.json")).expect("scorecard.json"),
    )
    .expect("json");
    assert!(
        doc["results"].as_array().is_some_and(|r| !r.is_empty()),
        "{doc:#}"
    );
    assert!(
        ran.summary.contains("| "),
        "a markdown table: {}",
        ran.summary
    );
    assert!(
        ran.stdout.contains("::error"),
        "misses are annotated: {}",
        ran.stdout
    );
    let report = std::fs::read_to_string(ran.out.join("report.html")).expect("report.html");
    assert!(
        report.starts_with("<!DOCTYPE html>\n<!-- revalign:report -->"),
        "the meeting pack is made for the artifact"
    );
    assert!(report.contains("<svg class=\"chart\""));

    // An unknown command is a usage error, not a pass.
    let ran = action(&repo, scratch.path(), &[("COMMAND", "deploy")]);
    assert_eq!(ran.exit_code, "2");
}
