//! Findings: what validation (and later diff and check) has to say, as plain data.
//!
//! Each finding has a stable kebab-case [`Code`], a [`Severity`], a message that says
//! what is wrong, a help line that says how to fix it, and a [`Place`].

use std::fmt;

use serde::Serialize;

use super::Place;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Makes `validate` exit 1.
    Error,
    /// Reported; exit 0 unless `--deny-warnings`.
    Warning,
}

impl Severity {
    /// The name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $name:literal, $sev:ident; )*) => {
        /// The stable code of every kind of finding. The names never change once
        /// released; they appear in every output format and in the README.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The kebab-case name.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The severity a finding of this code has.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }

            /// One line describing the code (SARIF rule description, README table).
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => concat!($($doc),*).trim_ascii(),)* }
            }
        }
    };
}

codes! {
    /// The alignment directory holds no alignment file at all.
    EmptyAlignment = "empty-alignment", Error;
    /// There is no `revalign.toml` manifest in the alignment directory.
    MissingManifest = "missing-manifest", Error;
    /// A `.toml` file whose name is not one revalign knows; it is not read.
    UnknownFile = "unknown-file", Warning;
    /// A file could not be read (permissions, not UTF-8).
    UnreadableFile = "unreadable-file", Error;
    /// A file is not valid TOML.
    TomlSyntax = "toml-syntax", Error;
    /// Arrays or tables nested deeper than revalign reads.
    TooDeep = "too-deep", Error;
    /// A key the file format does not have (often a typo).
    UnknownKey = "unknown-key", Error;
    /// A required key is missing.
    MissingKey = "missing-key", Error;
    /// A value of the wrong type (a string where a number belongs, ...).
    WrongType = "wrong-type", Error;
    /// A value outside what the key allows (an unknown enum value, a bad format, out of range).
    InvalidValue = "invalid-value", Error;
    /// The same id is defined twice.
    DuplicateId = "duplicate-id", Error;
    /// A reference to a metric that is not defined.
    UnknownMetric = "unknown-metric", Error;
    /// A reference to a team that is not defined in the manifest.
    UnknownTeam = "unknown-team", Error;
    /// A reference to a lifecycle stage that is not defined.
    UnknownStage = "unknown-stage", Error;
    /// A reference to a data source that is not defined in the manifest.
    UnknownSource = "unknown-source", Error;
    /// A target or warn threshold that does not parse.
    InvalidTarget = "invalid-target", Error;
    /// A duration that does not parse.
    InvalidDuration = "invalid-duration", Error;
    /// A unit that does not fit: a target in % on a count metric, a metric kind with the wrong unit.
    UnitMismatch = "unit-mismatch", Error;
    /// A warn threshold that is not stricter than its target, or compares the other way.
    WarnThreshold = "warn-threshold", Error;
    /// A joint goal owned by one team only: joint goals are the point.
    SingleTeamGoal = "single-team-goal", Warning;
    /// An SLA commitment whose provider is also its consumer.
    SelfCommitment = "self-commitment", Error;
    /// A stage entered from a stage that comes after it.
    StageOrder = "stage-order", Error;
    /// A stage that cannot be reached from the first stage.
    UnreachableStage = "unreachable-stage", Error;
    /// A handoff to a team that owns no stage after the handoff stage.
    HandoffTeam = "handoff-team", Error;
    /// Two versions of one goal in force at the same time.
    OverlappingEffective = "overlapping-effective", Error;
    /// An effective period that ends before it starts.
    EffectiveRange = "effective-range", Error;
    /// A time zone that is not an IANA time zone name.
    InvalidTimeZone = "invalid-time-zone", Error;
    /// A predicate (entry criterion, filter, condition) that is not of one of the known shapes.
    InvalidPredicate = "invalid-predicate", Error;
    /// A stage id that is a reserved event name (`created`, `first_touch`).
    ReservedId = "reserved-id", Error;
    /// A definition or setting given more than once where only one may be.
    DuplicateDefinition = "duplicate-definition", Error;
    /// A data source lacks a setting its kind needs.
    SourceSetting = "source-setting", Error;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Where: the primary label goes here.
    pub place: Option<Place>,
    /// The text of the primary label (defaults to a short form of the message).
    pub label: Option<String>,
    /// Other places that explain this one ("first defined here").
    pub related: Vec<(Place, String)>,
}

impl Finding {
    /// A finding with the code's severity and no place yet.
    pub fn new(code: Code, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity: code.severity(),
            message: message.into(),
            help: None,
            place: None,
            label: None,
            related: Vec::new(),
        }
    }

    /// Sets the place.
    pub fn at(mut self, place: Place) -> Finding {
        self.place = Some(place);
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> Finding {
        self.help = Some(help.into());
        self
    }

    /// Sets the primary label.
    pub fn label(mut self, label: impl Into<String>) -> Finding {
        self.label = Some(label.into());
        self
    }

    /// Adds a related place.
    pub fn related(mut self, place: Place, label: impl Into<String>) -> Finding {
        self.related.push((place, label.into()));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case_and_documented() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "duplicate code {name}");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{name}"
            );
            assert!(!code.summary().is_empty(), "{name} has no summary");
        }
    }
}
