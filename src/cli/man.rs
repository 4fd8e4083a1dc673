//! `revalign man`: the man page (roff), generated from the CLI definition, one
//! page for revalign with a section per command.

use clap::CommandFactory;

use super::{Cli, Ctx, Exit, Format, Output};

/// Print the man page (roff), or write one page per command to a folder.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  revalign man | man -l -\n  revalign man --out-dir /usr/local/share/man/man1   # revalign.1, revalign-check.1, ..."
)]
pub struct Args {
    /// Write `revalign.1` and `revalign-<command>.1` here instead of printing
    /// `revalign.1`. A page revalign wrote before is replaced; any other file
    /// of the same name is left alone (exit 2).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<std::path::PathBuf>,
}

fn render(cmd: clap::Command) -> Result<String, String> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .map_err(|e| e.to_string())?;
    String::from_utf8(page).map_err(|e| e.to_string())
}

/// Runs `man`.
pub fn run(ctx: &Ctx, args: Args) -> Output {
    if let Err(out) = ctx.formats("man", &[Format::Human]) {
        return out;
    }
    let mut cli = Cli::command();
    cli.build();
    let Some(dir) = args.out_dir else {
        return match render(cli) {
            Ok(page) => Output::ok(page),
            Err(e) => Output::error(Exit::Environment, e, "report this as a bug"),
        };
    };
    let dir = ctx.path(&dir);
    let mut pages = vec![("revalign.1".to_string(), cli.clone())];
    for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("revalign-{}", sub.get_name());
        pages.push((format!("{name}.1"), sub.clone().name(name)));
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return Output::error(
            Exit::Environment,
            format!("cannot create `{}`: {e}", dir.display()),
            "pass a folder you can write to",
        );
    }
    // Refuse before writing anything: a file of the same name that is not a
    // page of ours belongs to someone else.
    for (file, _) in &pages {
        let path = dir.join(file);
        if path.exists() {
            let ours = std::fs::read_to_string(&path).is_ok_and(|t| {
                t.lines()
                    .take(5)
                    .any(|l| l.to_ascii_lowercase().starts_with(".th revalign"))
            });
            if !ours {
                return Output::error(
                    Exit::Usage,
                    format!("`{}` exists and is not a revalign man page", path.display()),
                    "move it away, or pass another --out-dir",
                );
            }
        }
    }
    let mut written = String::new();
    for (file, cmd) in pages {
        let path = dir.join(&file);
        let page = match render(cmd) {
            Ok(p) => p,
            Err(e) => return Output::error(Exit::Environment, e, "report this as a bug"),
        };
        if let Err(e) = std::fs::write(&path, page) {
            return Output::error(
                Exit::Environment,
                format!("cannot write `{}`: {e}", path.display()),
                "pass a folder you can write to",
            );
        }
        written.push_str(&format!("wrote {}\n", path.display()));
    }
    Output::ok(written)
}
