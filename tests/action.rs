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

/// A loopback stand-in for the part of GitHub's REST API the comment and
/// issue scripts use, holding its comments, issues and labels in memory.
mod fake_github {
    use std::io::Write;
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use serde_json::{Value, json};

    #[derive(Default)]
    pub struct State {
        pub comments: Vec<(u64, String)>,
        /// number, title, body, labels
        pub issues: Vec<(u64, String, String, Vec<String>)>,
        pub labels: Vec<String>,
        /// `METHOD path` of every request.
        pub log: Vec<String>,
    }

    /// Serves until the test process ends; returns the base URL and the state.
    pub fn start(token: &'static str) -> (String, Arc<Mutex<State>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(crate::common::Request {
                    method,
                    target,
                    auth,
                    body: sent,
                    ..
                }) = crate::common::read_request(&stream)
                else {
                    continue;
                };
                let (status, reply) = if auth != format!("Bearer {token}") {
                    (401, json!({"message": "Bad credentials"}))
                } else {
                    route(&mut shared.lock().expect("state"), &method, &target, &sent)
                };
                shared
                    .lock()
                    .expect("state")
                    .log
                    .push(format!("{method} {target}"));
                let text = reply.to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        (base, state)
    }

    fn route(s: &mut State, method: &str, target: &str, sent: &Value) -> (u16, Value) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let q = |k: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .unwrap_or("")
                .to_string()
        };
        let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
        let text = |k: &str| sent[k].as_str().unwrap_or("").to_string();
        match (method, seg.as_slice()) {
            ("GET", ["repos", _, _, "issues", _, "comments"]) => {
                let per: usize = q("per_page").parse().unwrap_or(30);
                let page: usize = q("page").parse().unwrap_or(1);
                let list: Vec<Value> = s
                    .comments
                    .iter()
                    .skip((page - 1) * per)
                    .take(per)
                    .map(|(id, b)| json!({"id": id, "body": b}))
                    .collect();
                (200, Value::Array(list))
            }
            ("POST", ["repos", _, _, "issues", _, "comments"]) => {
                let id = s.comments.iter().map(|c| c.0).max().unwrap_or(0) + 1;
                s.comments.push((id, text("body")));
                (201, json!({"id": id}))
            }
            ("PATCH", ["repos", _, _, "issues", "comments", id]) => {
                let id: u64 = id.parse().unwrap_or(0);
                match s.comments.iter_mut().find(|c| c.0 == id) {
                    Some(c) => {
                        c.1 = text("body");
                        (200, json!({"id": id}))
                    }
                    None => (404, json!({"message": "Not Found"})),
                }
            }
            ("POST", ["repos", _, _, "labels"]) => {
                let name = text("name");
                if s.labels.contains(&name) {
                    (422, json!({"message": "Validation Failed"}))
                } else {
                    s.labels.push(name);
                    (201, json!({}))
                }
            }
            ("GET", ["repos", _, _, "issues"]) => {
                let label = q("labels");
                let list: Vec<Value> = s
                    .issues
                    .iter()
                    .filter(|i| i.3.contains(&label))
                    .map(|i| json!({"number": i.0, "title": i.1, "body": i.2}))
                    .collect();
                (200, Value::Array(list))
            }
            ("POST", ["repos", _, _, "issues"]) => {
                let number = s.issues.len() as u64 + 1;
                let labels = sent["labels"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                s.issues.push((number, text("title"), text("body"), labels));
                (201, json!({"number": number}))
            }
            ("PATCH", ["repos", _, _, "issues", n]) => {
                let n: u64 = n.parse().unwrap_or(0);
                match s.issues.iter_mut().find(|i| i.0 == n) {
                    Some(i) => {
                        i.2 = text("body");
                        (200, json!({"number": n}))
                    }
                    None => (404, json!({"message": "Not Found"})),
                }
            }
            _ => (404, json!({"message": "Not Found"})),
        }
    }
}

/// Runs one of the action's GitHub scripts against the fake API.
fn github_script(script: &str, api: &str, token: &str, env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new("bash");
    cmd.arg(root().join(".github/action").join(script))
        .env("GITHUB_API_URL", api)
        .env("GH_TOKEN", token)
        .env("REPO", "acme/alignment");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains(token), "the token is never printed: {text}");
    (out.status.success(), text)
}

#[test]
fn one_sticky_comment_and_one_issue_however_often_the_action_runs() {
    const TOKEN: &str = "ghs_fakeTokenForTests123";
    let (api, state) = fake_github::start(TOKEN);
    let scratch = tempfile::tempdir().expect("tempdir");
    let body = scratch.path().join("diff.md");
    // 150 other comments first: the sticky one lands on the second page.
    state.lock().expect("state").comments =
        (1..=150).map(|i| (i, format!("comment {i}"))).collect();

    std::fs::write(&body, "first push\n").expect("write");
    let env = [("PR", "7"), ("BODY", body.to_str().expect("utf-8"))];
    let (ok, out) = github_script("comment.sh", &api, TOKEN, &env);
    assert!(ok && out.contains("posted a comment"), "{out}");
    std::fs::write(&body, "second push\n").expect("write");
    let (ok, out) = github_script("comment.sh", &api, TOKEN, &env);
    assert!(ok && out.contains("updated comment 151"), "{out}");
    {
        let s = state.lock().expect("state");
        assert_eq!(s.comments.len(), 151, "never a second comment");
        assert_eq!(s.comments[150].1, "<!-- revalign:diff -->\nsecond push\n");
        assert!(s.log.iter().any(|l| l.contains("page=2")), "{:?}", s.log);
    }
    // Nothing to post: no request at all.
    std::fs::write(&body, "").expect("write");
    let before = state.lock().expect("state").log.len();
    let (ok, out) = github_script("comment.sh", &api, TOKEN, &env);
    assert!(ok && out.contains("no diff to post"), "{out}");
    assert_eq!(state.lock().expect("state").log.len(), before);
    // A refused token fails the step (and is not printed).
    std::fs::write(&body, "third\n").expect("write");
    let (ok, _) = github_script("comment.sh", &api, "ghs_wrongToken456", &env);
    assert!(!ok, "a refused token is a failure");

    // The issue: opened once with the label, then edited.
    let scorecard = scratch.path().join("scorecard.md");
    std::fs::write(&scorecard, "3 targets missed\n").expect("write");
    let env = [("BODY", scorecard.to_str().expect("utf-8"))];
    let (ok, out) = github_script("issue.sh", &api, TOKEN, &env);
    assert!(ok && out.contains("opened issue #1"), "{out}");
    std::fs::write(&scorecard, "1 target missed\n").expect("write");
    let (ok, out) = github_script("issue.sh", &api, TOKEN, &env);
    assert!(ok && out.contains("updated issue #1"), "{out}");
    let s = state.lock().expect("state");
    assert_eq!(s.issues.len(), 1);
    assert_eq!(s.issues[0].1, "revalign: targets missed");
    assert_eq!(s.issues[0].2, "1 target missed\n");
    assert_eq!(s.issues[0].3, vec!["revalign".to_string()]);
    assert_eq!(s.labels, vec!["revalign".to_string()]);
}
