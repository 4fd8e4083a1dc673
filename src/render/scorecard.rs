//! The scorecard of `revalign check`: a human table, JSON (stable), markdown
//! for job summaries and PR comments, JUnit XML (a test case per target and
//! period), and GitHub annotations on the target's line for every miss.

use serde_json::{Value, json};

use super::machine::{escape_data, escape_property};
use super::{Location, location};
use crate::check::{DriftRow, Row, Scorecard};
use crate::engine::Explained;
use crate::load::Sources;
use crate::model::calendar::{Calendar, Millis};
use crate::model::metric::Unit;
use crate::model::scorecard::Status;

/// The version of the check's JSON output; bumped only on incompatible change.
pub const JSON_VERSION: u32 = 1;

const ORDER: [Status; 5] = [
    Status::Pass,
    Status::Warn,
    Status::Fail,
    Status::NoData,
    Status::Error,
];

/// Counts of rows by status, in [`ORDER`].
pub fn counts(rows: &[Row]) -> [usize; 5] {
    let mut c = [0; 5];
    for r in rows {
        c[ORDER.iter().position(|s| *s == r.status).unwrap_or(4)] += 1;
    }
    c
}

fn summary_line(rows: &[Row]) -> String {
    let c = counts(rows);
    let parts: Vec<String> = ORDER
        .iter()
        .zip(c)
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    let n = rows.len();
    format!(
        "{n} target{}: {}",
        if n == 1 { "" } else { "s" },
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    )
}

fn thousands(v: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s
        .split_once('.')
        .map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    if v < 0.0 && out.chars().any(|c| c != '0' && c != '.' && c != ',') {
        out.insert(0, '-');
    }
    out
}

/// Seconds as `42s`, `12m 5s`, `3h 12m`, `2d 4h`.
pub fn duration(secs: f64) -> String {
    let s = secs.round().max(0.0) as u64;
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {sec}s")
    } else {
        format!("{sec}s")
    }
}

/// A value in its unit, as people read it.
pub fn value(unit: Unit, v: f64, currency: Option<&str>) -> String {
    match unit {
        Unit::Count => thousands(v, if v.fract() == 0.0 { 0 } else { 2 }),
        Unit::Percent => format!("{v:.2}%"),
        Unit::Duration => duration(v),
        Unit::Currency => match currency {
            Some(c) => format!("{} {c}", thousands(v, 0)),
            None => thousands(v, 0),
        },
    }
}

/// The actual as people read it, with the pace or change it was judged on.
pub fn actual_text(r: &Row, currency: Option<&str>) -> String {
    match r.actual {
        None => "-".into(),
        Some(v) => {
            let mut s = value(r.unit, v, currency);
            if let (Some(c), Some(p)) = (r.compared, r.previous) {
                s.push_str(&format!(" ({c:+.1}% vs {})", value(r.unit, p, currency)));
            } else if let Some(c) = r.compared {
                s.push_str(&format!(" (pace {})", value(r.unit, c, currency)));
            }
            s
        }
    }
}

/// `marketing -> sales` for commitments, the owners for goals.
pub fn who(r: &Row) -> String {
    match &r.parties {
        Some((p, c)) => format!("{p} -> {c}"),
        None => r.owners.join(", "),
    }
}

fn paint(s: &str, status: Status, color: bool) -> String {
    if !color {
        return s.to_string();
    }
    let code = match status {
        Status::Pass => "32",
        Status::Warn => "33",
        Status::Fail => "31;1",
        Status::NoData => "2",
        Status::Error => "35;1",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

/// A drift row's state: `ok`, `drift` or `error`.
/// `ok`, `drift` or `error`.
pub fn drift_state(d: &DriftRow) -> &'static str {
    if d.result.error.is_some() {
        "error"
    } else if d.result.drifted > 0 {
        "drift"
    } else {
        "ok"
    }
}

/// `12 of 604 (2.0%)`, and how many left the funnel.
/// `2 of 21 records (1 left the funnel)`.
pub fn drift_counts(d: &DriftRow) -> String {
    let r = &d.result;
    let mut s = format!(
        "{} of {}",
        thousands(r.drifted as f64, 0),
        thousands(r.judged as f64, 0)
    );
    if r.judged > 0 {
        s.push_str(&format!(
            " ({:.1}%)",
            r.drifted as f64 * 100.0 / r.judged as f64
        ));
    }
    if r.left_funnel > 0 {
        s.push_str(&format!(
            "; {} recycled or disqualified, not judged",
            thousands(r.left_funnel as f64, 0)
        ));
    }
    s
}

/// The heading of the drift section, with the selection it covers.
pub fn drift_heading(card: &Scorecard) -> String {
    let span = match card.selection.as_slice() {
        [one] => one.label.clone(),
        [first, .., last] => format!("{} to {}", first.label, last.label),
        [] => String::new(),
    };
    format!(
        "Definition drift: records that entered a stage in {span} and sit in it without meeting its entry criteria (source {})",
        card.drift.first().map_or("", |d| d.source.as_str())
    )
}

/// The human table.
pub fn human(card: &Scorecard, heading: &str, currency: Option<&str>, color: bool) -> String {
    let mut out = format!("{heading}\n\n");
    let cells: Vec<[String; 6]> = card
        .rows
        .iter()
        .map(|r| {
            [
                r.status.as_str().to_string(),
                format!("{} {}", r.kind, r.id),
                r.window.label.clone(),
                actual_text(r, currency),
                match &r.warn {
                    Some(w) => format!("{} (warn {w})", r.target),
                    None => r.target.clone(),
                },
                who(r),
            ]
        })
        .collect();
    let header = ["STATUS", "TARGET", "PERIOD", "ACTUAL", "REQUIRED", "WHO"];
    let mut width = header.map(str::len);
    for c in &cells {
        for (i, cell) in c.iter().enumerate() {
            width[i] = width[i].max(cell.chars().count());
        }
    }
    let line = |c: &[String; 6]| -> String {
        let mut s = String::new();
        for (i, cell) in c.iter().enumerate() {
            if i == 5 {
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(width[i] - cell.chars().count() + 2));
            }
        }
        s.trim_end().to_string()
    };
    out.push_str(&line(&header.map(str::to_string)));
    out.push('\n');
    for (r, c) in card.rows.iter().zip(&cells) {
        let text = line(c);
        let status_len = c[0].len();
        out.push_str(&paint(&text[..status_len], r.status, color));
        out.push_str(&text[status_len..]);
        out.push('\n');
        let counts = match (&r.measured, r.unit) {
            (Some(m), Unit::Percent) if m.total > 0 => format!(": {} of {}", m.hits, m.total),
            (Some(m), Unit::Duration | Unit::Currency) if m.total > 0 => {
                format!(": {} records", thousands(m.total as f64, 0))
            }
            _ => String::new(),
        };
        out.push_str(&format!("  {} ({}){counts}\n", r.metric_name, r.metric));
        if let Some(n) = &r.note {
            out.push_str(&format!("  note: {n}\n"));
        }
        if let Some(h) = &r.help {
            out.push_str(&format!("  help: {h}\n"));
        }
        if let Some(m) = &r.measured
            && let Some((n, why)) = &m.left_out
        {
            out.push_str(&format!("  left out: {n} records {why}\n"));
        }
    }
    if !card.drift.is_empty() {
        out.push_str(&format!("\n{}\n", drift_heading(card)));
        let width = card
            .drift
            .iter()
            .map(|d| d.result.stage.len())
            .max()
            .unwrap_or(0);
        for d in &card.drift {
            let state = drift_state(d);
            let painted = match state {
                "error" => paint(state, Status::Error, color),
                "drift" => paint(state, Status::Warn, color),
                _ => paint(state, Status::Pass, color),
            };
            let pad = " ".repeat(5 - state.len() + 2);
            let stage = format!("{:width$}", d.result.stage);
            match &d.result.error {
                Some(e) => out.push_str(&format!(
                    "{painted}{pad}{stage}  not judged: {}\n  help: {}\n",
                    e.message, e.help
                )),
                None => {
                    out.push_str(&format!("{painted}{pad}{stage}  {}\n", drift_counts(d)));
                    for e in &d.result.examples {
                        let row = e.row().map(|r| format!("row {r}"));
                        let owner = e.owner.as_deref().map(|o| format!("owner {o}"));
                        let about: Vec<String> = row.into_iter().chain(owner).collect();
                        out.push_str(&format!(
                            "  {}{}: {}\n",
                            e.id,
                            if about.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", about.join(", "))
                            },
                            e.failed
                        ));
                    }
                }
            }
        }
    }
    out.push_str(&human_tracks(card, color));
    if !card.notes.is_empty() {
        out.push('\n');
        out.push_str(&notes_text(card));
    }
    for (sid, streams) in &card.sources {
        for (what, s) in streams {
            if s.bad_rows > 0 {
                out.push_str(&format!(
                    "\nsource {sid}: skipped {} bad {what} rows (max_bad_rows allows it), e.g.\n",
                    s.bad_rows
                ));
                for e in &s.bad_examples {
                    out.push_str(&format!("  {e}\n"));
                }
            }
        }
    }
    out.push('\n');
    out.push_str(&summary_line(&card.rows));
    out.push('\n');
    out
}

fn loc(sources: &Sources, r: &Row) -> Option<Location> {
    place_location(sources, r.place.as_ref()?)
}

fn place_location(sources: &Sources, place: &crate::model::Place) -> Option<Location> {
    let file = sources.get(place.file)?;
    let mut place = place.clone();
    if place.span.is_none() {
        place.span = Some(file.locate(&place.pointer, false));
    }
    location(sources, &place)
}

/// A time in the organisation's zone, RFC 3339.
pub fn iso(cal: &Calendar, t: Millis) -> String {
    jiff::Timestamp::from_millisecond(t)
        .map(|ts| {
            ts.to_zoned(cal.tz.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
}

/// A target's track record: its rows in period order (`check --as-declared`).
pub struct Track<'a> {
    /// `goal` or `commitment`.
    pub kind: &'static str,
    /// The id.
    pub id: &'a str,
    /// Title or description.
    pub title: &'a str,
    /// The period kind.
    pub period: crate::model::Period,
    /// One row per period judged, oldest first.
    pub rows: Vec<&'a Row>,
}

/// Met (pass or warn in a closed period), missed (fail), or not known yet
/// (an open period, no data, an error).
pub fn met(r: &Row, now: Millis) -> Option<bool> {
    if r.window.end > now {
        return None;
    }
    match r.status {
        Status::Pass | Status::Warn => Some(true),
        Status::Fail => Some(false),
        Status::NoData | Status::Error => None,
    }
}

/// The track records of an `--as-declared` check, in row order; empty for a
/// check against today's targets.
pub fn tracks(card: &Scorecard) -> Vec<Track<'_>> {
    if card.rows.iter().any(|r| r.declared.is_some()) {
        series(card)
    } else {
        Vec::new()
    }
}

/// The rows of each target and period kind, oldest period first, in row order.
pub fn series(card: &Scorecard) -> Vec<Track<'_>> {
    let mut out: Vec<Track> = Vec::new();
    for r in &card.rows {
        match out
            .iter_mut()
            .find(|t| t.kind == r.kind && t.id == r.id && t.period == r.window.period)
        {
            Some(t) => t.rows.push(r),
            None => out.push(Track {
                kind: r.kind,
                id: &r.id,
                title: &r.title,
                period: r.window.period,
                rows: vec![r],
            }),
        }
    }
    for t in &mut out {
        t.rows.sort_by_key(|r| r.window.start);
    }
    out
}

/// The tracks grouped by period kind, shortest kind first; kinds without
/// tracks left out.
fn by_kind<'t, 'a>(tracks: &'t [Track<'a>]) -> Vec<(crate::model::Period, Vec<&'t Track<'a>>)> {
    [
        crate::model::Period::Week,
        crate::model::Period::Month,
        crate::model::Period::Quarter,
        crate::model::Period::Year,
    ]
    .into_iter()
    .map(|p| {
        (
            p,
            tracks.iter().filter(|t| t.period == p).collect::<Vec<_>>(),
        )
    })
    .filter(|(_, these)| !these.is_empty())
    .collect()
}

/// The periods of the tracks of one period kind, oldest first.
fn track_columns<'a>(tracks: &[&Track<'a>]) -> Vec<&'a crate::model::calendar::Window> {
    let mut cols: Vec<&crate::model::calendar::Window> = tracks
        .iter()
        .flat_map(|t| t.rows.iter().map(|r| &r.window))
        .collect();
    cols.sort_by_key(|w| w.start);
    cols.dedup_by_key(|w| w.start);
    cols
}

/// The versions of the agreement the rows were judged by, oldest first.
pub fn versions(card: &Scorecard) -> Vec<&crate::git::CommitInfo> {
    let mut v: Vec<&crate::git::CommitInfo> = card
        .rows
        .iter()
        .filter_map(|r| r.declared.as_ref())
        .collect();
    v.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
    v.dedup_by(|a, b| a.id == b.id);
    v
}

/// `a1b2c3d 2026-09-15 Raise the MQL target (#12) (Dana Reyes)`.
pub fn version_line(c: &crate::git::CommitInfo) -> String {
    format!(
        "{} {} {} ({})",
        c.short,
        c.date.get(..10).unwrap_or(&c.date),
        c.subject,
        c.author
    )
}

/// The track records as text: one grid per period kind, a cell per period.
fn human_tracks(card: &Scorecard, color: bool) -> String {
    let tracks = tracks(card);
    if tracks.is_empty() {
        return String::new();
    }
    let mut out =
        String::from("\nTrack record (each period judged by the targets in force at its end)\n");
    for (period, these) in by_kind(&tracks) {
        let cols = track_columns(&these);
        let names: Vec<String> = these
            .iter()
            .map(|t| format!("{} {}", t.kind, t.id))
            .collect();
        let w0 = names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        let widths: Vec<usize> = cols.iter().map(|c| c.label.len().max(7)).collect();
        out.push_str(&format!("\n{:<w0$}", period.as_str().to_uppercase()));
        for (c, w) in cols.iter().zip(&widths) {
            out.push_str(&format!("  {:<w$}", c.label));
        }
        out.push('\n');
        for (t, name) in these.iter().zip(&names) {
            let mut line = format!("{name:<w0$}");
            for (c, w) in cols.iter().zip(&widths) {
                line.push_str("  ");
                match t.rows.iter().find(|r| r.window.start == c.start) {
                    Some(r) => {
                        let st = r.status.as_str();
                        line.push_str(&paint(st, r.status, color));
                        line.push_str(&" ".repeat(w.saturating_sub(st.len())));
                    }
                    None => line.push_str(&format!("{:<w$}", "-")),
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out.push_str("\nTargets in force, by the commit that set them:\n");
    for v in versions(card) {
        out.push_str(&format!("  {}\n", version_line(v)));
    }
    out
}

fn notes_text(card: &Scorecard) -> String {
    card.notes.iter().map(|n| format!("note: {n}\n")).collect()
}

/// The JSON document.
pub fn json(card: &Scorecard, sources: &Sources, cal: &Calendar, directory: &str) -> String {
    let c = counts(&card.rows);
    let results: Vec<Value> = card
        .rows
        .iter()
        .map(|r| {
            let l = loc(sources, r);
            json!({
                "kind": r.kind,
                "id": r.id,
                "title": r.title,
                "metric": r.metric,
                "metric_name": r.metric_name,
                "unit": r.unit.as_str(),
                "period": r.window.label,
                "period_kind": r.window.period.as_str(),
                "period_start": iso(cal, r.window.start),
                "period_end": iso(cal, r.window.end),
                "source": r.source,
                "target": r.target,
                "warn": r.warn,
                "actual": r.actual,
                "previous": r.previous,
                "compared": r.compared,
                "status": r.status.as_str(),
                "note": r.note,
                "help": r.help,
                "hits": r.measured.as_ref().map(|m| m.hits),
                "total": r.measured.as_ref().map(|m| m.total),
                "left_out": r.measured.as_ref().and_then(|m| m.left_out.as_ref()).map(|(n, _)| n),
                "owners": r.owners,
                "provider": r.parties.as_ref().map(|p| &p.0),
                "consumer": r.parties.as_ref().map(|p| &p.1),
                "severity": r.severity.map(|s| s.as_str()),
                "file": l.as_ref().map(|l| &l.file),
                "line": l.as_ref().map(|l| l.line),
                "declared": r.declared,
            })
        })
        .collect();
    let track_record: Vec<Value> = tracks(card)
        .iter()
        .map(|t| {
            json!({
                "kind": t.kind,
                "id": t.id,
                "title": t.title,
                "period_kind": t.period.as_str(),
                "periods": t.rows.iter().map(|r| json!({
                    "period": r.window.label,
                    "status": r.status.as_str(),
                    "met": met(r, card.now),
                    "actual": r.actual,
                    "target": r.target,
                    "warn": r.warn,
                    "commit": r.declared.as_ref().map(|c| &c.short),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let srcs: Vec<Value> = card
        .sources
        .iter()
        .map(|(id, streams)| {
            let mut o = serde_json::Map::new();
            o.insert("id".into(), json!(id));
            for (what, s) in streams {
                o.insert(
                    (*what).into(),
                    json!({ "records": s.records, "bad_rows": s.bad_rows, "bad_examples": s.bad_examples }),
                );
            }
            Value::Object(o)
        })
        .collect();
    let drift: Vec<Value> = card
        .drift
        .iter()
        .map(|d| {
            let l = place_location(sources, &d.place);
            let r = &d.result;
            json!({
                "stage": r.stage,
                "name": d.name,
                "source": d.source,
                "status": drift_state(d),
                "judged": r.judged,
                "drifted": r.drifted,
                "left_funnel": r.left_funnel,
                "examples": r.examples.iter().map(|e| json!({
                    "id": e.id, "row": e.row(), "entered": iso(cal, e.entered),
                    "owner": e.owner, "failed": e.failed,
                })).collect::<Vec<_>>(),
                "note": r.error.as_ref().map(|e| &e.message),
                "help": r.error.as_ref().map(|e| &e.help),
                "file": l.as_ref().map(|l| &l.file),
                "line": l.as_ref().map(|l| l.line),
            })
        })
        .collect();
    let doc = json!({
        "version": JSON_VERSION,
        "directory": directory,
        "as_of": iso(cal, card.now),
        "periods": card.selection.iter().map(|w| &w.label).collect::<Vec<_>>(),
        "selection_start": card.selection.first().map(|w| iso(cal, w.start)),
        "selection_end": card.selection.last().map(|w| iso(cal, w.end)),
        "summary": {
            "pass": c[0], "warn": c[1], "fail": c[2], "no-data": c[3], "error": c[4],
        },
        "results": results,
        "track_record": track_record,
        "notes": card.notes,
        "drift": drift,
        "sources": srcs,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// Text safe in a markdown table cell.
pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The status with its emoji, for markdown.
pub fn badge(s: Status) -> &'static str {
    match s {
        Status::Pass => "✅ pass",
        Status::Warn => "⚠️ warn",
        Status::Fail => "❌ fail",
        Status::NoData => "➖ no-data",
        Status::Error => "🛑 error",
    }
}

/// The track records as markdown tables, one per period kind.
fn markdown_tracks(card: &Scorecard, currency: Option<&str>) -> String {
    let tracks = tracks(card);
    if tracks.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n#### Track record\n\nEach period judged by the targets in force at its end.\n",
    );
    out.push_str(&markdown_grid(&tracks, currency));
    out.push_str("\nTargets in force, by the commit that set them:\n\n");
    for v in versions(card) {
        out.push_str(&format!("- {}\n", md_cell(&version_line(v))));
    }
    out
}

/// Targets by period, one table per period kind: status, actual and target in each cell.
pub fn markdown_grid(tracks: &[Track<'_>], currency: Option<&str>) -> String {
    let mut out = String::new();
    for (period, these) in by_kind(tracks) {
        let cols = track_columns(&these);
        out.push_str(&format!("\n| {} |", period.as_str()));
        for c in &cols {
            out.push_str(&format!(" {} |", c.label));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(cols.len()));
        out.push('\n');
        for t in &these {
            out.push_str(&format!("| {} `{}` |", t.kind, t.id));
            for c in &cols {
                match t.rows.iter().find(|r| r.window.start == c.start) {
                    Some(r) => out.push_str(&format!(
                        " {} {} (`{}`) |",
                        badge(r.status),
                        md_cell(&actual_text(r, currency)),
                        md_cell(&r.target)
                    )),
                    None => out.push_str(" – |"),
                }
            }
            out.push('\n');
        }
    }
    out
}

/// Markdown for `$GITHUB_STEP_SUMMARY` and PR comments.
pub fn markdown(card: &Scorecard, heading: &str, currency: Option<&str>) -> String {
    let mut out = format!("### {heading}\n\n**{}**\n\n", summary_line(&card.rows));
    out.push_str(
        "| Status | Goal / commitment | Period | Metric | Actual | Target | Warn | Who | Note |\n",
    );
    out.push_str("|---|---|---|---|---:|---|---|---|---|\n");
    for r in &card.rows {
        out.push_str(&format!(
            "| {} | {} `{}` | {} | {} | {} | `{}` | {} | {} | {} |\n",
            badge(r.status),
            r.kind,
            r.id,
            r.window.label,
            md_cell(&r.metric_name),
            md_cell(&actual_text(r, currency)),
            md_cell(&r.target),
            r.warn
                .as_deref()
                .map_or(String::new(), |w| format!("`{}`", md_cell(w))),
            md_cell(&who(r)),
            md_cell(r.note.as_deref().unwrap_or("")),
        ));
    }
    out.push_str(&markdown_tracks(card, currency));
    for n in &card.notes {
        out.push_str(&format!("\n> {}\n", md_cell(n)));
    }
    if !card.drift.is_empty() {
        out.push_str(&format!("\n#### {}\n\n", md_cell(&drift_heading(card))));
        out.push_str(&markdown_drift(card));
    }
    out
}

/// The definition drift as a markdown table: a row per stage with entry criteria.
pub fn markdown_drift(card: &Scorecard) -> String {
    let mut out = String::from("| Stage | Drifted | Examples |\n|---|---|---|\n");
    for d in &card.drift {
        let (counts, examples) = match &d.result.error {
            Some(e) => (
                format!("🛑 not judged: {}", e.message),
                format!("help: {}", e.help),
            ),
            None => (
                format!(
                    "{} {}",
                    if d.result.drifted > 0 {
                        "⚠️"
                    } else {
                        "✅"
                    },
                    drift_counts(d)
                ),
                d.result
                    .examples
                    .iter()
                    .map(|e| format!("`{}`: {}", e.id, e.failed))
                    .collect::<Vec<_>>()
                    .join("<br>"),
            ),
        };
        out.push_str(&format!(
            "| {} `{}` | {} | {} |\n",
            md_cell(&d.name),
            d.result.stage,
            md_cell(&counts),
            md_cell(&examples)
        ));
    }
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: one test case per target and period; fail is a failure, error
/// an error, no-data skipped, warn a pass with its note in `system-out`.
pub fn junit(card: &Scorecard, currency: Option<&str>) -> String {
    let c = counts(&card.rows);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"revalign check\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
        card.rows.len(), c[2], c[4], c[3]
    ));
    out.push_str(&format!(
        "  <testsuite name=\"revalign check\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
        card.rows.len(), c[2], c[4], c[3]
    ));
    for r in &card.rows {
        let message = format!(
            "{}: actual {}, target {}{}",
            r.metric_name,
            actual_text(r, currency),
            r.target,
            r.note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        );
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{} {}\">",
            r.kind,
            xml(&r.id),
            xml(&r.window.label)
        ));
        match r.status {
            Status::Pass => {}
            Status::Warn => {
                out.push_str(&format!("<system-out>warn: {}</system-out>", xml(&message)))
            }
            Status::Fail => out.push_str(&format!("<failure message=\"{}\"/>", xml(&message))),
            Status::NoData => out.push_str(&format!("<skipped message=\"{}\"/>", xml(&message))),
            Status::Error => out.push_str(&format!(
                "<error message=\"{}\"/>",
                xml(&format!(
                    "{} ({})",
                    message,
                    r.help.as_deref().unwrap_or("")
                ))
            )),
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// GitHub annotations: an error for each failed or unreadable target, a
/// warning for each warning, a notice for no data; on the target's line.
pub fn github(card: &Scorecard, sources: &Sources, currency: Option<&str>) -> String {
    let mut out = String::new();
    for r in &card.rows {
        let level = match r.status {
            Status::Pass => continue,
            Status::Warn => "warning",
            Status::Fail | Status::Error => "error",
            Status::NoData => "notice",
        };
        let mut props = Vec::new();
        if let Some(l) = loc(sources, r) {
            props.push(format!("file={}", escape_property(&l.file)));
            props.push(format!("line={}", l.line));
        }
        props.push(format!(
            "title={}",
            escape_property(&format!(
                "{} {} {} ({})",
                r.status, r.kind, r.id, r.window.label
            ))
        ));
        let mut msg = format!(
            "{}: actual {}, target {}",
            r.metric_name,
            actual_text(r, currency),
            r.target
        );
        if let Some(n) = &r.note {
            msg.push_str(&format!("; {n}"));
        }
        if let Some(h) = &r.help {
            msg.push_str(&format!("\nhelp: {h}"));
        }
        out.push_str(&format!(
            "::{level} {}::{}\n",
            props.join(","),
            escape_data(&msg)
        ));
    }
    for d in card.drift.iter().filter(|d| drift_state(d) != "ok") {
        let mut props = Vec::new();
        if let Some(l) = place_location(sources, &d.place) {
            props.push(format!("file={}", escape_property(&l.file)));
            props.push(format!("line={}", l.line));
        }
        props.push(format!(
            "title={}",
            escape_property(&format!("definition drift in stage {}", d.result.stage))
        ));
        let msg = match &d.result.error {
            Some(e) => format!("not judged: {}\nhelp: {}", e.message, e.help),
            None => {
                let mut m = format!(
                    "{} of {} records that entered {} sit in it without meeting its entry criteria",
                    d.result.drifted, d.result.judged, d.result.stage
                );
                for e in &d.result.examples {
                    m.push_str(&format!("\n{}: {}", e.id, e.failed));
                }
                m
            }
        };
        out.push_str(&format!(
            "::warning {}::{}\n",
            props.join(","),
            escape_data(&msg)
        ));
    }
    out
}

/// The records behind a number, misses first; among them the latest (longest
/// wait, biggest amount) first.
pub fn misses_first(rows: &[Explained]) -> Vec<&Explained> {
    let mut list: Vec<&Explained> = rows.iter().collect();
    list.sort_by(|a, b| {
        a.hit
            .cmp(&b.hit)
            .then(b.elapsed.cmp(&a.elapsed))
            .then(
                b.amount
                    .partial_cmp(&a.amount)
                    .unwrap_or(std::cmp::Ordering::Equal),
            )
            .then(a.id.cmp(&b.id))
    });
    list
}

/// An elapsed time in milliseconds, signed.
pub fn elapsed_text(ms: Millis) -> String {
    if ms < 0 {
        format!("-{}", duration(-ms as f64 / 1000.0))
    } else {
        duration(ms as f64 / 1000.0)
    }
}

/// The records behind a number, misses first, as text (`check --explain`).
pub fn explain(rows: &[Explained], row: &Row, cal: &Calendar, limit: usize) -> String {
    let list = misses_first(rows);
    let misses = rows.iter().filter(|r| !r.hit).count();
    let mut out = format!(
        "{} {} in {}: {} records, {} counted, {} not\n\n",
        row.kind,
        row.id,
        row.window.label,
        rows.len(),
        rows.len() - misses,
        misses
    );
    out.push_str("ID  ROW  COUNTED  START  END  ELAPSED  AMOUNT  OWNER\n");
    let day = |t: Option<Millis>| t.map_or("-".to_string(), |t| iso(cal, t));
    for e in list.iter().take(limit) {
        out.push_str(&format!(
            "{}  {}  {}  {}  {}  {}  {}  {}\n",
            e.id,
            e.row_text(),
            if e.hit { "yes" } else { "no" },
            day(e.start),
            day(e.end),
            e.elapsed.map_or("-".into(), elapsed_text),
            e.amount.map_or("-".into(), |a| thousands(a, 2)),
            e.owner.as_deref().unwrap_or("-"),
        ));
    }
    if list.len() > limit {
        out.push_str(&format!(
            "... and {} more (raise --limit)\n",
            list.len() - limit
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(1234567.0, 0), "1,234,567");
        assert_eq!(thousands(-1234.5, 2), "-1,234.50");
        assert_eq!(thousands(999.0, 0), "999");
        assert_eq!(duration(5425.0), "1h 30m");
        assert_eq!(duration(90061.0), "1d 1h");
        assert_eq!(duration(42.4), "42s");
        assert_eq!(value(Unit::Percent, 76.444, None), "76.44%");
        assert_eq!(
            value(Unit::Currency, 1_800_000.0, Some("USD")),
            "1,800,000 USD"
        );
    }
}
