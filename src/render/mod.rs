//! Renderers: findings as human text (miette), JSON, GitHub workflow annotations
//! and SARIF. Each returns the text; the binary decides where it goes.

pub mod changes;
mod human;
mod machine;
pub mod report;
pub mod scorecard;

pub use human::human;
pub use machine::{github, json, sarif};

use crate::load::Sources;
use crate::model::{Finding, Severity};

/// A finding's place as file, line and column (1-based, columns in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file name as shown to the user.
    pub file: String,
    /// First line.
    pub line: usize,
    /// First column.
    pub column: usize,
    /// Last line.
    pub end_line: usize,
    /// Column just past the end.
    pub end_column: usize,
}

/// Where a place is, in lines and columns.
pub fn location(sources: &Sources, place: &crate::model::Place) -> Option<Location> {
    let file = sources.get(place.file)?;
    let span = place.span.clone().unwrap_or(0..0);
    let (line, column) = file.line_col(span.start);
    let (end_line, end_column) = file.line_col(span.end.max(span.start));
    Some(Location {
        file: file.name.clone(),
        line,
        column,
        end_line,
        end_column,
    })
}

/// Counts of findings by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
}

impl Summary {
    /// Counts the findings.
    pub fn of(findings: &[Finding]) -> Summary {
        let mut s = Summary::default();
        for f in findings {
            match f.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
            }
        }
        s
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Sorts findings for output: by file, then position, then code; findings
/// without a place come first.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by_key(|f| {
        (
            f.place
                .as_ref()
                .map(|p| (p.file, p.span.as_ref().map_or(0, |s| s.start))),
            f.code,
        )
    });
}
