//! The semantic diff of two alignments: entities compared by id, not by file or
//! line, and every change classified the way the department heads reading a pull
//! request think of it: tightened, loosened, breaking, ownership.
//!
//! Pure: takes two loaded [`Alignment`]s, returns [`Change`]s.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::model::duration::Duration;
use crate::model::metric::EVENTS;
use crate::model::target::Target;
use crate::model::{Alignment, Entity, FileKind};

/// What kind of entity changed, in output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// The manifest's `[organization]`.
    Organization,
    /// The manifest's `[defaults]`.
    Defaults,
    /// A team and its head.
    Team,
    /// A data source.
    Source,
    /// A joint goal.
    Goal,
    /// An SLA commitment.
    Commitment,
    /// The SLA's review cadence.
    Review,
    /// A metric.
    Metric,
    /// A lifecycle stage.
    Stage,
    /// A handoff.
    Handoff,
    /// A recycle or disqualify reason code.
    Reason,
}

impl EntityKind {
    /// The kind of file the entity lives in.
    pub fn file_kind(self) -> FileKind {
        match self {
            EntityKind::Organization
            | EntityKind::Defaults
            | EntityKind::Team
            | EntityKind::Source => FileKind::Manifest,
            EntityKind::Goal => FileKind::Goals,
            EntityKind::Commitment | EntityKind::Review => FileKind::Sla,
            EntityKind::Metric => FileKind::Metrics,
            EntityKind::Stage | EntityKind::Handoff | EntityKind::Reason => FileKind::Leads,
        }
    }

    /// The name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Organization => "organization",
            EntityKind::Defaults => "defaults",
            EntityKind::Team => "team",
            EntityKind::Source => "source",
            EntityKind::Goal => "goal",
            EntityKind::Commitment => "commitment",
            EntityKind::Review => "review",
            EntityKind::Metric => "metric",
            EntityKind::Stage => "stage",
            EntityKind::Handoff => "handoff",
            EntityKind::Reason => "reason",
        }
    }

    /// The heading of a group of changes.
    pub fn plural(self) -> &'static str {
        match self {
            EntityKind::Organization => "Organization",
            EntityKind::Defaults => "Defaults",
            EntityKind::Team => "Teams",
            EntityKind::Source => "Sources",
            EntityKind::Goal => "Goals",
            EntityKind::Commitment => "SLA commitments",
            EntityKind::Review => "Review cadence",
            EntityKind::Metric => "Metrics",
            EntityKind::Stage => "Lead stages",
            EntityKind::Handoff => "Handoffs",
            EntityKind::Reason => "Reasons",
        }
    }
}

/// How a change bears on the agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Numbers before and after no longer compare, or something still used was removed.
    Breaking,
    /// A target, threshold or window made harder to meet.
    Tightened,
    /// A target, threshold or window made easier to meet.
    Loosened,
    /// Who owns, provides, receives or heads something changed.
    Ownership,
    /// A new entity.
    Added,
    /// An entity removed (nothing refers to it any more).
    Removed,
    /// Any other change (names, descriptions, settings).
    Changed,
}

impl Class {
    /// The name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Breaking => "breaking",
            Class::Tightened => "tightened",
            Class::Loosened => "loosened",
            Class::Ownership => "ownership",
            Class::Added => "added",
            Class::Removed => "removed",
            Class::Changed => "changed",
        }
    }

    /// Every class, in output order.
    pub const ALL: [Class; 7] = [
        Class::Breaking,
        Class::Tightened,
        Class::Loosened,
        Class::Ownership,
        Class::Added,
        Class::Removed,
        Class::Changed,
    ];
}

/// One change between two alignments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// What kind of entity.
    pub kind: EntityKind,
    /// Its id (for goals with several versions: `id@effective_from`).
    pub id: String,
    /// The field that changed; `None` when the whole entity was added or removed.
    pub field: Option<String>,
    /// The value before (absent when added).
    pub old: Option<Value>,
    /// The value after (absent when removed).
    pub new: Option<Value>,
    /// The classification.
    pub class: Class,
    /// Why it has that class, when that is not obvious.
    pub note: Option<String>,
}

type Keyed = BTreeMap<String, Option<Value>>;

fn keyed<'a, T: Serialize>(list: &'a [Entity<T>], key: impl Fn(&'a Entity<T>) -> String) -> Keyed {
    list.iter()
        .filter(|e| !e.id.is_empty())
        .map(|e| {
            (
                key(e),
                e.value.as_ref().and_then(|v| serde_json::to_value(v).ok()),
            )
        })
        .collect()
}

fn plain<T>(e: &Entity<T>) -> String {
    e.id.clone()
}

/// Who refers to which metric, stage and team in an alignment.
#[derive(Debug, Clone, Default)]
struct Refs {
    metrics: BTreeMap<String, Vec<String>>,
    stages: BTreeMap<String, Vec<String>>,
    teams: BTreeMap<String, Vec<String>>,
}

impl Refs {
    fn of(a: &Alignment) -> Refs {
        let mut r = Refs {
            metrics: BTreeMap::new(),
            stages: BTreeMap::new(),
            teams: BTreeMap::new(),
        };
        let add = |map: &mut BTreeMap<String, Vec<String>>, id: &str, by: String| {
            map.entry(id.to_string()).or_default().push(by);
        };
        for g in &a.goals {
            if let Some(v) = &g.value {
                add(&mut r.metrics, &v.metric, format!("goal `{}`", g.id));
                for o in &v.owners {
                    add(&mut r.teams, o, format!("goal `{}`", g.id));
                }
            }
        }
        for c in &a.commitments {
            if let Some(v) = &c.value {
                add(&mut r.metrics, &v.metric, format!("commitment `{}`", c.id));
                add(&mut r.teams, &v.provider, format!("commitment `{}`", c.id));
                add(&mut r.teams, &v.consumer, format!("commitment `{}`", c.id));
            }
        }
        for m in &a.metrics {
            if let Some(v) = &m.value {
                for s in [&v.stage, &v.from, &v.to].into_iter().flatten() {
                    if !EVENTS.contains(&s.as_str()) {
                        add(&mut r.stages, s, format!("metric `{}`", m.id));
                    }
                }
                for o in &v.owners {
                    add(&mut r.teams, o, format!("metric `{}`", m.id));
                }
            }
        }
        for s in &a.stages {
            if let Some(v) = &s.value {
                add(&mut r.teams, &v.owner, format!("stage `{}`", s.id));
                for f in v.from.iter().flatten() {
                    add(&mut r.stages, f, format!("stage `{}`", s.id));
                }
            }
        }
        for h in &a.handoffs {
            if let Some(v) = &h.value {
                add(&mut r.stages, &v.stage, format!("handoff at `{}`", v.stage));
                add(&mut r.teams, &v.to, format!("handoff at `{}`", v.stage));
            }
        }
        r
    }

    fn users(&self, kind: EntityKind, id: &str) -> Option<&Vec<String>> {
        match kind {
            EntityKind::Metric => self.metrics.get(id),
            EntityKind::Stage => self.stages.get(id),
            EntityKind::Team => self.teams.get(id),
            _ => None,
        }
    }
}

fn dup_ids<T>(list: &[Entity<T>]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    list.iter()
        .filter(|e| !seen.insert(e.id.clone()))
        .map(|e| e.id.clone())
        .collect()
}

/// One side of a diff, prepared once: every entity as JSON keyed by id, who
/// refers to what, the stage order. The history walk caches these per tree.
#[derive(Debug, Clone)]
pub struct Prepared {
    maps: BTreeMap<EntityKind, Keyed>,
    /// Goals as `(id, effective_from, value)`: keyed at diff time, by id alone
    /// unless either side has several versions of the goal.
    goals: Vec<(String, Option<String>, Option<Value>)>,
    goal_dups: BTreeSet<String>,
    refs: Refs,
    order: Vec<String>,
    incomplete: BTreeSet<FileKind>,
}

impl Prepared {
    /// Prepares one side.
    pub fn of(a: &Alignment) -> Prepared {
        let one = |key: &str, v: Option<Value>| -> Keyed {
            std::iter::once((key.to_string(), v)).collect()
        };
        let mut maps = BTreeMap::new();
        if let Some(o) = &a.organization {
            maps.insert(
                EntityKind::Organization,
                one(
                    "organization",
                    o.value.as_ref().and_then(|v| serde_json::to_value(v).ok()),
                ),
            );
        }
        if let Some(d) = &a.defaults {
            maps.insert(
                EntityKind::Defaults,
                one(
                    "defaults",
                    d.value.as_ref().and_then(|v| serde_json::to_value(v).ok()),
                ),
            );
        }
        maps.insert(EntityKind::Team, keyed(&a.teams, plain));
        maps.insert(EntityKind::Source, keyed(&a.sources, plain));
        maps.insert(EntityKind::Commitment, keyed(&a.commitments, plain));
        if let Some(r) = a.reviews.first() {
            maps.insert(
                EntityKind::Review,
                one(
                    "review",
                    r.value.as_ref().and_then(|v| serde_json::to_value(v).ok()),
                ),
            );
        }
        maps.insert(EntityKind::Metric, keyed(&a.metrics, plain));
        maps.insert(EntityKind::Stage, keyed(&a.stages, plain));
        // Keyed by the handoff stage (its id), so a new receiving team is an
        // ownership change, not a removal and an addition.
        let hk = |h: &Entity<crate::model::lead::Handoff>| h.id.clone();
        maps.insert(EntityKind::Handoff, keyed(&a.handoffs, hk));
        let reasons: Keyed = a
            .recycle_reasons
            .iter()
            .map(|r| {
                (
                    format!("recycle:{}", r.id),
                    Some(Value::String("recycle".into())),
                )
            })
            .chain(a.disqualify_reasons.iter().map(|r| {
                (
                    format!("disqualify:{}", r.id),
                    Some(Value::String("disqualify".into())),
                )
            }))
            .collect();
        maps.insert(EntityKind::Reason, reasons);
        Prepared {
            maps,
            goals: a
                .goals
                .iter()
                .filter(|g| !g.id.is_empty())
                .map(|g| {
                    (
                        g.id.clone(),
                        g.value.as_ref().and_then(|v| v.effective_from.clone()),
                        g.value.as_ref().and_then(|v| serde_json::to_value(v).ok()),
                    )
                })
                .collect(),
            goal_dups: dup_ids(&a.goals),
            refs: Refs::of(a),
            order: a.stages.iter().map(|s| s.id.clone()).collect(),
            incomplete: a.incomplete.clone(),
        }
    }

    /// One side from the prepared files it is made of (the history walk prepares
    /// each file once per blob, then merges).
    pub fn merge<'p>(parts: impl IntoIterator<Item = &'p Prepared>) -> Prepared {
        let mut out = Prepared {
            maps: BTreeMap::new(),
            goals: Vec::new(),
            goal_dups: BTreeSet::new(),
            refs: Refs::default(),
            order: Vec::new(),
            incomplete: BTreeSet::new(),
        };
        for p in parts {
            for (kind, map) in &p.maps {
                out.maps
                    .entry(*kind)
                    .or_default()
                    .extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            out.goals.extend(p.goals.iter().cloned());
            for (mine, theirs) in [
                (&mut out.refs.metrics, &p.refs.metrics),
                (&mut out.refs.stages, &p.refs.stages),
                (&mut out.refs.teams, &p.refs.teams),
            ] {
                for (id, users) in theirs {
                    mine.entry(id.clone())
                        .or_default()
                        .extend(users.iter().cloned());
                }
            }
            out.order.extend(p.order.iter().cloned());
            out.incomplete.extend(p.incomplete.iter().copied());
        }
        let mut seen = BTreeSet::new();
        out.goal_dups = out
            .goals
            .iter()
            .filter(|(id, ..)| !seen.insert(id.clone()))
            .map(|(id, ..)| id.clone())
            .collect();
        out
    }

    /// The id of every entity on this side, as changes name them.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.maps
            .values()
            .flat_map(|keyed| keyed.keys())
            .chain(self.goals.iter().map(|(id, _, _)| id))
            .map(String::as_str)
    }

    /// References to metrics, stages and teams this side does not define, with
    /// who makes them (kinds whose files could not be read are skipped).
    pub fn dangling(&self) -> BTreeMap<(EntityKind, String), Vec<String>> {
        let mut out = BTreeMap::new();
        for (kind, refs) in [
            (EntityKind::Metric, &self.refs.metrics),
            (EntityKind::Stage, &self.refs.stages),
            (EntityKind::Team, &self.refs.teams),
        ] {
            if self.incomplete.contains(&kind.file_kind()) {
                continue;
            }
            let defined = self.maps.get(&kind);
            for (id, users) in refs {
                if !users.is_empty() && !defined.is_some_and(|m| m.contains_key(id)) {
                    out.insert((kind, id.clone()), users.clone());
                }
            }
        }
        out
    }

    fn goal_map(&self, versioned: &BTreeSet<String>) -> Keyed {
        self.goals
            .iter()
            .map(|(id, from, v)| {
                let key = match from {
                    Some(from) if versioned.contains(id) => format!("{id}@{from}"),
                    _ => id.clone(),
                };
                (key, v.clone())
            })
            .collect()
    }
}

/// Compares two alignments.
pub fn diff(old: &Alignment, new: &Alignment) -> Vec<Change> {
    diff_prepared(&Prepared::of(old), &Prepared::of(new))
}

/// Compares two prepared sides.
pub fn diff_prepared(old: &Prepared, new: &Prepared) -> Vec<Change> {
    diff_prepared_kinds(old, new, &FileKind::ALL)
}

/// Compares two prepared sides, only the entities kept in these kinds of file
/// (the history walk knows which files a commit touched).
pub fn diff_prepared_kinds(old: &Prepared, new: &Prepared, files: &[FileKind]) -> Vec<Change> {
    let mut out = Vec::new();
    let sides = Sides { old, new };
    let empty = Keyed::new();
    let versioned: BTreeSet<String> = old.goal_dups.union(&new.goal_dups).cloned().collect();
    for kind in [
        EntityKind::Organization,
        EntityKind::Defaults,
        EntityKind::Team,
        EntityKind::Source,
        EntityKind::Goal,
        EntityKind::Commitment,
        EntityKind::Review,
        EntityKind::Metric,
        EntityKind::Stage,
        EntityKind::Handoff,
        EntityKind::Reason,
    ] {
        if !files.contains(&kind.file_kind()) {
            continue;
        }
        if kind == EntityKind::Goal {
            compare(
                kind,
                &old.goal_map(&versioned),
                &new.goal_map(&versioned),
                &sides,
                &mut out,
            );
        } else {
            compare(
                kind,
                old.maps.get(&kind).unwrap_or(&empty),
                new.maps.get(&kind).unwrap_or(&empty),
                &sides,
                &mut out,
            );
        }
    }
    // Stage order is meaning: a reorder changes which stage follows which.
    if !files.contains(&FileKind::Leads) {
        return out;
    }
    let (before, after) = (&old.order, &new.order);
    let common_before: Vec<&String> = before.iter().filter(|s| after.contains(s)).collect();
    let common_after: Vec<&String> = after.iter().filter(|s| before.contains(s)).collect();
    if common_before != common_after {
        out.push(Change {
            kind: EntityKind::Stage,
            id: "(order)".into(),
            field: Some("order".into()),
            old: Some(Value::from(before.clone())),
            new: Some(Value::from(after.clone())),
            class: Class::Breaking,
            note: Some("the funnel order of the stages changed".into()),
        });
    }
    out
}

struct Sides<'a> {
    old: &'a Prepared,
    new: &'a Prepared,
}

fn compare(kind: EntityKind, old: &Keyed, new: &Keyed, sides: &Sides<'_>, out: &mut Vec<Change>) {
    // A file of this kind that could not be read on one side: its entities are
    // unknown there, not added or removed (the warnings name the file).
    let unread_new = sides.new.incomplete.contains(&kind.file_kind());
    let unread_old = sides.old.incomplete.contains(&kind.file_kind());
    let refs_new = &sides.new.refs;
    let removed: Vec<&String> = old.keys().filter(|k| !new.contains_key(*k)).collect();
    let added: Vec<&String> = new.keys().filter(|k| !old.contains_key(*k)).collect();
    let mut renamed_to: BTreeMap<&String, &String> = BTreeMap::new();
    // A rename: removed and added with the same content but the id.
    for r in removed
        .iter()
        .filter(|_| !unread_new && kind != EntityKind::Reason)
    {
        let strip = |v: &Option<Value>| {
            v.clone().map(|mut v| {
                if let Value::Object(m) = &mut v {
                    m.remove("id");
                }
                v
            })
        };
        let old_v = strip(&old[*r]);
        if old_v.is_none() {
            continue;
        }
        if let Some(a) = added
            .iter()
            .find(|a| !renamed_to.values().any(|x| x == *a) && strip(&new[**a]) == old_v)
        {
            renamed_to.insert(r, a);
        }
    }
    for r in removed.iter().filter(|_| !unread_new) {
        let users = refs_new.users(kind, r.as_str()).filter(|u| !u.is_empty());
        let (class, note) = match users {
            Some(u) => (
                Class::Breaking,
                Some(format!(
                    "removed while still referenced by {}",
                    u.join(", ")
                )),
            ),
            None => (Class::Removed, None),
        };
        if let Some(a) = renamed_to.get(r) {
            out.push(Change {
                kind,
                id: (*r).clone(),
                field: Some("id".into()),
                old: Some(Value::String((*r).clone())),
                new: Some(Value::String((*a).clone())),
                class: if users.is_some() {
                    Class::Breaking
                } else {
                    Class::Changed
                },
                note: Some(match users {
                    Some(u) => format!(
                        "renamed while still referenced as `{r}` by {}",
                        u.join(", ")
                    ),
                    None => "renamed".into(),
                }),
            });
            continue;
        }
        out.push(Change {
            kind,
            id: (*r).clone(),
            field: None,
            old: old[*r].clone(),
            new: None,
            class,
            note,
        });
    }
    for a in added.iter().filter(|_| !unread_old) {
        if renamed_to.values().any(|x| x == a) {
            continue;
        }
        out.push(Change {
            kind,
            id: (*a).clone(),
            field: None,
            old: None,
            new: new[*a].clone(),
            class: Class::Added,
            note: None,
        });
    }
    for (id, old_v) in old {
        let Some(new_v) = new.get(id) else { continue };
        match (old_v, new_v) {
            (Some(o), Some(n)) => fields(kind, id, o, n, out),
            (None, None) => {}
            _ => out.push(Change {
                kind,
                id: id.clone(),
                field: None,
                old: old_v.clone(),
                new: new_v.clone(),
                class: Class::Changed,
                note: Some("unreadable at one of the two revisions (see the warnings)".into()),
            }),
        }
    }
}

/// Field-level changes of one entity; `head` of a team is compared key by key.
fn fields(kind: EntityKind, id: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    let empty = serde_json::Map::new();
    let o = old.as_object().unwrap_or(&empty);
    let n = new.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
    for key in keys {
        let (ov, nv) = (o.get(key.as_str()), n.get(key.as_str()));
        if ov == nv || equivalent(key, ov, nv) {
            continue;
        }
        if kind == EntityKind::Stage && key == "entry" {
            entry_changes(id, ov, nv, out);
            continue;
        }
        if kind == EntityKind::Team && key == "head" {
            if let (Some(ov), Some(nv)) = (ov, nv) {
                let mut sub = Vec::new();
                fields(kind, id, ov, nv, &mut sub);
                for mut c in sub {
                    c.field = c.field.map(|f| format!("head.{f}"));
                    c.class = Class::Ownership;
                    c.note = Some("the department head changed".into());
                    out.push(c);
                }
                continue;
            }
        }
        let (class, note) = classify(kind, key, ov, nv);
        out.push(Change {
            kind,
            id: id.to_string(),
            field: Some(key.clone()),
            old: ov.cloned(),
            new: nv.cloned(),
            class,
            note,
        });
    }
}

/// The criteria of a stage's entry predicate, keyed: the members of a
/// top-level `all` (else the predicate itself), each by the field it compares
/// (`score`, a second one on the field `score#2`) or, for nested `any`/`not`,
/// by its text.
fn criteria(v: Option<&Value>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let Some(v) = v else { return out };
    let list = match v.get("all").and_then(Value::as_array) {
        Some(a) => a.clone(),
        None => vec![v.clone()],
    };
    for c in list {
        let base = match c.get("field").and_then(Value::as_str) {
            Some(f) => f.to_string(),
            None => c.to_string(),
        };
        let mut key = base.clone();
        let mut n = 1;
        while out.contains_key(&key) {
            n += 1;
            key = format!("{base}#{n}");
        }
        out.insert(key, c);
    }
    out
}

/// Whether a changed criterion makes the stage harder (`Tightened`) or easier
/// (`Loosened`) to enter: a higher `gte`/`gt` bar, a lower `lte`/`lt` one, a
/// shorter `in` list. `None` when it does not compare.
fn criterion_direction(old: &Value, new: &Value) -> Option<Class> {
    let num = |v: &Value, op: &str| v.get(op).and_then(Value::as_f64);
    for (op, up) in [("gte", 1.0), ("gt", 1.0), ("lte", -1.0), ("lt", -1.0)] {
        if let (Some(o), Some(n)) = (num(old, op), num(new, op)) {
            return match ((n - o) * up).partial_cmp(&0.0)? {
                std::cmp::Ordering::Greater => Some(Class::Tightened),
                std::cmp::Ordering::Less => Some(Class::Loosened),
                std::cmp::Ordering::Equal => None,
            };
        }
    }
    let set = |v: &Value| -> Option<BTreeSet<String>> {
        v.get("in")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(Value::to_string).collect())
    };
    match (set(old), set(new)) {
        (Some(o), Some(n)) if n.is_subset(&o) && n != o => Some(Class::Tightened),
        (Some(o), Some(n)) if n.is_superset(&o) && n != o => Some(Class::Loosened),
        _ => None,
    }
}

/// A stage's entry criteria compared criterion by criterion. Every change is
/// breaking (stage counts before and after no longer compare); the note says
/// whether it makes the stage harder or easier to enter.
fn entry_changes(id: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<Change>) {
    let (o, n) = (criteria(old), criteria(new));
    let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
    for key in keys {
        let (ov, nv) = (o.get(key.as_str()), n.get(key.as_str()));
        if ov == nv {
            continue;
        }
        let how = match (ov, nv) {
            (None, Some(_)) => "a new criterion: harder to enter (tightened)".to_string(),
            (Some(_), None) => "a criterion dropped: easier to enter (loosened)".to_string(),
            (Some(a), Some(b)) => match criterion_direction(a, b) {
                Some(Class::Tightened) => "harder to enter (tightened)".into(),
                Some(Class::Loosened) => "easier to enter (loosened)".into(),
                _ => "the criterion changed".into(),
            },
            (None, None) => continue,
        };
        out.push(Change {
            kind: EntityKind::Stage,
            id: id.to_string(),
            field: Some(format!("entry.{key}")),
            old: ov.cloned(),
            new: nv.cloned(),
            class: Class::Breaking,
            note: Some(format!(
                "{how}; stage counts before and after no longer compare"
            )),
        });
    }
}

/// Values written differently that mean the same: `>=15%` and `>= 15%`,
/// `24h` and `1d`, owners listed in another order.
fn equivalent(key: &str, old: Option<&Value>, new: Option<&Value>) -> bool {
    let (Some(o), Some(n)) = (old, new) else {
        return false;
    };
    match key {
        "target" | "warn" => match (o.as_str(), n.as_str()) {
            (Some(a), Some(b)) => {
                matches!((a.parse::<Target>(), b.parse::<Target>()), (Ok(x), Ok(y)) if x == y)
            }
            _ => false,
        },
        "within" | "accept_within" | "length" => match (o.as_str(), n.as_str()) {
            (Some(a), Some(b)) => {
                matches!((a.parse::<Duration>(), b.parse::<Duration>()), (Ok(x), Ok(y)) if x == y)
            }
            _ => false,
        },
        "owners" | "from" => {
            let set = |v: &Value| -> Option<BTreeSet<String>> {
                v.as_array()
                    .map(|a| a.iter().map(|x| x.to_string()).collect())
            };
            set(o).is_some() && set(o) == set(n)
        }
        _ => false,
    }
}

/// Tightened or loosened by the direction of a target: raising `>= 400` tightens,
/// raising `<= 24h` loosens. `None` when the two do not compare.
pub fn target_direction(old: &str, new: &str) -> Option<Class> {
    let (o, n) = (old.parse::<Target>().ok()?, new.parse::<Target>().ok()?);
    let direction = o.comparison.direction();
    if direction == 0
        || n.comparison.direction() != direction
        || std::mem::discriminant(&o.value) != std::mem::discriminant(&n.value)
    {
        return None;
    }
    let delta = (n.value.magnitude() - o.value.magnitude()) * f64::from(direction);
    let strict = |c: crate::model::target::Comparison| {
        matches!(
            c,
            crate::model::target::Comparison::MoreThan | crate::model::target::Comparison::LessThan
        )
    };
    match delta.partial_cmp(&0.0)? {
        std::cmp::Ordering::Greater => Some(Class::Tightened),
        std::cmp::Ordering::Less => Some(Class::Loosened),
        // Same value: `>= 15%` to `> 15%` excludes the boundary, so it tightens.
        std::cmp::Ordering::Equal => match (strict(o.comparison), strict(n.comparison)) {
            (false, true) => Some(Class::Tightened),
            (true, false) => Some(Class::Loosened),
            _ => Some(Class::Changed),
        },
    }
}

fn classify(
    kind: EntityKind,
    key: &str,
    old: Option<&Value>,
    new: Option<&Value>,
) -> (Class, Option<String>) {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    match (kind, key) {
        (EntityKind::Goal | EntityKind::Commitment, "target" | "warn") => match (s(old), s(new)) {
            (Some(o), Some(n)) => match target_direction(&o, &n) {
                Some(c) => (c, None),
                None => (Class::Breaking, Some("the target now compares differently; periods before and after do not compare".into())),
            },
            (None, Some(_)) => (Class::Tightened, Some("a warn threshold now warns before the target fails".into())),
            (Some(_), None) => (Class::Loosened, Some("no more warning before the target fails".into())),
            _ => (Class::Changed, None),
        },
        (EntityKind::Goal | EntityKind::Commitment, "metric") => (
            Class::Breaking,
            Some("measured by another metric: results before and after do not compare".into()),
        ),
        (EntityKind::Goal | EntityKind::Commitment, "owners" | "provider" | "consumer") => (Class::Ownership, None),
        (EntityKind::Goal | EntityKind::Commitment, "period") => (
            Class::Breaking,
            Some("judged over another period: results before and after do not compare".into()),
        ),
        (EntityKind::Metric, "owners") => (Class::Ownership, None),
        (EntityKind::Metric, "unit") => (Class::Breaking, Some("the unit changed: targets in the old unit no longer fit".into())),
        (EntityKind::Metric, "name" | "description") => (Class::Changed, None),
        (EntityKind::Metric, _) => (
            Class::Breaking,
            Some("the metric's definition changed: numbers before and after no longer compare".into()),
        ),
        (EntityKind::Stage, "owner") => (Class::Ownership, None),
        (EntityKind::Stage, "entry") => (
            Class::Breaking,
            Some("the stage's entry criteria changed: counts before and after no longer compare".into()),
        ),
        (EntityKind::Handoff, "accept_within") => {
            let d = |v: Option<&Value>| v.and_then(Value::as_str).and_then(|t| t.parse::<Duration>().ok());
            match (d(old), d(new)) {
                (Some(o), Some(n)) if n < o => (Class::Tightened, Some("a shorter window to accept".into())),
                (Some(o), Some(n)) if n > o => (Class::Loosened, Some("a longer window to accept".into())),
                _ => (Class::Changed, None),
            }
        }
        (EntityKind::Handoff, "to") => (Class::Ownership, None),
        (EntityKind::Handoff, "reason_required") => match new.and_then(Value::as_bool) {
            Some(true) => (Class::Tightened, Some("rejections must now carry a reason".into())),
            _ => (Class::Loosened, Some("rejections no longer need a reason".into())),
        },
        (EntityKind::Review, "every_weeks") => {
            let n = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
            if n(new) < n(old) {
                (Class::Tightened, Some("the teams meet more often".into()))
            } else {
                (Class::Loosened, Some("the teams meet less often".into()))
            }
        }
        (EntityKind::Defaults, "period") => (
            Class::Breaking,
            Some("goals and commitments without a period of their own are now judged over another period".into()),
        ),
        (EntityKind::Defaults, "currency") => (
            Class::Breaking,
            Some("currency metrics are now in another currency: amounts before and after do not compare".into()),
        ),
        (EntityKind::Organization, "time_zone" | "fiscal_year_start" | "week_start") => (
            Class::Breaking,
            Some("period boundaries moved: periods before and after do not compare".into()),
        ),
        _ => (Class::Changed, None),
    }
}

/// Counts of changes by class.
pub fn counts(changes: &[Change]) -> BTreeMap<Class, usize> {
    let mut m = BTreeMap::new();
    for c in changes {
        *m.entry(c.class).or_insert(0) += 1;
    }
    m
}
