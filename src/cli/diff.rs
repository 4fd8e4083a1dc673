//! `revalign diff`: what a change does to the agreement, in business terms.

use std::path::PathBuf;

use serde_json::json;

use super::{Ctx, Exit, Format, Output};
use crate::diff::diff;
use crate::git::{GitError, Repo};
use crate::load::{Loaded, load_dir};
use crate::render::changes;

/// Compare the alignment at two revisions by entity id, not by line: what was
/// tightened, loosened, added, removed, broken, or changed hands. Moving a goal
/// to another file or reformatting is no change.
///
/// BASE defaults to the merge base of HEAD with the default branch (origin/HEAD,
/// else main, else master); HEAD defaults to the working tree, uncommitted and
/// untracked files included. Formats: human, markdown (for a PR comment), json.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  revalign diff                          # this branch's changes against main\n  revalign diff v1.0 v1.1 -- alignment\n  revalign diff --format markdown --fail-on breaking   # a PR gate"
)]
pub struct Args {
    /// The revision to compare from [default: merge base with the default branch].
    pub base: Option<String>,
    /// The revision to compare to [default: the working tree].
    pub head: Option<String>,
    /// The alignment directory [default: ./alignment if it exists, else .]
    #[arg(last = true)]
    pub dir: Option<PathBuf>,
    /// Exit 1 when there are changes, like `git diff --exit-code`.
    #[arg(long)]
    pub exit_code: bool,
    /// Exit 1 when there is a change of this class (repeatable).
    #[arg(long, value_name = "CLASS", value_parser = ["breaking", "loosened", "tightened", "ownership", "added", "removed", "changed"])]
    pub fail_on: Vec<String>,
}

/// A git failure as output: exit 3 with the next step.
pub fn git_error(e: &GitError) -> Output {
    Output::error(Exit::Environment, e.to_string(), e.help())
}

/// Runs `diff`.
pub fn run(ctx: &Ctx, args: Args) -> Output {
    if let Err(out) = ctx.formats("diff", &[Format::Human, Format::Markdown, Format::Json]) {
        return out;
    }
    let repo = match Repo::discover(&ctx.base) {
        Ok(r) => r,
        Err(e) => return git_error(&e),
    };
    let base = match &args.base {
        Some(spec) => repo.commit(spec),
        None => repo.default_base(),
    };
    let base = match base {
        Ok(c) => c,
        Err(e) => return git_error(&e),
    };
    let head_commit = match args.head.as_deref().map(|h| repo.commit(h)) {
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => return git_error(&e),
        None => None,
    };
    let dir = match &args.dir {
        Some(d) => repo.relative_dir(&ctx.base, d),
        None => {
            let mut commits = vec![&base];
            commits.extend(head_commit.as_ref());
            repo.default_dir(&ctx.base, &commits)
        }
    };
    // A directory the base does not have but had under another name was moved
    // in between: compare with where it was (like `history`, `git log --follow`).
    let base_dir = match repo.moved_from(&base, head_commit.as_ref(), &dir) {
        Ok(moved) => moved,
        Err(e) => return git_error(&e),
    };
    let base_loaded = match repo.load_at(&base, base_dir.as_deref().unwrap_or(&dir)) {
        Ok(l) => l,
        Err(e) => return git_error(&e),
    };
    let base_info = repo.info(&base);
    let (head_loaded, head_label, head_json): (Loaded, String, serde_json::Value) = match &args.head
    {
        Some(spec) => {
            let Some(c) = head_commit.as_ref() else {
                return Output::error(
                    Exit::Environment,
                    format!("revision `{spec}` does not exist"),
                    "check the revision",
                );
            };
            let info = repo.info(c);
            match repo.load_at(c, &dir) {
                Ok(l) => (
                    l,
                    info.short.clone(),
                    json!({ "revision": spec, "commit": info.id, "working_tree": false, "dir": dir }),
                ),
                Err(e) => return git_error(&e),
            }
        }
        None => match repo.workdir() {
            Some(w) => {
                let path = w.join(&dir);
                let loaded = if path.is_dir() {
                    match load_dir(&path, std::path::Path::new(&dir)) {
                        Ok(l) => l,
                        Err(e) => {
                            return Output::error(
                                Exit::Usage,
                                e.to_string(),
                                "pass the alignment directory after `--`",
                            );
                        }
                    }
                } else {
                    crate::load::load_files(Vec::new())
                };
                (
                    loaded,
                    "working tree".into(),
                    json!({ "revision": null, "commit": null, "working_tree": true, "dir": dir }),
                )
            }
            None => {
                return Output::error(
                    Exit::Usage,
                    "a bare repository has no working tree to compare with",
                    "name the head revision: `revalign diff main my-branch`",
                );
            }
        },
    };
    let head_warnings = file_warnings(&head_loaded);
    let warnings: Vec<String> = file_warnings(&base_loaded)
        .into_iter()
        .chain(head_warnings.iter().cloned())
        .collect();
    let list = diff(&base_loaded.alignment, &head_loaded.alignment);
    let moved = base_dir
        .as_ref()
        .map(|d| format!(" (at {} it was `{d}`)", base_info.short))
        .unwrap_or_default();
    let title = format!(
        "revalign: changes to the agreement ({} → {head_label}){moved}",
        base_info.short
    );
    let stdout = match ctx.format {
        Format::Markdown => changes::markdown(&list, &warnings, &title),
        Format::Json => changes::diff_json(
            &list,
            &warnings,
            &json!({
                "revision": args.base,
                "commit": base_info.id,
                "working_tree": false,
                "dir": base_dir.as_deref().unwrap_or(&dir),
            }),
            &head_json,
        ),
        _ => {
            let mut s = format!(
                "Comparing {} → {head_label} in {dir}{moved}\n\n",
                base_info.short
            );
            s.push_str(&changes::human(&list, &warnings, ctx.color, ""));
            if !list.is_empty() {
                s.push('\n');
            }
            s.push_str(&changes::summary(&list));
            s.push('\n');
            s
        }
    };
    // A gate cannot pass on files it could not read: their changes are unknown.
    if (args.exit_code || !args.fail_on.is_empty()) && !head_warnings.is_empty() {
        return Output {
            stdout,
            stderr: format!(
                "error: {} file problem(s) at the head side, so its changes are not all known\n  help: fix them (`revalign validate`), then run the diff again\n",
                head_warnings.len()
            ),
            exit: Exit::Usage,
        };
    }
    let failing = args.exit_code && !list.is_empty()
        || list
            .iter()
            .any(|c| args.fail_on.iter().any(|f| f == c.class.as_str()));
    Output {
        stdout,
        stderr: String::new(),
        exit: if failing { Exit::Findings } else { Exit::Ok },
    }
}

/// Problems reading files at a revision (not the rules: a diff reports what
/// changed, `validate` what is wrong), as `a1b2c3d:alignment/sla.toml:12:3: message`.
pub fn file_warnings(loaded: &Loaded) -> Vec<String> {
    use crate::model::Code;
    loaded
        .findings
        .iter()
        .filter(|f| {
            matches!(
                f.code,
                Code::TomlSyntax
                    | Code::UnreadableFile
                    | Code::TooDeep
                    | Code::UnknownKey
                    | Code::MissingKey
                    | Code::WrongType
                    | Code::InvalidValue
            )
        })
        .map(|f| {
            let loc = f
                .place
                .as_ref()
                .and_then(|p| crate::render::location(&loaded.sources, p))
                .map(|l| format!("{}:{}:{}: ", l.file, l.line, l.column))
                .unwrap_or_default();
            format!("{loc}{} [{}]", f.message, f.code)
        })
        .collect()
}
