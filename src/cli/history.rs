//! `revalign history`: the audit log of the agreement.

use std::path::PathBuf;

use super::diff::git_error;
use super::{Ctx, Exit, Format, Output};
use crate::git::{HistoryOptions, Repo, parse_time};
use crate::render::changes;

/// Every commit that changed the agreement, newest first: commit, date, author,
/// subject, the pull request it names, and the same semantic changes as `diff`.
/// Commits that only reformat or edit comments are left out.
///
/// Formats: human, markdown, json, csv.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  revalign history                        # everything\n  revalign history mql-delivery --since 2026-01-01\n  revalign history --first-parent --format csv > audit.csv"
)]
pub struct Args {
    /// Only changes to these goals, commitments, metrics, stages or teams.
    pub ids: Vec<String>,
    /// Only commits on or after this day (YYYY-MM-DD, UTC) or time (RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only commits on or before this day (YYYY-MM-DD, UTC) or time (RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Follow only the first parent of merges: one entry per merged pull request.
    #[arg(long)]
    pub first_parent: bool,
    /// The alignment directory [default: ./alignment if it exists, else .]
    #[arg(long, short = 'd', value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Runs `history`.
pub fn run(ctx: &Ctx, args: Args) -> Output {
    if let Err(out) = ctx.formats(
        "history",
        &[Format::Human, Format::Markdown, Format::Json, Format::Csv],
    ) {
        return out;
    }
    let time = |s: &Option<String>, end: bool| -> Result<Option<i64>, Output> {
        match s {
            None => Ok(None),
            Some(t) => parse_time(t, end).map(Some).ok_or_else(|| {
                Output::error(
                    Exit::Usage,
                    format!("`{t}` is not a date"),
                    "write a day as YYYY-MM-DD or a time as 2026-03-31T12:00:00Z",
                )
            }),
        }
    };
    let (since, until) = match (time(&args.since, false), time(&args.until, true)) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let mut repo = match Repo::discover(&ctx.base) {
        Ok(r) => r,
        Err(e) => return git_error(&e),
    };
    let dir = match &args.dir {
        Some(d) => repo.relative_dir(&ctx.base, d),
        None => match repo.commit("HEAD") {
            Ok(head) => repo.default_dir(&ctx.base, &[&head]),
            Err(e) => return git_error(&e),
        },
    };
    let opts = HistoryOptions {
        first_parent: args.first_parent,
        since,
        until,
        ids: args.ids,
    };
    let history = match repo.history(&dir, &opts) {
        Ok(h) => h,
        Err(e) => return git_error(&e),
    };
    // The process ends right after printing: freeing libgit2's object cache and
    // the per-blob caches one allocation at a time took 15% of the run.
    std::mem::forget(repo);
    if !history.unknown_ids.is_empty() {
        let list: Vec<String> = history
            .unknown_ids
            .iter()
            .map(|(id, near)| match near {
                Some(n) => format!("`{id}` (did you mean `{n}`?)"),
                None => format!("`{id}`"),
            })
            .collect();
        return Output::error(
            Exit::Usage,
            format!(
                "no change in this range names {}, and HEAD defines no such goal, commitment, metric, stage, team or criterion",
                list.join(", ")
            ),
            "check the spelling against `revalign show`; an entity removed before --since is found by widening the range",
        );
    }
    let stdout = match ctx.format {
        Format::Markdown => changes::history_markdown(&history),
        Format::Json => changes::history_json(&history),
        Format::Csv => changes::history_csv(&history),
        _ => changes::history_human(&history, ctx.color),
    };
    Output::ok(stdout)
}
