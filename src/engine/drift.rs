//! Lead-definition conformance ("definition drift"): records sitting in a
//! stage whose entry criteria they do not meet.
//!
//! - A record sits in its furthest stage: the last stage, in funnel order
//!   (the order of `[[stage]]` in the lead definitions), it has an entry time
//!   for. Records are judged as exported: the stage they sit in and their
//!   values are the CRM's current ones, so `--as-of` does not rewind them.
//! - It is judged when it entered that stage in the checked span, on its
//!   field values as exported (the CRM's current values), against that stage's
//!   `entry` criteria.
//! - A record with a recycle or disqualify reason (fields `recycle_reason`,
//!   `disqualify_reason`, when the source has them) has left the funnel: it
//!   is counted apart and not judged, since the stage it reached is history.
//! - A stage cannot be judged when the source lacks a field of its criteria
//!   or the entry time of it or of any later stage (a record in a later
//!   stage would look as if it sat in this one): it reports an error naming
//!   the column, never zero drift.

use super::at_stage;
use crate::model::calendar::Millis;
use crate::model::predicate::Predicate;
use crate::model::record::{Compiled, FieldType, Lead, Need, Value};
use crate::source::{SourceError, Stream};

/// How many example records each stage keeps (the first rows of the source).
pub const EXAMPLES: usize = 5;

/// The fields that mark a record as out of the funnel.
pub const LEFT_FUNNEL: [&str; 2] = ["recycle_reason", "disqualify_reason"];

/// What to check: the funnel and the stages with entry criteria.
#[derive(Debug, Clone)]
pub struct DriftSpec {
    /// Every stage id, in funnel order.
    pub funnel: Vec<String>,
    /// The stages with `entry` criteria.
    pub checks: Vec<(String, Predicate)>,
    /// The span judged: records that entered their stage in `[start, end)`.
    pub start: Millis,
    /// The end of the span (exclusive).
    pub end: Millis,
}

/// The conformance of one stage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageDrift {
    /// The stage id.
    pub stage: String,
    /// Records sitting in the stage, entered in the span, judged.
    pub judged: u64,
    /// Of those, records that do not meet the entry criteria.
    pub drifted: u64,
    /// Records in the stage with a recycle or disqualify reason, not judged.
    pub left_funnel: u64,
    /// The first few drifted records (by row).
    pub examples: Vec<DriftExample>,
    /// Why the stage could not be judged.
    pub error: Option<SourceError>,
}

/// A record that does not meet its stage's entry criteria.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftExample {
    /// The CRM's id.
    pub id: String,
    /// Its row in the source.
    pub at: u64,
    /// When it entered the stage.
    pub entered: Millis,
    /// The `owner` field, if the source has one.
    pub owner: Option<String>,
    /// The criteria it fails, with the values found.
    pub failed: String,
}

impl DriftExample {
    /// Its line in the source file; `None` for a warehouse row (`at` 0).
    pub fn row(&self) -> Option<u64> {
        (self.at > 0).then_some(self.at)
    }
}

#[derive(Debug, Clone)]
struct Check {
    /// Position in the funnel.
    rank: usize,
    criteria: Compiled,
    /// Fields and stages whose absence makes the check impossible.
    uses: Vec<String>,
    result: StageDrift,
}

/// The conformance accumulator of one reading thread.
#[derive(Debug, Clone)]
pub(super) struct Drift {
    /// Position in the lead's stage times of each funnel stage, in funnel order.
    funnel: Vec<usize>,
    checks: Vec<Check>,
    start: Millis,
    end: Millis,
    left: Vec<usize>,
    owner: usize,
    fields: crate::model::record::Fields,
}

impl Drift {
    /// Compiles the spec into `need`: every funnel stage, the criteria fields,
    /// the reason fields and the owner.
    pub(super) fn new(spec: &DriftSpec, need: &mut Need) -> Drift {
        let funnel: Vec<usize> = spec
            .funnel
            .iter()
            .map(|s| super::stage_slot(s, &mut need.stages))
            .collect();
        let mut checks = Vec::new();
        for (stage, p) in &spec.checks {
            let Some(rank) = spec.funnel.iter().position(|s| s == stage) else {
                continue;
            };
            let Some(criteria) = Compiled::new(p, &mut need.lead_fields) else {
                continue;
            };
            let mut uses = Vec::new();
            super::collect_fields(&criteria, &need.lead_fields, &mut uses);
            uses.extend(spec.funnel[rank..].iter().cloned());
            checks.push(Check {
                rank,
                criteria,
                uses,
                result: StageDrift {
                    stage: stage.clone(),
                    ..StageDrift::default()
                },
            });
        }
        need.leads = true;
        let left = LEFT_FUNNEL
            .iter()
            .map(|f| need.lead_fields.add(f, FieldType::Text))
            .collect();
        let owner = need.lead_fields.add("owner", FieldType::Text);
        Drift {
            funnel,
            checks,
            start: spec.start,
            end: spec.end,
            left,
            owner,
            fields: need.lead_fields.clone(),
        }
    }

    /// Judges one lead (its future entry times already cleared).
    pub(super) fn lead(&mut self, lead: &Lead) {
        let Some((rank, entered)) = self
            .funnel
            .iter()
            .enumerate()
            .rev()
            .find_map(|(rank, &slot)| at_stage(lead, slot).map(|t| (rank, t)))
        else {
            return;
        };
        if entered < self.start || entered >= self.end {
            return;
        }
        let Some(check) = self.checks.iter_mut().find(|c| c.rank == rank) else {
            return;
        };
        let r = &mut check.result;
        if self
            .left
            .iter()
            .any(|&f| lead.fields.get(f).is_some_and(|v| *v != Value::Missing))
        {
            r.left_funnel += 1;
            return;
        }
        r.judged += 1;
        if check.criteria.test(&lead.fields) {
            return;
        }
        r.drifted += 1;
        if r.examples.len() < EXAMPLES || r.examples.last().is_some_and(|e| e.at > lead.at) {
            let example = DriftExample {
                id: lead.id.clone(),
                at: lead.at,
                entered,
                owner: match lead.fields.get(self.owner) {
                    Some(Value::Text(t)) => Some(t.clone()),
                    _ => None,
                },
                failed: check.criteria.why_not(&lead.fields, &self.fields),
            };
            keep_first(&mut r.examples, example);
        }
    }

    /// Adds another thread's counts.
    pub(super) fn absorb(&mut self, other: Drift) {
        for (mine, theirs) in self.checks.iter_mut().zip(other.checks) {
            let (a, b) = (&mut mine.result, theirs.result);
            a.judged += b.judged;
            a.drifted += b.drifted;
            a.left_funnel += b.left_funnel;
            for e in b.examples {
                keep_first(&mut a.examples, e);
            }
        }
    }

    /// Marks the stages the stream cannot judge.
    pub(super) fn settle(&mut self, r: Result<&Stream, &SourceError>) {
        for c in &mut self.checks {
            match r {
                Ok(stream) => {
                    if let Some(m) = stream.missing.iter().find(|m| c.uses.contains(&m.field)) {
                        c.result.error = Some(SourceError::new(m.message.clone(), m.help.clone()));
                    }
                }
                Err(e) => c.result.error = Some(e.clone()),
            }
        }
    }

    /// The results, in the order of the spec's checks.
    pub(super) fn finish(self) -> Vec<StageDrift> {
        self.checks
            .into_iter()
            .map(|c| {
                let mut r = c.result;
                if r.error.is_some() {
                    r.judged = 0;
                    r.drifted = 0;
                    r.left_funnel = 0;
                    r.examples.clear();
                }
                r
            })
            .collect()
    }
}

/// Inserts an example, keeping the `EXAMPLES` with the lowest rows.
fn keep_first(list: &mut Vec<DriftExample>, e: DriftExample) {
    let i = list.partition_point(|x| x.at < e.at);
    if i < EXAMPLES {
        list.insert(i, e);
        list.truncate(EXAMPLES);
    }
}
