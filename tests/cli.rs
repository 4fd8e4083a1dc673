//! The command line, end to end: every diagnostic code through the binary (human
//! and JSON snapshots), `init`, every `--help`, the exit codes, and inputs that
//! must never crash it.

use std::path::{Path, PathBuf};

mod common;
use common::run_in;

use revalign::model::Code;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn transcript(cwd: &Path, args: &[&str]) -> String {
    let (code, stdout, stderr) = run_in(cwd, args);
    format!(
        "$ revalign {}\nexit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        args.join(" ")
    )
}

fn json_codes(cwd: &Path, dir: &str) -> Vec<String> {
    let (_, stdout, _) = run_in(cwd, &["validate", dir, "--format", "json"]);
    let doc: serde_json::Value =
        serde_json::from_str(&stdout).expect("validate --format json prints JSON");
    doc["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn invalid_examples() -> Vec<String> {
    let mut dirs: Vec<String> = std::fs::read_dir(root().join("examples/invalid"))
        .expect("examples/invalid exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_code_has_an_invalid_example_that_produces_it() {
    let examples = invalid_examples();
    for code in Code::ALL {
        if *code == Code::UnreadableFile {
            continue; // needs a file that cannot be read: see unreadable_files_are_findings
        }
        assert!(
            examples.iter().any(|e| e == code.as_str()),
            "no examples/invalid/{code} showing the `{code}` finding"
        );
    }
    for example in &examples {
        let codes = json_codes(root(), &format!("examples/invalid/{example}"));
        assert!(
            codes.iter().any(|c| c == example),
            "examples/invalid/{example} does not produce `{example}`; it produces {codes:?}"
        );
    }
}

#[test]
fn invalid_examples_snapshots() {
    for example in invalid_examples() {
        let dir = format!("examples/invalid/{example}");
        insta::assert_snapshot!(
            format!("invalid-{example}-human"),
            transcript(root(), &["validate", &dir, "--color", "never"])
        );
        insta::assert_snapshot!(
            format!("invalid-{example}-json"),
            transcript(root(), &["validate", &dir, "--format", "json"])
        );
    }
}

#[test]
fn bundled_examples_are_clean() {
    for dir in ["examples/acme", "examples/minimal"] {
        let (code, stdout, stderr) = run_in(
            root(),
            &["validate", dir, "--deny-warnings", "--format", "json"],
        );
        assert_eq!(code, 0, "{dir}: {stdout}{stderr}");
        let doc: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
        assert_eq!(doc["findings"], serde_json::json!([]), "{dir}");
    }
    insta::assert_snapshot!(transcript(
        root(),
        &["validate", "examples/acme", "--color", "never"]
    ));
}

#[test]
fn other_formats() {
    let dir = "examples/invalid/unit-mismatch";
    insta::assert_snapshot!(transcript(root(), &["validate", dir, "--format", "github"]));
    insta::assert_snapshot!(transcript(root(), &["validate", dir, "--format", "sarif"]));
    insta::assert_snapshot!(transcript(
        root(),
        &[
            "validate",
            "examples/invalid/single-team-goal",
            "--quiet",
            "--color",
            "never"
        ]
    ));
}

#[test]
fn exit_codes() {
    // 0: clean; warnings alone do not fail...
    assert_eq!(run_in(root(), &["validate", "examples/minimal"]).0, 0);
    assert_eq!(
        run_in(root(), &["validate", "examples/invalid/single-team-goal"]).0,
        0
    );
    // ...unless denied.
    assert_eq!(
        run_in(
            root(),
            &[
                "validate",
                "examples/invalid/single-team-goal",
                "--deny-warnings"
            ]
        )
        .0,
        1
    );
    // 1: errors found.
    assert_eq!(
        run_in(root(), &["validate", "examples/invalid/unknown-key"]).0,
        1
    );
    // 2: usage and configuration errors.
    assert_eq!(run_in(root(), &["validate", "--no-such-flag"]).0, 2);
    assert_eq!(run_in(root(), &["validate", "no/such/dir"]).0, 2);
    assert_eq!(run_in(root(), &["init", "--format", "sarif"]).0, 2);
    assert_eq!(run_in(root(), &["-C", "no/such/dir", "validate"]).0, 2);
    assert_eq!(run_in(root(), &["schema"]).0, 2);
    insta::assert_snapshot!(transcript(root(), &["validate", "no/such/dir"]));
}

#[test]
fn chdir_and_default_directory() {
    // -C: paths are relative to it, and shown as the user wrote them.
    let (code, stdout, _) = run_in(
        Path::new("/"),
        &[
            "-C",
            root().to_str().unwrap_or("."),
            "validate",
            "examples/minimal",
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("examples/minimal: "), "{stdout}");
    // Without a directory: ./alignment when it exists, else the current directory.
    let tmp = tempfile::tempdir().expect("tempdir");
    let (code, stdout, _) = run_in(tmp.path(), &["validate", "--color", "never"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("empty-alignment"), "{stdout}");
    copy_dir(
        &root().join("examples/minimal"),
        &tmp.path().join("alignment"),
    );
    let (code, stdout, _) = run_in(tmp.path(), &["validate"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("alignment: "), "{stdout}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn init_creates_a_clean_alignment_and_never_overwrites() {
    let tmp = tempfile::tempdir().expect("tempdir");
    insta::assert_snapshot!(transcript(
        tmp.path(),
        &[
            "init",
            "--organization",
            "Acme \"Analytics\"",
            "--time-zone",
            "Europe/Berlin"
        ]
    ));
    insta::assert_snapshot!(
        "init-goals.toml",
        std::fs::read_to_string(tmp.path().join("alignment/goals.toml")).expect("goals.toml")
    );
    let (code, stdout, _) = run_in(tmp.path(), &["validate", "--deny-warnings"]);
    assert_eq!(code, 0, "{stdout}");
    // The schema headers point at schemas that exist.
    assert!(
        tmp.path()
            .join("alignment/schemas/goals.schema.json")
            .is_file()
    );

    // A second init writes nothing and keeps the user's edits.
    let goals = tmp.path().join("alignment/goals.toml");
    std::fs::write(&goals, "# mine\n").expect("write");
    let (code, _, stderr) = run_in(tmp.path(), &["init"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not overwriting"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&goals).expect("read"), "# mine\n");

    assert_eq!(
        run_in(
            tmp.path(),
            &["init", "other", "--time-zone", "Mars/Olympus"]
        )
        .0,
        2
    );
    assert!(!tmp.path().join("other").exists());
}

#[test]
fn schema_command_prints_and_writes_the_committed_schemas() {
    let (code, stdout, _) = run_in(root(), &["schema", "goals"]);
    assert_eq!(code, 0);
    let committed = std::fs::read_to_string(root().join("schemas/goals.schema.json"))
        .expect("committed schema");
    assert_eq!(stdout, committed);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (code, _, _) = run_in(tmp.path(), &["schema", "--out", "s"]);
    assert_eq!(code, 0);
    for kind in ["manifest", "metrics", "goals", "sla", "leads"] {
        let written = std::fs::read_to_string(tmp.path().join(format!("s/{kind}.schema.json")))
            .expect("written");
        let committed = std::fs::read_to_string(root().join(format!("schemas/{kind}.schema.json")))
            .expect("committed");
        assert_eq!(written, committed, "{kind}");
    }
}

#[test]
fn help_texts() {
    for args in [
        &["--help"][..],
        &["validate", "--help"],
        &["init", "--help"],
        &["schema", "--help"],
        &["diff", "--help"],
        &["history", "--help"],
        &["show", "--help"],
        &["codeowners", "--help"],
        &["check", "--help"],
        &["report", "--help"],
    ] {
        let name = format!("help-{}", args[0].trim_start_matches('-'));
        insta::assert_snapshot!(name, transcript(root(), args));
    }
}

fn scratch(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in files {
        let path: PathBuf = tmp.path().join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        std::fs::write(path, bytes).expect("write");
    }
    tmp
}

const MANIFEST: &[u8] = br#"
[organization]
name = "T"
time_zone = "UTC"
[team.sales]
name = "Sales"
head = { name = "S", email = "s@example.com", handle = "s" }
[team.marketing]
name = "Marketing"
head = { name = "M", email = "m@example.com", handle = "m" }
"#;

#[test]
fn unreadable_files_are_findings() {
    let tmp = scratch(&[
        ("revalign.toml", MANIFEST),
        ("goals.toml", b"title = \"\xff\xfe\"\n"),
    ]);
    let (code, stdout, _) = run_in(tmp.path(), &["validate", ".", "--format", "json"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("\"unreadable-file\""), "{stdout}");
}

#[test]
fn hostile_input_never_crashes() {
    let deep_array = format!("x = {}1{}\n", "[".repeat(200_000), "]".repeat(200_000));
    let deep_table = format!("x = {}{}\n", "{a=".repeat(50_000), "}".repeat(50_000));
    let mut long_keys = String::new();
    for i in 0..20_000 {
        long_keys.push_str(&format!("[[goal]]\nid = \"g{i}\"\nunknown_{i} = 1\n"));
    }
    let garbage: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 & 0x7f)
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("deep array", deep_array.into_bytes()),
        ("deep table", deep_table.into_bytes()),
        ("many bad goals", long_keys.into_bytes()),
        ("garbage", garbage),
        ("unterminated", b"[[goal]\nid = \"x".to_vec()),
        ("nul bytes", b"id = \"\0\"\n".to_vec()),
        (
            "huge integer",
            b"[[goal]]\nid = 99999999999999999999999\n".to_vec(),
        ),
        ("wrong shapes", b"goal = 3\n[[metric]]\n".to_vec()),
        ("empty", Vec::new()),
    ];
    for (name, bytes) in cases {
        let tmp = scratch(&[("revalign.toml", MANIFEST), ("goals.toml", &bytes)]);
        for format in ["human", "json", "github", "sarif"] {
            let (code, stdout, stderr) = run_in(tmp.path(), &["validate", ".", "--format", format]);
            assert!(
                code == 0 || code == 1,
                "{name} ({format}): exit {code}\n{stdout}\n{stderr}"
            );
            assert!(!stderr.contains("panicked"), "{name} ({format}): {stderr}");
        }
    }
}

#[test]
fn readme_documents_every_code() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    for code in Code::ALL {
        assert!(
            readme.contains(&format!("| `{code}` |")),
            "README.md does not document `{code}`"
        );
    }
}

#[test]
fn completions_man_pages_and_help_examples_come_from_the_cli_definition() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let commands = [
        "validate",
        "init",
        "schema",
        "diff",
        "history",
        "show",
        "check",
        "report",
        "warehouse",
        "codeowners",
        "completions",
        "man",
    ];
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, stdout, stderr) = run_in(here, &["completions", shell]);
        assert_eq!(code, 0, "{shell}: {stderr}");
        for c in commands {
            assert!(stdout.contains(c), "{shell} completes `{c}`");
        }
        assert!(
            stdout.contains("fail-on-drift"),
            "{shell} completes check's flags"
        );
    }
    let (code, _, stderr) = run_in(here, &["completions", "tcsh"]);
    assert_eq!(code, 2, "{stderr}");

    let (code, page, _) = run_in(here, &["man"]);
    assert_eq!(code, 0);
    assert!(
        page.starts_with(".ie") || page.contains(".TH revalign"),
        "{page}"
    );
    assert!(page.contains("history"), "{page}");

    // One page per command; a page of ours is replaced, anyone else's is not.
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().to_str().expect("utf-8");
    let (code, stdout, stderr) = run_in(here, &["man", "--out-dir", dir]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), commands.len() + 1, "{stdout}");
    let check = std::fs::read_to_string(out.path().join("revalign-check.1")).expect("page");
    assert!(
        check.contains(".TH revalign-check") && check.contains("fail\\-on\\-drift"),
        "{check}"
    );
    let (code, _, stderr) = run_in(here, &["man", "--out-dir", dir]);
    assert_eq!(code, 0, "our own pages are replaced: {stderr}");
    std::fs::write(out.path().join("revalign-diff.1"), "my notes\n").expect("write");
    let (code, _, stderr) = run_in(here, &["man", "--out-dir", dir]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is not a revalign man page"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(out.path().join("revalign-diff.1")).expect("kept"),
        "my notes\n"
    );

    // Every command's --help ends with examples.
    for c in commands {
        let (code, stdout, _) = run_in(here, &[c, "--help"]);
        assert_eq!(code, 0, "{c}");
        assert!(
            stdout.contains("Examples:\n  revalign"),
            "`{c} --help` has examples: {stdout}"
        );
    }
}
