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
