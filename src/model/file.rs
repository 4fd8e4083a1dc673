//! The kinds of alignment file, where an entity was defined, and the loaded alignment as a whole.

use std::fmt;

use super::Id;
use super::goal::{Commitment, Goal, Review};
use super::lead::{Handoff, Stage};
use super::manifest::{Defaults, Organization, Source, Team};
use super::metric::Metric;

/// The kinds of file in an alignment directory, each with its own JSON Schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    /// `revalign.toml`: organisation, teams, data sources, defaults.
    Manifest,
    /// `metrics.toml` or `metrics/*.toml`: the KPI definitions.
    Metrics,
    /// `goals.toml` or `goals/*.toml`: the joint sales-and-marketing goals.
    Goals,
    /// `sla.toml` or `sla/*.toml`: the service-level agreement between the teams.
    Sla,
    /// `leads.toml` or `leads/*.toml`: lifecycle stages, handoffs and reasons.
    Leads,
}

impl FileKind {
    /// Every kind, in the order files are reported.
    pub const ALL: [FileKind; 5] = [
        FileKind::Manifest,
        FileKind::Metrics,
        FileKind::Goals,
        FileKind::Sla,
        FileKind::Leads,
    ];

    /// The kind's name: the file stem, the folder name and the schema's name.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Manifest => "manifest",
            FileKind::Metrics => "metrics",
            FileKind::Goals => "goals",
            FileKind::Sla => "sla",
            FileKind::Leads => "leads",
        }
    }

    /// Looks a kind up by its name.
    pub fn from_name(name: &str) -> Option<FileKind> {
        FileKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kind of a file, from its path relative to the alignment directory
    /// (`/`-separated): `revalign.toml`, `<kind>.toml`, or any `.toml` under `<kind>/`.
    pub fn of_path(rel: &str) -> Option<FileKind> {
        if rel == "revalign.toml" {
            return Some(FileKind::Manifest);
        }
        let (head, rest) = match rel.split_once('/') {
            Some((dir, rest)) => (dir, Some(rest)),
            None => (rel.strip_suffix(".toml")?, None),
        };
        if rest.is_some_and(|r| !r.ends_with(".toml")) {
            return None;
        }
        match FileKind::from_name(head)? {
            FileKind::Manifest => None,
            kind => Some(kind),
        }
    }

    /// The file name of the schema for this kind, under `schemas/`.
    pub fn schema_file(self) -> String {
        format!("{}.schema.json", self.name())
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Index of a file in the source registry (`crate::load::Sources`).
pub type FileId = usize;

/// A place in a file: a JSON pointer into the file's data (`/goal/2/target`),
/// resolved to a byte span of the TOML text by the loader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The file.
    pub file: FileId,
    /// RFC 6901 pointer into the file's data; empty for the whole file.
    pub pointer: String,
    /// Byte range in the file's text, once resolved.
    pub span: Option<std::ops::Range<usize>>,
    /// Label the key rather than the value (unknown keys, duplicate ids).
    pub key: bool,
}

impl Place {
    /// A place at a pointer, not yet resolved to a span.
    pub fn new(file: FileId, pointer: impl Into<String>) -> Place {
        Place {
            file,
            pointer: pointer.into(),
            span: None,
            key: false,
        }
    }

    /// The place of a field below this one.
    pub fn field(&self, name: &str) -> Place {
        Place::new(
            self.file,
            format!("{}/{}", self.pointer, escape_token(name)),
        )
    }

    /// The place of an array item below this one.
    pub fn index(&self, i: usize) -> Place {
        Place::new(self.file, format!("{}/{}", self.pointer, i))
    }

    /// The same place, labelling the key rather than the value.
    pub fn at_key(mut self) -> Place {
        self.key = true;
        self
    }
}

/// Escapes one JSON pointer token (RFC 6901).
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// One entity (goal, metric, team, ...) as loaded: its id, where it was defined,
/// and its typed value, or `None` when the file's schema check already reported
/// it as broken (its id still counts, so references to it are not reported twice).
#[derive(Debug, Clone)]
pub struct Entity<T> {
    /// The entity's id.
    pub id: Id,
    /// Where it is defined (the table of the entity).
    pub place: Place,
    /// The typed value, when it passed the schema.
    pub value: Option<T>,
}

/// Everything loaded from one alignment directory, file boundaries erased:
/// entities are compared by id, not by file.
#[derive(Debug, Default)]
pub struct Alignment {
    /// The manifest's `[organization]`, when the manifest was found and readable.
    pub organization: Option<Entity<Organization>>,
    /// The manifest's `[defaults]`.
    pub defaults: Option<Entity<Defaults>>,
    /// Teams, from the manifest's `[team.<id>]` tables.
    pub teams: Vec<Entity<Team>>,
    /// Data sources, from the manifest's `[source.<id>]` tables.
    pub sources: Vec<Entity<Source>>,
    /// Metrics (`[[metric]]`), from every metrics file.
    pub metrics: Vec<Entity<Metric>>,
    /// Joint goals (`[[goal]]`), from every goals file.
    pub goals: Vec<Entity<Goal>>,
    /// SLA commitments (`[[commitment]]`), from every SLA file.
    pub commitments: Vec<Entity<Commitment>>,
    /// The SLA's review cadence (`[review]`), one per SLA file that has it.
    pub reviews: Vec<Entity<Review>>,
    /// Lifecycle stages (`[[stage]]`), in file order.
    pub stages: Vec<Entity<Stage>>,
    /// Handoffs between teams (`[[handoff]]`).
    pub handoffs: Vec<Entity<Handoff>>,
    /// Recycle reason codes, with where each was written.
    pub recycle_reasons: Vec<Entity<()>>,
    /// Disqualify reason codes, with where each was written.
    pub disqualify_reasons: Vec<Entity<()>>,
    /// Which file kinds held at least one file.
    pub kinds_present: Vec<FileKind>,
    /// Kinds with a file that could not be read or parsed: references to entities
    /// of these kinds are not reported as unknown, since they may be in that file.
    pub incomplete: std::collections::BTreeSet<FileKind>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_of_path() {
        assert_eq!(FileKind::of_path("revalign.toml"), Some(FileKind::Manifest));
        assert_eq!(FileKind::of_path("goals.toml"), Some(FileKind::Goals));
        assert_eq!(FileKind::of_path("goals/q3.toml"), Some(FileKind::Goals));
        assert_eq!(
            FileKind::of_path("goals/emea/q3.toml"),
            Some(FileKind::Goals)
        );
        assert_eq!(FileKind::of_path("sla.toml"), Some(FileKind::Sla));
        assert_eq!(FileKind::of_path("goal.toml"), None);
        assert_eq!(FileKind::of_path("manifest.toml"), None);
        assert_eq!(FileKind::of_path("other/x.toml"), None);
    }
}
