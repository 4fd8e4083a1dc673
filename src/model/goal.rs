//! Joint goals and the SLA: what the teams commit to, measured by which metric,
//! against which target, over which period.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Id, Period};

/// A goals file (`goals.toml`, `goals/*.toml`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalsFile {
    /// The schema this file follows, for editors that read a `$schema` key.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The joint goals, one `[[goal]]` table each. One goal id may appear more than
    /// once with effective periods that do not overlap (this year's and next year's target).
    #[serde(default)]
    pub goal: Vec<Goal>,
}

/// A joint sales-and-marketing goal ("S/Mart goal").
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    /// The goal's id, shared with SLA commitments' ids (`revalign check --goal ID`).
    #[schemars(pattern(super::ID_PATTERN))]
    pub id: Id,
    /// The goal in a few words, as leadership would say it.
    #[schemars(length(min = 1))]
    pub title: String,
    /// The metric that measures the goal.
    #[schemars(pattern(super::ID_PATTERN))]
    pub metric: Id,
    /// The target: a comparison and a value in the metric's unit (`>= 400`, `<= 24h`,
    /// `>= 95%`, `>= 1.2M`), or a change relative to the previous period (`+5%`, `-10%`).
    #[schemars(pattern(super::target::TARGET_PATTERN))]
    pub target: String,
    /// An optional warn threshold beside the target, written the same way and stricter
    /// (`>= 440` beside `>= 400`): between the two the status is warn, not fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::target::TARGET_PATTERN))]
    pub warn: Option<String>,
    /// The period the target applies to (default: the manifest's `defaults.period`, else `month`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// The first day the goal is in force (inclusive); unset: since always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date"))]
    pub effective_from: Option<String>,
    /// The last day the goal is in force (inclusive); unset: until further notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date"))]
    pub effective_until: Option<String>,
    /// The teams that own the goal together (a joint goal has at least two).
    #[schemars(length(min = 1))]
    pub owners: Vec<Id>,
    /// Why this goal and this target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// The data source to measure it from (default: the manifest's `defaults.source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Id>,
}

/// An SLA file (`sla.toml`, `sla/*.toml`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaFile {
    /// The schema this file follows, for editors that read a `$schema` key.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// How often the teams review the SLA together (one `[review]` in the whole alignment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
    /// The commitments, one `[[commitment]]` table each.
    #[serde(default)]
    pub commitment: Vec<Commitment>,
}

/// The joint review cadence.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// The joint meeting happens every this many weeks (1: weekly, 2: bi-weekly).
    #[schemars(range(min = 1, max = 13))]
    pub every_weeks: u8,
    /// How long the meeting is, time-boxed (`1h`, `90m`).
    #[schemars(pattern(super::duration::DURATION_PATTERN))]
    pub length: String,
    /// Where the meeting's agenda or notes live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// How serious a missed commitment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Escalated to both department heads at once.
    Critical,
    /// Discussed at the next joint review.
    #[default]
    Major,
    /// Tracked.
    Minor,
}

impl Severity {
    /// The name used in the files.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Major => "major",
            Severity::Minor => "minor",
        }
    }
}

/// A commitment of one team to another in the SLA: marketing delivers so many
/// qualified leads; sales follows up within so long.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    /// The commitment's id, shared with goals' ids (`revalign check --goal ID`).
    #[schemars(pattern(super::ID_PATTERN))]
    pub id: Id,
    /// What is committed, in a sentence.
    #[schemars(length(min = 1))]
    pub description: String,
    /// The team that commits (and is measured).
    #[schemars(pattern(super::ID_PATTERN))]
    pub provider: Id,
    /// The team the commitment is made to.
    #[schemars(pattern(super::ID_PATTERN))]
    pub consumer: Id,
    /// The metric that measures the commitment.
    #[schemars(pattern(super::ID_PATTERN))]
    pub metric: Id,
    /// The target, as for goals (`>= 400`, `<= 24h`, `>= 95%`, `+5%`).
    #[schemars(pattern(super::target::TARGET_PATTERN))]
    pub target: String,
    /// An optional warn threshold, as for goals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::target::TARGET_PATTERN))]
    pub warn: Option<String>,
    /// The period the target applies to (default: the manifest's `defaults.period`, else `month`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// How serious a miss is (default `major`).
    #[serde(default)]
    pub severity: Severity,
    /// The data source to measure it from (default: the manifest's `defaults.source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Id>,
}
