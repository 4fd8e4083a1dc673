//! Metric definitions compiled to SQL (PostgreSQL dialect), for sources that
//! run the metrics where the data is. Pure: it builds text and parameters;
//! the source runs them.
//!
//! Every query computes one metric over all its windows and returns one row
//! per window: `(i, total, hits, left_out, value, currencies)`. The semantics
//! are the engine's, definition by definition (see the module above), and a
//! differential test holds the two to the same numbers:
//! - Times are compared as epoch milliseconds (`int8`), windows half-open
//!   `[start, end)`; an event after the cutoff (`--as-of`) counts as missing.
//! - A field is read as its use types it: numbers `float8`, booleans from
//!   `true/yes/1` and `false/no/0` (any case), text trimmed; empty text and
//!   NULL are missing. Predicates never yield NULL: a missing value fails
//!   `eq`, `in` and comparisons and passes `ne`, `not_in`.
//! - Identifiers are quoted; every value the user wrote (predicate operands,
//!   windows, cutoff, percentile, currency) is a bound parameter.
//!
//! Portability: the SQL is standard but for `percentile_cont ... WITHIN
//! GROUP` (also in Snowflake, DuckDB, Trino as `approx_percentile` only),
//! `unnest(...) WITH ORDINALITY` (DuckDB, Trino; BigQuery `UNNEST ... WITH
//! OFFSET`), `extract(epoch ...)` (DuckDB `epoch_ms`, BigQuery
//! `UNIX_MILLIS`, Snowflake `DATE_PART(epoch_millisecond, ...)`), `FILTER
//! (WHERE ...)` on aggregates (DuckDB, Trino; elsewhere `SUM(CASE ...)`),
//! `~` for regular expressions and `$n` placeholders. [`Dialect`] holds
//! those pieces.

use std::fmt::Write as _;

use crate::model::metric::{DealDate, Metric, MetricKind};
use crate::model::predicate::{Predicate, Scalar};
use crate::model::record::{Compiled, FieldType, Fields, Op, parse_bool, scalar_number};

/// A bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// `int8`.
    Int(i64),
    /// `float8`.
    Float(f64),
    /// `text`.
    Text(String),
    /// `bool`.
    Bool(bool),
    /// `int8[]`.
    Ints(Vec<i64>),
}

impl std::fmt::Display for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Param::Int(i) => write!(f, "{i}"),
            Param::Float(x) => write!(f, "{x}"),
            Param::Text(t) => write!(f, "'{}'", t.replace('\'', "''")),
            Param::Bool(b) => write!(f, "{b}"),
            Param::Ints(v) => write!(
                f,
                "{{{}}}",
                v.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            ),
        }
    }
}

/// A query and its parameters (`$1` is `params[0]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The SQL.
    pub sql: String,
    /// The values bound to it.
    pub params: Vec<Param>,
}

/// Where the records are: a table or view, and each field's column.
pub trait Layout {
    /// The table (or view) of leads (`false`) or deals (`true`), quoted.
    fn table(&self, deals: bool) -> String;
    /// The column holding a field (`created`, a stage id, `won`, `segment`),
    /// unquoted; `stage` says the field is a stage's entry time.
    fn column(&self, deals: bool, field: &str, stage: bool) -> String;
}

/// Quotes an identifier (`"name"`, inner quotes doubled).
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a possibly schema-qualified name: `crm.leads` -> `"crm"."leads"`.
pub fn qualified(name: &str) -> String {
    name.split('.').map(ident).collect::<Vec<_>>().join(".")
}

/// The pieces of SQL that differ between warehouses.
#[derive(Debug, Clone, Copy)]
pub struct Dialect;

impl Dialect {
    /// Epoch milliseconds of a time column.
    ///
    /// `date_part` gives float8 seconds, twice as fast as `extract`'s numeric.
    /// A time of whole microseconds near today is within 0.25 µs of its float
    /// value times 1000, so adding half a microsecond before the floor gives
    /// the exact millisecond (the engine truncates to milliseconds too).
    fn epoch_ms(self, col: &str) -> String {
        format!("floor(date_part('epoch', ({col})::timestamptz) * 1000 + 0.0005)::int8")
    }

    /// A text reading of a column as the file sources read a cell: trimmed
    /// of white space; empty or `null` (any case) is missing.
    fn text(self, col: &str) -> String {
        let t = format!("btrim(({col})::text, E' \\t\\r\\n\\f\\v')");
        format!("(CASE WHEN {t} = '' OR lower({t}) = 'null' THEN NULL ELSE {t} END)")
    }

    /// Whether a text expression reads as a number.
    fn numeric_text(self, t: &str) -> String {
        format!("({t} ~ '^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$')")
    }

    /// The `q`-quantile (parameter) of an expression, linearly interpolated.
    fn quantile(self, q: &str, expr: &str, filter: &str) -> String {
        format!("percentile_cont({q}) WITHIN GROUP (ORDER BY {expr}) FILTER (WHERE {filter})")
    }
}

/// Builds one query: the parameters are numbered as they are added.
struct Builder<'a> {
    params: Vec<Param>,
    layout: &'a dyn Layout,
    deals: bool,
    fields: Fields,
    d: Dialect,
}

impl Builder<'_> {
    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }

    fn col(&self, field: &str, stage: bool) -> String {
        ident(&self.layout.column(self.deals, field, stage))
    }

    /// A field read as its type.
    fn value(&self, name: &str, ty: FieldType) -> String {
        let text = self.d.text(&self.col(name, false));
        match ty {
            FieldType::Text => text,
            // Thousands commas as the file sources allow them; anything else
            // that is not a number fails the query, as a bad cell fails a file.
            FieldType::Number => format!("(replace({text}, ',', ''))::float8"),
            FieldType::Bool => bool_of(&text),
        }
    }

    /// `value = scalar` as the engine's `equals`: NULL when missing.
    fn equals(&mut self, v: &str, ty: FieldType, s: &Scalar) -> String {
        let num = scalar_number;
        match (ty, s) {
            (FieldType::Bool, Scalar::Bool(b)) => {
                let p = self.bind(Param::Bool(*b));
                format!("({v} = {p})")
            }
            (FieldType::Bool, Scalar::String(u)) => match parse_bool(u) {
                Some(b) => {
                    let p = self.bind(Param::Bool(b));
                    format!("({v} = {p})")
                }
                None => format!("({v} IS NOT NULL AND false)"),
            },
            (FieldType::Number, s) => match num(s) {
                Some(n) => {
                    let p = self.bind(Param::Float(n));
                    format!("({v} = {p})")
                }
                None => format!("({v} IS NOT NULL AND false)"),
            },
            (FieldType::Text, Scalar::String(u)) => {
                let p = self.bind(Param::Text(u.clone()));
                format!("({v} = {p})")
            }
            (FieldType::Text, Scalar::Integer(_) | Scalar::Float(_)) => {
                let n = num(s).unwrap_or(f64::NAN);
                let p = self.bind(Param::Float(n));
                format!(
                    "(CASE WHEN {} THEN ({v})::float8 = {p} ELSE false END)",
                    self.d.numeric_text(v)
                )
            }
            (FieldType::Text, Scalar::Bool(b)) => format!("({} = {b})", bool_of(v)),
            (FieldType::Bool, _) => format!("({v} IS NOT NULL AND false)"),
        }
    }

    /// A number read from a value of this type, for comparisons.
    fn number(&self, v: &str, ty: FieldType) -> String {
        match ty {
            FieldType::Number => v.to_string(),
            FieldType::Text => format!(
                "(CASE WHEN {} THEN ({v})::float8 END)",
                self.d.numeric_text(v)
            ),
            FieldType::Bool => "NULL::float8".into(),
        }
    }

    /// A predicate that is never NULL.
    fn predicate(&mut self, c: &Compiled) -> String {
        match c {
            Compiled::All(cs) if cs.is_empty() => "true".into(),
            Compiled::Any(cs) if cs.is_empty() => "false".into(),
            Compiled::All(cs) => {
                let parts: Vec<String> = cs.iter().map(|c| self.predicate(c)).collect();
                format!("({})", parts.join(" AND "))
            }
            Compiled::Any(cs) => {
                let parts: Vec<String> = cs.iter().map(|c| self.predicate(c)).collect();
                format!("({})", parts.join(" OR "))
            }
            Compiled::Not(c) => format!("(NOT {})", self.predicate(c)),
            Compiled::Cmp(i, op) => {
                let (name, ty) = self.fields.list[*i].clone();
                let v = self.value(&name, ty);
                let eq_any = |b: &mut Self, ss: &[Scalar]| -> String {
                    let parts: Vec<String> = ss
                        .iter()
                        .map(|s| format!("COALESCE({}, false)", b.equals(&v, ty, s)))
                        .collect();
                    format!("({})", parts.join(" OR "))
                };
                match op {
                    Op::Eq(s) => format!("COALESCE({}, false)", self.equals(&v, ty, s)),
                    Op::Ne(s) => format!("(NOT COALESCE({}, false))", self.equals(&v, ty, s)),
                    Op::In(ss) => eq_any(self, ss),
                    Op::NotIn(ss) => format!("(NOT {})", eq_any(self, ss)),
                    Op::Gt(x) | Op::Gte(x) | Op::Lt(x) | Op::Lte(x) => {
                        let sym = match op {
                            Op::Gt(_) => ">",
                            Op::Gte(_) => ">=",
                            Op::Lt(_) => "<",
                            _ => "<=",
                        };
                        let n = self.number(&v, ty);
                        let p = self.bind(Param::Float(*x));
                        format!("COALESCE({n} {sym} {p}, false)")
                    }
                    Op::Exists(e) => format!("(({v}) IS NOT NULL) = {e}"),
                }
            }
        }
    }

    fn compile(&mut self, p: &Option<Predicate>) -> String {
        match p.as_ref().and_then(|p| Compiled::new(p, &mut self.fields)) {
            Some(c) => self.predicate(&c),
            None => "true".into(),
        }
    }

    /// The column of a lead event.
    fn event_col(&self, name: &str) -> String {
        match name {
            "created" => self.col("created", false),
            "first_touch" => self.col("first_touch", false),
            s => self.col(s, true),
        }
    }

    /// A lead event in epoch ms, missing after the cutoff. `before` is the
    /// first instant after the cutoff's millisecond, as a timestamp: the
    /// column is compared as it is (cheap), converted once.
    fn event(&self, name: &str, before: &str) -> String {
        let col = self.event_col(name);
        format!(
            "(CASE WHEN ({col})::timestamptz < {before} THEN {} END)",
            self.d.epoch_ms(&col)
        )
    }

    /// The instant just after the cutoff's millisecond, bound as a timestamp.
    fn after_cutoff(&mut self, cutoff: i64) -> String {
        let p = self.bind(Param::Float((cutoff + 1) as f64 / 1000.0));
        format!("to_timestamp({p})")
    }

    /// A condition on the column that places records in windows, true for
    /// every record any window holds (a second either side of the windows):
    /// it lets the database skip the rest, with an index on that column.
    fn around(&mut self, col: &str, starts: &[i64], ends: &[i64]) -> String {
        let (Some(lo), Some(hi)) = (starts.iter().min(), ends.iter().max()) else {
            return "true".into();
        };
        let lo = self.bind(Param::Float((*lo - 1000) as f64 / 1000.0));
        let hi = self.bind(Param::Float((*hi + 1000) as f64 / 1000.0));
        format!(
            "({col})::timestamptz >= to_timestamp({lo}) AND ({col})::timestamptz < to_timestamp({hi})"
        )
    }
}

fn bool_of(text: &str) -> String {
    format!(
        "(CASE WHEN lower({text}) IN ('true', 'yes', '1') THEN true WHEN lower({text}) IN ('false', 'no', '0') THEN false END)"
    )
}

/// The fields a metric reads, and the events, as the engine names them: a
/// missing column among them makes the metric's value an error.
pub fn uses(m: &Metric) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut fields = Fields::default();
    for p in [&m.filter, &m.condition].into_iter().flatten() {
        let _ = Compiled::new(p, &mut fields);
    }
    out.extend(fields.list.into_iter().map(|(n, _)| (n, false)));
    if let Some(f) = &m.field {
        out.push((f.clone(), false));
    }
    for e in [&m.stage, &m.from, &m.to].into_iter().flatten() {
        let stage = !matches!(e.as_str(), "created" | "first_touch");
        out.push((e.clone(), stage));
    }
    match m.kind {
        MetricKind::Sum => {
            out.push(("created".into(), false));
            if m.date == Some(DealDate::Closed) {
                out.push(("closed".into(), false));
                out.push(("won".into(), false));
            }
        }
        MetricKind::WinRate => {
            out.push(("closed".into(), false));
            out.push(("won".into(), false));
        }
        _ => {}
    }
    out
}

/// What the tables hold besides the columns the metrics name.
#[derive(Debug, Clone, Copy, Default)]
pub struct Optional {
    /// Deals have an `is_closed` column.
    pub is_closed: bool,
    /// Deals have a `currency` column.
    pub currency: bool,
    /// Leads have an `owner` column (shown by `--explain`).
    pub lead_owner: bool,
    /// Deals have an `owner` column.
    pub deal_owner: bool,
    /// Leads have a `created` column.
    pub lead_created: bool,
    /// Deals have `created`, `closed` and `won` columns (a metric that needs
    /// one checks it first; the others read NULL where it is absent).
    pub deal_created: bool,
    /// See `deal_created`.
    pub deal_closed: bool,
    /// See `deal_created`.
    pub deal_won: bool,
}

impl Optional {
    /// Every column present (for SQL shown without a connection).
    pub fn all() -> Optional {
        Optional {
            is_closed: true,
            currency: true,
            lead_owner: true,
            deal_owner: true,
            lead_created: true,
            deal_created: true,
            deal_closed: true,
            deal_won: true,
        }
    }
}

/// The query for one metric over windows `[starts[i], ends[i])`: a row per
/// window `(i, total, hits, left_out, value, currencies)`. `fields` holds the
/// types the source's metrics give each field (a field used as a number by
/// one metric and as text by another is text for all, as in the engine).
#[allow(clippy::too_many_arguments)]
pub fn metric(
    m: &Metric,
    starts: &[i64],
    ends: &[i64],
    cutoff: i64,
    currency: Option<&str>,
    layout: &dyn Layout,
    fields: &Fields,
    optional: Optional,
) -> Query {
    build(
        m, starts, ends, cutoff, currency, layout, fields, optional, false,
    )
}

/// The records behind one window's number, for `--explain`: a row per
/// record `(id, start, end, hit, amount, owner)`, as the engine lists them.
#[allow(clippy::too_many_arguments)]
pub fn explain(
    m: &Metric,
    start: i64,
    end: i64,
    cutoff: i64,
    layout: &dyn Layout,
    fields: &Fields,
    optional: Optional,
) -> Query {
    build(
        m,
        &[start],
        &[end],
        cutoff,
        None,
        layout,
        fields,
        optional,
        true,
    )
}

#[allow(clippy::too_many_arguments)]
fn build(
    m: &Metric,
    starts: &[i64],
    ends: &[i64],
    cutoff: i64,
    currency: Option<&str>,
    layout: &dyn Layout,
    fields: &Fields,
    optional: Optional,
    rows: bool,
) -> Query {
    let deals = m.kind.on_deals();
    let mut b = Builder {
        params: Vec::new(),
        layout,
        deals,
        fields: fields.clone(),
        d: Dialect,
    };
    let s = b.bind(Param::Ints(starts.to_vec()));
    let e = b.bind(Param::Ints(ends.to_vec()));
    // Deals compare times in ms with the cutoff; leads compare columns with
    // the instant after it (bound where used).
    let cut = if deals {
        b.bind(Param::Int(cutoff))
    } else {
        String::new()
    };
    let filter = b.compile(&m.filter);
    let table = layout.table(deals);
    let id = format!("({})::text", b.col("id", false));
    let has_owner = if deals {
        optional.deal_owner
    } else {
        optional.lead_owner
    };
    let owner = if has_owner {
        b.d.text(&b.col("owner", false))
    } else {
        "NULL::text".into()
    };
    let mut sql = format!(
        "WITH w(s, e, i) AS (SELECT * FROM unnest({s}::int8[], {e}::int8[]) WITH ORDINALITY),\n"
    );
    let within = m.within_ms();
    let within_sql = |b: &mut Builder<'_>| match within {
        Some(ms) => b.bind(Param::Int(ms)),
        None => "9223372036854775807".into(),
    };
    if !deals {
        let before = b.after_cutoff(cutoff);
        let ev =
            |b: &Builder<'_>, name: &Option<String>| name.as_deref().map(|n| b.event(n, &before));
        let null = || "NULL::int8".to_string();
        // st: the event that places a record in a window; en: the end event;
        // fr: where a share's `within` counts from.
        let (st, en, fr) = match m.kind {
            MetricKind::StageCount | MetricKind::Share => {
                let stage = ev(&b, &m.stage).unwrap_or_else(null);
                let fr = match (&m.to, &m.from) {
                    (Some(_), Some(_)) => ev(&b, &m.from).unwrap_or_else(null),
                    _ => stage.clone(),
                };
                (stage, ev(&b, &m.to).unwrap_or_else(null), fr)
            }
            _ => (
                ev(&b, &m.from).unwrap_or_else(null),
                ev(&b, &m.to).unwrap_or_else(null),
                null(),
            ),
        };
        let cond = if m.kind == MetricKind::Share {
            b.compile(&m.condition)
        } else {
            "true".into()
        };
        let placing = match m.kind {
            MetricKind::StageCount | MetricKind::Share => m.stage.as_deref(),
            _ => m.from.as_deref(),
        };
        let around = match placing {
            Some(ev) => {
                let col = b.event_col(ev);
                b.around(&col, starts, ends)
            }
            None => "true".into(),
        };
        let _ = write!(
            sql,
            "r AS (\n  SELECT {id} AS id,\n    {owner} AS owner,\n    {st} AS st,\n    {en} AS en,\n    {fr} AS fr,\n    {cond} AS c\n  FROM {table}\n  WHERE {around}\n    AND {filter})\n"
        );
        // Whether a record in the window counts, and the times `--explain` shows.
        let (hit, start, end) = match m.kind {
            MetricKind::StageCount => ("true".to_string(), "r.st", "NULL::int8"),
            MetricKind::Conversion => {
                let wi = within_sql(&mut b);
                (
                    format!("(r.en IS NOT NULL AND r.en - r.st <= {wi})"),
                    "r.st",
                    "r.en",
                )
            }
            MetricKind::Duration => ("(r.en IS NOT NULL)".to_string(), "r.st", "r.en"),
            _ => {
                if m.to.is_some() {
                    let wi = within_sql(&mut b);
                    (
                        format!(
                            "(r.c AND r.fr IS NOT NULL AND r.en IS NOT NULL AND r.en - r.fr <= {wi})"
                        ),
                        "r.fr",
                        "r.en",
                    )
                } else {
                    ("r.c".to_string(), "r.st", "NULL::int8")
                }
            }
        };
        if rows {
            let _ = write!(
                sql,
                "SELECT r.id, {start} AS start, {end} AS end_, {hit} AS hit, NULL::float8 AS amount, r.owner\nFROM r JOIN w ON r.st >= w.s AND r.st < w.e\nORDER BY r.id"
            );
            return Query {
                sql,
                params: b.params,
            };
        }
        let hits = format!("count(*) FILTER (WHERE r.st IS NOT NULL AND {hit})");
        let (total, hits, left, value) = match m.kind {
            MetricKind::StageCount => (
                "count(r.st)".to_string(),
                "0::int8".to_string(),
                "0::int8".to_string(),
                "count(r.st)::float8".to_string(),
            ),
            MetricKind::Duration => {
                let q = b.bind(Param::Float(f64::from(m.percentile.unwrap_or(50)) / 100.0));
                (
                    "count(r.st) FILTER (WHERE r.en IS NOT NULL)".to_string(),
                    "0::int8".to_string(),
                    "count(r.st) FILTER (WHERE r.en IS NULL)".to_string(),
                    Dialect.quantile(
                        &q,
                        "(greatest(r.en - r.st, 0))::float8 / 1000.0",
                        "r.en IS NOT NULL",
                    ),
                )
            }
            _ => (
                "count(r.st)".to_string(),
                hits.clone(),
                "0::int8".to_string(),
                format!("CASE WHEN count(r.st) > 0 THEN ({hits})::float8 * 100 / count(r.st) END"),
            ),
        };
        let _ = write!(
            sql,
            "SELECT w.i, {total} AS total, {hits} AS hits, {left} AS left_out, {value} AS value, NULL::text[] AS currencies\nFROM w LEFT JOIN r ON r.st >= w.s AND r.st < w.e\nGROUP BY w.i ORDER BY w.i"
        );
        return Query {
            sql,
            params: b.params,
        };
    }

    // Deals: created after the cutoff are not there yet; closed after it are
    // open; a close date counts only on a deal with a known outcome.
    let or_null =
        |has: bool, expr: String, ty: &str| if has { expr } else { format!("NULL::{ty}") };
    let created = or_null(
        optional.deal_created,
        b.d.epoch_ms(&b.col("created", false)),
        "int8",
    );
    let closed_raw = or_null(
        optional.deal_closed,
        b.d.epoch_ms(&b.col("closed", false)),
        "int8",
    );
    let won_raw = or_null(
        optional.deal_won,
        bool_of(&b.d.text(&b.col("won", false))),
        "bool",
    );
    let is_closed = if optional.is_closed {
        bool_of(&b.d.text(&b.col("is_closed", false)))
    } else {
        "NULL::bool".into()
    };
    let cur = if optional.currency {
        b.d.text(&b.col("currency", false))
    } else {
        "NULL::text".into()
    };
    let amount = match &m.field {
        Some(f) => {
            let ty = b
                .fields
                .index(f)
                .map(|i| b.fields.list[i].1)
                .unwrap_or(FieldType::Number);
            // As the engine: only a field read as a number adds to the sum.
            if ty == FieldType::Number {
                format!("COALESCE({}, 0)", b.value(f, ty))
            } else {
                "0::float8".into()
            }
        }
        None => "0::float8".into(),
    };
    let cond = b.compile(&m.condition);
    let placing = match (m.kind, m.date.unwrap_or(DealDate::Created)) {
        (MetricKind::Sum, DealDate::Created) => {
            optional.deal_created.then(|| b.col("created", false))
        }
        _ => optional.deal_closed.then(|| b.col("closed", false)),
    };
    let around = match placing {
        Some(col) => b.around(&col, starts, ends),
        None => "true".into(),
    };
    // d0 reads the columns, d1 applies what a close means, d2 the cutoff.
    let _ = write!(
        sql,
        "d0 AS (\n  SELECT {id} AS id,\n    {owner} AS owner,\n    {created} AS cr,\n    {closed_raw} AS cl,\n    {is_closed} AS ic,\n    {won_raw} AS won,\n    {cur} AS cur,\n    {amount} AS amount,\n    {cond} AS c\n  FROM {table}\n  WHERE {around}\n    AND {filter}),\n\
         d1 AS (SELECT id, owner, cr, CASE WHEN ic = false THEN NULL ELSE cl END AS cl, CASE WHEN ic IS DISTINCT FROM false THEN won END AS won, cur, amount, c FROM d0),\n\
         d2 AS (SELECT id, owner, cr, CASE WHEN cl > {cut} THEN NULL ELSE cl END AS cl, CASE WHEN cl > {cut} THEN NULL ELSE won END AS won, cur, amount, c FROM d1 WHERE cr IS NULL OR cr <= {cut}),\n"
    );
    if m.kind == MetricKind::WinRate {
        let _ = writeln!(
            sql,
            "r AS (SELECT id, owner, CASE WHEN won IS NOT NULL THEN cl END AS st, cl, won FROM d2)"
        );
        if rows {
            let _ = write!(
                sql,
                "SELECT r.id, r.st AS start, NULL::int8 AS end_, r.won AS hit, NULL::float8 AS amount, r.owner\nFROM r JOIN w ON r.st >= w.s AND r.st < w.e\nORDER BY r.id"
            );
        } else {
            let _ = write!(
                sql,
                "SELECT w.i, count(r.st) AS total, count(r.st) FILTER (WHERE r.won) AS hits, count(r.cl) FILTER (WHERE r.st IS NULL AND r.cl >= w.s AND r.cl < w.e) AS left_out, CASE WHEN count(r.st) > 0 THEN (count(r.st) FILTER (WHERE r.won))::float8 * 100 / count(r.st) END AS value, NULL::text[] AS currencies\n\
                 FROM w LEFT JOIN r ON (r.st >= w.s AND r.st < w.e) OR (r.st IS NULL AND r.cl >= w.s AND r.cl < w.e)\nGROUP BY w.i ORDER BY w.i"
            );
        }
    } else {
        let date = match m.date.unwrap_or(DealDate::Created) {
            DealDate::Created => "cr",
            DealDate::Closed => "CASE WHEN won IS NOT NULL THEN cl END",
        };
        let _ = writeln!(
            sql,
            "r AS (SELECT id, owner, {date} AS st, cur, amount FROM d2 WHERE c)"
        );
        if rows {
            let _ = write!(
                sql,
                "SELECT r.id, r.st AS start, NULL::int8 AS end_, true AS hit, r.amount, r.owner\nFROM r JOIN w ON r.st >= w.s AND r.st < w.e\nORDER BY r.id"
            );
        } else {
            let currencies = match currency {
                Some(c) => {
                    let p = b.bind(Param::Text(c.to_string()));
                    format!(
                        "array_agg(DISTINCT r.cur ORDER BY r.cur) FILTER (WHERE r.cur IS NOT NULL AND lower(r.cur) <> lower({p}))"
                    )
                }
                None => "NULL::text[]".into(),
            };
            let _ = write!(
                sql,
                "SELECT w.i, count(r.st) AS total, 0::int8 AS hits, 0::int8 AS left_out, COALESCE(sum(r.amount), 0)::float8 AS value, {currencies} AS currencies\n\
                 FROM w LEFT JOIN r ON r.st >= w.s AND r.st < w.e\nGROUP BY w.i ORDER BY w.i"
            );
        }
    }
    Query {
        sql,
        params: b.params,
    }
}

/// Definition drift in the warehouse (see the engine's drift module): one
/// query for the counts per checked stage, `(rank, judged, drifted,
/// left_funnel)`, and one for the first five drifted records of each by id,
/// `(rank, id, entered, owner, <criteria fields...>)`. `funnel` is every stage
/// in order with whether its column exists; `checks` the checked stages'
/// ranks with their criteria compiled against `fields`; `reasons` the recycle
/// and disqualify columns that exist. Times are as exported: no cutoff.
pub struct DriftQueries {
    /// The counts.
    pub counts: Query,
    /// The examples.
    pub examples: Query,
    /// The criteria fields the examples carry, in column order (positions in `fields`).
    pub example_fields: Vec<usize>,
}

/// Builds the drift queries.
#[allow(clippy::too_many_arguments)]
pub fn drift(
    funnel: &[(String, bool)],
    checks: &[(usize, Compiled)],
    reasons: &[String],
    owner: bool,
    start: i64,
    end: i64,
    layout: &dyn Layout,
    fields: &Fields,
) -> DriftQueries {
    let mut b = Builder {
        params: Vec::new(),
        layout,
        deals: false,
        fields: fields.clone(),
        d: Dialect,
    };
    let s = b.bind(Param::Int(start));
    let e = b.bind(Param::Int(end));
    let table = layout.table(false);
    // The furthest stage a record has an entry time for, and that time.
    let present: Vec<(usize, String)> = funnel
        .iter()
        .enumerate()
        .filter(|(_, (_, has))| *has)
        .map(|(rank, (stage, _))| (rank, b.d.epoch_ms(&b.col(stage, true))))
        .collect();
    // The furthest stage first: its rank, its time.
    let rank = joined(
        present
            .iter()
            .rev()
            .map(|(r, t)| format!("WHEN {t} IS NOT NULL THEN {r}")),
        " ",
        ("CASE ", " END"),
        "NULL::int4",
    );
    let entered = joined(
        present.iter().rev().map(|(_, t)| t.clone()),
        ", ",
        ("COALESCE(", ")"),
        "NULL::int8",
    );
    let left = joined(
        reasons
            .iter()
            .map(|r| format!("{} IS NOT NULL", b.d.text(&ident(r)))),
        " OR ",
        ("(", ")"),
        "false",
    );
    let ok = format!(
        "CASE ({rank}) {} END",
        checks
            .iter()
            .map(|(r, c)| format!("WHEN {r} THEN {}", b.predicate(c)))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let ranks = checks
        .iter()
        .map(|(r, _)| r.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let id = format!("({})::text", b.col("id", false));
    let owner = if owner {
        b.d.text(&b.col("owner", false))
    } else {
        "NULL::text".into()
    };
    let mut example_fields: Vec<usize> = Vec::new();
    for (_, c) in checks {
        fields_of(c, &mut example_fields);
    }
    let values: Vec<String> = example_fields
        .iter()
        .map(|i| {
            let (name, ty) = &b.fields.list[*i];
            b.value(name, *ty)
        })
        .collect();
    // A record's furthest stage was entered in the span only if some stage
    // was: that narrows the rows first, each with an index on its column.
    let lo = b.bind(Param::Float((start - 1000) as f64 / 1000.0));
    let hi = b.bind(Param::Float((end + 1000) as f64 / 1000.0));
    let near = if present.is_empty() {
        "true".to_string()
    } else {
        funnel
            .iter()
            .filter(|(_, has)| *has)
            .map(|(stage, _)| {
                let c = b.col(stage, true);
                format!("(({c})::timestamptz >= to_timestamp({lo}) AND ({c})::timestamptz < to_timestamp({hi}))")
            })
            .collect::<Vec<_>>()
            .join("\n    OR ")
    };
    let base = format!(
        "WITH r0 AS (\n  SELECT {id} AS id, {owner} AS owner, {rank} AS rk, {entered} AS en, {left} AS lf,\n    {ok} AS ok{}\n  FROM {table}\n  WHERE {near}),\n\
         r AS (SELECT * FROM r0 WHERE rk IN ({ranks}) AND en >= {s} AND en < {e})\n",
        values
            .iter()
            .enumerate()
            .map(|(i, v)| format!(", {v} AS v{i}"))
            .collect::<String>()
    );
    let counts = format!(
        "{base}SELECT rk, count(*) FILTER (WHERE NOT lf) AS judged, count(*) FILTER (WHERE NOT lf AND NOT ok) AS drifted, count(*) FILTER (WHERE lf) AS left_funnel\nFROM r GROUP BY rk ORDER BY rk"
    );
    let examples = format!(
        "{base}SELECT rk, id, en, owner{} FROM (SELECT *, row_number() OVER (PARTITION BY rk ORDER BY id) AS n FROM r WHERE NOT lf AND NOT ok) x\nWHERE n <= 5 ORDER BY rk, id",
        (0..values.len())
            .map(|i| format!(", v{i}"))
            .collect::<String>()
    );
    DriftQueries {
        counts: Query {
            sql: counts,
            params: b.params.clone(),
        },
        examples: Query {
            sql: examples,
            params: b.params,
        },
        example_fields,
    }
}

/// The parts joined by `sep` inside `wrap`, or `empty` when there are none.
fn joined(
    parts: impl Iterator<Item = String>,
    sep: &str,
    wrap: (&str, &str),
    empty: &str,
) -> String {
    let parts: Vec<String> = parts.collect();
    if parts.is_empty() {
        empty.to_string()
    } else {
        format!("{}{}{}", wrap.0, parts.join(sep), wrap.1)
    }
}

/// The positions of the fields a predicate compares.
pub fn fields_of(c: &Compiled, out: &mut Vec<usize>) {
    match c {
        Compiled::All(cs) | Compiled::Any(cs) => cs.iter().for_each(|c| fields_of(c, out)),
        Compiled::Not(c) => fields_of(c, out),
        Compiled::Cmp(i, _) => {
            if !out.contains(i) {
                out.push(*i);
            }
        }
    }
}

/// The earliest and latest time of the leads (their creation and the given
/// stages' entries) or the deals (creation and close), after the cutoff
/// rules, and how many records there are: one row `(n, lo, hi)`.
pub fn span(
    deals: bool,
    stages: &[String],
    cutoff: i64,
    layout: &dyn Layout,
    optional: Optional,
) -> Query {
    let mut b = Builder {
        params: Vec::new(),
        layout,
        deals,
        fields: Fields::default(),
        d: Dialect,
    };
    let table = layout.table(deals);
    let sql = if deals {
        let cut = b.bind(Param::Int(cutoff));
        let ms = |has: bool, field: &str| {
            if has {
                b.d.epoch_ms(&b.col(field, false))
            } else {
                "NULL::int8".to_string()
            }
        };
        let created = ms(optional.deal_created, "created");
        let closed = ms(optional.deal_closed, "closed");
        let ic = if optional.is_closed {
            bool_of(&b.d.text(&b.col("is_closed", false)))
        } else {
            "NULL::bool".into()
        };
        format!(
            "WITH d AS (SELECT {created} AS cr, CASE WHEN ({ic}) = false THEN NULL ELSE {closed} END AS cl FROM {table}),\n\
             k AS (SELECT cr, CASE WHEN cl <= {cut} THEN cl END AS cl FROM d WHERE cr IS NULL OR cr <= {cut})\n\
             SELECT (SELECT count(*) FROM {table}), min(t), max(t) FROM (SELECT cr AS t FROM k UNION ALL SELECT cl FROM k) x"
        )
    } else {
        // Each column's earliest and latest time before the cutoff, each a
        // lookup an index on the column answers.
        let before = b.after_cutoff(cutoff);
        let mut cols: Vec<String> = Vec::new();
        if optional.lead_created {
            cols.push(b.event_col("created"));
        }
        cols.extend(stages.iter().map(|s| b.event_col(s)));
        let bound = |agg: &str, c: &str| {
            format!(
                "(SELECT {agg}({c}::timestamptz) FROM {table} WHERE ({c})::timestamptz < {before})"
            )
        };
        let (lo, hi) = if cols.is_empty() {
            ("NULL::int8".to_string(), "NULL::int8".to_string())
        } else {
            let each = |agg: &str| {
                cols.iter()
                    .map(|c| bound(agg, c))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            (
                b.d.epoch_ms(&format!("least({})", each("min"))),
                b.d.epoch_ms(&format!("greatest({})", each("max"))),
            )
        };
        format!("SELECT (SELECT count(*) FROM {table}), {lo}, {hi}")
    };
    Query {
        sql,
        params: b.params,
    }
}

/// The documented warehouse layout as DDL: one table of leads (a time
/// column per lifecycle stage, a typed column per field the metrics read)
/// and one of deals, with indexes on the time columns. Only `CREATE ... IF
/// NOT EXISTS`: nothing is dropped or altered; revalign never runs it.
pub fn layout_ddl(
    layout: &dyn Layout,
    stages: &[String],
    lead_fields: &Fields,
    deal_fields: &Fields,
) -> String {
    let ty = |t: FieldType| match t {
        FieldType::Text => "text",
        FieldType::Number => "double precision",
        FieldType::Bool => "boolean",
    };
    let mut out = String::new();
    for deals in [false, true] {
        let table = layout.table(deals);
        let mut cols: Vec<(String, &str)> =
            vec![(layout.column(deals, "id", false), "text PRIMARY KEY")];
        let mut times = Vec::new();
        if deals {
            for f in ["created", "closed"] {
                times.push(layout.column(true, f, false));
            }
        } else {
            times.push(layout.column(false, "created", false));
            times.push(layout.column(false, "first_touch", false));
            times.extend(stages.iter().map(|s| layout.column(false, s, true)));
        }
        cols.extend(times.iter().map(|c| (c.clone(), "timestamptz")));
        if deals {
            cols.push((layout.column(true, "is_closed", false), "boolean"));
            cols.push((layout.column(true, "won", false), "boolean"));
            cols.push((layout.column(true, "currency", false), "text"));
        }
        let fields = if deals { deal_fields } else { lead_fields };
        for (name, t) in &fields.list {
            let c = layout.column(deals, name, false);
            if !cols.iter().any(|(x, _)| *x == c) {
                cols.push((c, ty(*t)));
            }
        }
        let _ = writeln!(
            out,
            "CREATE TABLE IF NOT EXISTS {table} (\n{}\n);",
            cols.iter()
                .map(|(c, t)| format!("  {} {t}", ident(c)))
                .collect::<Vec<_>>()
                .join(",\n")
        );
        let bare = table.replace('"', "").replace('.', "_");
        for c in &times {
            let _ = writeln!(
                out,
                "CREATE INDEX IF NOT EXISTS {} ON {table} ({});",
                ident(&format!("{bare}_{c}_idx")),
                ident(c)
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Plain;
    impl Layout for Plain {
        fn table(&self, deals: bool) -> String {
            ident(if deals { "deals" } else { "leads" })
        }
        fn column(&self, _deals: bool, field: &str, stage: bool) -> String {
            match field {
                "created" => "created_at".into(),
                "closed" => "closed_at".into(),
                "first_touch" => "first_touch_at".into(),
                s if stage => format!("{s}_at"),
                s => s.into(),
            }
        }
    }

    #[test]
    fn identifiers_are_quoted_and_values_bound() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(qualified("crm.leads"), "\"crm\".\"leads\"");
        let m: Metric = toml::from_str(
            r#"id = "x"
name = "X"
unit = "count"
owners = ["marketing"]
kind = "stage_count"
stage = "mql"
filter = { field = "segment", in = ["smb'; DROP TABLE leads; --"] }"#,
        )
        .expect("metric");
        let mut fields = Fields::default();
        let _ = Compiled::new(m.filter.as_ref().expect("filter"), &mut fields);
        let q = metric(
            &m,
            &[0],
            &[10],
            5,
            None,
            &Plain,
            &fields,
            Optional::default(),
        );
        assert!(!q.sql.contains("DROP"), "{}", q.sql);
        assert!(q.sql.contains("\"mql_at\"") && q.sql.contains("\"segment\""));
        assert_eq!(
            q.params,
            vec![
                Param::Ints(vec![0]),
                Param::Ints(vec![10]),
                Param::Text("smb'; DROP TABLE leads; --".into()),
                // The instant after the cutoff's millisecond, in seconds.
                Param::Float(0.006),
                // The windows' span, a second either side, in seconds.
                Param::Float(-1.0),
                Param::Float(1.01),
            ]
        );
    }
}
