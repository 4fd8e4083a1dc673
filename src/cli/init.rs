//! `revalign init`: a commented starter alignment that validates cleanly.

use std::io::Write;
use std::path::PathBuf;

use super::{Ctx, Exit, Format, Output};
use crate::model::FileKind;
use crate::schema::schema_text;

/// Create a commented starter alignment (manifest, metrics, goals, SLA, lead
/// definitions) with schema headers, and the schemas beside it in `schemas/`.
/// It validates cleanly. Nothing is overwritten: if any of the files exists,
/// nothing is written.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  revalign init\n  revalign init alignment --organization \"Acme Inc.\" --time-zone America/New_York"
)]
pub struct Args {
    /// Where to create the alignment.
    #[arg(default_value = "alignment")]
    pub dir: PathBuf,
    /// The organisation's name.
    #[arg(long, default_value = "Example Co")]
    pub organization: String,
    /// The IANA time zone periods are evaluated in.
    #[arg(long, default_value = "UTC")]
    pub time_zone: String,
}

/// The starter files: name and text.
pub const TEMPLATES: [(&str, &str); 5] = [
    ("revalign.toml", include_str!("init/revalign.toml")),
    ("metrics.toml", include_str!("init/metrics.toml")),
    ("goals.toml", include_str!("init/goals.toml")),
    ("sla.toml", include_str!("init/sla.toml")),
    ("leads.toml", include_str!("init/leads.toml")),
];

fn toml_string(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Runs `init`.
pub fn run(ctx: &Ctx, args: Args) -> Output {
    if let Err(out) = ctx.formats("init", &[Format::Human]) {
        return out;
    }
    if jiff::tz::TimeZone::get(&args.time_zone).is_err() {
        return Output::error(
            Exit::Usage,
            format!("`{}` is not an IANA time zone", args.time_zone),
            "pass a name such as America/New_York, Europe/Berlin or UTC",
        );
    }
    let dir = ctx.path(&args.dir);
    let mut files: Vec<(PathBuf, PathBuf, String)> = TEMPLATES
        .iter()
        .map(|(name, text)| {
            let text = text
                .replace("{organization}", &toml_string(&args.organization))
                .replace("{time_zone}", &toml_string(&args.time_zone));
            (args.dir.join(name), dir.join(name), text)
        })
        .collect();
    for kind in FileKind::ALL {
        let name = format!("schemas/{}", kind.schema_file());
        files.push((args.dir.join(&name), dir.join(&name), schema_text(kind)));
    }
    let existing: Vec<String> = files
        .iter()
        .filter(|(_, path, _)| path.exists())
        .map(|(shown, _, _)| shown.display().to_string())
        .collect();
    if !existing.is_empty() {
        return Output::error(
            Exit::Usage,
            format!("not overwriting existing files: {}", existing.join(", ")),
            "run init in an empty directory, or move these files away first",
        );
    }
    let mut log = String::new();
    for (shown, path, text) in &files {
        let created = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| {
                // create_new: never clobber a file that appeared since the check above.
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(path)?;
                f.write_all(text.as_bytes())
            });
        if let Err(e) = created {
            return Output::error(
                Exit::Environment,
                format!("cannot create `{}`: {e}", shown.display()),
                "check that the directory is writable; files already created are kept",
            );
        }
        log.push_str(&format!("created {}\n", shown.display()));
    }
    if !ctx.quiet {
        log.push_str(&format!(
            "\nNext: edit the files (teams' heads, targets), then run `revalign validate {}`.\n",
            args.dir.display()
        ));
    }
    Output::ok(log)
}
