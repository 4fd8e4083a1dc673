//! Metrics (KPIs): what is measured, in which unit, and how the engine computes it
//! from CRM records.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Id;
use super::predicate::Predicate;

/// A metrics file (`metrics.toml`, `metrics/*.toml`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsFile {
    /// The schema this file follows, for editors that read a `$schema` key.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The metrics, one `[[metric]]` table each.
    #[serde(default)]
    pub metric: Vec<Metric>,
}

/// The unit a metric is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// A number of records.
    Count,
    /// A ratio, written in percent (`95%`).
    Percent,
    /// Elapsed time (`24h`).
    Duration,
    /// Money, in the manifest's default currency.
    Currency,
}

impl Unit {
    /// The name used in the files.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "count",
            Unit::Percent => "percent",
            Unit::Duration => "duration",
            Unit::Currency => "currency",
        }
    }
}

/// How a metric is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Records entering `stage` in the period (MQL volume). Unit: count.
    StageCount,
    /// Cohort conversion: of the records entering `from` in the period, the share
    /// that entered `to` within `within` of entering `from`. Unit: percent.
    Conversion,
    /// A percentile (`percentile`, default the median) of the time from event
    /// `from` to event `to`, over records whose `from` falls in the period. Unit: duration.
    Duration,
    /// Of the records entering `stage` in the period, the share meeting the
    /// `condition` and/or reaching event `to` within `within` of event `from`
    /// (default: the stage entry). Unit: percent.
    Share,
    /// The sum of deal field `field` over deals whose `date` (created or closed)
    /// falls in the period (pipeline created). Unit: currency or count.
    Sum,
    /// Won deals over won and lost deals closed in the period. Unit: percent.
    WinRate,
}

impl MetricKind {
    /// Whether the metric is computed over deals (else over leads).
    pub fn on_deals(self) -> bool {
        matches!(self, MetricKind::Sum | MetricKind::WinRate)
    }

    /// The name used in the files.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::StageCount => "stage_count",
            MetricKind::Conversion => "conversion",
            MetricKind::Duration => "duration",
            MetricKind::Share => "share",
            MetricKind::Sum => "sum",
            MetricKind::WinRate => "win_rate",
        }
    }

    /// The units a metric of this kind may have.
    pub fn units(self) -> &'static [Unit] {
        match self {
            MetricKind::StageCount => &[Unit::Count],
            MetricKind::Conversion | MetricKind::Share | MetricKind::WinRate => &[Unit::Percent],
            MetricKind::Duration => &[Unit::Duration],
            MetricKind::Sum => &[Unit::Currency, Unit::Count],
        }
    }

    /// The keys this kind uses besides the common ones.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            MetricKind::StageCount => &["stage"],
            MetricKind::Conversion => &["from", "to", "within"],
            MetricKind::Duration => &["from", "to", "percentile"],
            MetricKind::Share => &["stage", "from", "to", "within", "condition"],
            MetricKind::Sum => &["field", "date", "condition"],
            MetricKind::WinRate => &[],
        }
    }
}

/// Which date of a deal places it in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DealDate {
    /// When the deal was created (pipeline created).
    Created,
    /// When the deal was closed (bookings).
    Closed,
}

/// Events a duration or a share can measure from or to, besides stage entries.
pub const EVENTS: [&str; 2] = ["created", "first_touch"];

/// A metric (KPI). The kind-specific keys are required per `kind`; see each kind.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("allOf" = [
    {"if": {"properties": {"kind": {"const": "stage_count"}}}, "then": {"required": ["stage"]}},
    {"if": {"properties": {"kind": {"const": "conversion"}}}, "then": {"required": ["from", "to", "within"]}},
    {"if": {"properties": {"kind": {"const": "duration"}}}, "then": {"required": ["from", "to"]}},
    {"if": {"properties": {"kind": {"const": "share"}}}, "then": {"required": ["stage"]}},
    {"if": {"properties": {"kind": {"const": "sum"}}}, "then": {"required": ["field"]}}
]))]
pub struct Metric {
    /// The metric's id, referenced by goals and commitments.
    #[schemars(pattern(super::ID_PATTERN))]
    pub id: Id,
    /// The metric's display name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// What the metric measures and why, in plain words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The unit the metric is measured in; targets must use it.
    pub unit: Unit,
    /// The teams accountable for the metric.
    #[schemars(length(min = 1))]
    pub owners: Vec<Id>,
    /// How the metric is computed.
    pub kind: MetricKind,
    /// `stage_count`, `share`: the stage whose entries are counted (or form the cohort).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Id>,
    /// `conversion`: the cohort stage; `duration`, `share`: the start event (a stage id, `created` or `first_touch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Id>,
    /// `conversion`: the stage converted to; `duration`, `share`: the end event (a stage id, `created` or `first_touch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Id>,
    /// `conversion`, `share`: the window from `from` to `to` (`90d`, `24h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::duration::DURATION_PATTERN))]
    pub within: Option<String>,
    /// `duration`: which percentile to report, 1 to 99 (50 = median, the default; 90 = p90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 99))]
    pub percentile: Option<u8>,
    /// `sum`: the deal field summed (`amount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub field: Option<String>,
    /// `sum`: which date of a deal places it in a period (default `created`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<DealDate>,
    /// `share`: the condition a record must meet to count; `sum`: which deals count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Predicate>,
    /// Only records matching this predicate are considered (segment, source, owner team, any field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Predicate>,
}

impl Metric {
    /// `within` in milliseconds, if set and valid (validation reports the rest).
    pub fn within_ms(&self) -> Option<i64> {
        self.within
            .as_deref()
            .and_then(|w| w.parse::<crate::model::duration::Duration>().ok())
            .map(|d| d.as_secs() as i64 * 1000)
    }

    /// The kind-specific keys that are set, by name.
    pub fn set_keys(&self) -> Vec<&'static str> {
        [
            ("stage", self.stage.is_some()),
            ("from", self.from.is_some()),
            ("to", self.to.is_some()),
            ("within", self.within.is_some()),
            ("percentile", self.percentile.is_some()),
            ("field", self.field.is_some()),
            ("date", self.date.is_some()),
            ("condition", self.condition.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(n, _)| n)
        .collect()
    }
}
