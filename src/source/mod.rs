//! Data sources: where `revalign check` reads CRM records from, behind one trait.
//!
//! A source streams normalized records ([`Lead`], [`Deal`]) to the engine and
//! reports what it could not read. It never guesses: a value it cannot read is
//! an error naming the place (file, row, column), unless the source allows a
//! number of bad rows; a column the metrics need but the source lacks is
//! reported so the targets that depend on it show `error`, not a number.

pub mod api;
pub mod cache;
pub mod file;
pub mod http;
pub mod hubspot;
pub mod pipedrive;
pub mod postgres;
pub mod progress;
pub mod salesforce;
pub mod timestamp;

use std::fmt;
use std::path::Path;

use crate::model::manifest::{Source, SourceKind};
use crate::model::record::{Deal, Lead, Need};

/// Where a source hands each lead; the record is reused between calls.
pub type LeadSink<'a> = dyn FnMut(&mut Lead) + Send + 'a;
/// Where a source hands each deal; the record is reused between calls.
pub type DealSink<'a> = dyn FnMut(&mut Deal) + Send + 'a;

/// How a stream went.
#[derive(Debug, Clone, PartialEq)]
pub enum Streamed {
    /// Every record was handed over.
    Done(Stream),
    /// The parallel read could not be trusted: call again with one sink
    /// (records handed over so far must be discarded).
    Again,
}

/// A source of CRM records.
///
/// Each method gets one or more sinks, each with its own accumulators. A
/// source may hand records to several sinks from as many threads (each sink
/// fed by one thread only, every record to exactly one sink), or use the
/// first only.
pub trait DataSource: Sync {
    /// Streams every lead.
    fn leads(&self, need: &Need, sinks: &mut [&mut LeadSink<'_>]) -> Result<Streamed, SourceError>;
    /// Streams every deal.
    fn deals(&self, need: &Need, sinks: &mut [&mut DealSink<'_>]) -> Result<Streamed, SourceError>;
    /// A source that computes the metrics itself (a warehouse, in SQL)
    /// instead of handing records to the engine.
    fn pushdown(&self) -> Option<&dyn crate::engine::Pushdown> {
        None
    }
    /// A source that holds only the records with an event since some time
    /// (an API cache fetched for the checked periods, `fetch = "periods"`)
    /// holds every record of the time since: that time, for leads or
    /// `deals`, once they were streamed. `None`: it holds every record.
    fn complete_from(&self, deals: bool) -> Option<crate::model::calendar::Millis> {
        let _ = deals;
        None
    }
}

/// What a source read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stream {
    /// Records handed to the engine.
    pub records: u64,
    /// Rows skipped for a bad value, within the source's `max_bad_rows`.
    pub bad_rows: u64,
    /// The first few of those, described.
    pub bad_examples: Vec<String>,
    /// Fields the metrics need that the source does not have.
    pub missing: Vec<Missing>,
}

/// A field the source does not have.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    /// The field (`mql`, `first_touch`, `segment`).
    pub field: String,
    /// Why, naming the file and the columns looked for.
    pub message: String,
    /// How to map it.
    pub help: String,
}

/// A source that cannot be read (status `error`, exit 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// What went wrong, naming the file or service.
    pub message: String,
    /// What to do about it.
    pub help: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl SourceError {
    /// An error with its help line.
    pub fn new(message: impl Into<String>, help: impl Into<String>) -> SourceError {
        SourceError {
            message: message.into(),
            help: help.into(),
        }
    }
}

/// How API sources fetch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fetch {
    /// Fetch every record again instead of what changed since the cache was
    /// synced (`--refresh`).
    pub refresh: bool,
    /// Where progress goes.
    pub progress: progress::Progress,
}

/// Opens a declared source. `dir` is the alignment directory (file sources'
/// paths are relative to it; API sources' caches are in it); `org_tz` the
/// organisation's time zone.
pub fn open(
    id: &str,
    source: &Source,
    dir: &Path,
    org_tz: &str,
    fetch: Fetch,
) -> Result<Box<dyn DataSource>, SourceError> {
    match source.kind {
        SourceKind::Csv | SourceKind::Ndjson => {
            Ok(Box::new(file::FileSource::new(id, source, dir, org_tz)?))
        }
        SourceKind::Postgres => Ok(Box::new(postgres::PostgresSource::new(id, source, org_tz)?)),
        SourceKind::Hubspot => Ok(Box::new(hubspot::open(id, source, dir, org_tz, fetch)?)),
        SourceKind::Salesforce => Ok(Box::new(salesforce::open(id, source, dir, org_tz, fetch)?)),
        SourceKind::Pipedrive => Ok(Box::new(pipedrive::open(id, source, dir, org_tz, fetch)?)),
    }
}
