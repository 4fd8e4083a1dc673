//! `revalign report`: the pack for the joint sales–marketing meeting.

use std::path::{Path, PathBuf};

use super::check::Judging;
use super::diff::git_error;
use super::{Ctx, Exit, Format, Output};
use crate::check::Selection;
use crate::git::{GitError, HistoryOptions, Repo, parse_time};
use crate::model::scorecard::Status;
use crate::render::report::{self, Breach, Changes, MARKER, Report, Targets};
use crate::render::scorecard::series;
use crate::source::Fetch;

/// The pack for the joint sales and marketing meeting: the scorecard of the
/// current and previous periods; for each goal and commitment a chart of its
/// last N periods against the target in force in each (from git, so a target
/// raised in March draws as a step); what changed in the agreement since the
/// last meeting (the SLA's review cadence, or --since); the records behind
/// each SLA commitment missed in its latest closed period; definition drift.
///
/// HTML is one self-contained file (inline CSS and SVG, no script, nothing
/// fetched); markdown has the same sections with the charts as tables.
/// The format is --format html|markdown, else from --out's extension, else
/// markdown on standard output. Outside a git repository (or with
/// --todays-targets) every period is judged by today's targets, and the
/// report says so.
///
/// Exit codes: 0 written (missed targets are content, not failure), 2 bad
/// flags, an invalid alignment or an --out file revalign did not write, 3 a
/// data source could not be read (the report is still written, with those
/// targets as `error`) or git failed.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  revalign report --out report.html               # this week's pack\n  revalign report --periods 12 --out report.md\n  revalign report examples/acme --as-of 2026-11-01 --format html > acme.html"
)]
pub struct Args {
    /// The alignment directory [default: ./alignment if it exists, else .]
    pub dir: Option<PathBuf>,
    /// How many periods of its own kind each chart covers.
    #[arg(long, default_value_t = 6, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=60))]
    pub periods: u32,
    /// Write the report to this file (`.html` or `.md`). Replaces only a file
    /// revalign wrote; any other file of that name is left alone (exit 2).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The period the charts end with: `current`, `previous`, `2026-10`, ...
    #[arg(long, default_value = "current", value_name = "PERIOD")]
    pub period: String,
    /// Show the agreement's changes since this day (YYYY-MM-DD, UTC) [default:
    /// the last meeting, one review cadence (`[review] every_weeks`) ago].
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// How many missed records each SLA breach lists.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub limit: usize,
    /// Judge every period by today's targets instead of those in force then
    /// (for an alignment whose git history is shorter than the periods shown).
    #[arg(long)]
    pub todays_targets: bool,
    /// API sources (hubspot): fetch every record again instead of only what
    /// changed since the cache in .revalign/cache/ was synced.
    #[arg(long)]
    pub refresh: bool,
    /// Report as if it were this time (`2026-11-01`, `2026-11-01T09:00:00Z`) [default: now].
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
}

fn is_markdown(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown"))
}

/// Runs `report`.
pub fn run(ctx: &Ctx, args: Args) -> Output {
    if let Err(out) = ctx.formats("report", &[Format::Human, Format::Html, Format::Markdown]) {
        return out;
    }
    let html = match (ctx.format, &args.out) {
        (Format::Html, _) => true,
        (Format::Markdown, _) => false,
        (_, Some(path)) => !is_markdown(path),
        (_, None) => false,
    };
    let target = args.out.as_ref().map(|p| ctx.path(p));
    if let Some(path) = &target
        && let Err(out) = may_replace(path)
    {
        return out;
    }
    let j = match Judging::prepare(ctx, args.dir.as_ref(), &args.period, args.as_of.as_deref()) {
        Ok(j) => j,
        Err(out) => return out,
    };
    let a = &j.loaded.alignment;

    // The repository: the targets in force, and the changes since the last meeting.
    let mut repo = match Repo::discover(&j.dir) {
        Ok(r) => Some(r),
        Err(GitError::NotARepository(_)) => None,
        Err(e) => return git_error(&e),
    };
    let weeks = a
        .reviews
        .first()
        .and_then(|r| r.value.as_ref())
        .map_or(1, |r| i64::from(r.every_weeks.max(1)));
    let since = match &args.since {
        Some(s) => match parse_time(s, false) {
            Some(t) => t,
            None => {
                return Output::error(
                    Exit::Usage,
                    format!("--since `{s}` is not a date"),
                    "write a day as YYYY-MM-DD or a time as 2026-03-31T12:00:00Z",
                );
            }
        },
        None => j.now.div_euclid(1000) - weeks * 7 * 86_400,
    };
    let since_label = args.since.clone().unwrap_or_else(|| {
        jiff::Timestamp::from_second(since)
            .map(|t| t.to_zoned(j.cal.tz.clone()).date().to_string())
            .unwrap_or_default()
    });
    let changes = match repo.as_mut() {
        None => Changes::Unavailable(format!(
            "`{}` is not in a git repository: no history of the agreement to show",
            j.shown.display()
        )),
        Some(r) => {
            let dir = r.relative_dir(&ctx.base, &j.shown);
            let opts = HistoryOptions {
                first_parent: true,
                since: Some(since),
                until: Some(j.now.div_euclid(1000)),
                ids: Vec::new(),
            };
            match r.history(&dir, &opts) {
                Ok(history) => Changes::Since {
                    since: since_label,
                    history,
                },
                Err(e) => return git_error(&e),
            }
        }
    };
    let mut declared = match repo.as_ref().filter(|_| !args.todays_targets) {
        Some(r) => match j.declared(ctx, r) {
            Ok(d) => Some(d),
            Err(out) => return out,
        },
        None => None,
    };

    let sel = Selection {
        window: j.window.clone(),
        last: args.periods,
        ids: Vec::new(),
        source: None,
        now: j.now,
        explain: None,
        drift: true,
        own_periods: true,
        show_sql: false,
        fetch: Fetch {
            refresh: args.refresh,
            ..Fetch::default()
        },
    };
    let mut card = match j.check(&sel, declared.as_mut()) {
        Ok(c) => c,
        Err(out) => return out,
    };
    if declared.is_some() && card.notes.iter().any(|n| n.starts_with("no version")) {
        card.notes
            .push("--todays-targets judges those periods by today's targets instead".into());
    }

    // Each commitment missed in its latest closed period, with its records.
    let mut breaches = Vec::new();
    for t in series(&card).iter().filter(|t| t.kind == "commitment") {
        let Some(row) = t.rows.iter().rev().find(|r| r.window.end <= j.now) else {
            continue;
        };
        if row.status != Status::Fail {
            continue;
        }
        let one = Selection {
            window: row.window.clone(),
            last: 1,
            ids: vec![row.id.clone()],
            source: None,
            now: j.now,
            explain: Some(row.id.clone()),
            drift: false,
            own_periods: false,
            show_sql: false,
            // The records were fetched for the scorecard a moment ago.
            fetch: Fetch::default(),
        };
        let records = match j.check(&one, declared.as_mut()) {
            Ok(c) => c.explained,
            Err(out) => return out,
        };
        breaches.push(Breach {
            row: (*row).clone(),
            records,
        });
    }

    let rep = Report {
        organization: j.name.clone(),
        as_of: j.as_of_text(),
        card: &card,
        periods: args.periods,
        targets: match (&repo, &declared) {
            (_, Some(_)) => Targets::Declared,
            (Some(_), None) => Targets::Todays,
            (None, _) => Targets::NoHistory,
        },
        breaches,
        limit: args.limit,
        changes,
        currency: j.currency.as_deref(),
        cal: &j.cal,
    };
    let text = if html {
        report::html(&rep)
    } else {
        report::markdown(&rep)
    };
    let errors = card
        .rows
        .iter()
        .filter(|r| r.status == Status::Error)
        .count();
    let exit = if errors > 0 {
        Exit::Environment
    } else {
        Exit::Ok
    };
    let mut stderr = String::new();
    if errors > 0 {
        stderr.push_str(&format!(
            "error: {errors} target period{} could not be measured (shown as `error` in the report)\n  help: `revalign check --last {}` names the source and the fix\n",
            if errors == 1 { "" } else { "s" },
            args.periods
        ));
    }
    match target {
        None => Output {
            stdout: text,
            stderr,
            exit,
        },
        Some(path) => match write_replacing(&path, &text) {
            Ok(()) => {
                stderr.insert_str(
                    0,
                    &format!(
                        "wrote {} ({} targets over {} periods, {} SLA breach{})\n",
                        args.out.as_deref().unwrap_or(&path).display(),
                        series(&card).len(),
                        args.periods,
                        rep.breaches.len(),
                        if rep.breaches.len() == 1 { "" } else { "es" }
                    ),
                );
                Output {
                    stdout: String::new(),
                    stderr,
                    exit,
                }
            }
            Err(e) => Output::error(
                Exit::Environment,
                format!("cannot write `{}`: {e}", path.display()),
                "pass a path in a folder you can write to",
            ),
        },
    }
}

/// Refuses to replace a file that is not a report revalign wrote.
fn may_replace(path: &Path) -> Result<(), Output> {
    if !path.exists() {
        return Ok(());
    }
    let ours = std::fs::read(path)
        .map(|b| {
            let head = &b[..b.len().min(512)];
            String::from_utf8_lossy(head).contains(MARKER)
        })
        .unwrap_or(false);
    if ours {
        Ok(())
    } else {
        Err(Output::error(
            Exit::Usage,
            format!(
                "`{}` exists and is not a report revalign wrote",
                path.display()
            ),
            "pass another --out path, or move that file away first",
        ))
    }
}

/// Writes through a temporary file in the same folder, renamed over the old
/// report: a reader never sees half a report, and a failed write leaves the
/// old one.
fn write_replacing(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let tmp = dir.join(format!(".{name}.revalign-tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
