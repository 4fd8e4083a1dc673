//! The metric engine: computes every requested metric over every requested
//! window in one pass over a source's leads and one over its deals.
//!
//! Definitions (also in the README):
//! - `stage_count`: records whose entry into `stage` falls in the window.
//! - `conversion`: the cohort is the records entering `from` in the window;
//!   converted are those that entered `to` no later than `within` after entering
//!   `from`. A record that entered `to` before `from` (stages out of order)
//!   counts as converted: it got there. A record that skipped `from` is not in
//!   the cohort.
//! - `duration`: for records whose `from` event falls in the window and that
//!   have the `to` event, the time between them (0 when `to` came first); the
//!   percentile is linearly interpolated between order statistics (like
//!   DuckDB's `quantile_cont` and NumPy's default). Records without the `to`
//!   event are left out and counted: the share metric is the one that counts
//!   them as misses.
//! - `share`: the cohort is the records entering `stage` in the window; those
//!   meeting `condition` (if any) and, if `to` is set, reaching `to` within
//!   `within` of `from` (default: the stage entry) count.
//! - `sum`: deals whose `date` (created, or closed for closed deals) falls in
//!   the window and that meet `condition`; the sum of `field`.
//! - `win_rate`: deals closed in the window with a known outcome: won / (won + lost).
//! - `filter` applies to every kind before anything is counted.

mod drift;
pub mod sql;

pub use drift::{DriftExample, DriftSpec, LEFT_FUNNEL, StageDrift};

use crate::model::calendar::{Millis, Window};
use crate::model::metric::{DealDate, Metric, MetricKind};
use crate::model::record::{Compiled, Deal, FieldType, Lead, Need, Value};
use crate::source::{DataSource, DealSink, LeadSink, SourceError, Stream, Streamed};

/// A point in a lead's life a metric measures from or to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Created,
    FirstTouch,
    Stage(usize),
}

/// What one metric produced over one window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Measured {
    /// The value: a count, a percentage (0-100), seconds, or a sum. `None`:
    /// nothing to measure (an empty cohort, no durations, no closed deals).
    pub value: Option<f64>,
    /// Records counted in the numerator (converted, meeting, won).
    pub hits: u64,
    /// Records in the cohort or denominator (or counted, or summed).
    pub total: u64,
    /// Records left out, and why (no `to` event, outcome unknown).
    pub left_out: Option<(u64, String)>,
}

/// One record behind a number, for `--explain`.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    /// The record's id.
    pub id: String,
    /// Its row (CSV line or NDJSON line) in the source file.
    pub at: u64,
    /// The start event's time, or the date that placed it in the window.
    pub start: Option<Millis>,
    /// The end event's time, if any.
    pub end: Option<Millis>,
    /// End minus start, if both.
    pub elapsed: Option<Millis>,
    /// Whether it counted toward the numerator (converted, met, won).
    pub hit: bool,
    /// The value summed, for sums.
    pub amount: Option<f64>,
    /// The `owner` field, if the source has one.
    pub owner: Option<String>,
}

impl Explained {
    /// The record's line in the source file; `None` for a warehouse, whose
    /// rows have no line (`at` is 0 there).
    pub fn row(&self) -> Option<u64> {
        (self.at > 0).then_some(self.at)
    }

    /// The line as shown: `-` for a warehouse row.
    pub fn row_text(&self) -> String {
        self.row()
            .map_or_else(|| "-".to_string(), |r| r.to_string())
    }
}

#[derive(Debug, Clone, Default)]
struct Acc {
    hits: u64,
    total: u64,
    left_out: u64,
    sum: f64,
    durations: Vec<f64>,
    currencies: Vec<String>,
}

/// One reading thread's accumulators and the span of times it saw.
#[derive(Debug, Clone)]
struct Worker {
    plans: Vec<Plan>,
    drift: Option<drift::Drift>,
    span: Option<(Millis, Millis)>,
}

/// One metric's definition, compiled against the record layout.
#[derive(Debug, Clone)]
struct Plan {
    kind: MetricKind,
    on_deals: bool,
    windows: Vec<Window>,
    accs: Vec<Acc>,
    filter: Option<Compiled>,
    condition: Option<Compiled>,
    stage: Option<usize>,
    from: Option<Event>,
    to: Option<Event>,
    within: Option<i64>,
    percentile: f64,
    field: Option<usize>,
    date: DealDate,
    /// Fields (and events) this metric reads, to blame a missing column on it.
    uses: Vec<String>,
    explain: Option<(usize, Vec<Explained>)>,
    error: Option<SourceError>,
}

/// A source that computes metrics itself, where the data is (a warehouse).
pub trait Pushdown {
    /// What it would run for these requests (for `check --show-sql`).
    fn queries(
        &self,
        requests: &[Request],
        currency: Option<&str>,
        cutoff: Millis,
    ) -> Vec<sql::Query>;
    /// Computes the requests, as [`Engine::run`] would over the records.
    fn measure(
        &self,
        requests: &[Request],
        currency: Option<&str>,
        cutoff: Millis,
        explain: Option<(usize, usize)>,
        drift: Option<&DriftSpec>,
    ) -> Results;
}

/// A request: a metric over some windows.
#[derive(Debug, Clone)]
pub struct Request {
    /// The metric.
    pub metric: Metric,
    /// The windows to compute it over.
    pub windows: Vec<Window>,
}

/// The results of one source, per request and window.
#[derive(Debug)]
pub struct Results {
    /// Per request (in order), per window: the value, or why there is none.
    pub values: Vec<Vec<Result<Measured, SourceError>>>,
    /// The earliest and latest lead event seen.
    pub lead_span: Option<(Millis, Millis)>,
    /// The earliest and latest deal date seen.
    pub deal_span: Option<(Millis, Millis)>,
    /// What the source reported about the leads and the deals.
    pub streams: Vec<(&'static str, Stream)>,
    /// The records behind the explained request's window.
    pub explained: Vec<Explained>,
    /// Per stage with entry criteria: its conformance (when asked for).
    pub drift: Vec<StageDrift>,
}

/// The engine for one source.
#[derive(Debug)]
pub struct Engine {
    plans: Vec<Plan>,
    cutoff: Millis,
    need: Need,
    default_currency: Option<String>,
    owner_field: Option<usize>,
    drift: Option<drift::Drift>,
}

fn event(name: &str, stages: &mut Vec<String>) -> Event {
    match name {
        "created" => Event::Created,
        "first_touch" => Event::FirstTouch,
        s => Event::Stage(stage_slot(s, stages)),
    }
}

/// The position of a stage's entry time in the leads, adding it if new.
fn stage_slot(stage: &str, stages: &mut Vec<String>) -> usize {
    match stages.iter().position(|x| x == stage) {
        Some(i) => i,
        None => {
            stages.push(stage.to_string());
            stages.len() - 1
        }
    }
}

impl Engine {
    /// Plans the requests. `explain` names a request and one of its windows
    /// whose records to keep. `currency` is the manifest's default currency:
    /// sums over deals in another currency are refused, not added up. Events
    /// after `cutoff` (the time the check judges at) are ignored, as if they
    /// had not happened yet.
    pub fn new(
        requests: &[Request],
        explain: Option<(usize, usize)>,
        currency: Option<&str>,
        cutoff: Millis,
    ) -> Engine {
        let mut need = Need::default();
        let mut plans = Vec::new();
        for (ri, r) in requests.iter().enumerate() {
            let m = &r.metric;
            let on_deals = m.kind.on_deals();
            let fields = if on_deals {
                &mut need.deal_fields
            } else {
                &mut need.lead_fields
            };
            let mut uses: Vec<String> = Vec::new();
            let filter = m.filter.as_ref().and_then(|p| Compiled::new(p, fields));
            let condition = m.condition.as_ref().and_then(|p| Compiled::new(p, fields));
            for p in [&filter, &condition].into_iter().flatten() {
                collect_fields(p, fields, &mut uses);
            }
            let field = m.field.as_ref().map(|f| {
                uses.push(f.clone());
                fields.add(f, FieldType::Number)
            });
            let mut ev = |name: &Option<String>, uses: &mut Vec<String>| {
                name.as_deref().map(|n| {
                    uses.push(n.to_string());
                    event(n, &mut need.stages)
                })
            };
            let stage = ev(&m.stage, &mut uses).map(|e| match e {
                Event::Stage(i) => i,
                _ => usize::MAX,
            });
            let from = ev(&m.from, &mut uses);
            let to = ev(&m.to, &mut uses);
            match m.kind {
                MetricKind::Sum => match m.date.unwrap_or(DealDate::Created) {
                    DealDate::Created => uses.push("created".into()),
                    // A close counts only with a known outcome: without a
                    // `won` column every sum would be a silent 0.
                    DealDate::Closed => uses.extend(["closed".to_string(), "won".to_string()]),
                },
                MetricKind::WinRate => uses.extend(["closed".to_string(), "won".to_string()]),
                _ => {}
            }
            if on_deals {
                need.deals = true;
            } else {
                need.leads = true;
            }
            plans.push(Plan {
                kind: m.kind,
                on_deals,
                accs: vec![Acc::default(); r.windows.len()],
                windows: r.windows.clone(),
                filter,
                condition,
                stage: stage.filter(|s| *s != usize::MAX),
                from,
                to,
                within: m.within_ms(),
                percentile: m.percentile.unwrap_or(50) as f64,
                field,
                date: m.date.unwrap_or(DealDate::Created),
                uses,
                explain: explain
                    .filter(|(i, _)| *i == ri)
                    .map(|(_, w)| (w, Vec::new())),
                error: None,
            });
        }
        need.since = requests
            .iter()
            .flat_map(|r| &r.windows)
            .map(|w| w.start)
            .min();
        let owner_field = explain.map(|(i, _)| {
            if plans.get(i).is_some_and(|p| p.on_deals) {
                need.deal_fields.add("owner", FieldType::Text)
            } else {
                need.lead_fields.add("owner", FieldType::Text)
            }
        });
        Engine {
            plans,
            cutoff,
            need,
            default_currency: currency.map(str::to_string),
            owner_field,
            drift: None,
        }
    }

    /// Also judges lead-definition conformance in the same pass over the leads.
    pub fn with_drift(mut self, spec: &DriftSpec) -> Engine {
        self.drift = Some(drift::Drift::new(spec, &mut self.need));
        self.need.since = Some(self.need.since.map_or(spec.start, |s| s.min(spec.start)));
        self
    }

    /// What the source must provide.
    pub fn need(&self) -> &Need {
        &self.need
    }

    /// Streams the source once for leads and once for deals (each only if a
    /// metric needs it) and computes everything. Sources that can read in
    /// parallel get one set of accumulators per core (two at most), merged
    /// afterwards; `--explain` reads on one thread.
    pub fn run(mut self, source: &dyn DataSource) -> Results {
        let mut streams = Vec::new();
        let need = self.need.clone();
        let threads = if self.plans.iter().any(|p| p.explain.is_some()) {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(2))
        };
        let owner = self.owner_field;
        let cutoff = self.cutoff;
        let mut lead_span = None;
        if need.leads {
            lead_span = self.pass(false, threads, &mut streams, |workers| {
                let mut sinks: Vec<Box<LeadSink<'_>>> = workers
                    .iter_mut()
                    .map(|w| {
                        Box::new(move |lead: &mut Lead| {
                            // Drift judges records as exported, before the cutoff.
                            if let Some(d) = &mut w.drift {
                                d.lead(lead);
                            }
                            let future = |t: &mut Option<Millis>| {
                                if t.is_some_and(|t| t > cutoff) {
                                    *t = None;
                                }
                            };
                            lead.stages.iter_mut().for_each(future);
                            future(&mut lead.created);
                            future(&mut lead.first_touch);
                            for t in lead.stages.iter().chain([&lead.created]).flatten() {
                                widen(&mut w.span, *t);
                            }
                            for p in w.plans.iter_mut().filter(|p| !p.on_deals) {
                                p.lead(lead, owner);
                            }
                        }) as Box<LeadSink<'_>>
                    })
                    .collect();
                let mut refs: Vec<&mut LeadSink<'_>> =
                    sinks.iter_mut().map(|b| b.as_mut()).collect();
                source.leads(&need, &mut refs)
            });
        }
        let mut deal_span = None;
        if need.deals {
            let currency = self.default_currency.clone();
            deal_span = self.pass(true, threads, &mut streams, |workers| {
                let mut sinks: Vec<Box<DealSink<'_>>> = workers
                    .iter_mut()
                    .map(|w| {
                        let currency = currency.clone();
                        Box::new(move |deal: &mut Deal| {
                            if deal.created.is_some_and(|t| t > cutoff) {
                                return;
                            }
                            if deal.closed.is_some_and(|t| t > cutoff) {
                                deal.closed = None;
                                deal.won = None;
                            }
                            for t in [deal.created, deal.closed].into_iter().flatten() {
                                widen(&mut w.span, t);
                            }
                            for p in w.plans.iter_mut().filter(|p| p.on_deals) {
                                p.deal(deal, owner, currency.as_deref());
                            }
                        }) as Box<DealSink<'_>>
                    })
                    .collect();
                let mut refs: Vec<&mut DealSink<'_>> =
                    sinks.iter_mut().map(|b| b.as_mut()).collect();
                source.deals(&need, &mut refs)
            });
        }
        // A source holding only the records with an event since some time
        // holds every record of the time since: the span reaches back to it.
        let reach = |span: Option<(Millis, Millis)>, deals: bool| {
            span.map(|(lo, hi)| match source.complete_from(deals) {
                Some(from) => (lo.min(from), hi),
                None => (lo, hi),
            })
        };
        let (lead_span, deal_span) = (reach(lead_span, false), reach(deal_span, true));
        let mut explained = Vec::new();
        let values = self
            .plans
            .iter_mut()
            .map(|p| {
                if let Some((_, rows)) = p.explain.take() {
                    explained = rows;
                }
                p.finish()
            })
            .collect();
        Results {
            values,
            lead_span,
            deal_span,
            streams,
            explained,
            drift: self
                .drift
                .take()
                .map(drift::Drift::finish)
                .unwrap_or_default(),
        }
    }

    /// One pass over the leads (or the deals): `read` streams the source into
    /// the workers' sinks. A parallel read the source cannot trust is redone
    /// on one thread. Returns the span of times seen.
    fn pass(
        &mut self,
        deals: bool,
        threads: usize,
        streams: &mut Vec<(&'static str, Stream)>,
        read: impl Fn(&mut [Worker]) -> Result<Streamed, SourceError>,
    ) -> Option<(Millis, Millis)> {
        let what = if deals { "deals" } else { "leads" };
        let mut span = None;
        let mut n = threads;
        let r = loop {
            let mut workers: Vec<Worker> = (0..n)
                .map(|_| Worker {
                    plans: self.plans.clone(),
                    drift: self.drift.clone().filter(|_| !deals),
                    span: None,
                })
                .collect();
            match read(&mut workers) {
                Ok(Streamed::Again) if n > 1 => n = 1,
                Ok(Streamed::Again) => {
                    break Err(SourceError::new(
                        format!("the source could not read its {what}"),
                        "report this as a bug",
                    ));
                }
                Ok(Streamed::Done(stream)) => {
                    for w in workers {
                        if let Some((a, b)) = w.span {
                            widen(&mut span, a);
                            widen(&mut span, b);
                        }
                        self.absorb(w, deals);
                    }
                    break Ok(stream);
                }
                Err(e) => break Err(e),
            }
        };
        if !deals && let Some(d) = &mut self.drift {
            d.settle(r.as_ref());
        }
        self.settle(r, deals, what, streams);
        span
    }

    /// Adds one worker's accumulators (of lead or deal metrics) to the engine's.
    fn absorb(&mut self, worker: Worker, deals: bool) {
        if let (Some(mine), Some(theirs)) = (&mut self.drift, worker.drift) {
            mine.absorb(theirs);
        }
        for (mine, theirs) in self.plans.iter_mut().zip(worker.plans) {
            if mine.on_deals != deals {
                continue;
            }
            for (a, b) in mine.accs.iter_mut().zip(theirs.accs) {
                a.hits += b.hits;
                a.total += b.total;
                a.left_out += b.left_out;
                a.sum += b.sum;
                a.durations.extend(b.durations);
                for c in b.currencies {
                    if !a.currencies.contains(&c) {
                        a.currencies.push(c);
                    }
                }
            }
            if let (Some((_, rows)), Some((_, more))) = (&mut mine.explain, theirs.explain) {
                rows.extend(more);
            }
        }
    }

    fn settle(
        &mut self,
        r: Result<Stream, SourceError>,
        deals: bool,
        what: &'static str,
        streams: &mut Vec<(&'static str, Stream)>,
    ) {
        match r {
            Ok(stream) => {
                for p in self.plans.iter_mut().filter(|p| p.on_deals == deals) {
                    if let Some(m) = stream.missing.iter().find(|m| p.uses.contains(&m.field)) {
                        p.error = Some(SourceError::new(m.message.clone(), m.help.clone()));
                    }
                }
                streams.push((what, stream));
            }
            Err(e) => {
                for p in self.plans.iter_mut().filter(|p| p.on_deals == deals) {
                    p.error = Some(e.clone());
                }
            }
        }
    }
}

fn widen(span: &mut Option<(Millis, Millis)>, t: Millis) {
    *span = Some(match *span {
        None => (t, t),
        Some((a, b)) => (a.min(t), b.max(t)),
    });
}

fn collect_fields(c: &Compiled, fields: &crate::model::record::Fields, out: &mut Vec<String>) {
    match c {
        Compiled::All(cs) | Compiled::Any(cs) => {
            cs.iter().for_each(|c| collect_fields(c, fields, out))
        }
        Compiled::Not(c) => collect_fields(c, fields, out),
        Compiled::Cmp(i, _) => out.push(fields.list[*i].0.clone()),
    }
}

fn at(lead: &Lead, e: Event) -> Option<Millis> {
    match e {
        Event::Created => lead.created,
        Event::FirstTouch => lead.first_touch,
        Event::Stage(i) => at_stage(lead, i),
    }
}

fn at_stage(lead: &Lead, slot: usize) -> Option<Millis> {
    lead.stages.get(slot).copied().flatten()
}

fn text(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::Text(t)) => Some(t.clone()),
        _ => None,
    }
}

impl Plan {
    fn lead(&mut self, lead: &Lead, owner: Option<usize>) {
        if let Some(f) = &self.filter
            && !f.test(&lead.fields)
        {
            return;
        }
        let stage_at = self
            .stage
            .and_then(|s| lead.stages.get(s).copied().flatten());
        let (start, end) = match self.kind {
            MetricKind::StageCount => (stage_at, None),
            MetricKind::Conversion | MetricKind::Duration => (
                self.from.and_then(|e| at(lead, e)),
                self.to.and_then(|e| at(lead, e)),
            ),
            MetricKind::Share => (stage_at, None),
            MetricKind::Sum | MetricKind::WinRate => return,
        };
        let Some(start) = start else { return };
        for (w, window) in self.windows.iter().enumerate() {
            if !window.contains(start) {
                continue;
            }
            let acc = &mut self.accs[w];
            let mut record = |hit: bool, s: Option<Millis>, e: Option<Millis>| {
                if let Some((ew, rows)) = &mut self.explain
                    && *ew == w
                {
                    rows.push(Explained {
                        id: lead.id.clone(),
                        at: lead.at,
                        start: s,
                        end: e,
                        elapsed: s.zip(e).map(|(s, e)| e - s),
                        hit,
                        amount: None,
                        owner: text(owner.and_then(|o| lead.fields.get(o))),
                    });
                }
            };
            match self.kind {
                MetricKind::StageCount => {
                    acc.total += 1;
                    record(true, Some(start), None);
                }
                MetricKind::Conversion => {
                    acc.total += 1;
                    let hit = end.is_some_and(|e| e - start <= self.within.unwrap_or(i64::MAX));
                    acc.hits += hit as u64;
                    record(hit, Some(start), end);
                }
                MetricKind::Duration => match end {
                    Some(e) => {
                        acc.total += 1;
                        acc.durations.push((e - start).max(0) as f64 / 1000.0);
                        record(true, Some(start), Some(e));
                    }
                    None => {
                        acc.left_out += 1;
                        record(false, Some(start), None);
                    }
                },
                MetricKind::Share => {
                    acc.total += 1;
                    let cond = self.condition.as_ref().is_none_or(|c| c.test(&lead.fields));
                    let (from, to) = match self.to {
                        Some(to) => (self.from.map_or(Some(start), |f| at(lead, f)), at(lead, to)),
                        None => (Some(start), None),
                    };
                    let timely = match self.to {
                        None => true,
                        Some(_) => match (from, to) {
                            (Some(f), Some(t)) => t - f <= self.within.unwrap_or(i64::MAX),
                            _ => false,
                        },
                    };
                    let hit = cond && timely;
                    acc.hits += hit as u64;
                    record(hit, from, to);
                }
                MetricKind::Sum | MetricKind::WinRate => {}
            }
        }
    }

    fn deal(&mut self, deal: &Deal, owner: Option<usize>, currency: Option<&str>) {
        if let Some(f) = &self.filter
            && !f.test(&deal.fields)
        {
            return;
        }
        let closed = deal.closed.filter(|_| deal.won.is_some());
        let date = match self.kind {
            MetricKind::WinRate => closed,
            MetricKind::Sum => match self.date {
                DealDate::Created => deal.created,
                DealDate::Closed => closed,
            },
            _ => return,
        };
        let Some(date) = date else {
            // Closed on a date but with no known outcome: cannot be judged.
            if self.kind == MetricKind::WinRate
                && let Some(c) = deal.closed
            {
                for (w, window) in self.windows.iter().enumerate() {
                    if window.contains(c) {
                        self.accs[w].left_out += 1;
                    }
                }
            }
            return;
        };
        for (w, window) in self.windows.iter().enumerate() {
            if !window.contains(date) {
                continue;
            }
            let acc = &mut self.accs[w];
            let (hit, amount) = match self.kind {
                MetricKind::WinRate => {
                    acc.total += 1;
                    let won = deal.won == Some(true);
                    acc.hits += won as u64;
                    (won, None)
                }
                _ => {
                    if let Some(c) = &self.condition
                        && !c.test(&deal.fields)
                    {
                        continue;
                    }
                    let amount = match self.field.and_then(|f| deal.fields.get(f)) {
                        Some(Value::Number(n)) => *n,
                        _ => 0.0,
                    };
                    acc.total += 1;
                    acc.sum += amount;
                    if let (Some(c), Some(d)) = (&deal.currency, currency)
                        && !c.eq_ignore_ascii_case(d)
                        && !acc.currencies.contains(c)
                    {
                        acc.currencies.push(c.clone());
                    }
                    (true, Some(amount))
                }
            };
            if let Some((ew, rows)) = &mut self.explain
                && *ew == w
            {
                rows.push(Explained {
                    id: deal.id.clone(),
                    at: deal.at,
                    start: Some(date),
                    end: None,
                    elapsed: None,
                    hit,
                    amount,
                    owner: text(owner.and_then(|o| deal.fields.get(o))),
                });
            }
        }
    }

    fn finish(&mut self) -> Vec<Result<Measured, SourceError>> {
        let error = self.error.clone();
        let kind = self.kind;
        let q = self.percentile;
        self.accs
            .iter_mut()
            .map(|acc| {
                if let Some(e) = &error {
                    return Err(e.clone());
                }
                if !acc.currencies.is_empty() {
                    return Err(SourceError::new(
                        format!(
                            "deals in {} cannot be added to amounts in the default currency",
                            acc.currencies.join(", ")
                        ),
                        "convert amounts to one currency in the export (a column like HubSpot's `Amount in company currency`) and map it as the summed field",
                    ));
                }
                let ratio = |h: u64, t: u64| (t > 0).then(|| h as f64 * 100.0 / t as f64);
                let value = match kind {
                    MetricKind::StageCount => Some(acc.total as f64),
                    MetricKind::Conversion | MetricKind::Share | MetricKind::WinRate => {
                        ratio(acc.hits, acc.total)
                    }
                    MetricKind::Duration => percentile(&mut acc.durations, q),
                    MetricKind::Sum => Some(acc.sum),
                };
                let left_out = (acc.left_out > 0).then(|| {
                    let why = match kind {
                        MetricKind::Duration => "without the end event",
                        _ => "closed with no known outcome",
                    };
                    (acc.left_out, why.to_string())
                });
                Ok(Measured {
                    value,
                    hits: acc.hits,
                    total: acc.total,
                    left_out,
                })
            })
            .collect()
    }
}

/// The `q`-th percentile (0-100), linearly interpolated between order
/// statistics: position `(n - 1) * q / 100`. `None` for no values.
pub fn percentile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    // The fraction times (n - 1), as PostgreSQL's and DuckDB's
    // `percentile_cont`/`quantile_cont` compute it: the same float operations
    // give the same number to the last bit (`(n - 1) * q / 100` can differ).
    let pos = (q / 100.0) * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(values[lo] + (values[hi] - values[lo]) * (pos - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One lead that entered `mql` at 2,000 ms; complete from `from`.
    struct OneLead {
        from: Option<Millis>,
    }

    impl DataSource for OneLead {
        fn leads(
            &self,
            need: &Need,
            sinks: &mut [&mut LeadSink<'_>],
        ) -> Result<Streamed, SourceError> {
            assert_eq!(need.stages, ["mql"]);
            let mut lead = Lead {
                id: "1".into(),
                created: Some(2_000),
                stages: vec![Some(2_000)],
                ..Lead::default()
            };
            (sinks[0])(&mut lead);
            Ok(Streamed::Done(Stream::default()))
        }
        fn deals(&self, _: &Need, _: &mut [&mut DealSink<'_>]) -> Result<Streamed, SourceError> {
            Ok(Streamed::Done(Stream::default()))
        }
        fn complete_from(&self, deals: bool) -> Option<Millis> {
            self.from.filter(|_| !deals)
        }
    }

    #[test]
    fn a_source_complete_from_a_time_reaches_the_span_back_to_it() {
        let metric: Metric = toml::from_str(
            "id = \"mqls\"\nname = \"MQLs\"\nunit = \"count\"\nowners = [\"marketing\"]\nkind = \"stage_count\"\nstage = \"mql\"\n",
        )
        .expect("metric");
        let day = jiff::civil::date(1970, 1, 1);
        let window = |start: Millis, end: Millis| Window {
            period: crate::model::Period::Week,
            first: day,
            after: day,
            start,
            end,
            label: format!("{start}"),
        };
        // A quiet window before the only event, and the one holding it.
        let requests = [Request {
            metric,
            windows: vec![window(1_500, 2_500), window(1_000, 1_500)],
        }];
        let engine = Engine::new(&requests, None, None, 10_000);
        assert_eq!(
            engine.need().since,
            Some(1_000),
            "the earliest window's start"
        );
        let seen = engine.run(&OneLead { from: None });
        assert_eq!(seen.lead_span, Some((2_000, 2_000)));
        let engine = Engine::new(&requests, None, None, 10_000);
        let seen = engine.run(&OneLead { from: Some(1_000) });
        assert_eq!(seen.lead_span, Some((1_000, 2_000)));
        assert_eq!(seen.values[0][1].as_ref().map(|m| m.total), Ok(0));
    }

    #[test]
    fn percentiles_interpolate() {
        assert_eq!(percentile(&mut [], 50.0), None);
        assert_eq!(percentile(&mut [7.0], 90.0), Some(7.0));
        assert_eq!(percentile(&mut [4.0, 1.0, 3.0, 2.0], 50.0), Some(2.5));
        // (n-1) * 0.9 = 8.1 -> 9 + 0.1 * (10 - 9)
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((percentile(&mut v, 90.0).unwrap() - 9.1).abs() < 1e-9);
    }
}
