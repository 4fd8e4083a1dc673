//! Human output through miette: a source snippet with a label on the exact span,
//! the code, and a help line, for every finding; then a summary line.

use std::fmt;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};

use super::{Summary, plural};
use crate::load::{SourceFile, Sources};
use crate::model::{Finding, Place, Severity};

/// A file as miette sees it. miette finds lines by scanning the text from the
/// start; this starts the scan at the line the snippet starts on, found in the
/// file's line index, so thousands of findings in a large file stay fast.
#[derive(Debug)]
struct Windowed<'a> {
    file: &'a SourceFile,
}

impl SourceCode for Windowed<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let text = self.file.text.as_str();
        let (line, _) = self.file.line_col(span.offset());
        let first = (line - 1).saturating_sub(before);
        let start = self.file.line_start(first);
        let inner = SourceSpan::new(span.offset().saturating_sub(start).into(), span.len());
        let window = &text[start..];
        let c = window.read_span(&inner, before, after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.file.name.clone(),
            c.data(),
            SourceSpan::new((c.span().offset() + start).into(), c.span().len()),
            c.line() + first,
            c.column(),
            c.line_count(),
        )))
    }
}

#[derive(Debug)]
struct Diag<'a> {
    message: String,
    code: Option<String>,
    severity: miette::Severity,
    help: Option<String>,
    labels: Vec<LabeledSpan>,
    source: Option<Windowed<'a>>,
    related: Vec<Diag<'a>>,
}

impl fmt::Display for Diag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diag<'_> {}

impl Diagnostic for Diag<'_> {
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

fn source_and_label<'a>(
    sources: &'a Sources,
    place: Option<&Place>,
    label: String,
) -> (Option<Windowed<'a>>, Option<LabeledSpan>) {
    let Some(place) = place else {
        return (None, None);
    };
    let Some(file) = sources.get(place.file) else {
        return (None, None);
    };
    let span = place.span.clone().unwrap_or(0..0);
    let source = Windowed { file };
    let label =
        LabeledSpan::new_primary_with_span(Some(label), span.start..span.end.max(span.start));
    (Some(source), Some(label))
}

fn diag<'a>(sources: &'a Sources, f: &Finding) -> Diag<'a> {
    let label = f.label.clone().unwrap_or_else(|| "here".to_string());
    let (source, label) = source_and_label(sources, f.place.as_ref(), label);
    let mut labels: Vec<LabeledSpan> = label.into_iter().collect();
    // A related place near the primary one is labelled in the same snippet; one
    // farther away or in another file gets a snippet of its own after it, so the
    // first location shown is always the finding's own.
    let line_of = |p: &Place| {
        sources
            .get(p.file)
            .map(|file| file.line_col(p.span.as_ref().map_or(0, |s| s.start)).0)
    };
    let same_file = |p: &Place| {
        f.place.as_ref().is_some_and(|q| {
            q.file == p.file
                && line_of(q)
                    .zip(line_of(p))
                    .is_some_and(|(a, b)| a.abs_diff(b) <= 6)
        })
    };
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
            let (source, label) = source_and_label(sources, Some(place), String::new());
            let label = label.map(|l| LabeledSpan::new_primary_with_span(None, *l.inner()));
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
    let files = plural(
        sources.files.iter().filter(|f| f.kind.is_some()).count(),
        "file",
    );
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
