//! `revalign validate`: every problem in the alignment files, at once.

use std::path::PathBuf;

use super::{Ctx, Exit, Format, Output};
use crate::load::{default_dir, load_dir};
use crate::model::Severity;
use crate::render;

/// Check the alignment files: TOML syntax in every file, each file against its
/// JSON Schema, then the rules across files (references, duplicate ids, units,
/// thresholds, stage order, joint ownership). Every problem is reported in one
/// run with file:line:col, a label on the exact place, a help line and a stable code.
///
/// Formats: human, json, github, sarif.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  revalign validate                       # ./alignment, else .\n  revalign validate examples/acme --format json\n  revalign validate --deny-warnings       # warnings fail too (exit 1)"
)]
pub struct Args {
    /// The alignment directory [default: ./alignment if it exists, else .]
    pub dir: Option<PathBuf>,
    /// Treat warnings as errors (exit 1 when there are any).
    #[arg(long)]
    pub deny_warnings: bool,
}

/// Runs `validate`.
pub fn run(ctx: &Ctx, args: Args) -> Output {
    if let Err(out) = ctx.formats(
        "validate",
        &[Format::Human, Format::Json, Format::Github, Format::Sarif],
    ) {
        return out;
    }
    let shown = args.dir.unwrap_or_else(|| default_dir(&ctx.base));
    let loaded = match load_dir(&ctx.path(&shown), &shown) {
        Ok(l) => l,
        Err(e) => {
            return Output::error(
                Exit::Usage,
                e.to_string(),
                "pass the directory that holds revalign.toml, or run `revalign init` to create one",
            );
        }
    };
    let mut findings = loaded.findings;
    if args.deny_warnings {
        for f in &mut findings {
            f.severity = Severity::Error;
        }
    }
    render::sort(&mut findings);
    let summary = render::Summary::of(&findings);
    let shown_name = shown.display().to_string();
    let stdout = match ctx.format {
        Format::Human | Format::Markdown | Format::Csv | Format::Junit | Format::Html => {
            let visible: Vec<_> = if ctx.quiet {
                findings
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .cloned()
                    .collect()
            } else {
                findings.clone()
            };
            let text = render::human(&visible, &loaded.sources, ctx.color, &shown_name);
            if ctx.quiet && summary.errors == 0 {
                String::new()
            } else {
                text
            }
        }
        Format::Json => render::json(&findings, &loaded.sources, &shown_name),
        Format::Github => render::github(&findings, &loaded.sources),
        Format::Sarif => render::sarif(&findings, &loaded.sources),
    };
    Output {
        stdout,
        stderr: String::new(),
        exit: if summary.errors > 0 {
            Exit::Findings
        } else {
            Exit::Ok
        },
    }
}
