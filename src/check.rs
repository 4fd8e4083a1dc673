//! The scorecard: every goal and SLA commitment in force, for every period in
//! the selection, measured from its data source and judged against its target.
//!
//! Which target applies: a goal with several versions (`effective_from` /
//! `effective_until`) is judged in each period by the version in force on the
//! period's first day; a version not in force then is not judged for it.
//! Which periods: the selection is a window (`--period`, default the current
//! period of `defaults.period`) widened to `--last N` such windows; each
//! target is judged in every window of its own period (week, month, quarter,
//! year) that overlaps the selection.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::engine::{DriftSpec, Engine, Explained, Measured, Request, StageDrift};
use crate::git::CommitInfo;
use crate::model::calendar::{Calendar, Millis, Window};
use crate::model::goal::Severity as CommitmentSeverity;
use crate::model::metric::{Metric, MetricKind, Unit};
use crate::model::scorecard::{Status, Timing, judge};
use crate::model::target::Target;
use crate::model::{Alignment, Id, Period, Place};
use crate::source::{self, SourceError, Stream};

/// What to check.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The selected window (widened by `last`).
    pub window: Window,
    /// How many windows of the selection's period, ending with `window`.
    pub last: u32,
    /// Only these goal or commitment ids (all when empty).
    pub ids: Vec<Id>,
    /// Read every target from this source instead of its own.
    pub source: Option<Id>,
    /// The current time.
    pub now: Millis,
    /// Keep the records behind this goal or commitment's latest period.
    pub explain: Option<Id>,
    /// Judge lead-definition conformance (skipped with `ids` or `explain`).
    pub drift: bool,
    /// Judge each target over the last `last` periods of its own kind (ending
    /// with the one holding the selection's last day, or now while the
    /// selection is open), not over the periods of its kind that overlap the
    /// selection: the report's charts.
    pub own_periods: bool,
    /// Collect the SQL that warehouse sources would run, instead of running it.
    pub show_sql: bool,
    /// How API sources fetch (`--refresh`).
    pub fetch: source::Fetch,
}

/// One target judged for one period.
#[derive(Debug, Clone)]
pub struct Row {
    /// `goal` or `commitment`.
    pub kind: &'static str,
    /// The goal or commitment id.
    pub id: Id,
    /// Its title (goals) or description (commitments).
    pub title: String,
    /// The metric id.
    pub metric: Id,
    /// The metric's display name.
    pub metric_name: String,
    /// The metric's unit.
    pub unit: Unit,
    /// The period judged.
    pub window: Window,
    /// The data source read.
    pub source: Id,
    /// The target as written.
    pub target: String,
    /// The warn threshold as written.
    pub warn: Option<String>,
    /// The measured value.
    pub actual: Option<f64>,
    /// The previous period's value (relative targets).
    pub previous: Option<f64>,
    /// What was compared with the target (projection or change), when it differs from `actual`.
    pub compared: Option<f64>,
    /// The verdict.
    pub status: Status,
    /// Why, for anything but a plain pass or fail.
    pub note: Option<String>,
    /// What to do, for errors.
    pub help: Option<String>,
    /// The measurement's counts.
    pub measured: Option<Measured>,
    /// Goal owners.
    pub owners: Vec<Id>,
    /// Commitment provider and consumer.
    pub parties: Option<(Id, Id)>,
    /// Commitment severity.
    pub severity: Option<CommitmentSeverity>,
    /// Where the target is written today (`None`: no longer in the files).
    pub place: Option<Place>,
    /// With `--as-declared`: the commit whose version of the target judged
    /// this period (the one in force at the period's end).
    pub declared: Option<CommitInfo>,
}

/// One version of the agreement as committed (`--as-declared`).
#[derive(Debug)]
pub struct Version {
    /// The commit.
    pub commit: CommitInfo,
    /// The alignment at that commit.
    pub alignment: Alignment,
    /// How many errors validation finds in it: its broken entities are not judged.
    pub errors: usize,
}

/// Where the targets in force at a time come from (`--as-declared`): the
/// history of the alignment in git.
pub trait Declarations {
    /// The agreement in force at `t`: the last version committed at or before
    /// it; `None` when there was none yet.
    fn at(&mut self, t: Millis) -> Result<Option<Arc<Version>>, CheckError>;
}

/// The conformance of one stage with entry criteria.
#[derive(Debug, Clone)]
pub struct DriftRow {
    /// The stage's display name.
    pub name: String,
    /// The source read.
    pub source: Id,
    /// Where the stage's entry criteria are written.
    pub place: Place,
    /// The counts and examples, or why there are none.
    pub result: StageDrift,
}

/// The whole check.
#[derive(Debug)]
pub struct Scorecard {
    /// The rows, by kind, id, period.
    pub rows: Vec<Row>,
    /// The selection.
    pub selection: Vec<Window>,
    /// Per source: what it read.
    pub sources: Vec<(Id, Vec<(&'static str, Stream)>)>,
    /// The records behind `--explain`.
    pub explained: Vec<Explained>,
    /// Lead-definition conformance per stage with entry criteria (empty when not judged).
    pub drift: Vec<DriftRow>,
    /// The time the check was judged at.
    pub now: Millis,
    /// What the reader must know about the targets judged (`--as-declared`:
    /// periods before the agreement was committed, versions that did not
    /// validate, targets whose metric is defined nowhere).
    pub notes: Vec<String>,
    /// With `show_sql`: per warehouse source and metric, the query it would run.
    pub sql: Vec<(Id, String, crate::engine::sql::Query)>,
}

struct Item<'a> {
    kind: &'static str,
    id: &'a str,
    title: &'a str,
    metric: &'a str,
    target: &'a str,
    warn: Option<&'a str>,
    period: Option<Period>,
    in_force: Box<dyn Fn(&Window) -> bool + 'a>,
    owners: Vec<Id>,
    parties: Option<(Id, Id)>,
    severity: Option<CommitmentSeverity>,
    source: Option<&'a str>,
    place: &'a Place,
    /// The metric as defined next to the target.
    metric_def: Option<&'a Metric>,
    /// The period of the defaults next to the target.
    default_period: Period,
    /// The version of the agreement it comes from (`--as-declared`).
    version: Option<usize>,
}

/// The earliest and latest record time a source holds.
type Span = Option<(Millis, Millis)>;

/// Why the check cannot run at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError {
    /// What.
    pub message: String,
    /// What to do.
    pub help: String,
    /// The environment failed (the git history could not be read), not the
    /// request: exit 3 rather than 2.
    pub environment: bool,
}

fn error(message: impl Into<String>, help: impl Into<String>) -> CheckError {
    CheckError {
        message: message.into(),
        help: help.into(),
        environment: false,
    }
}

/// A date in force: `effective_from <= day <= effective_until`.
fn in_force(from: Option<&str>, until: Option<&str>, day: jiff::civil::Date) -> bool {
    let parse = |s: Option<&str>| s.and_then(|s| s.parse::<jiff::civil::Date>().ok());
    parse(from).is_none_or(|f| f <= day) && parse(until).is_none_or(|u| day <= u)
}

/// The goals and commitments of one version of the agreement.
fn items_of(a: &Alignment, version: Option<usize>) -> Vec<Item<'_>> {
    let default_period = a
        .defaults
        .as_ref()
        .and_then(|d| d.value.as_ref())
        .and_then(|d| d.period)
        .unwrap_or(Period::Month);
    let metric = |id: &str| {
        a.metrics
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| m.value.as_ref())
    };
    let mut items: Vec<Item> = Vec::new();
    for g in &a.goals {
        let Some(v) = &g.value else { continue };
        items.push(Item {
            kind: "goal",
            id: &g.id,
            title: &v.title,
            metric: &v.metric,
            target: &v.target,
            warn: v.warn.as_deref(),
            period: v.period,
            in_force: Box::new(move |w: &Window| {
                in_force(
                    v.effective_from.as_deref(),
                    v.effective_until.as_deref(),
                    w.first,
                )
            }),
            owners: v.owners.clone(),
            parties: None,
            severity: None,
            source: v.source.as_deref(),
            place: &g.place,
            metric_def: metric(&v.metric),
            default_period,
            version,
        });
    }
    for c in &a.commitments {
        let Some(v) = &c.value else { continue };
        items.push(Item {
            kind: "commitment",
            id: &c.id,
            title: &v.description,
            metric: &v.metric,
            target: &v.target,
            warn: v.warn.as_deref(),
            period: v.period,
            in_force: Box::new(|_| true),
            owners: Vec::new(),
            parties: Some((v.provider.clone(), v.consumer.clone())),
            severity: Some(v.severity),
            source: v.source.as_deref(),
            place: &c.place,
            metric_def: metric(&v.metric),
            default_period,
            version,
        });
    }
    items
}

/// Runs the check over a valid alignment loaded from `dir`. With
/// `declared`, each period is judged by the targets in force at its end (or
/// now, for a period still open), from the agreement's history; metrics are
/// measured as defined in that version too.
pub fn run(
    a: &Alignment,
    dir: &Path,
    cal: &Calendar,
    sel: &Selection,
    declared: Option<&mut dyn Declarations>,
) -> Result<Scorecard, CheckError> {
    let org_tz = a
        .organization
        .as_ref()
        .and_then(|o| o.value.as_ref())
        .map(|o| o.time_zone.clone())
        .unwrap_or_else(|| "UTC".into());
    let defaults = a.defaults.as_ref().and_then(|d| d.value.as_ref());
    let default_source = defaults
        .and_then(|d| d.source.clone())
        .or_else(|| (a.sources.len() == 1).then(|| a.sources[0].id.clone()));
    let currency = defaults.and_then(|d| d.currency.clone());

    // The selection, widened to the last N windows.
    let mut selection = vec![sel.window.clone()];
    for _ in 1..sel.last.max(1) {
        let prev = cal.previous(&selection[0]);
        selection.insert(0, prev);
    }
    let (first, after) = (selection[0].first, sel.window.after);
    let windows_of = |period: Period| -> Vec<Window> {
        if !sel.own_periods {
            return cal.windows_over(period, first, after);
        }
        // The period of each kind holding the selection's last day, or
        // today while the selection is still open.
        let reference = if sel.now < sel.window.end {
            cal.date_of(sel.now.max(sel.window.start))
        } else {
            sel.window.last()
        };
        let mut w = cal.window(period, reference);
        let mut out = vec![w.clone()];
        for _ in 1..sel.last.max(1) {
            w = cal.previous(&w);
            out.insert(0, w.clone());
        }
        out
    };

    // --as-declared: the version of the agreement in force at the end of every
    // window of every period kind in the selection.
    let mut notes = Vec::new();
    let mut versions: Vec<Arc<Version>> = Vec::new();
    let mut version_at: BTreeMap<Millis, Option<usize>> = BTreeMap::new();
    let as_declared = declared.is_some();
    if let Some(d) = declared {
        // Only the period kinds some target is judged in: today's, and then
        // those of each version met (a goal once quarterly, now monthly).
        let kinds_of = |al: &Alignment| -> Vec<Period> {
            items_of(al, None)
                .iter()
                .map(|i| i.period.unwrap_or(i.default_period))
                .collect()
        };
        let mut todo = kinds_of(a);
        let mut done: Vec<Period> = Vec::new();
        while let Some(period) = todo.pop() {
            if done.contains(&period) {
                continue;
            }
            done.push(period);
            for w in windows_of(period) {
                if version_at.contains_key(&w.end) {
                    continue;
                }
                let at = d.at((w.end - 1).min(sel.now))?.map(|v| {
                    versions
                        .iter()
                        .position(|x| x.commit.id == v.commit.id)
                        .unwrap_or_else(|| {
                            todo.extend(kinds_of(&v.alignment));
                            versions.push(v);
                            versions.len() - 1
                        })
                });
                version_at.insert(w.end, at);
            }
        }
        let mut by_time: Vec<&Arc<Version>> = versions.iter().collect();
        by_time.sort_by_key(|v| v.commit.time);
        for v in by_time {
            if v.errors > 0 {
                notes.push(format!(
                    "the agreement at {} ({}) has {} validation error{}: its broken goals and commitments are not judged",
                    v.commit.short,
                    v.commit.date,
                    v.errors,
                    if v.errors == 1 { "" } else { "s" }
                ));
            }
        }
    }
    let current = items_of(a, None);
    let mut items: Vec<Item> = if as_declared {
        versions
            .iter()
            .enumerate()
            .flat_map(|(i, v)| items_of(&v.alignment, Some(i)))
            .collect()
    } else {
        items_of(a, None)
    };
    if !sel.ids.is_empty() {
        for id in &sel.ids {
            if !items.iter().chain(&current).any(|i| i.id == id) {
                let known: Vec<&str> = current.iter().map(|i| i.id).collect();
                let near = known
                    .iter()
                    .min_by_key(|k| strsim::levenshtein(k, id))
                    .map(|k| format!("did you mean `{k}`? "))
                    .unwrap_or_default();
                return Err(error(
                    format!("no goal or commitment `{id}`"),
                    format!("{near}ids are listed by `revalign show`"),
                ));
            }
        }
        items.retain(|i| sel.ids.iter().any(|id| id == i.id));
    }
    if as_declared {
        // Periods of today's targets that ended before the agreement was
        // committed are not judged: say so rather than leave them out unseen.
        let mut kinds: Vec<Period> = current
            .iter()
            .filter(|i| sel.ids.is_empty() || sel.ids.iter().any(|id| id == i.id))
            .map(|i| i.period.unwrap_or(i.default_period))
            .collect();
        kinds.sort_by_key(|p| *p as u8);
        kinds.dedup();
        let undeclared: Vec<String> = kinds
            .iter()
            .flat_map(|p| windows_of(*p))
            .filter(|w| w.start <= sel.now && version_at.get(&w.end) == Some(&None))
            .map(|w| w.label)
            .collect();
        if !undeclared.is_empty() {
            notes.insert(
                0,
                format!(
                    "no version of the agreement was committed by the end of {}: not judged",
                    undeclared.join(", ")
                ),
            );
        }
    }
    if let Some(s) = &sel.source
        && !a.sources.iter().any(|x| &x.id == s)
    {
        let known: Vec<&str> = a.sources.iter().map(|s| s.id.as_str()).collect();
        return Err(error(
            format!("no source `{s}` in revalign.toml"),
            format!("the sources are: {}", known.join(", ")),
        ));
    }

    // Definition drift: every stage with entry criteria, from the lead source.
    let drift_spec = (sel.drift && sel.ids.is_empty() && sel.explain.is_none())
        .then(|| DriftSpec {
            funnel: a.stages.iter().map(|s| s.id.clone()).collect(),
            checks: a
                .stages
                .iter()
                .filter_map(|s| Some((s.id.clone(), s.value.as_ref()?.entry.clone()?)))
                .collect(),
            start: selection[0].start,
            end: sel.window.end,
        })
        .filter(|d| !d.checks.is_empty());
    let drift_source = sel.source.clone().or_else(|| default_source.clone());

    // Rows to fill, and per source the metric windows to compute. A metric is
    // computed once per distinct definition: `--as-declared` may meet several
    // versions of one id, keyed `id@commit` after the first.
    struct Pending<'a> {
        item: usize,
        window: Window,
        previous: Option<Window>,
        metric: &'a Metric,
        key: String,
        target: Result<(Target, Option<Target>), String>,
        source: Option<String>,
    }
    let today = |id: &str| {
        a.metrics
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| m.value.as_ref())
    };
    let mut definitions: Vec<(serde_json::Value, String)> = Vec::new();
    let mut key_of = |m: &Metric, version: Option<usize>| -> String {
        let def = serde_json::to_value(m).unwrap_or_default();
        if let Some((_, k)) = definitions.iter().find(|(d, _)| *d == def) {
            return k.clone();
        }
        let key = match version {
            Some(v) if definitions.iter().any(|(_, k)| k == &m.id) => {
                format!("{}@{}", m.id, versions[v].commit.short)
            }
            _ => m.id.clone(),
        };
        definitions.push((def, key.clone()));
        key
    };
    // Today's definitions keep their plain ids.
    for m in a.metrics.iter().filter_map(|m| m.value.as_ref()) {
        key_of(m, None);
    }
    let mut pending: Vec<Pending> = Vec::new();
    for (ii, item) in items.iter().enumerate() {
        let windows: Vec<Window> = windows_of(item.period.unwrap_or(item.default_period))
            .into_iter()
            .filter(|w| (item.in_force)(w))
            .filter(|w| {
                item.version
                    .is_none_or(|v| version_at.get(&w.end) == Some(&Some(v)))
            })
            .collect();
        if windows.is_empty() {
            continue;
        }
        if let (Some(v), None, Some(_)) = (item.version, item.metric_def, today(item.metric)) {
            notes.push(format!(
                "{} `{}` at {} measures metric `{}`, which that version does not define: today's definition is used",
                item.kind, item.id, versions[v].commit.short, item.metric
            ));
        }
        let Some(metric) = item.metric_def.or_else(|| today(item.metric)) else {
            let at = item
                .version
                .map(|v| format!(" at {}", versions[v].commit.short))
                .unwrap_or_default();
            notes.push(format!(
                "{} `{}`{at} measures metric `{}`, which is not defined there nor today: not judged",
                item.kind, item.id, item.metric
            ));
            continue;
        };
        let key = key_of(metric, item.version);
        let target = item
            .target
            .parse::<Target>()
            .map_err(|e| e.to_string())
            .and_then(|t| {
                item.warn
                    .map(|w| w.parse::<Target>().map_err(|e| e.to_string()))
                    .transpose()
                    .map(|w| (t, w))
            });
        let relative = matches!(&target, Ok((t, _)) if matches!(t.value, crate::model::target::TargetValue::Relative(_)));
        let source = sel
            .source
            .clone()
            .or_else(|| item.source.map(str::to_string))
            .or_else(|| default_source.clone());
        for w in windows {
            pending.push(Pending {
                item: ii,
                previous: relative.then(|| cal.previous(&w)),
                window: w,
                metric,
                key: key.clone(),
                target: target.clone(),
                source: source.clone(),
            });
        }
    }

    // One engine per source: every metric it serves, every window, one pass.
    let mut by_source: BTreeMap<String, (Vec<String>, Vec<Request>)> = BTreeMap::new();
    for p in &pending {
        let Some(s) = &p.source else { continue };
        let (keys, reqs) = by_source.entry(s.clone()).or_default();
        let idx = match keys.iter().position(|k| k == &p.key) {
            Some(i) => i,
            None => {
                keys.push(p.key.clone());
                reqs.push(Request {
                    metric: p.metric.clone(),
                    windows: Vec::new(),
                });
                reqs.len() - 1
            }
        };
        for w in std::iter::once(&p.window).chain(p.previous.as_ref()) {
            if !reqs[idx].windows.contains(w) {
                reqs[idx].windows.push(w.clone());
            }
        }
    }
    if drift_spec.is_some()
        && let Some(s) = &drift_source
    {
        by_source.entry(s.clone()).or_default();
    }
    // The explained target: its latest period.
    let explain_at = sel.explain.as_ref().and_then(|id| {
        pending
            .iter()
            .filter(|p| items[p.item].id == id)
            .max_by_key(|p| p.window.start)
            .map(|p| (p.source.clone(), p.key.clone(), p.window.clone()))
    });
    if let Some(id) = &sel.explain
        && explain_at.is_none()
    {
        return Err(error(
            format!("`{id}` has no period in the selection to explain"),
            "pass the goal or commitment id of a target judged by this check, or widen --period/--last",
        ));
    }

    type Computed = BTreeMap<(String, String, String), Result<Measured, SourceError>>;
    let mut computed: Computed = BTreeMap::new();
    let mut spans: BTreeMap<String, (Span, Span)> = BTreeMap::new();
    let mut streams = Vec::new();
    let mut explained = Vec::new();
    let mut sql = Vec::new();
    let mut drift: Vec<StageDrift> = Vec::new();
    let drift_unread = |e: &SourceError| -> Vec<StageDrift> {
        drift_spec
            .iter()
            .flat_map(|d| &d.checks)
            .map(|(stage, _)| StageDrift {
                stage: stage.clone(),
                error: Some(e.clone()),
                ..StageDrift::default()
            })
            .collect()
    };
    for (sid, (keys, reqs)) in &by_source {
        let drift_here = drift_spec
            .as_ref()
            .filter(|_| drift_source.as_deref() == Some(sid.as_str()));
        let declared = a
            .sources
            .iter()
            .find(|s| &s.id == sid)
            .and_then(|s| s.value.as_ref());
        let opened = match declared {
            None => Err(SourceError::new(
                format!("no source `{sid}` in revalign.toml"),
                "declare it as [source.<id>] or fix the reference",
            )),
            Some(s) => source::open(sid, s, dir, &org_tz, sel.fetch),
        };
        let src = match opened {
            Ok(s) => s,
            Err(e) => {
                if drift_here.is_some() {
                    drift = drift_unread(&e);
                }
                for (k, r) in keys.iter().zip(reqs) {
                    for w in &r.windows {
                        computed.insert((sid.clone(), k.clone(), w.label.clone()), Err(e.clone()));
                    }
                }
                continue;
            }
        };
        let explain = explain_at.as_ref().and_then(|(s, m, w)| {
            (s.as_deref() == Some(sid.as_str())).then(|| {
                let ri = keys.iter().position(|k| k == m)?;
                let wi = reqs[ri].windows.iter().position(|x| x == w)?;
                Some((ri, wi))
            })?
        });
        let results = match src.pushdown() {
            Some(p) if sel.show_sql => {
                // Shown, not run: every value says so.
                for (k, q) in keys
                    .iter()
                    .zip(p.queries(reqs, currency.as_deref(), sel.now))
                {
                    sql.push((sid.clone(), k.clone(), q));
                }
                let shown = SourceError::new("not run (--show-sql)", "run without --show-sql");
                for (k, r) in keys.iter().zip(reqs) {
                    for w in &r.windows {
                        computed.insert(
                            (sid.clone(), k.clone(), w.label.clone()),
                            Err(shown.clone()),
                        );
                    }
                }
                continue;
            }
            Some(p) => p.measure(reqs, currency.as_deref(), sel.now, explain, drift_here),
            None => {
                let mut engine = Engine::new(reqs, explain, currency.as_deref(), sel.now);
                if let Some(spec) = drift_here {
                    engine = engine.with_drift(spec);
                }
                engine.run(src.as_ref())
            }
        };
        if drift_here.is_some() {
            drift = results.drift;
        }
        for ((k, r), values) in keys.iter().zip(reqs).zip(results.values) {
            for (w, v) in r.windows.iter().zip(values) {
                computed.insert((sid.clone(), k.clone(), w.label.clone()), v);
            }
        }
        if explain.is_some() {
            explained = results.explained;
        }
        spans.insert(sid.clone(), (results.lead_span, results.deal_span));
        streams.push((sid.clone(), results.streams));
    }

    let mut rows = Vec::new();
    for p in pending {
        let item = &items[p.item];
        let mut row = Row {
            kind: item.kind,
            id: item.id.to_string(),
            title: item.title.to_string(),
            metric: p.metric.id.clone(),
            metric_name: p.metric.name.clone(),
            unit: p.metric.unit,
            window: p.window.clone(),
            source: p.source.clone().unwrap_or_default(),
            target: item.target.to_string(),
            warn: item.warn.map(str::to_string),
            actual: None,
            previous: None,
            compared: None,
            status: Status::Error,
            note: None,
            help: None,
            measured: None,
            owners: item.owners.clone(),
            parties: item.parties.clone(),
            severity: item.severity,
            place: match item.version {
                None => Some(item.place.clone()),
                Some(_) => current
                    .iter()
                    .find(|c| c.kind == item.kind && c.id == item.id)
                    .map(|c| c.place.clone()),
            },
            declared: item.version.map(|v| versions[v].commit.clone()),
        };
        let fill_error = |row: &mut Row, m: String, h: String| {
            row.status = Status::Error;
            row.note = Some(m);
            row.help = Some(h);
        };
        let Some(sid) = &p.source else {
            fill_error(
                &mut row,
                "no data source for this target".into(),
                "set `source` on it, or `[defaults] source = \"<id>\"` in revalign.toml".into(),
            );
            rows.push(row);
            continue;
        };
        let (target, warn) = match &p.target {
            Ok(t) => *t,
            Err(e) => {
                fill_error(&mut row, e.clone(), "run `revalign validate`".into());
                rows.push(row);
                continue;
            }
        };
        let get = |w: &Window| computed.get(&(sid.clone(), p.key.clone(), w.label.clone()));
        let current = match get(&p.window) {
            Some(Ok(m)) => m.clone(),
            Some(Err(e)) => {
                fill_error(&mut row, e.message.clone(), e.help.clone());
                rows.push(row);
                continue;
            }
            None => {
                fill_error(
                    &mut row,
                    "not computed".into(),
                    "report this as a bug".into(),
                );
                rows.push(row);
                continue;
            }
        };
        let on_deals = p.metric.kind.on_deals();
        let span = spans
            .get(sid)
            .and_then(|(l, d)| if on_deals { *d } else { *l });
        let covered = |w: &Window| span.is_some_and(|(lo, hi)| w.end > lo && w.start <= hi);
        if sel.now < p.window.start {
            row.status = Status::NoData;
            row.note = Some("the period has not started".into());
            rows.push(row);
            continue;
        }
        if !covered(&p.window) {
            row.status = Status::NoData;
            row.note = Some(match span {
                Some((lo, hi)) => format!(
                    "the data holds no {} from this period (it runs {} to {})",
                    if on_deals { "deals" } else { "leads" },
                    cal.date_of(lo),
                    cal.date_of(hi)
                ),
                None => format!(
                    "the source has no {}",
                    if on_deals { "deals" } else { "leads" }
                ),
            });
            row.measured = Some(current);
            rows.push(row);
            continue;
        }
        let previous = match &p.previous {
            Some(w) if covered(w) => match get(w) {
                Some(Ok(m)) => m.value,
                _ => None,
            },
            _ => None,
        };
        let elapsed = if sel.now >= p.window.end {
            1.0
        } else {
            (sel.now - p.window.start) as f64 / (p.window.end - p.window.start) as f64
        };
        let within = p.metric.within_ms().unwrap_or(0);
        let maturing = p.metric.kind == MetricKind::Conversion && p.window.end + within > sel.now;
        let verdict = judge(
            &target,
            warn.as_ref(),
            p.metric.unit,
            current.value,
            previous,
            Timing { elapsed, maturing },
        );
        row.actual = current.value;
        row.previous = previous;
        row.compared = verdict.compared.filter(|c| Some(*c) != current.value);
        row.status = verdict.status;
        row.note = verdict.note;
        if row.status == Status::NoData && row.note.is_none() {
            row.note = Some(match p.metric.kind {
                MetricKind::Duration => "no record had both events in the period".into(),
                MetricKind::WinRate => "no deal closed in the period".into(),
                _ => "the cohort is empty: no record entered the stage in the period".into(),
            });
        }
        row.measured = Some(current);
        rows.push(row);
    }
    if as_declared {
        // Rows by target in today's order (then targets no longer declared),
        // each target's periods in time order.
        let rank = |r: &Row| {
            current
                .iter()
                .position(|c| c.kind == r.kind && c.id == r.id)
                .unwrap_or(usize::MAX)
        };
        rows.sort_by(|x, y| {
            (rank(x), x.kind, &x.id, x.window.start).cmp(&(rank(y), y.kind, &y.id, y.window.start))
        });
    }
    if drift_spec.is_some() && drift_source.is_none() {
        drift = drift_unread(&SourceError::new(
            "no data source to judge the lead definitions against",
            "set `[defaults] source = \"<id>\"` in revalign.toml, or pass --source",
        ));
    }
    let drift = drift
        .into_iter()
        .filter_map(|result| {
            let stage = a.stages.iter().find(|s| s.id == result.stage)?;
            let mut place = stage.place.clone();
            place.pointer.push_str("/entry");
            place.span = None;
            Some(DriftRow {
                name: stage
                    .value
                    .as_ref()
                    .map_or(String::new(), |v| v.name.clone()),
                source: drift_source.clone().unwrap_or_default(),
                place,
                result,
            })
        })
        .collect();
    Ok(Scorecard {
        rows,
        selection,
        sources: streams,
        explained,
        drift,
        now: sel.now,
        notes,
        sql,
    })
}
