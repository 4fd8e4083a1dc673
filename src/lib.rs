//! revalign: sales and marketing alignment as code.
//!
//! The crate is laid out so the architecture shows:
//! - [`model`]: the domain at the centre, with no I/O: the alignment files as
//!   typed data, targets, durations, predicates, findings;
//! - [`load`]: reads an alignment directory: TOML with spans, JSON Schema
//!   validation, typed entities;
//! - [`schema`]: the JSON Schemas, generated from the model's types;
//! - [`rules`]: the semantic checks over a loaded alignment;
//! - [`source`]: data sources (CSV/NDJSON exports, ...) behind one trait,
//!   streaming normalized CRM records;
//! - [`engine`]: computes the metrics over periods in one pass per source;
//! - [`check`]: the scorecard: targets in force, periods, verdicts;
//! - [`diff`]: the semantic diff of two alignments, classified;
//! - [`git`]: alignments at git revisions, and the history of the directory;
//! - [`render`]: findings, changes and scorecards as human text, JSON,
//!   markdown, JUnit, GitHub annotations, SARIF;
//! - [`cli`]: the command line, one module per subcommand.
//!
//! The library never prints; the binary maps outcomes to exit codes.

pub mod check;
pub mod cli;
pub mod diff;
pub mod engine;
pub mod git;
pub mod load;
pub mod model;
pub mod render;
pub mod rules;
pub mod schema;
pub mod source;
