//! Lead definitions: the lifecycle stages both teams agree on, who owns each,
//! what it takes to enter one, and the handoffs between the teams.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Id;
use super::predicate::Predicate;

/// A lead-definitions file (`leads.toml`, `leads/*.toml`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadsFile {
    /// The schema this file follows, for editors that read a `$schema` key.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The lifecycle stages, in funnel order (`lead`, `mql`, `sal`, `sql`, `opportunity`, `customer`).
    #[serde(default)]
    pub stage: Vec<Stage>,
    /// The handoffs from one team to another.
    #[serde(default)]
    pub handoff: Vec<Handoff>,
    /// Reason codes a rejected lead is recycled to nurture with (`bad-timing`, `no-budget`).
    #[serde(default)]
    pub recycle_reasons: Vec<Reason>,
    /// Reason codes a lead is disqualified with (`competitor`, `student`, `spam`).
    #[serde(default)]
    pub disqualify_reasons: Vec<Reason>,
}

/// A reason code, lower-case with dashes.
pub type Reason = String;

/// A lifecycle stage of a lead.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// The stage's id, referenced by metrics and handoffs (`mql`).
    #[schemars(pattern(super::ID_PATTERN))]
    pub id: Id,
    /// The stage's display name (`Marketing qualified lead`).
    #[schemars(length(min = 1))]
    pub name: String,
    /// The team that owns leads in this stage.
    #[schemars(pattern(super::ID_PATTERN))]
    pub owner: Id,
    /// What the stage means, in plain words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The criteria a record must meet to enter the stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Predicate>,
    /// The earlier stages a record may enter this one from (default: the stage
    /// before it). Listing stages allows skips (`lead` straight to `sql`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Vec<Id>>,
}

/// A handoff: leads reaching a stage pass to another team, which must accept or
/// reject them within a time.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Handoff {
    /// The stage at which leads are handed off (`mql`).
    #[schemars(pattern(super::ID_PATTERN))]
    pub stage: Id,
    /// The team that receives them (`sales`); it must own a later stage.
    #[schemars(pattern(super::ID_PATTERN))]
    pub to: Id,
    /// How soon the receiving team must accept or reject a handed-off lead (`24h`).
    #[schemars(pattern(super::duration::DURATION_PATTERN))]
    pub accept_within: String,
    /// Whether a rejection must carry a recycle or disqualify reason (default true).
    #[serde(default = "yes")]
    pub reason_required: bool,
}

fn yes() -> bool {
    true
}
