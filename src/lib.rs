//! revalign: sales and marketing alignment as code.
//!
//! The crate is laid out so the architecture shows:
//! - [`model`]: the domain at the centre, with no I/O: the alignment files as
//!   typed data, targets, durations, predicates, findings;
//! - [`load`]: reads an alignment directory: TOML with spans, JSON Schema
//!   validation, typed entities;
//! - [`schema`]: the JSON Schemas, generated from the model's types;
//! - [`rules`]: the semantic checks over a loaded alignment;
//! - [`diff`]: the semantic diff of two alignments, classified;
//! - [`git`]: alignments at git revisions, and the history of the directory;
//! - [`render`]: findings as human text, JSON, GitHub annotations, SARIF;
//! - [`cli`]: the command line, one module per subcommand.
//!
//! The library never prints; the binary maps outcomes to exit codes.

pub mod cli;
pub mod diff;
pub mod git;
pub mod load;
pub mod model;
pub mod render;
pub mod rules;
pub mod schema;
