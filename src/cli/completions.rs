//! `revalign completions`: shell completion scripts, generated from the CLI
//! definition so they never drift from the flags.

use clap::CommandFactory;
use clap_complete::Shell;

use super::{Cli, Ctx, Exit, Format, Output};

/// Print the completion script for a shell.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  revalign completions bash > ~/.local/share/bash-completion/completions/revalign\n  revalign completions zsh > \"${fpath[1]}/_revalign\"\n  revalign completions fish > ~/.config/fish/completions/revalign.fish"
)]
pub struct Args {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Runs `completions`.
pub fn run(ctx: &Ctx, args: Args) -> Output {
    if let Err(out) = ctx.formats("completions", &[Format::Human]) {
        return out;
    }
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "revalign", &mut script);
    match String::from_utf8(script) {
        Ok(stdout) => Output::ok(stdout),
        Err(_) => Output::error(
            Exit::Environment,
            "the completion script is not UTF-8",
            "report this as a bug",
        ),
    }
}
