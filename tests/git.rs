//! `diff`, `history`, `show` and `codeowners` against real git repositories built
//! by the tests with the git command line, with pinned author and committer dates.

use std::path::Path;
use std::process::Command;

mod common;
use common::run_in;

/// A scratch repository; commits get dates one day apart from 2026-01-05.
struct Repo {
    dir: tempfile::TempDir,
    commits: usize,
}

impl Repo {
    fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().expect("tempdir"),
            commits: 0,
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) -> String {
        let date = format!("2026-01-{:02}T09:00:00+01:00", 5 + self.commits);
        common::git(self.path(), &date, args)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).expect("read")
    }

    /// Replaces text in a file; the text must be there.
    fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert!(text.contains(from), "{rel} lacks {from:?}");
        self.write(rel, &text.replacen(from, to, 1));
    }

    fn commit(&mut self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.commits += 1;
        self.git(&["rev-parse", "HEAD"])
    }

    /// A repository whose first commit holds examples/minimal as `alignment/`.
    fn with_minimal() -> (Repo, String) {
        let mut repo = Repo::new();
        common::copy_minimal(repo.path());
        repo.write("README.md", "the company repo\n");
        let first = repo.commit("Agree on the first SLA");
        (repo, first)
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        run_in(self.path(), args)
    }

    /// The transcript of a run, commit ids replaced by `<c0>`, `<c1>`... in the
    /// order given, so snapshots do not depend on how git hashes.
    fn transcript(&self, args: &[&str], commits: &[&str]) -> String {
        let (code, stdout, stderr) = self.run(args);
        let mut text = format!(
            "$ revalign {}\nexit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}",
            args.join(" ")
        );
        for (i, c) in commits.iter().enumerate() {
            text = text
                .replace(c, &format!("<c{i}>"))
                .replace(&c[..7], &format!("<c{i}>"));
        }
        text.replace(&self.path().display().to_string(), "<repo>")
    }
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// `(kind, id, field, class)` of every change in `diff --format json`.
fn classes(repo: &Repo, args: &[&str]) -> Vec<(String, String, String, String)> {
    let mut full = vec!["diff", "--format", "json"];
    full.extend_from_slice(args);
    let (code, stdout, stderr) = repo.run(&full);
    assert!(code == 0 || code == 1, "{stdout}{stderr}");
    json(&stdout)["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
            (s("kind"), s("id"), s("field"), s("class"))
        })
        .collect()
}

fn has(
    list: &[(String, String, String, String)],
    kind: &str,
    id: &str,
    field: &str,
    class: &str,
) -> bool {
    list.iter()
        .any(|(k, i, f, c)| k == kind && i == id && f == field && c == class)
}

#[test]
fn targets_tighten_and_loosen_by_direction() {
    let (repo, _) = Repo::with_minimal();
    // A `>=` target raised: tightened. A `<=` target raised: loosened.
    repo.edit(
        "alignment/sla.toml",
        "target = \">= 15%\"",
        "target = \">= 18%\"",
    );
    repo.edit(
        "alignment/goals.toml",
        "target = \"+5%\"",
        "target = \"+3%\"",
    );
    let list = classes(&repo, &[]);
    assert!(
        has(&list, "commitment", "mql-quality", "target", "tightened"),
        "{list:?}"
    );
    assert!(
        has(&list, "goal", "better-conversion", "target", "loosened"),
        "{list:?}"
    );
    assert_eq!(list.len(), 2, "{list:?}");
}

#[test]
fn every_classification() {
    let (mut repo, c0) = Repo::with_minimal();
    // Add a duration commitment and a handoff to change later.
    repo.write(
        "alignment/sla.toml",
        &(repo.read("alignment/sla.toml")
            + "\n[[commitment]]\nid = \"fast-follow-up\"\ndescription = \"Sales touches MQLs fast.\"\nprovider = \"sales\"\nconsumer = \"marketing\"\nmetric = \"speed\"\ntarget = \"<= 24h\"\n"),
    );
    repo.write(
        "alignment/metrics.toml",
        &(repo.read("alignment/metrics.toml")
            + "\n[[metric]]\nid = \"speed\"\nname = \"Speed to lead\"\nunit = \"duration\"\nowners = [\"sales\"]\nkind = \"duration\"\nfrom = \"mql\"\nto = \"first_touch\"\n\n[[metric]]\nid = \"unused\"\nname = \"Unused\"\nunit = \"count\"\nowners = [\"marketing\"]\nkind = \"stage_count\"\nstage = \"mql\"\n"),
    );
    repo.write(
        "alignment/leads.toml",
        &(repo.read("alignment/leads.toml")
            + "\n[[handoff]]\nstage = \"mql\"\nto = \"sales\"\naccept_within = \"24h\"\n"),
    );
    repo.write(
        "alignment/revalign.toml",
        &(repo.read("alignment/revalign.toml")
            + "\n[team.revops]\nname = \"RevOps\"\nhead = { name = \"Rita Vo\", email = \"rita@minimal.example\", handle = \"ritavo\" }\n"),
    );
    let c1 = repo.commit("More commitments");
    // Now change one thing of each kind.
    repo.edit(
        "alignment/sla.toml",
        "target = \"<= 24h\"",
        "target = \"<= 12h\"",
    ); // tightened (<= lowered)
    repo.edit(
        "alignment/leads.toml",
        "accept_within = \"24h\"",
        "accept_within = \"48h\"",
    ); // loosened window
    repo.edit(
        "alignment/metrics.toml",
        "within = \"90d\"",
        "within = \"60d\"",
    ); // definition: breaking
    repo.edit(
        "alignment/metrics.toml",
        "id = \"unused\"",
        "id = \"unused_renamed\"",
    ); // rename of an unused metric
    repo.edit(
        "alignment/goals.toml",
        "owners = [\"marketing\", \"sales\"]",
        "owners = [\"marketing\", \"sales\", \"revops\"]",
    ); // ownership
    repo.edit(
        "alignment/revalign.toml",
        "handle = \"bencruz\"",
        "handle = \"new-sales-head\"",
    ); // head changed
    let c2 = repo.commit("Rework the agreement");
    let list = classes(&repo, &[&c1, &c2]);
    assert!(
        has(&list, "commitment", "fast-follow-up", "target", "tightened"),
        "{list:?}"
    );
    assert!(
        has(&list, "handoff", "mql", "accept_within", "loosened"),
        "{list:?}"
    );
    assert!(
        has(&list, "metric", "mql_to_sql", "within", "breaking"),
        "{list:?}"
    );
    assert!(has(&list, "metric", "unused", "id", "changed"), "{list:?}");
    assert!(
        has(&list, "goal", "better-conversion", "owners", "ownership"),
        "{list:?}"
    );
    assert!(
        has(&list, "team", "sales", "head.handle", "ownership"),
        "{list:?}"
    );
    // A metric removed while a commitment still uses it, a unit changed, a stage removed.
    repo.edit(
        "alignment/metrics.toml",
        "unit = \"percent\"",
        "unit = \"count\"",
    );
    let text = repo.read("alignment/metrics.toml");
    let cut = text
        .find("\n[[metric]]\nid = \"unused_renamed\"")
        .expect("metric");
    repo.write("alignment/metrics.toml", &text[..cut]);
    repo.edit(
        "alignment/metrics.toml",
        "id = \"speed\"",
        "id = \"speed_to_lead\"",
    );
    let c3 = repo.commit("Break things");
    let list = classes(&repo, &[&c2, &c3]);
    assert!(
        has(&list, "metric", "speed", "id", "breaking"),
        "renamed while referenced: {list:?}"
    );
    assert!(
        has(&list, "metric", "unused_renamed", "", "removed"),
        "{list:?}"
    );
    assert!(
        has(&list, "metric", "mql_to_sql", "unit", "breaking"),
        "{list:?}"
    );
    insta::assert_snapshot!(repo.transcript(
        &["diff", &c0, &c3, "--color", "never"],
        &[&c0, &c1, &c2, &c3]
    ));
    insta::assert_snapshot!(repo.transcript(
        &["diff", &c0, &c3, "--format", "markdown"],
        &[&c0, &c1, &c2, &c3]
    ));
    insta::assert_snapshot!(repo.transcript(
        &["diff", &c1, &c2, "--format", "json"],
        &[&c0, &c1, &c2, &c3]
    ));
}

#[test]
fn moving_and_reformatting_is_no_change() {
    let (mut repo, c0) = Repo::with_minimal();
    // Move the goal into goals/fy2026.toml, reformat a file with comments and spacing.
    let goals = repo.read("alignment/goals.toml");
    std::fs::remove_file(repo.path().join("alignment/goals.toml")).expect("rm");
    repo.write("alignment/goals/fy2026.toml", &goals);
    let sla = repo
        .read("alignment/sla.toml")
        .replace(" = ", "   =   ")
        .replace("\n[[", "\n# a comment\n\n[[");
    repo.write("alignment/sla.toml", &sla);
    let c1 = repo.commit("Reorganise files");
    let (code, stdout, _) = repo.run(&["diff", &c0, &c1, "--exit-code"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("no changes to the agreement"), "{stdout}");
    // And history leaves such commits out.
    let (_, stdout, _) = repo.run(&["history", "--format", "json"]);
    let entries = json(&stdout)["history"]["entries"]
        .as_array()
        .expect("entries")
        .len();
    assert_eq!(entries, 1, "{stdout}");
}

#[test]
fn working_tree_is_the_default_head_and_merge_base_the_default_base() {
    let (mut repo, c0) = Repo::with_minimal();
    repo.git(&["checkout", "-q", "-b", "raise-target"]);
    repo.edit(
        "alignment/sla.toml",
        "target = \">= 15%\"",
        "target = \">= 16%\"",
    );
    let c1 = repo.commit("Raise the floor");
    // main moves on meanwhile: not part of this branch's diff.
    repo.git(&["checkout", "-q", "main"]);
    repo.edit(
        "alignment/goals.toml",
        "target = \"+5%\"",
        "target = \"+6%\"",
    );
    repo.commit("Other work on main");
    repo.git(&["checkout", "-q", "raise-target"]);
    // Uncommitted and untracked changes count.
    repo.edit(
        "alignment/goals.toml",
        "title = ",
        "rationale = \"new\"\ntitle = ",
    );
    let (code, stdout, _) = repo.run(&["diff", "--format", "json", "--exit-code"]);
    assert_eq!(code, 1);
    let doc = json(&stdout);
    assert_eq!(doc["base"]["commit"], c0.as_str());
    assert_eq!(doc["head"]["working_tree"], true);
    let changes = doc["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 2, "{stdout}");
    let _ = c1;
    // --fail-on gates on classes.
    assert_eq!(repo.run(&["diff", "--fail-on", "loosened"]).0, 0);
    assert_eq!(repo.run(&["diff", "--fail-on", "tightened"]).0, 1);
}

#[test]
fn history_is_an_audit_log() {
    let (mut repo, c0) = Repo::with_minimal();
    repo.git(&["checkout", "-q", "-b", "loosen"]);
    repo.edit(
        "alignment/sla.toml",
        "target = \">= 15%\"",
        "target = \">= 12%\"",
    );
    let c1 = repo.commit("Loosen the MQL to SQL floor for Q1");
    repo.git(&["checkout", "-q", "main"]);
    repo.edit(
        "alignment/goals.toml",
        "target = \"+5%\"",
        "target = \"+7%\"",
    );
    let c2 = repo.commit("Aim higher on SQL growth (#7)");
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "loosen",
        "-m",
        "Merge pull request #9 from acme/loosen",
    ]);
    repo.commits += 1;
    let c3 = repo.git(&["rev-parse", "HEAD"]);
    repo.write("README.md", "unrelated\n");
    let c4 = repo.commit("Docs only");
    let ids = [c0.as_str(), &c1, &c2, &c3, &c4];
    insta::assert_snapshot!(repo.transcript(&["history", "--color", "never"], &ids));
    insta::assert_snapshot!(
        repo.transcript(&["history", "--first-parent", "--format", "csv"], &ids)
    );
    insta::assert_snapshot!(
        repo.transcript(&["history", "--first-parent", "--format", "markdown"], &ids)
    );
    // Filters.
    let count = |args: &[&str]| {
        let mut full = vec!["history", "--format", "json"];
        full.extend_from_slice(args);
        let (_, stdout, _) = repo.run(&full);
        json(&stdout)["history"]["entries"]
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(count(&[]), 3); // c2, c1 and the first commit; the clean merge and docs are not changes
    assert_eq!(count(&["--first-parent"]), 3); // c3 (the merged PR), c2, c0
    assert_eq!(count(&["mql-quality"]), 2); // added in c0, loosened in c1
    assert_eq!(count(&["--since", "2026-01-06"]), 2);
    assert_eq!(count(&["--until", "2026-01-05"]), 1);
    let (_, stdout, _) = repo.run(&["history", "--first-parent", "--format", "json"]);
    assert_eq!(
        json(&stdout)["history"]["entries"][0]["commit"]["pull_request"],
        9
    );
}

#[test]
fn show_at_a_revision_and_a_date() {
    let (mut repo, c0) = Repo::with_minimal();
    repo.edit(
        "alignment/sla.toml",
        "target = \">= 15%\"",
        "target = \">= 20%\"",
    );
    let c1 = repo.commit("Raise the floor"); // dated 2026-01-06
    let target = |args: &[&str]| {
        let (code, stdout, stderr) = repo.run(args);
        assert_eq!(code, 0, "{stderr}");
        json(&stdout)["alignment"]["commitments"][0]["target"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(target(&["show", "--at", &c0, "--format", "json"]), ">= 15%");
    assert_eq!(
        target(&["show", "--at", "2026-01-05", "--format", "json"]),
        ">= 15%"
    );
    assert_eq!(
        target(&["show", "--at", "2026-01-06", "--format", "json"]),
        ">= 20%"
    );
    assert_eq!(target(&["show", "--format", "json"]), ">= 20%");
    insta::assert_snapshot!(repo.transcript(&["show", "--at", "2026-01-05"], &[&c0, &c1]));
    let (code, _, stderr) = repo.run(&["show", "--at", "2025-12-01"]);
    assert_eq!(code, 3, "{stderr}");
}

#[test]
fn faults_are_clear_and_exit_3() {
    // Not a repository.
    let tmp = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) = run_in(tmp.path(), &["diff"]);
    assert_eq!(code, 3);
    assert!(stderr.contains("not inside a git repository"), "{stderr}");
    // Unborn branch.
    let repo = Repo::new();
    let (code, _, stderr) = repo.run(&["history"]);
    assert_eq!(code, 3);
    assert!(stderr.contains("no commits yet"), "{stderr}");
    // A revision that does not exist.
    let (repo, c0) = Repo::with_minimal();
    insta::assert_snapshot!(repo.transcript(&["diff", "no-such-branch"], &[&c0]));
}

#[test]
fn a_file_that_does_not_parse_at_one_revision_is_reported_and_the_rest_compared() {
    let (mut repo, c0) = Repo::with_minimal();
    repo.write("alignment/goals.toml", "[[goal]\nbroken = \n");
    repo.edit(
        "alignment/sla.toml",
        "target = \">= 15%\"",
        "target = \">= 16%\"",
    );
    let c1 = repo.commit("Half-finished edit");
    let (code, stdout, _) = repo.run(&["diff", &c0, &c1, "--format", "json"]);
    assert_eq!(code, 0);
    let doc = json(&stdout);
    let warning = doc["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.starts_with(&format!("{}:alignment/goals.toml:1:", &c1[..7])),
        "{warning}"
    );
    let changes = doc["changes"].as_array().expect("changes");
    assert!(
        changes
            .iter()
            .any(|c| c["id"] == "mql-quality" && c["class"] == "tightened"),
        "{stdout}"
    );
    // The unreadable goal is reported as such, not as removed.
    assert!(changes.iter().all(|c| c["class"] != "removed"), "{stdout}");
}

#[test]
fn shallow_clones() {
    let (mut repo, _) = Repo::with_minimal();
    repo.edit(
        "alignment/sla.toml",
        "target = \">= 15%\"",
        "target = \">= 16%\"",
    );
    repo.commit("Second");
    repo.edit(
        "alignment/sla.toml",
        "target = \">= 16%\"",
        "target = \">= 17%\"",
    );
    repo.commit("Third");
    let clone = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", repo.path().display());
    let out = Command::new("git")
        .args(["clone", "-q", "--depth", "1", &url, "shallow"])
        .current_dir(clone.path())
        .output()
        .expect("git clone");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shallow = clone.path().join("shallow");
    // The base is missing: say how to fetch it.
    let (code, _, stderr) = run_in(&shallow, &["diff", "HEAD~1"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("fetch-depth: 0") && stderr.contains("--unshallow"),
        "{stderr}"
    );
    // History stops at the boundary instead of claiming it added everything.
    let (code, stdout, _) = run_in(&shallow, &["history", "--format", "json"]);
    assert_eq!(code, 0);
    let doc = json(&stdout);
    assert_eq!(doc["history"]["entries"], serde_json::json!([]), "{stdout}");
    assert!(doc["history"]["shallow_boundary"].is_string(), "{stdout}");
}

#[test]
fn deleted_files_and_markdown_limit() {
    let (mut repo, c0) = Repo::with_minimal();
    std::fs::remove_file(repo.path().join("alignment/goals.toml")).expect("rm");
    let c1 = repo.commit("Drop the goals file");
    let list = classes(&repo, &[&c0, &c1]);
    assert!(
        has(&list, "goal", "better-conversion", "", "removed"),
        "{list:?}"
    );
    // A huge change stays under GitHub's comment limit, and says it was cut.
    let mut goals = String::new();
    for i in 0..3000 {
        goals.push_str(&format!(
            "[[goal]]\nid = \"goal-{i}\"\ntitle = \"A goal with a long title to fill the comment, number {i}\"\nmetric = \"mql_to_sql\"\ntarget = \">= 10%\"\nowners = [\"marketing\", \"sales\"]\n\n"
        ));
    }
    repo.write("alignment/goals.toml", &goals);
    let c2 = repo.commit("Many goals");
    let (_, stdout, _) = repo.run(&["diff", &c1, &c2, "--format", "markdown"]);
    assert!(
        stdout.chars().count() <= 65_536,
        "{} characters",
        stdout.chars().count()
    );
    assert!(
        stdout.contains("more changes are not shown"),
        "{}",
        &stdout[stdout.len() - 300..]
    );
}

#[test]
fn codeowners_block() {
    let (mut repo, _) = Repo::with_minimal();
    repo.write(".github/CODEOWNERS", "* @acme/platform\n");
    repo.commit("Owners");
    insta::assert_snapshot!(repo.transcript(&["codeowners"], &[]));
    assert_eq!(repo.run(&["codeowners", "--check"]).0, 1);
    assert_eq!(repo.run(&["codeowners", "--write"]).0, 0);
    // Written but not committed: GitHub enforces the committed file.
    let (code, _, stderr) = repo.run(&["codeowners", "--check"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not as committed"), "{stderr}");
    repo.commit("Owners block");
    assert_eq!(repo.run(&["codeowners", "--check"]).0, 0);
    let text = repo.read(".github/CODEOWNERS");
    assert!(text.starts_with("* @acme/platform\n"), "{text}");
    // A head changes: the block is out of date until rewritten, the rest kept.
    repo.edit(
        "alignment/revalign.toml",
        "handle = \"bencruz\"",
        "handle = \"new-head\"",
    );
    assert_eq!(repo.run(&["codeowners", "--check"]).0, 1);
    assert_eq!(repo.run(&["codeowners", "--write"]).0, 0);
    let text = repo.read(".github/CODEOWNERS");
    assert!(
        text.contains("@new-head") && !text.contains("@bencruz"),
        "{text}"
    );
    assert_eq!(text.matches("# BEGIN revalign").count(), 1, "{text}");
    assert!(text.starts_with("* @acme/platform\n"), "{text}");
}

#[test]
fn review_findings_stay_fixed() {
    let (mut repo, c0) = Repo::with_minimal();
    // Written differently, meaning the same: no change.
    repo.edit(
        "alignment/sla.toml",
        "target = \">= 15%\"",
        "target = \">=15%\"",
    );
    repo.edit(
        "alignment/metrics.toml",
        "within = \"90d\"",
        "within = \"2160h\"",
    );
    repo.edit(
        "alignment/goals.toml",
        "owners = [\"marketing\", \"sales\"]",
        "owners = [\"sales\", \"marketing\"]",
    );
    let c1 = repo.commit("Reformat");
    assert_eq!(classes(&repo, &[&c0, &c1]), vec![]);
    // `>=` to `>` at the same value excludes the boundary: tightened. Defaults are compared.
    repo.edit(
        "alignment/sla.toml",
        "target = \">=15%\"",
        "target = \"> 15%\"",
    );
    repo.edit(
        "alignment/revalign.toml",
        "[defaults]\n",
        "[defaults]\nperiod = \"quarter\"\n",
    );
    let c2 = repo.commit("Stricter, quarterly");
    let list = classes(&repo, &[&c1, &c2]);
    assert!(
        has(&list, "commitment", "mql-quality", "target", "tightened"),
        "{list:?}"
    );
    assert!(
        has(&list, "defaults", "defaults", "period", "breaking"),
        "{list:?}"
    );
    // A file broken in one commit: that commit is listed, with the warning, even
    // though later commits change other files while it stays broken.
    repo.write("alignment/sla.toml", "[[commitment]\n");
    let c3 = repo.commit("Break the SLA file");
    repo.edit(
        "alignment/goals.toml",
        "target = \"+5%\"",
        "target = \"+6%\"",
    );
    let c4 = repo.commit("Raise the goal");
    let (_, stdout, _) = repo.run(&["history", "--format", "json"]);
    let doc = json(&stdout);
    let entries = doc["history"]["entries"].as_array().expect("entries");
    let of = |c: &str| {
        entries
            .iter()
            .find(|e| e["commit"]["id"] == c)
            .cloned()
            .unwrap_or_default()
    };
    let broken = of(&c3);
    assert!(
        broken["warnings"][0]
            .as_str()
            .unwrap_or("")
            .starts_with(&format!("{}:alignment/sla.toml:1:", &c3[..7])),
        "{stdout}"
    );
    assert_eq!(of(&c4)["warnings"], serde_json::json!([]), "{stdout}");
    // A gate cannot pass while the head side does not parse.
    assert_eq!(repo.run(&["diff", &c2, &c4, "--fail-on", "breaking"]).0, 2);
    // Deleting the alignment directory is a change, not a fallback to the whole repository.
    std::fs::remove_dir_all(repo.path().join("alignment")).expect("rm");
    let c5 = repo.commit("Drop the agreement");
    let (code, stdout, _) =
        repo.run(&["diff", &c4, &c5, "--fail-on", "removed", "--format", "json"]);
    assert_eq!(code, 1, "{stdout}");
}

#[test]
fn second_review_gaps_stay_fixed() {
    let (mut repo, c0) = Repo::with_minimal();
    // A goal judged over another period: results do not compare.
    repo.edit(
        "alignment/goals.toml",
        "owners = [\"marketing\", \"sales\"]",
        "owners = [\"marketing\", \"sales\"]\nperiod = \"quarter\"",
    );
    // Entry criteria compared criterion by criterion.
    repo.edit(
        "alignment/leads.toml",
        "owner = \"marketing\"\n",
        "owner = \"marketing\"\nentry = { all = [ { field = \"score\", gte = 65 }, { field = \"country\", in = [\"US\", \"CA\"] } ] }\n",
    );
    let c1 = repo.commit("Quarterly goal, MQL criteria");
    repo.edit("alignment/leads.toml", "gte = 65", "gte = 70");
    repo.edit(
        "alignment/leads.toml",
        ", { field = \"country\", in = [\"US\", \"CA\"] }",
        ", { field = \"email\", exists = true }",
    );
    let c2 = repo.commit("Raise the MQL bar");
    let list = classes(&repo, &[&c0, &c1]);
    assert!(
        has(&list, "goal", "better-conversion", "period", "breaking"),
        "{list:?}"
    );
    let (_, stdout, _) = repo.run(&["diff", &c1, &c2, "--format", "json"]);
    let changes = json(&stdout)["changes"].clone();
    let entry: Vec<(String, String)> = changes
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap_or("").to_string(),
                c["note"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let note = |field: &str| {
        entry
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| panic!("no {field} in {entry:?}"))
    };
    assert!(note("entry.score").starts_with("harder to enter (tightened)"));
    assert!(note("entry.country").starts_with("a criterion dropped"));
    assert!(note("entry.email").starts_with("a new criterion"));

    // Two branches each consistent, merged into a goal on a removed metric.
    repo.edit(
        "alignment/metrics.toml",
        "within = \"90d\"\n",
        "within = \"90d\"\n\n[[metric]]\nid = \"sql_volume\"\nname = \"SQLs\"\nunit = \"count\"\nowners = [\"sales\"]\nkind = \"stage_count\"\nstage = \"sql\"\n",
    );
    repo.commit("Add SQL volume");
    repo.git(&["checkout", "-q", "-b", "new-goal"]);
    repo.write(
        "alignment/goals/extra.toml",
        "[[goal]]\nid = \"extra\"\ntitle = \"Extra\"\nmetric = \"sql_volume\"\ntarget = \">= 5\"\nowners = [\"marketing\", \"sales\"]\n",
    );
    repo.commit("A goal on SQL volume");
    repo.git(&["checkout", "-q", "main"]);
    let text = repo.read("alignment/metrics.toml");
    let cut = text
        .find("\n\n[[metric]]\nid = \"sql_volume\"")
        .expect("metric");
    repo.write("alignment/metrics.toml", &format!("{}\n", &text[..cut]));
    repo.commit("Drop SQL volume, nobody uses it");
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "new-goal",
        "-m",
        "Merge pull request #12 from acme/new-goal",
    ]);
    repo.commits += 1;
    let merge = repo.git(&["rev-parse", "HEAD"]);
    let (_, stdout, _) = repo.run(&["history", "--format", "json"]);
    let doc = json(&stdout);
    let entries = doc["history"]["entries"].as_array().expect("entries");
    let m = entries
        .iter()
        .find(|e| e["commit"]["id"] == merge.as_str())
        .unwrap_or_else(|| panic!("the merge is not listed: {stdout}"));
    assert_eq!(m["changes"][0]["class"], "breaking", "{m:#}");
    assert!(
        m["changes"][0]["note"]
            .as_str()
            .unwrap_or("")
            .contains("goal `extra` now refer to metric `sql_volume`"),
        "{m:#}"
    );

    // A broken file is a row of its own in the CSV; formulas are defused.
    repo.write("alignment/sla.toml", "[[commitment]\n");
    let broken = repo.commit("Break the SLA file");
    let (_, csv, _) = repo.run(&["history", "--format", "csv"]);
    assert!(
        csv.lines()
            .any(|l| l.starts_with(&broken) && l.contains(",warning,")),
        "{csv}"
    );
    assert!(!csv.contains(",+5%") && !csv.contains(",="), "{csv}");
    repo.git(&["checkout", "-q", &c2, "--", "alignment/sla.toml"]);
    repo.commit("Fix the SLA file");

    // Moving the alignment directory is followed, not "added everything".
    repo.git(&["mv", "alignment", "agreement"]);
    let moved = repo.commit("Move the agreement");
    let (_, stdout, _) = repo.run(&["history", "--dir", "agreement", "--format", "json"]);
    let doc = json(&stdout);
    let entries = doc["history"]["entries"].as_array().expect("entries");
    assert!(
        !entries.iter().any(|e| e["commit"]["id"] == moved.as_str()),
        "the move is no change: {stdout}"
    );
    assert!(
        entries.iter().any(|e| e["commit"]["id"] == c2.as_str()),
        "history before the move is followed: {stdout}"
    );

    // `show` resolves the defaults.
    let (_, stdout, _) = repo.run(&["show", "agreement", "--format", "json"]);
    let doc = json(&stdout);
    assert_eq!(doc["alignment"]["commitments"][0]["period"], "month");
    assert_eq!(doc["alignment"]["commitments"][0]["source"], "crm_export");
    assert_eq!(doc["alignment"]["goals"][0]["period"], "quarter");
}

#[test]
fn diff_follows_a_moved_directory_and_history_names_unknown_ids() {
    let (mut repo, c0) = Repo::with_minimal();
    // Moved and edited in one commit: compared with where it was, not "added".
    repo.git(&["mv", "alignment", "agreement"]);
    repo.edit(
        "agreement/sla.toml",
        "target = \">= 15%\"",
        "target = \">= 18%\"",
    );
    let c1 = repo.commit("Move the agreement and raise the MQL bar");
    let (code, stdout, stderr) =
        repo.run(&["diff", &c0, &c1, "--format", "json", "--", "agreement"]);
    assert_eq!(code, 0, "{stderr}");
    let doc = json(&stdout);
    assert_eq!(doc["base"]["dir"], "alignment", "{doc:#}");
    assert_eq!(doc["head"]["dir"], "agreement", "{doc:#}");
    let changes = doc["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "only the raised target: {doc:#}");
    assert_eq!(changes[0]["id"], "mql-quality");
    assert_eq!(changes[0]["class"], "tightened");
    // The working tree as head, and the human form saying where the base had it.
    let (code, stdout, _) = repo.run(&["diff", &c0, "--", "agreement"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains(&format!("(at {} it was `alignment`)", &c0[..7])),
        "{stdout}"
    );
    assert!(stdout.contains("mql-quality"), "{stdout}");

    // An id that nothing in the range changed and HEAD does not define is a
    // usage error with a suggestion, not an empty audit log.
    let (code, stdout, stderr) = repo.run(&["history", "--dir", "agreement", "mql-qualty"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("`mql-qualty` (did you mean `mql-quality`?)"),
        "{stderr}"
    );
    // A known id is fine, changed or not.
    let (code, stdout, stderr) = repo.run(&[
        "history",
        "--dir",
        "agreement",
        "mql-quality",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        json(&stdout)["history"]["entries"].as_array().map(Vec::len),
        Some(2)
    );
    let (code, _, stderr) = repo.run(&[
        "history",
        "--dir",
        "agreement",
        "better-conversion",
        "--since",
        "2026-01-06",
    ]);
    assert_eq!(
        code, 0,
        "unchanged in the range but defined at HEAD: {stderr}"
    );
}
