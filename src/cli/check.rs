//! `revalign check`: the scorecard of every goal and SLA commitment, measured
//! from the data sources.

use std::path::PathBuf;

use super::diff::git_error;
use super::{Ctx, Exit, Format, Output};
use crate::check::{self, Selection};
use crate::git::{Declared, Repo};
use crate::load::{Loaded, default_dir, load_dir};
use crate::model::calendar::{Calendar, Millis, PeriodError, Window};
use crate::model::scorecard::Status;
use crate::model::{Period, Severity};
use crate::render;
use crate::render::scorecard;
use crate::source::Fetch;

/// Measure every goal and SLA commitment from its data source and hold it
/// against its target: pass, warn (met the target, not the warn threshold, or
/// behind pace in an open period), fail, no-data (nothing to measure), error
/// (the data could not be read; never reported as a pass).
///
/// Each target is judged in every period of its own kind (week, month,
/// quarter, year) that overlaps the selection. Periods are in the manifest's
/// time zone; quarters and years are fiscal.
///
/// Definition drift: for each stage with entry criteria, the records sitting
/// in it (entered in the selection) that do not meet them, with examples.
///
/// Exit codes: 0 all passed (warnings allowed), 1 a target failed (or warned,
/// with --fail-on-warn; or drift, with --fail-on-drift), 2 the alignment or
/// the flags are invalid, 3 a source could not be read.
///
/// Formats: human, json, markdown, junit, github.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  revalign check examples/acme --period 2026-10\n  revalign check --period previous --format markdown >> \"$GITHUB_STEP_SUMMARY\"\n  revalign check --last 3 --goal sql-volume\n  revalign check --period 2026-10 --explain follow-up-24h\n  revalign check --last 6 --as-declared --format markdown   # each month by the target then in force"
)]
pub struct Args {
    /// The alignment directory [default: ./alignment if it exists, else .]
    pub dir: Option<PathBuf>,
    /// The period: `2026-10`, `2026-Q3` (fiscal), `2026-W41`, `FY2026`, `current` or `previous`
    /// (of `defaults.period`, else month).
    #[arg(long, default_value = "current", value_name = "PERIOD")]
    pub period: String,
    /// Widen the selection to the last N periods of that kind, ending with --period.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=120))]
    pub last: u32,
    /// Only these goals or commitments (repeat the flag for several).
    #[arg(long = "goal", value_name = "ID")]
    pub goals: Vec<String>,
    /// Read every target from this source instead of its own.
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub fail_on_warn: bool,
    /// Exit 1 when a record sits in a stage whose entry criteria it does not
    /// meet (definition drift), 3 when a stage's criteria cannot be judged.
    #[arg(long)]
    pub fail_on_drift: bool,
    /// Do not judge the lead definitions (definition drift).
    #[arg(long, conflicts_with = "fail_on_drift")]
    pub no_drift: bool,
    /// List the records behind this goal's or commitment's number (its latest period), misses first.
    #[arg(long, value_name = "ID")]
    pub explain: Option<String>,
    /// How many records --explain lists.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub limit: usize,
    /// Judge each period by the targets in force at its end (the last commit
    /// on HEAD's first-parent line by then), not today's: the attainment
    /// history. Needs the alignment in a git repository with its history.
    #[arg(long, conflicts_with = "explain")]
    pub as_declared: bool,
    /// Print the SQL that warehouse (postgres) sources would run for these
    /// targets, with its bound values, instead of running it.
    #[arg(long, conflicts_with = "explain")]
    pub show_sql: bool,
    /// API sources (hubspot): fetch every record again instead of only what
    /// changed since the cache in .revalign/cache/ was synced.
    #[arg(long)]
    pub refresh: bool,
    /// Judge as if it were this time (`2026-11-01`, `2026-11-01T09:00:00Z`) [default: now].
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
}

/// Runs `check`.
pub fn run(ctx: &Ctx, args: Args) -> Output {
    let formats = if args.explain.is_some() {
        &[Format::Human, Format::Json][..]
    } else {
        &[
            Format::Human,
            Format::Json,
            Format::Markdown,
            Format::Junit,
            Format::Github,
        ][..]
    };
    if let Err(out) = ctx.formats("check", formats) {
        return out;
    }
    let j = match Judging::prepare(ctx, args.dir.as_ref(), &args.period, args.as_of.as_deref()) {
        Ok(j) => j,
        Err(out) => return out,
    };
    let sel = Selection {
        window: j.window.clone(),
        last: args.last,
        ids: args.goals.clone(),
        source: args.source.clone(),
        now: j.now,
        explain: args.explain.clone(),
        drift: !args.no_drift,
        own_periods: false,
        show_sql: args.show_sql,
        fetch: Fetch {
            refresh: args.refresh,
            ..Fetch::default()
        },
    };
    let repo = if args.as_declared {
        match j.repo() {
            Ok(r) => Some(r),
            Err(out) => return out,
        }
    } else {
        None
    };
    let mut declared = match &repo {
        Some(r) => match j.declared(ctx, r) {
            Ok(d) => Some(d),
            Err(out) => return out,
        },
        None => None,
    };
    let card = match j.check(&sel, declared.as_mut()) {
        Ok(c) => c,
        Err(out) => return out,
    };
    if args.show_sql {
        return show_sql(&card, &j.cal);
    }
    let (now, cal, shown, loaded) = (j.now, &j.cal, &j.shown, &j.loaded);
    let currency = j.currency.clone();
    let heading = j.heading("check", &card.selection);
    let drift_error = args.fail_on_drift && card.drift.iter().any(|d| d.result.error.is_some());
    let drifted = args.fail_on_drift && card.drift.iter().any(|d| d.result.drifted > 0);
    let exit = if drift_error || card.rows.iter().any(|r| r.status == Status::Error) {
        Exit::Environment
    } else if drifted
        || card
            .rows
            .iter()
            .any(|r| r.status == Status::Fail || (args.fail_on_warn && r.status == Status::Warn))
    {
        Exit::Findings
    } else {
        Exit::Ok
    };
    let shown_name = shown.display().to_string();
    if let Some(id) = &args.explain {
        let Some(row) = card
            .rows
            .iter()
            .filter(|r| &r.id == id)
            .max_by_key(|r| r.window.start)
        else {
            return Output::error(
                Exit::Usage,
                format!("`{id}` was not judged"),
                "widen --period or --last",
            );
        };
        let stdout = match ctx.format {
            Format::Json => {
                let rows: Vec<serde_json::Value> = card
                    .explained
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "id": e.id, "row": e.row(), "counted": e.hit,
                            "start": e.start, "end": e.end, "elapsed_ms": e.elapsed,
                            "amount": e.amount, "owner": e.owner,
                        })
                    })
                    .collect();
                let mut s = serde_json::to_string_pretty(&serde_json::json!({
                    "version": scorecard::JSON_VERSION,
                    "id": row.id,
                    "period": row.window.label,
                    "status": row.status.as_str(),
                    "actual": row.actual,
                    "records": rows,
                }))
                .unwrap_or_default();
                s.push('\n');
                s
            }
            _ => {
                let mut s = scorecard::human(
                    &check::Scorecard {
                        rows: vec![row.clone()],
                        selection: card.selection.clone(),
                        sources: Vec::new(),
                        explained: Vec::new(),
                        drift: Vec::new(),
                        now,
                        notes: Vec::new(),
                        sql: Vec::new(),
                    },
                    &heading,
                    currency.as_deref(),
                    ctx.color,
                );
                s.push('\n');
                s.push_str(&scorecard::explain(&card.explained, row, cal, args.limit));
                s
            }
        };
        return Output {
            stdout,
            stderr: String::new(),
            exit,
        };
    }
    let stdout = match ctx.format {
        Format::Json => scorecard::json(&card, &loaded.sources, cal, &shown_name),
        Format::Markdown => scorecard::markdown(&card, &heading, currency.as_deref()),
        Format::Junit => scorecard::junit(&card, currency.as_deref()),
        Format::Github => scorecard::github(&card, &loaded.sources, currency.as_deref()),
        _ => {
            let text = scorecard::human(&card, &heading, currency.as_deref(), ctx.color);
            if ctx.quiet && exit == Exit::Ok {
                String::new()
            } else {
                text
            }
        }
    };
    Output {
        stdout,
        stderr: String::new(),
        exit,
    }
}

/// The SQL the warehouse sources would run, each query with its bound values.
fn show_sql(card: &check::Scorecard, cal: &Calendar) -> Output {
    if card.sql.is_empty() {
        return Output::error(
            Exit::Usage,
            "no target in this selection reads a warehouse source: there is no SQL to show",
            "declare a `postgres` source and point targets at it (`source = \"<id>\"` or [defaults] source), or pass --source <id>",
        );
    }
    let mut out = String::new();
    for (source, metric, q) in &card.sql {
        out.push_str(&format!("-- source {source}, metric {metric}\n"));
        for (i, p) in q.params.iter().enumerate() {
            // Window bounds and the cutoff are epoch milliseconds: also in words.
            let times: Vec<String> = match p {
                crate::engine::sql::Param::Ints(v) => v.clone(),
                crate::engine::sql::Param::Int(t) if i < 3 => vec![*t],
                _ => Vec::new(),
            }
            .into_iter()
            .map(|t| scorecard::iso(cal, t))
            .collect();
            let words = if times.is_empty() {
                String::new()
            } else {
                format!(" ({})", times.join(", "))
            };
            out.push_str(&format!("-- ${} = {p}{words}\n", i + 1));
        }
        out.push_str(&q.sql);
        out.push_str(";\n\n");
    }
    Output::ok(out)
}

/// A date (midnight in the organisation's time zone) or a timestamp.
fn parse_as_of(text: &str, cal: &Calendar) -> Option<i64> {
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Some(ts.as_millisecond());
    }
    let d = text.parse::<jiff::civil::Date>().ok()?;
    Some(cal.midnight(d))
}

/// What a command that judges targets needs: the valid alignment, its
/// calendar, the time judged at and the selected period.
pub struct Judging {
    /// The directory as the user named it.
    pub shown: PathBuf,
    /// The directory, resolved against `-C`.
    pub dir: PathBuf,
    /// The alignment, valid.
    pub loaded: Loaded,
    /// The organisation's calendar.
    pub cal: Calendar,
    /// The time judged at (`--as-of`, else now).
    pub now: Millis,
    /// The selected period (`--period`).
    pub window: Window,
    /// `defaults.currency`.
    pub currency: Option<String>,
    /// The organisation's name.
    pub name: String,
}

impl Judging {
    /// Loads and validates the alignment and reads the period and time flags;
    /// an `Output` to return when it cannot.
    pub fn prepare(
        ctx: &Ctx,
        dir: Option<&PathBuf>,
        period: &str,
        as_of: Option<&str>,
    ) -> Result<Judging, Output> {
        let shown = dir.cloned().unwrap_or_else(|| default_dir(&ctx.base));
        let dir = ctx.path(&shown);
        let loaded = load_dir(&dir, &shown).map_err(|e| {
            Output::error(
                Exit::Usage,
                e.to_string(),
                "pass the directory that holds revalign.toml",
            )
        })?;
        let errors: Vec<_> = loaded
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .cloned()
            .collect();
        if !errors.is_empty() {
            let mut out = Output::error(
                Exit::Usage,
                format!(
                    "the alignment in `{}` has {} error{}: targets cannot be judged until it validates",
                    shown.display(),
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" }
                ),
                format!(
                    "fix them (`revalign validate {}` shows each)",
                    shown.display()
                ),
            );
            out.stderr.push('\n');
            out.stderr.push_str(&render::human(
                &errors,
                &loaded.sources,
                false,
                &shown.display().to_string(),
            ));
            return Err(out);
        }
        let a = &loaded.alignment;
        let org = a.organization.as_ref().and_then(|o| o.value.as_ref());
        let Some(cal) = org.and_then(Calendar::of) else {
            return Err(Output::error(
                Exit::Usage,
                "the manifest has no valid organization",
                "run `revalign validate`",
            ));
        };
        let now = match as_of {
            None => jiff::Timestamp::now().as_millisecond(),
            Some(t) => parse_as_of(t, &cal).ok_or_else(|| {
                Output::error(
                    Exit::Usage,
                    format!("--as-of `{t}` is not a date or a timestamp"),
                    "write `2026-11-01` (midnight in the organisation's time zone) or `2026-11-01T09:00:00Z`",
                )
            })?,
        };
        let defaults = a.defaults.as_ref().and_then(|d| d.value.as_ref());
        let default_period = defaults.and_then(|d| d.period).unwrap_or(Period::Month);
        let window = cal
            .parse(period, default_period, now)
            .map_err(|e| Output::error(Exit::Usage, format!("--period: {e}"), PeriodError::HELP))?;
        let currency = defaults.and_then(|d| d.currency.clone());
        let name = org.map(|o| o.name.clone()).unwrap_or_default();
        Ok(Judging {
            shown,
            dir,
            loaded,
            cal,
            now,
            window,
            currency,
            name,
        })
    }

    /// The repository holding the alignment.
    pub fn repo(&self) -> Result<Repo, Output> {
        Repo::discover(&self.dir).map_err(|e| git_error(&e))
    }

    /// The versions of the alignment in the repository's history.
    pub fn declared<'r>(&self, ctx: &Ctx, repo: &'r Repo) -> Result<Declared<'r>, Output> {
        repo.declared(&repo.relative_dir(&ctx.base, &self.shown))
            .map_err(|e| git_error(&e))
    }

    /// Runs the check; with `declared`, against the targets in force then.
    pub fn check(
        &self,
        sel: &Selection,
        declared: Option<&mut Declared<'_>>,
    ) -> Result<check::Scorecard, Output> {
        let declared = declared.map(|d| d as &mut dyn check::Declarations);
        check::run(&self.loaded.alignment, &self.dir, &self.cal, sel, declared).map_err(|e| {
            let exit = if e.environment {
                Exit::Environment
            } else {
                Exit::Usage
            };
            Output::error(exit, e.message, e.help)
        })
    }

    /// `Acme Analytics: check of 2026-08 to 2026-10 (as of 2026-11-01 00:00 EDT)`.
    pub fn heading(&self, what: &str, selection: &[Window]) -> String {
        let periods: Vec<&str> = selection.iter().map(|w| w.label.as_str()).collect();
        format!(
            "{}: {what} of {} (as of {})",
            self.name,
            match periods.as_slice() {
                [one] => one.to_string(),
                [first, .., last] => format!("{first} to {last}"),
                [] => String::new(),
            },
            self.as_of_text()
        )
    }

    /// The time judged at, in the organisation's time zone.
    pub fn as_of_text(&self) -> String {
        jiff::Timestamp::from_millisecond(self.now)
            .map(|t| {
                t.to_zoned(self.cal.tz.clone())
                    .strftime("%Y-%m-%d %H:%M %Z")
                    .to_string()
            })
            .unwrap_or_default()
    }
}
