//! The domain model: the alignment files as typed data, and the findings about them.
//!
//! Nothing here does I/O. The loaders (`crate::load`) fill these types from TOML,
//! the rules (`crate::rules`) judge them, the renderers (`crate::render`) print findings.

pub mod calendar;
pub mod duration;
pub mod file;
pub mod finding;
pub mod goal;
pub mod lead;
pub mod manifest;
pub mod metric;
pub mod predicate;
pub mod record;
pub mod scorecard;
pub mod target;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use file::{Alignment, Entity, FileId, FileKind, Place};
pub use finding::{Code, Finding, Severity};

/// An identifier of a team, metric, goal, commitment, stage or source: lower-case
/// letters, digits, `-` and `_`, starting with a letter.
pub type Id = String;

/// The JSON Schema pattern every identifier must match.
pub const ID_PATTERN: &str = "^[a-z][a-z0-9_-]*$";

/// A calendar period over which a metric is computed and judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// A calendar week, starting on the manifest's `week_start`.
    Week,
    /// A calendar month.
    Month,
    /// A fiscal quarter (three months from the fiscal year's start month).
    Quarter,
    /// A fiscal year, starting in the manifest's `fiscal_year_start` month.
    Year,
}

impl Period {
    /// The name used in the files and in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Week => "week",
            Period::Month => "month",
            Period::Quarter => "quarter",
            Period::Year => "year",
        }
    }
}
