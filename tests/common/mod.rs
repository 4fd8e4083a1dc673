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
