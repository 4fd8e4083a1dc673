//! `revalign show`: the agreement as it stood at a revision or a date.

use std::path::PathBuf;

use serde_json::json;

use super::diff::{file_warnings, git_error};
use super::{Ctx, Exit, Format, Output};
use crate::git::{GitError, Repo, parse_time};
use crate::load::{Loaded, default_dir, load_dir};
use crate::model::{Alignment, Period};

/// Show the resolved agreement (teams, goals with their targets, commitments,
/// metrics, stages) as it stood at a revision, or at a date: the last
/// first-parent commit at or before the end of that day (UTC). Without --at:
/// the working tree.
///
/// Formats: human, json.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  revalign show --at 2026-03-31\n  revalign show --at v1.2 --format json"
)]
pub struct Args {
    /// A revision (`v1.2`, `a1b2c3d`, `main~3`) or a date (`2026-03-31`).
    #[arg(long, value_name = "REV|DATE")]
    pub at: Option<String>,
    /// The alignment directory [default: ./alignment if it exists, else .]
    pub dir: Option<PathBuf>,
}

fn values<T: serde::Serialize>(list: &[crate::model::Entity<T>]) -> Vec<serde_json::Value> {
    list.iter()
        .filter_map(|e| e.value.as_ref().and_then(|v| serde_json::to_value(v).ok()))
        .collect()
}

/// The period and source a goal or commitment is judged by: its own, else the
/// manifest's defaults (period: month; source: the only one, if one).
fn resolved(
    a: &Alignment,
    period: Option<Period>,
    source: Option<&str>,
) -> (Period, Option<String>) {
    let d = a.defaults.as_ref().and_then(|d| d.value.as_ref());
    let period = period
        .or_else(|| d.and_then(|d| d.period))
        .unwrap_or(Period::Month);
    let source = source
        .map(str::to_string)
        .or_else(|| d.and_then(|d| d.source.clone()))
        .or_else(|| (a.sources.len() == 1).then(|| a.sources[0].id.clone()));
    (period, source)
}

/// Goals or commitments as JSON with the defaults applied (`period`, `source`).
fn with_defaults<T: serde::Serialize>(
    a: &Alignment,
    list: &[crate::model::Entity<T>],
    of: impl Fn(&T) -> (Option<Period>, Option<&str>),
) -> Vec<serde_json::Value> {
    list.iter()
        .filter_map(|e| {
            let v = e.value.as_ref()?;
            let mut j = serde_json::to_value(v).ok()?;
            let (period, source) = of(v);
            let (period, source) = resolved(a, period, source);
            if let Some(o) = j.as_object_mut() {
                o.insert("period".into(), json!(period.as_str()));
                o.insert("source".into(), json!(source));
            }
            Some(j)
        })
        .collect()
}

/// The alignment as JSON: every entity's resolved value (goals and
/// commitments with the defaults' period and source applied).
pub fn alignment_json(a: &Alignment) -> serde_json::Value {
    let teams: serde_json::Map<String, serde_json::Value> = a
        .teams
        .iter()
        .filter_map(|t| {
            t.value
                .as_ref()
                .map(|v| (t.id.clone(), serde_json::to_value(v).unwrap_or_default()))
        })
        .collect();
    json!({
        "organization": a.organization.as_ref().and_then(|o| o.value.as_ref()),
        "teams": teams,
        "metrics": values(&a.metrics),
        "goals": with_defaults(a, &a.goals, |g| (g.period, g.source.as_deref())),
        "commitments": with_defaults(a, &a.commitments, |c| (c.period, c.source.as_deref())),
        "review": a.reviews.first().and_then(|r| r.value.as_ref()),
        "stages": values(&a.stages),
        "handoffs": values(&a.handoffs),
        "recycle_reasons": a.recycle_reasons.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        "disqualify_reasons": a.disqualify_reasons.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
    })
}

/// `prefix` and the value, or nothing.
fn affix(prefix: &str, value: &Option<String>) -> String {
    value
        .as_ref()
        .map(|v| format!("{prefix}{v}"))
        .unwrap_or_default()
}

fn human(a: &Alignment, label: &str) -> String {
    let mut out = format!("The agreement at {label}\n");
    let w = (a.teams.iter().map(|e| e.id.len()))
        .chain(a.goals.iter().map(|e| e.id.len()))
        .chain(a.commitments.iter().map(|e| e.id.len()))
        .chain(a.metrics.iter().map(|e| e.id.len()))
        .max()
        .unwrap_or(0)
        + 1;
    if let Some(o) = a.organization.as_ref().and_then(|o| o.value.as_ref()) {
        out.push_str(&format!(
            "\n{} ({}, fiscal year from {:?})\n",
            o.name, o.time_zone, o.fiscal_year_start
        ));
    }
    out.push_str("\nTeams\n");
    for t in &a.teams {
        if let Some(v) = &t.value {
            out.push_str(&format!(
                "  {:<w$} {} (head: {} <{}>)\n",
                t.id, v.name, v.head.name, v.head.email
            ));
        }
    }
    out.push_str("\nGoals\n");
    for g in &a.goals {
        if let Some(v) = &g.value {
            let warn = affix(", warn ", &v.warn);
            let (period, _) = resolved(a, v.period, v.source.as_deref());
            let period = period.as_str();
            let from = affix(" from ", &v.effective_from);
            let until = affix(" until ", &v.effective_until);
            out.push_str(&format!(
                "  {:<w$} {} {}{warn} per {period}{from}{until}  [{}]\n",
                g.id,
                v.metric,
                v.target,
                v.owners.join(", ")
            ));
        }
    }
    out.push_str("\nSLA commitments\n");
    for c in &a.commitments {
        if let Some(v) = &c.value {
            let warn = affix(", warn ", &v.warn);
            let (period, _) = resolved(a, v.period, v.source.as_deref());
            out.push_str(&format!(
                "  {:<w$} {} → {}: {} {}{warn} per {}\n",
                c.id,
                v.provider,
                v.consumer,
                v.metric,
                v.target,
                period.as_str()
            ));
        }
    }
    out.push_str("\nMetrics\n");
    for m in &a.metrics {
        if let Some(v) = &m.value {
            out.push_str(&format!(
                "  {:<w$} {} ({}, {})  [{}]\n",
                m.id,
                v.name,
                v.kind.as_str(),
                v.unit.as_str(),
                v.owners.join(", ")
            ));
        }
    }
    out.push_str("\nLead stages\n  ");
    out.push_str(
        &a.stages
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>()
            .join(" → "),
    );
    out.push('\n');
    if !a.handoffs.is_empty() {
        out.push_str("\nHandoffs\n");
        for h in &a.handoffs {
            if let Some(v) = &h.value {
                out.push_str(&format!(
                    "  at {:<15} to {}, accepted or rejected within {}{}\n",
                    v.stage,
                    v.to,
                    v.accept_within,
                    if v.reason_required {
                        " (rejections need a reason)"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    out
}

/// Runs `show`.
pub fn run(ctx: &Ctx, args: Args) -> Output {
    if let Err(out) = ctx.formats("show", &[Format::Human, Format::Json]) {
        return out;
    }
    let shown = args.dir.clone().unwrap_or_else(|| default_dir(&ctx.base));
    let (loaded, label, commit): (Loaded, String, Option<String>) = match &args.at {
        None => match load_dir(&ctx.path(&shown), &shown) {
            Ok(l) => (l, "the working tree".into(), None),
            Err(e) => {
                return Output::error(Exit::Usage, e.to_string(), "pass the alignment directory");
            }
        },
        Some(at) => {
            let repo = match Repo::discover(&ctx.base) {
                Ok(r) => r,
                Err(e) => return git_error(&e),
            };
            let dir = repo.relative_dir(&ctx.base, &shown);
            let commit = match repo.commit(at) {
                Ok(c) => Ok(c),
                Err(GitError::NoSuchRevision(_) | GitError::Shallow(_)) => {
                    match parse_time(at, true) {
                        Some(t) => repo.commit_at_time(t),
                        None => Err(GitError::BadDate(at.clone())),
                    }
                }
                Err(e) => Err(e),
            };
            let commit = match commit {
                Ok(c) => c,
                Err(e) => return git_error(&e),
            };
            let info = repo.info(&commit);
            match repo.load_at(&commit, &dir) {
                Ok(l) => (
                    l,
                    format!("{} ({}, {})", info.short, info.date, info.subject),
                    Some(info.id),
                ),
                Err(e) => return git_error(&e),
            }
        }
    };
    let warnings = file_warnings(&loaded);
    let stdout = match ctx.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&json!({
                "version": 1,
                "commit": commit,
                "alignment": alignment_json(&loaded.alignment),
                "warnings": warnings,
            }))
            .unwrap_or_default();
            s.push('\n');
            s
        }
        _ => {
            let mut s = human(&loaded.alignment, &label);
            for w in &warnings {
                s.push_str(&format!("warning: {w}\n"));
            }
            s
        }
    };
    Output::ok(stdout)
}
