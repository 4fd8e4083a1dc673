//! File sources: CSV and NDJSON exports of a CRM, the embedded default.
//!
//! Column names follow a preset (revalign's own, HubSpot's export labels or
//! Salesforce's API names), overridable per field in the manifest. Only the
//! columns the metrics need are read and parsed; rows stream through one
//! reused record.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;

use super::{DataSource, DealSink, LeadSink, Missing, SourceError, Stream, Streamed, timestamp};
use crate::model::calendar::Millis;
use crate::model::manifest::{Preset, Source, SourceKind};
use crate::model::record::{Deal, FieldType, Fields, Lead, Need, Value, parse_bool};

/// A CSV or NDJSON export.
#[derive(Debug)]
pub struct FileSource {
    id: String,
    ndjson: bool,
    leads: Option<(PathBuf, String)>,
    deals: Option<(PathBuf, String)>,
    preset: Preset,
    columns: BTreeMap<String, String>,
    deal_columns: BTreeMap<String, String>,
    naive: TimeZone,
    max_bad_rows: u64,
}

/// Which file of the source.
/// Leads or deals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Leads (contacts).
    Leads,
    /// Deals (opportunities).
    Deals,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Leads => "columns",
            Kind::Deals => "deal_columns",
        }
    }
}

/// The column names a preset gives a field, most likely first.
pub(crate) fn preset_columns(preset: Preset, kind: Kind, field: &str, stage: bool) -> Vec<String> {
    let own = |s: &str| vec![s.to_string()];
    match (preset, kind) {
        (Preset::Revalign, Kind::Leads) => match field {
            "created" => own("created_at"),
            "first_touch" => own("first_touch_at"),
            s if stage => own(&format!("{s}_at")),
            s => own(s),
        },
        (Preset::Revalign, Kind::Deals) => match field {
            "created" => own("created_at"),
            "closed" => own("closed_at"),
            s => own(s),
        },
        (Preset::Hubspot, Kind::Leads) => {
            let label = |l: &str, internal: &str| vec![l.to_string(), internal.to_string()];
            match field {
                "id" => label("Record ID", "hs_object_id"),
                "created" => label("Create Date", "createdate"),
                "first_touch" => label("First Outreach Date", "hs_first_outreach_date"),
                "lead" if stage => label("Became a Lead Date", "hs_lifecyclestage_lead_date"),
                "subscriber" if stage => label(
                    "Became a Subscriber Date",
                    "hs_lifecyclestage_subscriber_date",
                ),
                "mql" if stage => label(
                    "Became a Marketing Qualified Lead Date",
                    "hs_lifecyclestage_marketingqualifiedlead_date",
                ),
                "sql" if stage => label(
                    "Became a Sales Qualified Lead Date",
                    "hs_lifecyclestage_salesqualifiedlead_date",
                ),
                "opportunity" if stage => label(
                    "Became an Opportunity Date",
                    "hs_lifecyclestage_opportunity_date",
                ),
                "customer" if stage => {
                    label("Became a Customer Date", "hs_lifecyclestage_customer_date")
                }
                "evangelist" if stage => label(
                    "Became an Evangelist Date",
                    "hs_lifecyclestage_evangelist_date",
                ),
                s => own(s),
            }
        }
        (Preset::Hubspot, Kind::Deals) => {
            let label = |l: &str, internal: &str| vec![l.to_string(), internal.to_string()];
            match field {
                "id" => label("Record ID", "hs_object_id"),
                "created" => label("Create Date", "createdate"),
                "closed" => label("Close Date", "closedate"),
                "is_closed" => label("Is Closed", "hs_is_closed"),
                "won" => label("Is Closed Won", "hs_is_closed_won"),
                "currency" => label("Currency", "deal_currency_code"),
                "amount" => label("Amount", "amount"),
                s => own(s),
            }
        }
        (Preset::Pipedrive, Kind::Leads) => match field {
            "created" => own("add_time"),
            s => own(s),
        },
        (Preset::Pipedrive, Kind::Deals) => match field {
            "created" => own("add_time"),
            "closed" => own("close_time"),
            "amount" => own("value"),
            s => own(s),
        },
        (Preset::Salesforce, Kind::Leads) => match field {
            "id" => own("Id"),
            "created" => own("CreatedDate"),
            s => own(s),
        },
        (Preset::Salesforce, Kind::Deals) => match field {
            "id" => own("Id"),
            "created" => own("CreatedDate"),
            "closed" => own("CloseDate"),
            "is_closed" => own("IsClosed"),
            "won" => own("IsWon"),
            "currency" => own("CurrencyIsoCode"),
            "amount" => own("Amount"),
            s => own(s),
        },
    }
}

/// A hasher for ids already hashed: the set of seen ids stores 64-bit hashes,
/// not the ids, so memory stays at 8 bytes a record.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | *b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// FNV-1a, then a mix so the table's low bits are spread.
fn id_hash(id: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// A column of a CSV file: its index and header.
#[derive(Debug, Clone)]
struct Col(usize, String);

/// Value types of the canonical slots.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Time,
    Bool,
    Text,
    Field(FieldType),
}

/// Files smaller than this are read on one thread.
const SPLIT_AT_BYTES: u64 = 4 << 20;

/// Where a source hands each row's values (and its line).
pub type RowSink<'a> = dyn FnMut(&[Value], u64) + Send + 'a;

/// What one part of a file gave.
struct Part {
    records: u64,
    bad: Bad,
    seen: HashSet<u64, BuildHasherDefault<Prehashed>>,
    ended_at_split: bool,
    missing: Vec<Missing>,
}

impl Part {
    fn stream_missing(&mut self, missing: Vec<Missing>) {
        self.missing = missing;
    }
}

/// The position just after the first line break at or after `from`.
fn next_line(path: &Path, from: u64) -> Option<u64> {
    let mut f = File::open(path).ok()?;
    f.seek(SeekFrom::Start(from)).ok()?;
    let mut buf = vec![0u8; 1 << 16];
    let mut at = from;
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        if let Some(i) = buf[..n].iter().position(|b| *b == b'\n') {
            return Some(at + i as u64 + 1);
        }
        at += n as u64;
    }
}

/// Counts bad rows against the tolerance.
struct Bad {
    rows: u64,
    max: u64,
    examples: Vec<String>,
}

impl Bad {
    fn push(&mut self, what: String) -> Result<(), SourceError> {
        self.rows += 1;
        if self.examples.len() < 5 {
            self.examples.push(what.clone());
        }
        if self.rows > self.max {
            let help = if self.max == 0 {
                "fix the export, or let the source skip bad rows with `max_bad_rows = N` in its [source.<id>] table (they are then counted in the report)".to_string()
            } else {
                format!(
                    "more than max_bad_rows = {} rows were bad; fix the export or raise the limit",
                    self.max
                )
            };
            return Err(SourceError::new(what, help));
        }
        Ok(())
    }
}

impl FileSource {
    /// A file source as declared.
    pub fn new(id: &str, s: &Source, dir: &Path, org_tz: &str) -> Result<FileSource, SourceError> {
        let zone = s.time_zone.as_deref().unwrap_or(org_tz);
        let naive = TimeZone::get(zone).map_err(|_| {
            SourceError::new(
                format!("source `{id}`: `{zone}` is not an IANA time zone"),
                "set `time_zone` to a name such as `UTC` or `America/New_York`",
            )
        })?;
        let path = |p: &Option<String>| p.as_ref().map(|p| (dir.join(p), p.clone()));
        Ok(FileSource {
            id: id.to_string(),
            ndjson: s.kind == SourceKind::Ndjson,
            leads: path(&s.leads),
            deals: path(&s.deals),
            preset: s.preset.unwrap_or(Preset::Revalign),
            columns: s.columns.clone(),
            deal_columns: s.deal_columns.clone(),
            naive,
            max_bad_rows: s.max_bad_rows.unwrap_or(0),
        })
    }

    fn file(&self, kind: Kind) -> Result<&(PathBuf, String), SourceError> {
        let (f, key) = match kind {
            Kind::Leads => (&self.leads, "leads"),
            Kind::Deals => (&self.deals, "deals"),
        };
        f.as_ref().ok_or_else(|| {
            SourceError::new(
                format!(
                    "source `{}` has no `{key}` file, and a metric needs {key}",
                    self.id
                ),
                format!(
                    "add `{key} = \"data/{key}.csv\"` to [source.{}] in revalign.toml",
                    self.id
                ),
            )
        })
    }

    fn open(&self, path: &Path, shown: &str) -> Result<BufReader<File>, SourceError> {
        File::open(path).map(|f| BufReader::with_capacity(1 << 16, f)).map_err(|e| {
            SourceError::new(
                format!("source `{}`: cannot read `{shown}`: {}", self.id, io_reason(&e)),
                "check the path in revalign.toml (relative to the alignment directory) and that the export ran",
            )
        })
    }

    /// The columns to look for, and whether the user named them.
    fn candidates(&self, kind: Kind, field: &str, stage: bool) -> (Vec<String>, bool) {
        let map = match kind {
            Kind::Leads => &self.columns,
            Kind::Deals => &self.deal_columns,
        };
        match map.get(field) {
            Some(c) => (vec![c.clone()], true),
            None => (preset_columns(self.preset, kind, field, stage), false),
        }
    }

    fn missing(
        &self,
        kind: Kind,
        shown: &str,
        field: &str,
        tried: &[String],
        explicit: bool,
    ) -> Missing {
        let list = tried
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(" or ");
        Missing {
            field: field.to_string(),
            message: format!("`{shown}` has no column {list} for `{field}`"),
            help: if explicit {
                format!(
                    "fix `{field}` in [source.{}.{}]: the file's header has no such column",
                    self.id,
                    kind.key()
                )
            } else {
                format!(
                    "add the column to the export, or map it: [source.{}.{}] {field} = \"<column header>\"",
                    self.id,
                    kind.key()
                )
            },
        }
    }

    /// The slots of a kind of record: canonical ones first, then fields.
    fn slots(&self, kind: Kind, need: &Need) -> Vec<(String, Slot, bool)> {
        let mut out = vec![("id".to_string(), Slot::Text, false)];
        match kind {
            Kind::Leads => {
                out.push(("created".into(), Slot::Time, false));
                out.push(("first_touch".into(), Slot::Time, false));
                for s in &need.stages {
                    out.push((s.clone(), Slot::Time, true));
                }
                push_fields(&mut out, &need.lead_fields);
            }
            Kind::Deals => {
                out.push(("created".into(), Slot::Time, false));
                out.push(("closed".into(), Slot::Time, false));
                out.push(("is_closed".into(), Slot::Bool, false));
                out.push(("won".into(), Slot::Bool, false));
                out.push(("currency".into(), Slot::Text, false));
                push_fields(&mut out, &need.deal_fields);
            }
        }
        out
    }

    fn stream(
        &self,
        kind: Kind,
        need: &Need,
        sinks: &mut [&mut RowSink<'_>],
    ) -> Result<Streamed, SourceError> {
        let (path, shown) = self.file(kind)?.clone();
        let slots = self.slots(kind, need);
        if self.ndjson {
            let reader = self.open(&path, &shown)?;
            let sink = sinks
                .first_mut()
                .ok_or_else(|| SourceError::new("no sink to stream to", "report this as a bug"))?;
            self.ndjson(kind, &shown, reader, &slots, *sink)
                .map(Streamed::Done)
        } else {
            self.csv(kind, &shown, &path, &slots, sinks)
        }
    }

    /// Whether a missing column matters: `id` always; optional canonical
    /// columns (`is_closed`, `currency`) never.
    fn required(kind: Kind, field: &str) -> Option<bool> {
        match (kind, field) {
            (_, "id") => Some(true),
            (Kind::Deals, "is_closed" | "currency") => Some(false),
            _ => None,
        }
    }

    /// Reads a CSV export. With two sinks and a large enough file, the file
    /// is read in two halves on two threads, the second starting at the first
    /// line break after the middle. That is only right if the break ends a
    /// record (not a line break inside a quoted value): the first half checks
    /// that it ends exactly there, and any doubt (a misplaced split, a bad
    /// row or an id in the second half that the first also has) answers
    /// [`Streamed::Again`], to be read again whole on one thread.
    fn csv(
        &self,
        kind: Kind,
        shown: &str,
        path: &Path,
        slots: &[(String, Slot, bool)],
        sinks: &mut [&mut RowSink<'_>],
    ) -> Result<Streamed, SourceError> {
        let reader = self.open(path, shown)?;
        let size = reader.get_ref().metadata().map_or(0, |m| m.len());
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(reader);
        let headers = rdr
            .byte_headers()
            .map_err(|e| self.csv_error(shown, &e))?
            .clone();
        let headers: Vec<String> = headers
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_string()
            })
            .collect();
        let mut missing = Vec::new();
        let mut cols = Vec::new();
        for (field, _, stage) in slots {
            let (tried, explicit) = self.candidates(kind, field, *stage);
            let found = tried.iter().find_map(|t| {
                headers
                    .iter()
                    .position(|h| h == t)
                    .map(|i| Col(i, t.clone()))
            });
            if found.is_none() {
                match Self::required(kind, field) {
                    Some(true) => {
                        let m = self.missing(kind, shown, field, &tried, explicit);
                        return Err(SourceError::new(m.message, m.help));
                    }
                    Some(false) => {}
                    None => missing.push(self.missing(kind, shown, field, &tried, explicit)),
                }
            }
            cols.push(found);
        }
        let width = headers.len();
        let split = match sinks {
            [_, _, ..] if size >= SPLIT_AT_BYTES => next_line(path, size / 2),
            _ => None,
        };
        let part = |rdr: csv::Reader<BufReader<File>>,
                    offset: u64,
                    end: Option<u64>,
                    sink: &mut RowSink<'_>| {
            self.csv_part(rdr, offset, end, shown, &cols, slots, width, size, sink)
        };
        let (first, rest) = sinks
            .split_first_mut()
            .ok_or_else(|| SourceError::new("no sink to stream to", "report this as a bug"))?;
        let mut out = match (split, rest.first_mut()) {
            (Some(at), Some(second)) => {
                let second_reader = self.open(path, shown)?;
                let (a, b) = std::thread::scope(|scope| {
                    let b = scope.spawn(|| -> Result<Part, SourceError> {
                        let mut r = second_reader;
                        r.seek(SeekFrom::Start(at)).map_err(|e| {
                            SourceError::new(
                                format!("cannot read `{shown}`: {e}"),
                                "check the file",
                            )
                        })?;
                        let rdr = csv::ReaderBuilder::new()
                            .has_headers(false)
                            .flexible(true)
                            .from_reader(r);
                        part(rdr, at, None, second)
                    });
                    let a = part(rdr, 0, Some(at), first);
                    (a, b.join())
                });
                let a = a?;
                let b = match b {
                    Ok(Ok(b)) if a.ended_at_split && b.bad.rows == 0 => b,
                    _ => return Ok(Streamed::Again),
                };
                let (small, large) = if a.seen.len() < b.seen.len() {
                    (&a.seen, &b.seen)
                } else {
                    (&b.seen, &a.seen)
                };
                if small.iter().any(|h| large.contains(h)) {
                    return Ok(Streamed::Again);
                }
                Part {
                    records: a.records + b.records,
                    ..a
                }
            }
            _ => part(rdr, 0, None, first)?,
        };
        out.stream_missing(missing);
        Ok(Streamed::Done(Stream {
            records: out.records,
            bad_rows: out.bad.rows,
            bad_examples: std::mem::take(&mut out.bad.examples),
            missing: std::mem::take(&mut out.missing),
        }))
    }

    /// Reads records from `rdr` (which starts at byte `offset` of the file)
    /// until the record starting at `end`, or the end of the file.
    #[allow(clippy::too_many_arguments)]
    fn csv_part(
        &self,
        mut rdr: csv::Reader<BufReader<File>>,
        offset: u64,
        end: Option<u64>,
        shown: &str,
        cols: &[Option<Col>],
        slots: &[(String, Slot, bool)],
        width: usize,
        size: u64,
        each: &mut RowSink<'_>,
    ) -> Result<Part, SourceError> {
        let share = if end.is_some() || offset > 0 { 2 } else { 1 };
        let mut values = vec![Value::Missing; slots.len()];
        // Sized for the file (rows of CRM exports run 100-300 bytes) so the
        // set of ids is not rebuilt as it grows.
        let mut seen: HashSet<u64, BuildHasherDefault<Prehashed>> =
            HashSet::with_capacity_and_hasher((size / 160 / share) as usize, Default::default());
        let mut bad = Bad {
            rows: 0,
            max: self.max_bad_rows,
            examples: Vec::new(),
        };
        let mut records = 0;
        let mut ended_at_split = end.is_none();
        let mut row = csv::ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut row) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(self.csv_error(shown, &e)),
            }
            if let Some(end) = end {
                let at = offset + row.position().map_or(0, |p| p.byte());
                if at >= end {
                    ended_at_split = at == end;
                    break;
                }
            }
            let line = row.position().map_or(0, |p| p.line());
            if row.len() != width {
                bad.push(format!(
                    "{shown}:{line}: the row has {} fields, the header {width}",
                    row.len()
                ))?;
                continue;
            }
            let mut ok = true;
            for (i, col) in cols.iter().enumerate() {
                let Some(Col(c, name)) = col else {
                    values[i] = Value::Missing;
                    continue;
                };
                let at = Cell {
                    shown,
                    line,
                    key: "column",
                    name,
                };
                if !self.cell(&row[*c], slots[i].1, &mut values[i], &mut bad, &at)? {
                    ok = false;
                    break;
                }
            }
            if !ok || !admit(&values, &mut seen, &mut bad, shown, line, "row")? {
                continue;
            }
            records += 1;
            each(&values, line);
        }
        Ok(Part {
            records,
            bad,
            seen,
            ended_at_split,
            missing: Vec::new(),
        })
    }

    fn ndjson(
        &self,
        kind: Kind,
        shown: &str,
        mut reader: BufReader<File>,
        slots: &[(String, Slot, bool)],
        each: &mut RowSink<'_>,
    ) -> Result<Stream, SourceError> {
        let mut stream = Stream::default();
        let cols: Vec<(Vec<String>, bool)> = slots
            .iter()
            .map(|(f, _, stage)| self.candidates(kind, f, *stage))
            .collect();
        let mut present = vec![false; slots.len()];
        let mut values = vec![Value::Missing; slots.len()];
        let mut seen: HashSet<u64, BuildHasherDefault<Prehashed>> = HashSet::default();
        let mut bad = Bad {
            rows: 0,
            max: self.max_bad_rows,
            examples: Vec::new(),
        };
        let mut buf = String::new();
        let mut line = 0u64;
        let mut text = String::new();
        loop {
            buf.clear();
            let n = reader.read_line(&mut buf).map_err(|e| {
                SourceError::new(
                    format!(
                        "source `{}`: cannot read `{shown}` after line {line}: {}",
                        self.id,
                        io_reason(&e)
                    ),
                    "check that the export is complete and UTF-8",
                )
            })?;
            if n == 0 {
                break;
            }
            line += 1;
            if buf.trim().is_empty() {
                continue;
            }
            let obj: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(&buf) {
                Ok(o) => o,
                Err(e) => {
                    bad.push(format!("{shown}:{line}: not a JSON object: {e}"))?;
                    continue;
                }
            };
            let mut ok = true;
            for (i, (tried, _)) in cols.iter().enumerate() {
                let found = tried.iter().find_map(|t| obj.get(t).map(|v| (t, v)));
                let Some((name, v)) = found else {
                    values[i] = Value::Missing;
                    continue;
                };
                present[i] = true;
                let raw: &[u8] = match v {
                    serde_json::Value::Null => b"",
                    serde_json::Value::String(s) => s.as_bytes(),
                    serde_json::Value::Bool(b) => {
                        if *b {
                            b"true"
                        } else {
                            b"false"
                        }
                    }
                    serde_json::Value::Number(n) => {
                        text.clear();
                        text.push_str(&n.to_string());
                        text.as_bytes()
                    }
                    _ => {
                        bad.push(format!(
                            "{shown}:{line}: key `{name}` holds an array or object, not a value"
                        ))?;
                        ok = false;
                        break;
                    }
                };
                let at = Cell {
                    shown,
                    line,
                    key: "key",
                    name,
                };
                if !self.cell(raw, slots[i].1, &mut values[i], &mut bad, &at)? {
                    ok = false;
                    break;
                }
            }
            if !ok || !admit(&values, &mut seen, &mut bad, shown, line, "record")? {
                continue;
            }
            stream.records += 1;
            each(&values, line);
        }
        for (i, (field, _, _)) in slots.iter().enumerate() {
            if present[i] || Self::required(kind, field) == Some(false) {
                continue;
            }
            let (tried, explicit) = &cols[i];
            if stream.records > 0 || Self::required(kind, field) != Some(true) {
                let mut m = self.missing(kind, shown, field, tried, *explicit);
                m.message = m.message.replace("no column", "no key");
                if Self::required(kind, field) == Some(true) && stream.records > 0 {
                    return Err(SourceError::new(m.message, m.help));
                }
                stream.missing.push(m);
            }
        }
        stream.bad_rows = bad.rows;
        stream.bad_examples = bad.examples;
        Ok(stream)
    }

    /// Reads one cell into `out`. A bad value is counted in `bad` (an error
    /// once past the tolerance) and `false` returned: the row is skipped.
    fn cell(
        &self,
        raw: &[u8],
        slot: Slot,
        out: &mut Value,
        bad: &mut Bad,
        at: &Cell<'_>,
    ) -> Result<bool, SourceError> {
        match self.read(raw, slot, out) {
            Ok(()) => Ok(true),
            Err(expected) => {
                bad.push(format!(
                    "{}:{}: {} `{}`: `{}` is not {expected}",
                    at.shown,
                    at.line,
                    at.key,
                    at.name,
                    String::from_utf8_lossy(raw)
                        .chars()
                        .take(60)
                        .collect::<String>()
                ))?;
                Ok(false)
            }
        }
    }

    /// Reads one raw value into `out`; on failure says what was expected.
    fn read(&self, raw: &[u8], slot: Slot, out: &mut Value) -> Result<(), &'static str> {
        // Timestamps, the most common value, straight from the bytes.
        if slot == Slot::Time {
            let b = raw.trim_ascii();
            if b.is_empty() || b.eq_ignore_ascii_case(b"null") {
                *out = Value::Missing;
                return Ok(());
            }
            return match timestamp::parse_bytes(b, &self.naive) {
                Some(t) => {
                    *out = Value::Number(t as f64);
                    Ok(())
                }
                None => Err(
                    "a timestamp (ISO 8601, `YYYY-MM-DD HH:MM:SS`, a date or epoch milliseconds)",
                ),
            };
        }
        let Ok(s) = std::str::from_utf8(raw) else {
            return Err("UTF-8 text");
        };
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("null") {
            *out = Value::Missing;
            return Ok(());
        }
        match slot {
            Slot::Time => match timestamp::parse(s, &self.naive) {
                Some(t) => *out = Value::Number(t as f64),
                None => {
                    return Err(
                        "a timestamp (ISO 8601, `YYYY-MM-DD HH:MM:SS`, a date or epoch milliseconds)",
                    );
                }
            },
            Slot::Bool | Slot::Field(FieldType::Bool) => match parse_bool(s) {
                Some(b) => *out = Value::Bool(b),
                None => return Err("true or false"),
            },
            Slot::Field(FieldType::Number) => match parse_number(s) {
                Some(n) => *out = Value::Number(n),
                None => return Err("a number"),
            },
            Slot::Text | Slot::Field(FieldType::Text) => match out {
                Value::Text(t) => {
                    t.clear();
                    t.push_str(s);
                }
                _ => *out = Value::Text(s.to_string()),
            },
        }
        Ok(())
    }

    fn csv_error(&self, shown: &str, e: &csv::Error) -> SourceError {
        let at = e
            .position()
            .map(|p| format!(":{}", p.line()))
            .unwrap_or_default();
        let what = match e.kind() {
            csv::ErrorKind::Io(io) => io_reason(io),
            _ => e.to_string(),
        };
        SourceError::new(
            format!("source `{}`: cannot read `{shown}{at}`: {what}", self.id),
            "check that the export is complete, comma-separated CSV with a header row",
        )
    }
}

/// Where a cell is, for errors: `leads.csv:12: column `score``.
struct Cell<'a> {
    shown: &'a str,
    line: u64,
    /// `column` (CSV) or `key` (NDJSON).
    key: &'static str,
    name: &'a str,
}

/// Admits a row whose values were read: its id must be there and new. An
/// empty or repeated id is counted in `bad` and `false` returned.
fn admit(
    values: &[Value],
    seen: &mut HashSet<u64, BuildHasherDefault<Prehashed>>,
    bad: &mut Bad,
    shown: &str,
    line: u64,
    row: &str,
) -> Result<bool, SourceError> {
    let Value::Text(id) = &values[0] else {
        bad.push(format!("{shown}:{line}: the id is empty"))?;
        return Ok(false);
    };
    if !seen.insert(id_hash(id.as_bytes())) {
        bad.push(format!(
            "{shown}:{line}: id `{id}` appears again (an earlier {row} has it; the first is kept)"
        ))?;
        return Ok(false);
    }
    Ok(true)
}

fn push_fields(out: &mut Vec<(String, Slot, bool)>, fields: &Fields) {
    for (name, ty) in &fields.list {
        out.push((name.clone(), Slot::Field(*ty), false));
    }
}

/// Numbers as exports write them: `1234.5`, `1,234.50` (thousands commas), `-3`.
fn parse_number(s: &str) -> Option<f64> {
    if let Ok(n) = s.parse::<f64>() {
        return n.is_finite().then_some(n);
    }
    if s.contains(',') && !s.contains(' ') {
        let plain: String = s.chars().filter(|c| *c != ',').collect();
        return plain.parse::<f64>().ok().filter(|n| n.is_finite());
    }
    None
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::InvalidData => "not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

/// Copies a row's id (a text value, checked by `admit`), reusing the buffer.
fn copy_id(dst: &mut String, id: &Value) {
    if let Value::Text(id) = id {
        dst.clear();
        dst.push_str(id);
    }
}

/// Copies a value, reusing the destination's text buffer.
fn assign(dst: &mut Value, src: &Value) {
    match (dst, src) {
        (Value::Text(d), Value::Text(s)) => {
            d.clear();
            d.push_str(s);
        }
        (d, s) => *d = s.clone(),
    }
}

fn time(v: &Value) -> Option<Millis> {
    match v {
        Value::Number(n) => Some(*n as Millis),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Text(t) => Some(t.clone()),
        _ => None,
    }
}

impl DataSource for FileSource {
    fn leads(&self, need: &Need, sinks: &mut [&mut LeadSink<'_>]) -> Result<Streamed, SourceError> {
        let stages = need.stages.len();
        let mut convert: Vec<_> = sinks
            .iter_mut()
            .map(|sink| {
                let mut lead = Lead {
                    stages: vec![None; stages],
                    fields: vec![Value::Missing; need.lead_fields.list.len()],
                    ..Lead::default()
                };
                move |values: &[Value], at: u64| {
                    lead.at = at;
                    copy_id(&mut lead.id, &values[0]);
                    lead.created = time(&values[1]);
                    lead.first_touch = time(&values[2]);
                    for s in 0..stages {
                        lead.stages[s] = time(&values[3 + s]);
                    }
                    for (i, v) in values[3 + stages..].iter().enumerate() {
                        assign(&mut lead.fields[i], v);
                    }
                    sink(&mut lead);
                }
            })
            .collect();
        let mut rows: Vec<&mut RowSink<'_>> =
            convert.iter_mut().map(|c| c as &mut RowSink<'_>).collect();
        self.stream(Kind::Leads, need, &mut rows)
    }

    fn deals(&self, need: &Need, sinks: &mut [&mut DealSink<'_>]) -> Result<Streamed, SourceError> {
        let mut convert: Vec<_> = sinks
            .iter_mut()
            .map(|sink| {
                let mut deal = Deal {
                    fields: vec![Value::Missing; need.deal_fields.list.len()],
                    ..Deal::default()
                };
                move |values: &[Value], at: u64| {
                    deal.at = at;
                    copy_id(&mut deal.id, &values[0]);
                    deal.created = time(&values[1]);
                    let is_closed = match values[3] {
                        Value::Bool(b) => Some(b),
                        _ => None,
                    };
                    deal.won = match values[4] {
                        Value::Bool(b) if is_closed != Some(false) => Some(b),
                        _ => None,
                    };
                    // A close date on an open deal is the expected close
                    // (HubSpot, Salesforce): only closed deals have closed.
                    deal.closed = match is_closed {
                        Some(false) => None,
                        _ => time(&values[2]),
                    };
                    deal.currency = text(&values[5]);
                    for (i, v) in values[6..].iter().enumerate() {
                        assign(&mut deal.fields[i], v);
                    }
                    sink(&mut deal);
                }
            })
            .collect();
        let mut rows: Vec<&mut RowSink<'_>> =
            convert.iter_mut().map(|c| c as &mut RowSink<'_>).collect();
        self.stream(Kind::Deals, need, &mut rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_exported() {
        assert_eq!(parse_number("1234.5"), Some(1234.5));
        assert_eq!(parse_number("1,234.50"), Some(1234.5));
        assert_eq!(parse_number("-3"), Some(-3.0));
        assert_eq!(parse_number("12 000"), None);
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("$5"), None);
    }

    #[test]
    fn id_hashes_differ() {
        let set: HashSet<u64> = (0..100_000)
            .map(|i| id_hash(format!("L{i}").as_bytes()))
            .collect();
        assert_eq!(set.len(), 100_000);
    }
}
