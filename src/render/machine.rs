//! Machine-readable output: JSON (stable, documented in the README), GitHub
//! workflow annotations, and SARIF 2.1.0 for code-scanning tools.

use serde_json::{Value, json};

use super::{Location, Summary, location};
use crate::load::Sources;
use crate::model::{Code, Finding, Severity};

/// The version of the JSON output format; bumped only on incompatible change.
pub const JSON_VERSION: u32 = 1;

fn loc_json(loc: &Option<Location>) -> Value {
    match loc {
        Some(l) => json!({
            "file": l.file,
            "line": l.line,
            "column": l.column,
            "end_line": l.end_line,
            "end_column": l.end_column,
        }),
        None => Value::Null,
    }
}

/// The findings as one JSON document.
pub fn json(findings: &[Finding], sources: &Sources, directory: &str) -> String {
    let s = Summary::of(findings);
    let items: Vec<Value> = findings
        .iter()
        .map(|f| {
            let loc = f.place.as_ref().and_then(|p| location(sources, p));
            json!({
                "code": f.code.as_str(),
                "severity": f.severity.as_str(),
                "message": f.message,
                "help": f.help,
                "label": f.label,
                "location": loc_json(&loc),
                "related": f.related.iter().map(|(p, text)| json!({
                    "message": text,
                    "location": loc_json(&location(sources, p)),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({
        "version": JSON_VERSION,
        "directory": directory,
        "files": sources.files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        "summary": { "errors": s.errors, "warnings": s.warnings },
        "findings": items,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub(crate) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions workflow commands: one `::error` or `::warning` per finding,
/// which GitHub shows on the file's line in the pull request.
pub fn github(findings: &[Finding], sources: &Sources) -> String {
    let mut out = String::new();
    for f in findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut props = Vec::new();
        if let Some(l) = f.place.as_ref().and_then(|p| location(sources, p)) {
            props.push(format!("file={}", escape_property(&l.file)));
            props.push(format!("line={}", l.line));
            props.push(format!("col={}", l.column));
            props.push(format!("endLine={}", l.end_line));
            if l.end_line == l.line {
                props.push(format!("endColumn={}", l.end_column));
            }
        }
        props.push(format!(
            "title={}",
            escape_property(&format!("revalign {}", f.code))
        ));
        let mut message = f.message.clone();
        if let Some(h) = &f.help {
            message.push_str(&format!("\nhelp: {h}"));
        }
        out.push_str(&format!(
            "::{level} {}::{}\n",
            props.join(","),
            escape_data(&message)
        ));
    }
    out
}

/// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
pub fn sarif(findings: &[Finding], sources: &Sources) -> String {
    let rules: Vec<Value> = Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "shortDescription": { "text": c.summary() },
                "defaultConfiguration": { "level": match c.severity() {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                }},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut text = f.message.clone();
            if let Some(h) = &f.help {
                text.push_str(&format!("\nhelp: {h}"));
            }
            let locations: Vec<Value> = f
                .place
                .as_ref()
                .and_then(|p| location(sources, p))
                .map(|l| {
                    json!({ "physicalLocation": {
                        "artifactLocation": { "uri": l.file },
                        "region": {
                            "startLine": l.line,
                            "startColumn": l.column,
                            "endLine": l.end_line,
                            "endColumn": l.end_column,
                        },
                    }})
                })
                .into_iter()
                .collect();
            json!({
                "ruleId": f.code.as_str(),
                "ruleIndex": Code::ALL.iter().position(|c| *c == f.code),
                "level": match f.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": { "text": text },
                "locations": locations,
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "revalign",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
