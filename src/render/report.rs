//! The pack for the joint sales–marketing meeting (`revalign report`): one
//! self-contained HTML page (inline CSS and SVG, no script, nothing fetched)
//! and the same content as markdown.
//!
//! Sections: the scorecard of the current and previous periods; for each goal
//! and commitment, its actuals over the last N periods against the target in
//! force in each (a step where a target changed); what changed in the
//! agreement since the last meeting; the SLA breaches with the records behind
//! them; definition drift.

use std::fmt::Write as _;

use super::changes::{describe, mark, sign};
use super::scorecard::{
    Track, actual_text, badge, counts, drift_counts, drift_heading, drift_state, elapsed_text, iso,
    markdown_drift, markdown_grid, md_cell, misses_first, series, value, version_line, versions,
    who,
};
use crate::check::{Row, Scorecard};
use crate::engine::Explained;
use crate::git::History;
use crate::model::calendar::Calendar;
use crate::model::scorecard::Status;
use crate::model::target::{Target, TargetValue};

/// The marker that identifies a file revalign wrote: `report --out` replaces
/// only files that carry it.
pub const MARKER: &str = "revalign:report";

/// A commitment missed in its latest closed period, with the records behind it.
#[derive(Debug)]
pub struct Breach {
    /// The row judged.
    pub row: Row,
    /// The records behind its number.
    pub records: Vec<Explained>,
}

/// The agreement's changes since the last meeting.
#[derive(Debug)]
pub enum Changes {
    /// The commits since `since` (a date), newest first.
    Since {
        /// The day the window starts, as shown.
        since: String,
        /// The history.
        history: History,
    },
    /// Why there are none to show (not a git repository, say).
    Unavailable(String),
}

/// Where the targets judging each period come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets {
    /// The version in force at each period's end, from git.
    Declared,
    /// Today's files, by request (`--todays-targets`).
    Todays,
    /// Today's files: the alignment is not in a git repository.
    NoHistory,
}

impl Targets {
    fn sentence(self) -> &'static str {
        match self {
            Targets::Declared => {
                "Each period is judged by the targets in force at its end, from the agreement's git history."
            }
            Targets::Todays => "Every period is judged by today's targets (--todays-targets).",
            Targets::NoHistory => {
                "Targets are today's: the alignment is not in a git repository, so earlier targets are unknown."
            }
        }
    }
}

/// Everything the report shows.
#[derive(Debug)]
pub struct Report<'a> {
    /// `Acme Analytics`.
    pub organization: String,
    /// The time judged at, as shown.
    pub as_of: String,
    /// The targets judged over their last N periods each.
    pub card: &'a Scorecard,
    /// How many periods each chart covers.
    pub periods: u32,
    /// Where the targets judging each period come from.
    pub targets: Targets,
    /// Missed SLA commitments.
    pub breaches: Vec<Breach>,
    /// How many records each breach lists.
    pub limit: usize,
    /// Changes since the last meeting.
    pub changes: Changes,
    /// `defaults.currency`.
    pub currency: Option<&'a str>,
    /// The organisation's calendar.
    pub cal: &'a Calendar,
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where a row's target (or warn threshold) stands on the metric's scale:
/// what the chart draws. Relative targets stand at the previous period's
/// value moved by the percentage.
pub fn threshold(text: Option<&str>, row: &Row) -> Option<f64> {
    let t: Target = text?.parse().ok()?;
    Some(match t.value {
        TargetValue::Number(v) | TargetValue::Percent(v) => v,
        TargetValue::Duration(d) => d.as_secs() as f64,
        TargetValue::Relative(p) => row.previous? * (1.0 + p / 100.0),
    })
}

/// ` (#12)` after a subject that does not name its pull request already.
fn pr_suffix(c: &crate::git::CommitInfo) -> String {
    match c.pull_request {
        Some(n) if !c.subject.contains(&format!("#{n}")) => format!(" (#{n})"),
        _ => String::new(),
    }
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Warn => "warn",
        Status::Fail => "fail",
        Status::NoData => "nodata",
        Status::Error => "error",
    }
}

/// The latest two periods of each target: (previous, current).
fn latest<'a>(t: &Track<'a>) -> (Option<&'a Row>, &'a Row) {
    let n = t.rows.len();
    let prev = (n >= 2).then(|| t.rows[n - 2]);
    (prev, t.rows[n - 1])
}

fn fmt(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// A readable scale over the values: bounds on multiples of a step of 1, 2,
/// 2.5 or 5 times a power of ten, about four steps from the lowest value to
/// the highest (not from zero: the changes are what the meeting reads), never
/// below zero for values that are not.
pub fn scale(values: impl Iterator<Item = f64>) -> (f64, f64, f64) {
    let (mut mn, mut mx) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !mn.is_finite() || !mx.is_finite() {
        return (0.0, 1.0, 0.25);
    }
    let non_negative = mn >= 0.0;
    if mx - mn < 1e-9 {
        let pad = if mx.abs() > 0.0 { mx.abs() * 0.1 } else { 1.0 };
        mn -= pad;
        mx += pad;
    }
    let raw = (mx - mn) / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let mut lo = (mn / step).floor() * step;
    let hi = ((mx / step).ceil() * step).max(lo + step);
    if lo < 0.0 && non_negative {
        lo = 0.0;
    }
    (lo, hi, step)
}

/// A step path through `(x0, x1, y)` segments; `None` breaks the line.
fn steps(segments: &[Option<(f64, f64, f64)>]) -> String {
    let mut d = String::new();
    let mut last: Option<f64> = None;
    for seg in segments {
        match seg {
            Some((x0, x1, y)) => {
                let _ = match last {
                    Some(_) => write!(d, " L{} {} L{} {}", fmt(*x0), fmt(*y), fmt(*x1), fmt(*y)),
                    None => write!(d, " M{} {} L{} {}", fmt(*x0), fmt(*y), fmt(*x1), fmt(*y)),
                };
                last = Some(*y);
            }
            None => last = None,
        }
    }
    d.trim_start().to_string()
}

/// The chart of one target: actuals as a line with a dot per period (coloured
/// by status), the target in force in each period as a step line, the warn
/// threshold dashed.
pub fn chart(t: &Track<'_>, currency: Option<&str>) -> String {
    const W: f64 = 560.0;
    const H: f64 = 190.0;
    const LEFT: f64 = 86.0;
    const RIGHT: f64 = 10.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 30.0;
    let n = t.rows.len().max(1);
    let unit = t.rows[0].unit;
    let actual: Vec<Option<f64>> = t.rows.iter().map(|r| r.actual).collect();
    let target: Vec<Option<f64>> = t
        .rows
        .iter()
        .map(|r| threshold(Some(&r.target), r))
        .collect();
    let warn: Vec<Option<f64>> = t
        .rows
        .iter()
        .map(|r| threshold(r.warn.as_deref(), r))
        .collect();
    let (lo, hi, step) = scale(actual.iter().chain(&target).chain(&warn).flatten().copied());
    let dx = (W - LEFT - RIGHT) / n as f64;
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - (v - lo) / (hi - lo));
    let x = |i: usize| LEFT + dx * (i as f64 + 0.5);
    let seg = |vals: &[Option<f64>]| -> Vec<Option<(f64, f64, f64)>> {
        vals.iter()
            .enumerate()
            .map(|(i, v)| v.map(|v| (LEFT + dx * i as f64, LEFT + dx * (i + 1) as f64, y(v))))
            .collect()
    };
    let label = format!(
        "{} {}: actuals over {} periods against the target in force in each",
        t.kind,
        t.id,
        t.rows.len()
    );
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {W} {H}" width="{W}" height="{H}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(&label)
    );
    // Grid and y-axis labels at every step of the scale.
    let ticks = ((hi - lo) / step).round() as usize;
    for k in 0..=ticks {
        let v = lo + step * k as f64;
        let yy = y(v);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{}" y2="{}"/><text class="axis" x="{}" y="{}" text-anchor="end">{}</text>"#,
            W - RIGHT,
            fmt(yy),
            fmt(yy),
            LEFT - 6.0,
            fmt(yy + 4.0),
            esc(&value(unit, v, currency))
        );
    }
    // Period labels; every k-th when there are many.
    let every = n.div_ceil(8);
    for (i, r) in t.rows.iter().enumerate() {
        if i % every == 0 || i + 1 == n {
            let _ = write!(
                s,
                r#"<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>"#,
                fmt(x(i)),
                fmt(H - 10.0),
                esc(&r.window.label)
            );
        }
    }
    let warn_path = steps(&seg(&warn));
    if !warn_path.is_empty() {
        let _ = write!(s, r#"<path class="warn" d="{warn_path}"/>"#);
    }
    let target_path = steps(&seg(&target));
    if !target_path.is_empty() {
        let _ = write!(s, r#"<path class="target" d="{target_path}"/>"#);
    }
    let mut line = String::new();
    let mut open = false;
    for (i, v) in actual.iter().enumerate() {
        match v {
            Some(v) => {
                let _ = write!(
                    line,
                    "{}{} {} ",
                    if open { "L" } else { "M" },
                    fmt(x(i)),
                    fmt(y(*v))
                );
                open = true;
            }
            None => open = false,
        }
    }
    if !line.is_empty() {
        let _ = write!(s, r#"<path class="actual" d="{}"/>"#, line.trim_end());
    }
    for (i, r) in t.rows.iter().enumerate() {
        let Some(v) = r.actual else { continue };
        let _ = write!(
            s,
            r#"<circle class="point {}" cx="{}" cy="{}" r="4"><title>{}: {} ({}, target {})</title></circle>"#,
            status_class(r.status),
            fmt(x(i)),
            fmt(y(v)),
            esc(&r.window.label),
            esc(&actual_text(r, currency)),
            r.status.as_str(),
            esc(&r.target)
        );
    }
    s.push_str("</svg>");
    s
}

const CSS: &str = r#"
:root { --pass: #1a7f37; --warn: #9a6700; --fail: #cf222e; --nodata: #6e7781; --error: #8250df; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); margin: 0; background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
p.meta, .muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f6f8fa; padding: 1px 4px; border-radius: 4px; }
.badge { display: inline-block; min-width: 58px; text-align: center; font-size: 12px; font-weight: 600; color: #fff; border-radius: 10px; padding: 1px 8px; }
.badge.pass { background: var(--pass); } .badge.warn { background: var(--warn); } .badge.fail { background: var(--fail); }
.badge.nodata { background: var(--nodata); } .badge.error { background: var(--error); }
.summary { display: flex; gap: 10px; flex-wrap: wrap; margin: 12px 0; }
.summary div { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 110px; }
.summary b { display: block; font-size: 22px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(500px, 1fr)); gap: 18px; }
table.scorecard td:first-child { min-width: 210px; }
table.scorecard td:first-child code { white-space: nowrap; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
figcaption { margin-bottom: 6px; }
figcaption .title { color: var(--muted); font-size: 12px; display: block; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg .grid { stroke: #eaeef2; stroke-width: 1; }
svg .axis { fill: var(--muted); font-size: 10px; font-family: inherit; }
svg .target { fill: none; stroke: var(--ink); stroke-width: 2; }
svg .warn { fill: none; stroke: var(--warn); stroke-width: 1.5; stroke-dasharray: 5 4; }
svg .actual { fill: none; stroke: #0969da; stroke-width: 2.5; }
svg .point { stroke: #fff; stroke-width: 1.5; }
svg .point.pass { fill: var(--pass); } svg .point.warn { fill: var(--warn); } svg .point.fail { fill: var(--fail); }
svg .point.nodata { fill: var(--nodata); } svg .point.error { fill: var(--error); }
.legend { font-size: 12px; color: var(--muted); margin: 4px 0 0; }
.legend i { display: inline-block; width: 18px; height: 0; vertical-align: middle; margin: 0 4px 0 10px; }
.legend .l-actual { border-top: 3px solid #0969da; } .legend .l-target { border-top: 2px solid var(--ink); } .legend .l-warn { border-top: 2px dashed var(--warn); }
ul.changes { margin: 4px 0 12px; padding-left: 20px; }
.class-breaking { color: var(--fail); font-weight: 600; } .class-loosened { color: var(--warn); font-weight: 600; } .class-tightened { color: var(--pass); font-weight: 600; }
.notes { border-left: 3px solid var(--warn); padding: 4px 12px; background: #fff8c5; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media print { main { max-width: none; padding: 0; } figure { break-inside: avoid; } }
"#;

fn badge_html(s: Status) -> String {
    format!(
        r#"<span class="badge {}">{}</span>"#,
        status_class(s),
        s.as_str()
    )
}

/// The report as one self-contained HTML page.
pub fn html(r: &Report<'_>) -> String {
    let tracks = series(r.card);
    let mut h = String::new();
    let title = format!("{}: sales and marketing review", r.organization);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<!-- {MARKER} -->\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"generator\" content=\"revalign {}\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
        env!("CARGO_PKG_VERSION"),
        esc(&title),
        esc(&title)
    );
    let _ = writeln!(
        h,
        "<p class=\"meta\">As of {}. {}</p>",
        esc(&r.as_of),
        r.targets.sentence()
    );

    // Summary of the latest period of every target.
    let current: Vec<Row> = tracks.iter().map(|t| latest(t).1.clone()).collect();
    let c = counts(&current);
    h.push_str("<div class=\"summary\" id=\"summary\">");
    for (name, n, class) in [
        ("pass", c[0], "pass"),
        ("warn", c[1], "warn"),
        ("fail", c[2], "fail"),
        ("no data", c[3], "nodata"),
        ("error", c[4], "error"),
    ] {
        let _ = write!(
            h,
            "<div><b style=\"color: var(--{class})\">{n}</b>{name}</div>"
        );
    }
    h.push_str("</div>\n");
    if !r.card.notes.is_empty() {
        h.push_str("<div class=\"notes\">");
        for n in &r.card.notes {
            let _ = write!(h, "<p>{}</p>", esc(n));
        }
        h.push_str("</div>\n");
    }

    // Scorecard: the previous and current period of each target.
    h.push_str("<h2 id=\"scorecard\">Scorecard: current and previous period</h2>\n<table class=\"scorecard\">\n<thead><tr><th>Goal / commitment</th><th>Who</th><th>Previous</th><th class=\"num\">Actual</th><th>Status</th><th>Current</th><th class=\"num\">Actual</th><th>Status</th><th>Target now</th></tr></thead>\n<tbody>\n");
    for t in &tracks {
        let (prev, cur) = latest(t);
        let cell = |row: Option<&Row>| match row {
            Some(row) => format!(
                "<td>{}</td><td class=\"num\">{}</td><td>{}</td>",
                esc(&row.window.label),
                esc(&actual_text(row, r.currency)),
                badge_html(row.status)
            ),
            None => "<td>–</td><td class=\"num\">–</td><td></td>".into(),
        };
        let _ = writeln!(
            h,
            "<tr><td>{} <code>{}</code><br><span class=\"muted\">{}</span></td><td>{}</td>{}{}<td><code>{}</code>{}</td></tr>",
            t.kind,
            esc(t.id),
            esc(&cur.metric_name),
            esc(&who(cur)),
            cell(prev),
            cell(Some(cur)),
            esc(&cur.target),
            cur.warn
                .as_deref()
                .map(|w| format!(" (warn <code>{}</code>)", esc(w)))
                .unwrap_or_default()
        );
    }
    h.push_str("</tbody>\n</table>\n");

    // Trends.
    let _ = writeln!(
        h,
        "<h2 id=\"trends\">Trends: the last {} periods against the target in force</h2>",
        r.periods
    );
    h.push_str("<p class=\"legend\"><i class=\"l-actual\"></i>actual <i class=\"l-target\"></i>target in force <i class=\"l-warn\"></i>warn threshold; dots coloured by status</p>\n<div class=\"charts\">\n");
    for t in &tracks {
        let (_, cur) = latest(t);
        let _ = writeln!(
            h,
            "<figure id=\"{}-{}\"><figcaption>{} {} <code>{}</code> <span class=\"muted\">per {}</span><span class=\"title\">{}</span></figcaption>{}</figure>",
            t.kind,
            esc(t.id),
            badge_html(cur.status),
            t.kind,
            esc(t.id),
            t.period.as_str(),
            esc(t.title),
            chart(t, r.currency)
        );
    }
    h.push_str("</div>\n");
    let used = versions(r.card);
    if !used.is_empty() {
        h.push_str("<p class=\"muted\">Targets in force, by the commit that set them:</p>\n<ul class=\"changes\">\n");
        for v in used {
            let _ = writeln!(h, "<li><code>{}</code></li>", esc(&version_line(v)));
        }
        h.push_str("</ul>\n");
    }

    // Changes since the last meeting.
    match &r.changes {
        Changes::Since { since, history } => {
            let _ = writeln!(
                h,
                "<h2 id=\"changes\">What changed in the agreement since {}</h2>",
                esc(since)
            );
            if history.entries.is_empty() {
                h.push_str("<p>No commit changed the agreement.</p>\n");
            }
            for e in &history.entries {
                let c = &e.commit;
                let _ = writeln!(
                    h,
                    "<h3><code>{}</code> {}{}</h3>\n<p class=\"muted\">{} · {}</p>\n<ul class=\"changes\">",
                    esc(&c.short),
                    esc(&c.subject),
                    pr_suffix(c),
                    esc(&c.author),
                    esc(&c.date)
                );
                for ch in &e.changes {
                    let _ = writeln!(
                        h,
                        "<li>{} {} <code>{}</code>: {} <span class=\"class-{}\">{}</span></li>",
                        sign(ch),
                        ch.kind.as_str(),
                        esc(&ch.id),
                        esc(&describe(ch)),
                        ch.class.as_str(),
                        ch.class.as_str()
                    );
                }
                for w in &e.warnings {
                    let _ = writeln!(h, "<li class=\"muted\">warning: {}</li>", esc(w));
                }
                h.push_str("</ul>\n");
            }
            if let Some(b) = &history.shallow_boundary {
                let _ = writeln!(
                    h,
                    "<p class=\"notes\">History stops at <code>{}</code>: this is a shallow clone.</p>",
                    esc(&b[..7.min(b.len())])
                );
            }
        }
        Changes::Unavailable(why) => {
            let _ = writeln!(
                h,
                "<h2 id=\"changes\">What changed in the agreement</h2>\n<p class=\"notes\">{}</p>",
                esc(why)
            );
        }
    }

    // SLA breaches.
    h.push_str("<h2 id=\"breaches\">SLA breaches</h2>\n");
    if r.breaches.is_empty() {
        h.push_str("<p>No SLA commitment was missed in its latest closed period.</p>\n");
    }
    for b in &r.breaches {
        let row = &b.row;
        let misses = b.records.iter().filter(|e| !e.hit).count();
        let _ = writeln!(
            h,
            "<h3>{} <code>{}</code> in {}: {} against <code>{}</code> ({})</h3>\n<p class=\"muted\">{} — {} records, {} not counted{}</p>",
            badge_html(row.status),
            esc(&row.id),
            esc(&row.window.label),
            esc(&actual_text(row, r.currency)),
            esc(&row.target),
            esc(&who(row)),
            esc(&row.metric_name),
            b.records.len(),
            misses,
            if misses > r.limit {
                format!("; the first {} shown", r.limit)
            } else {
                String::new()
            }
        );
        h.push_str("<table class=\"breach\"><thead><tr><th>Record</th><th class=\"num\">Row</th><th>Start</th><th>End</th><th class=\"num\">Elapsed</th><th>Owner</th></tr></thead><tbody>\n");
        for e in misses_first(&b.records)
            .into_iter()
            .filter(|e| !e.hit)
            .take(r.limit)
        {
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                esc(&e.id),
                e.row_text(),
                e.start.map_or("–".into(), |t| esc(&iso(r.cal, t))),
                e.end.map_or("never".into(), |t| esc(&iso(r.cal, t))),
                e.elapsed.map_or("–".into(), elapsed_text),
                esc(e.owner.as_deref().unwrap_or("–"))
            );
        }
        h.push_str("</tbody></table>\n");
    }

    // Definition drift.
    if !r.card.drift.is_empty() {
        let _ = writeln!(
            h,
            "<h2 id=\"drift\">{}</h2>\n<table class=\"drift\"><thead><tr><th>Stage</th><th>State</th><th>Records</th><th>Examples</th></tr></thead><tbody>",
            esc(&drift_heading(r.card))
        );
        for d in &r.card.drift {
            let state = drift_state(d);
            let status = match state {
                "error" => Status::Error,
                "drift" => Status::Warn,
                _ => Status::Pass,
            };
            let (counts_text, examples) = match &d.result.error {
                Some(e) => (
                    format!("not judged: {}", e.message),
                    format!("help: {}", e.help),
                ),
                None => (
                    drift_counts(d),
                    d.result
                        .examples
                        .iter()
                        .map(|e| format!("{}: {}", e.id, e.failed))
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
            };
            let _ = writeln!(
                h,
                "<tr><td>{} <code>{}</code></td><td><span class=\"badge {}\">{state}</span></td><td>{}</td><td>{}</td></tr>",
                esc(&d.name),
                esc(&d.result.stage),
                status_class(status),
                esc(&counts_text),
                esc(&examples).replace('\n', "<br>")
            );
        }
        h.push_str("</tbody></table>\n");
    }
    let _ = write!(
        h,
        "<footer>Made by revalign {} from the alignment files and the data sources they name. Self-contained: nothing on this page is fetched.</footer>\n</main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    h
}

/// The report as markdown: the same sections, the charts as tables.
pub fn markdown(r: &Report<'_>) -> String {
    let tracks = series(r.card);
    let mut m = format!(
        "<!-- {MARKER} -->\n# {}: sales and marketing review\n\nAs of {}. {}\n",
        r.organization,
        r.as_of,
        r.targets.sentence()
    );
    for n in &r.card.notes {
        let _ = write!(m, "\n> {}\n", md_cell(n));
    }
    m.push_str("\n## Scorecard: current and previous period\n\n| Goal / commitment | Who | Previous | Current | Target now |\n|---|---|---|---|---|\n");
    for t in &tracks {
        let (prev, cur) = latest(t);
        let cell = |row: Option<&Row>| match row {
            Some(row) => format!(
                "{} {} {}",
                row.window.label,
                badge(row.status),
                md_cell(&actual_text(row, r.currency))
            ),
            None => "–".into(),
        };
        let _ = writeln!(
            m,
            "| {} `{}` | {} | {} | {} | `{}`{} |",
            t.kind,
            t.id,
            md_cell(&who(cur)),
            cell(prev),
            cell(Some(cur)),
            md_cell(&cur.target),
            cur.warn
                .as_deref()
                .map(|w| format!(" (warn `{}`)", md_cell(w)))
                .unwrap_or_default()
        );
    }
    let _ = write!(
        m,
        "\n## Trends: the last {} periods against the target in force\n",
        r.periods
    );
    m.push_str(&markdown_grid(&tracks, r.currency));
    let used = versions(r.card);
    if !used.is_empty() {
        m.push_str("\nTargets in force, by the commit that set them:\n\n");
        for v in used {
            let _ = writeln!(m, "- {}", md_cell(&version_line(v)));
        }
    }
    match &r.changes {
        Changes::Since { since, history } => {
            let _ = write!(m, "\n## What changed in the agreement since {since}\n\n");
            if history.entries.is_empty() {
                m.push_str("No commit changed the agreement.\n");
            }
            for e in &history.entries {
                let c = &e.commit;
                let _ = writeln!(
                    m,
                    "- `{}` {}{} ({}, {})",
                    c.short,
                    md_cell(&c.subject),
                    pr_suffix(c),
                    md_cell(&c.author),
                    c.date
                );
                for ch in &e.changes {
                    let _ = writeln!(
                        m,
                        "  - {} {} `{}`: {} {}",
                        sign(ch),
                        ch.kind.as_str(),
                        ch.id,
                        md_cell(&describe(ch)),
                        mark(ch.class)
                    );
                }
            }
        }
        Changes::Unavailable(why) => {
            let _ = write!(m, "\n## What changed in the agreement\n\n> {why}\n");
        }
    }
    m.push_str("\n## SLA breaches\n\n");
    if r.breaches.is_empty() {
        m.push_str("No SLA commitment was missed in its latest closed period.\n");
    }
    for b in &r.breaches {
        let row = &b.row;
        let misses = b.records.iter().filter(|e| !e.hit).count();
        let _ = write!(
            m,
            "### {} `{}` in {}: {} against `{}` ({})\n\n{} records, {} not counted{}.\n\n| Record | Row | Start | End | Elapsed | Owner |\n|---|---:|---|---|---:|---|\n",
            badge(row.status),
            row.id,
            row.window.label,
            md_cell(&actual_text(row, r.currency)),
            md_cell(&row.target),
            md_cell(&who(row)),
            b.records.len(),
            misses,
            if misses > r.limit {
                format!("; the first {} shown", r.limit)
            } else {
                String::new()
            }
        );
        for e in misses_first(&b.records)
            .into_iter()
            .filter(|e| !e.hit)
            .take(r.limit)
        {
            let _ = writeln!(
                m,
                "| `{}` | {} | {} | {} | {} | {} |",
                md_cell(&e.id),
                e.row_text(),
                e.start.map_or("–".into(), |t| iso(r.cal, t)),
                e.end.map_or("never".into(), |t| iso(r.cal, t)),
                e.elapsed.map_or("–".into(), elapsed_text),
                md_cell(e.owner.as_deref().unwrap_or("–"))
            );
        }
        m.push('\n');
    }
    if !r.card.drift.is_empty() {
        let _ = write!(m, "\n## {}\n\n", md_cell(&drift_heading(r.card)));
        m.push_str(&markdown_drift(r.card));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_join_changed_levels_and_break_on_gaps() {
        let d = steps(&[
            Some((0.0, 10.0, 50.0)),
            Some((10.0, 20.0, 40.0)),
            None,
            Some((30.0, 40.0, 40.0)),
        ]);
        // A target raised between the first and second period draws a
        // vertical step at x = 10; the missing third period breaks the line.
        assert_eq!(d, "M0 50 L10 50 L10 40 L20 40 M30 40 L40 40");
    }

    #[test]
    fn scales_are_round_and_start_near_the_data() {
        // 564..760: a step of 50 (196 / 4 = 49 rounds up to 50), 550 to 800.
        assert_eq!(
            scale([564.0, 760.0, 630.0].into_iter()),
            (550.0, 800.0, 50.0)
        );
        // Percentages near 95: 91.6..98.3 in steps of 2.
        assert_eq!(scale([91.6, 98.3].into_iter()), (90.0, 100.0, 2.0));
        // One value: padded by 10% either side; 0 alone: -1..1 but not below 0.
        assert_eq!(scale([100.0].into_iter()), (90.0, 110.0, 5.0));
        assert_eq!(scale([0.0].into_iter()), (0.0, 1.0, 0.5));
        // Nothing to draw.
        assert_eq!(scale(std::iter::empty()), (0.0, 1.0, 0.25));
    }

    #[test]
    fn escapes() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }
}
