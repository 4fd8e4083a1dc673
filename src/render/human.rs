//! Human output through miette: a source snippet with a label on the exact span,
//! the code, and a help line, for every finding; then a summary line.

use std::fmt;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode,
};

use super::{Summary, plural};
use crate::load::Sources;
use crate::model::{Finding, Place, Severity};

#[derive(Debug)]
struct Diag {
    message: String,
    code: Option<String>,
    severity: miette::Severity,
    help: Option<String>,
    labels: Vec<LabeledSpan>,
    source: Option<NamedSource<String>>,
    related: Vec<Diag>,
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diag {}

impl Diagnostic for Diag {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code
            .as_ref()
            .map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.clone().into_iter()))
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(self.related.iter().map(|d| d as &dyn Diagnostic)))
        }
    }
}

fn source_and_label(
    sources: &Sources,
    place: Option<&Place>,
    label: String,
) -> (Option<NamedSource<String>>, Option<LabeledSpan>) {
    let Some(place) = place else {
        return (None, None);
    };
    let Some(file) = sources.get(place.file) else {
        return (None, None);
    };
    let span = place.span.clone().unwrap_or(0..0);
    let source = NamedSource::new(file.name.clone(), file.text.clone()).with_language("toml");
    let label =
        LabeledSpan::new_primary_with_span(Some(label), span.start..span.end.max(span.start));
    (Some(source), Some(label))
}

fn diag(sources: &Sources, f: &Finding) -> Diag {
    let label = f.label.clone().unwrap_or_else(|| "here".to_string());
    let (source, label) = source_and_label(sources, f.place.as_ref(), label);
    let mut labels: Vec<LabeledSpan> = label.into_iter().collect();
    let same_file = |p: &Place| f.place.as_ref().is_some_and(|q| q.file == p.file);
    for (place, text) in f.related.iter().filter(|(p, _)| same_file(p)) {
        let span = place.span.clone().unwrap_or(0..0);
        labels.push(LabeledSpan::new_with_span(
            Some(text.clone()),
            span.start..span.end.max(span.start),
        ));
    }
    let related = f
        .related
        .iter()
        .filter(|(p, _)| !same_file(p))
        .map(|(place, text)| {
            let (source, label) = source_and_label(sources, Some(place), text.clone());
            Diag {
                message: text.clone(),
                code: None,
                severity: miette::Severity::Advice,
                help: None,
                labels: label.into_iter().collect(),
                source,
                related: Vec::new(),
            }
        })
        .collect();
    Diag {
        message: f.message.clone(),
        code: Some(f.code.as_str().to_string()),
        severity: match f.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        },
        help: f.help.clone(),
        labels,
        source,
        related,
    }
}

/// Renders findings for a person: snippets with colour when `color` is set.
/// `subject` names what was checked in the summary line.
pub fn human(findings: &[Finding], sources: &Sources, color: bool, subject: &str) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    for f in findings {
        let d = diag(sources, f);
        if handler.render_report(&mut out, &d).is_err() {
            out.push_str(&format!(
                "{}: {} [{}]\n",
                f.severity.as_str(),
                f.message,
                f.code
            ));
        }
        out.push('\n');
    }
    let s = Summary::of(findings);
    let files = plural(sources.files.len(), "file");
    if s.errors == 0 && s.warnings == 0 {
        out.push_str(&format!("{subject}: {files} checked, no problems\n"));
    } else {
        out.push_str(&format!(
            "{subject}: {files} checked, {}, {}\n",
            plural(s.errors, "error"),
            plural(s.warnings, "warning")
        ));
    }
    out
}
