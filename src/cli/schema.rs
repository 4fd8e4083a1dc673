//! `revalign schema`: the JSON Schemas of the alignment files.

use std::path::PathBuf;

use super::{Ctx, Exit, Format, Output};
use crate::model::FileKind;
use crate::schema::schema_text;

/// Print the JSON Schema of one kind of alignment file, or write every schema
/// (or the one named) to a folder as `<kind>.schema.json`. Point an editor at
/// them with a `#:schema ./schemas/goals.schema.json` first line to have the
/// file checked while it is edited.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  revalign schema goals              # print goals.schema.json\n  revalign schema --out schemas      # write all five schemas"
)]
pub struct Args {
    /// The kind of file: manifest, metrics, goals, sla, leads.
    #[arg(value_parser = ["manifest", "metrics", "goals", "sla", "leads"])]
    pub kind: Option<String>,
    /// Write the schemas to this folder (created if missing) instead of printing.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Runs `schema`.
pub fn run(ctx: &Ctx, args: Args) -> Output {
    if let Err(out) = ctx.formats("schema", &[Format::Human, Format::Json]) {
        return out;
    }
    let kinds: Vec<FileKind> = match args.kind.as_deref().and_then(FileKind::from_name) {
        Some(k) => vec![k],
        None => FileKind::ALL.to_vec(),
    };
    let Some(out_dir) = args.out else {
        return match kinds.as_slice() {
            [one] => Output::ok(schema_text(*one)),
            _ => Output::error(
                Exit::Usage,
                "name a kind to print its schema, or pass --out DIR to write them all",
                "revalign schema goals, or revalign schema --out schemas",
            ),
        };
    };
    let dir = ctx.path(&out_dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return Output::error(
            Exit::Environment,
            format!("cannot create `{}`: {e}", out_dir.display()),
            "choose a folder you can write to",
        );
    }
    let mut written = String::new();
    for kind in kinds {
        let path = dir.join(kind.schema_file());
        if let Err(e) = std::fs::write(&path, schema_text(kind)) {
            return Output::error(
                Exit::Environment,
                format!(
                    "cannot write `{}`: {e}",
                    out_dir.join(kind.schema_file()).display()
                ),
                "choose a folder you can write to",
            );
        }
        if !ctx.quiet {
            written.push_str(&format!(
                "wrote {}\n",
                out_dir.join(kind.schema_file()).display()
            ));
        }
    }
    Output {
        stdout: String::new(),
        stderr: written,
        exit: Exit::Ok,
    }
}
