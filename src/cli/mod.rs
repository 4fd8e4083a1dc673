//! The command line: global flags, one module per subcommand, and the mapping of
//! outcomes to exit codes. Commands return their output; `main` prints it.

pub mod check;
pub mod codeowners;
pub mod completions;
pub mod diff;
pub mod history;
pub mod init;
pub mod man;
pub mod report;
pub mod schema;
pub mod show;
pub mod validate;
pub mod warehouse;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

/// The exit codes, shared by every command (documented in the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success: no errors (warnings allowed unless `--deny-warnings`).
    Ok = 0,
    /// Findings: validation errors, a missed target.
    Findings = 1,
    /// Usage or configuration error: bad flags, files that cannot be loaded.
    Usage = 2,
    /// Environment error: git, network, a data source.
    Environment = 3,
}

/// What a command produced.
#[derive(Debug)]
pub struct Output {
    /// The result, for standard output.
    pub stdout: String,
    /// Messages for standard error.
    pub stderr: String,
    /// The exit code.
    pub exit: Exit,
}

impl Output {
    /// A successful result.
    pub fn ok(stdout: String) -> Output {
        Output {
            stdout,
            stderr: String::new(),
            exit: Exit::Ok,
        }
    }

    /// A failure the user must fix before the command can run, with the next step.
    pub fn error(exit: Exit, message: impl AsRef<str>, help: impl AsRef<str>) -> Output {
        Output {
            stdout: String::new(),
            stderr: format!("error: {}\n  help: {}\n", message.as_ref(), help.as_ref()),
            exit,
        }
    }
}

/// Output formats. Not every command has every format; each says which it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text for people, with source snippets (colour on a terminal).
    Human,
    /// One JSON document (stable; see the README).
    Json,
    /// GitHub Actions workflow annotations.
    Github,
    /// SARIF 2.1.0 for code-scanning tools.
    Sarif,
    /// Markdown, for pull-request comments and job summaries.
    Markdown,
    /// CSV, one row per item.
    Csv,
    /// JUnit XML, one test case per item.
    Junit,
    /// One self-contained HTML page.
    Html,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Github => "github",
            Format::Sarif => "sarif",
            Format::Markdown => "markdown",
            Format::Csv => "csv",
            Format::Junit => "junit",
            Format::Html => "html",
        }
    }
}

/// When to colour human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Sales and marketing alignment as code: validate, review and check the joint
/// goals, the SLA and the lead definitions kept as TOML in git.
#[derive(Debug, Parser)]
#[command(
    name = "revalign",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "Examples:\n  revalign init                      # a starter alignment in ./alignment\n  revalign validate examples/acme    # check an alignment\n  revalign validate --format github  # annotations in GitHub Actions\n  revalign diff --format markdown     # this branch's changes, for the PR\n  revalign history --since 2026-01-01\n\nExit codes: 0 ok, 1 findings, 2 usage or configuration error, 3 environment error."
)]
pub struct Cli {
    /// Flags every command takes.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, clap::Args)]
pub struct Global {
    /// Output format (each command lists the ones it has).
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// When to use colour in human output; `NO_COLOR` turns `auto` off.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Print less: errors only, no summary when there are none.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Run as if started in DIR (like `git -C`).
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the alignment files: TOML syntax, schemas and cross-file rules, every problem at once.
    Validate(validate::Args),
    /// Create a commented starter alignment that validates cleanly; never overwrites a file.
    Init(init::Args),
    /// Print the JSON Schema of a kind of file, or write them all to a folder.
    Schema(schema::Args),
    /// Compare the agreement at two revisions: tightened, loosened, breaking, ownership.
    Diff(diff::Args),
    /// The audit log: every commit that changed the agreement, with its changes.
    History(history::Args),
    /// The agreement as it stood at a revision or a date.
    Show(show::Args),
    /// Measure the goals and SLA commitments from the data and hold them against their targets.
    Check(check::Args),
    /// The pack for the joint meeting: scorecard, trends against the targets in force, changes, breaches, drift.
    Report(report::Args),
    /// Warehouse sources: print the DDL of the layout a postgres source reads.
    Warehouse(warehouse::Args),
    /// Generate the CODEOWNERS block that puts the department heads on every change.
    Codeowners(codeowners::Args),
    /// Print the shell completion script for bash, zsh, fish, elvish or PowerShell.
    Completions(completions::Args),
    /// Print the man page, or write one per command to a folder.
    Man(man::Args),
}

/// What the environment says about the output, decided by `main`.
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    /// Standard output is a terminal.
    pub stdout_is_terminal: bool,
    /// `NO_COLOR` is set to a non-empty value.
    pub no_color: bool,
}

/// The context every command runs in.
#[derive(Debug)]
pub struct Ctx {
    /// The directory relative paths start from (`-C`, else the current one).
    pub base: PathBuf,
    /// Colour human output.
    pub color: bool,
    /// `-q`.
    pub quiet: bool,
    /// `--format`.
    pub format: Format,
}

impl Ctx {
    /// A path given on the command line, resolved against `-C`.
    pub fn path(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    /// Refuses a format the command does not have.
    pub fn formats(&self, command: &str, allowed: &[Format]) -> Result<(), Output> {
        if allowed.contains(&self.format) {
            return Ok(());
        }
        let names: Vec<&str> = allowed.iter().map(|f| f.name()).collect();
        Err(Output::error(
            Exit::Usage,
            format!(
                "`revalign {command}` has no `{}` format",
                self.format.name()
            ),
            format!("use --format {}", names.join(", --format ")),
        ))
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli, terminal: Terminal) -> Output {
    let base = cli
        .global
        .chdir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    if !base.is_dir() {
        return Output::error(
            Exit::Usage,
            format!("cannot change to `{}`: no such directory", base.display()),
            "pass an existing directory to -C",
        );
    }
    let color = match cli.global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal.stdout_is_terminal && !terminal.no_color,
    };
    let ctx = Ctx {
        base,
        color,
        quiet: cli.global.quiet,
        format: cli.global.format,
    };
    match cli.command {
        Command::Validate(args) => validate::run(&ctx, args),
        Command::Init(args) => init::run(&ctx, args),
        Command::Schema(args) => schema::run(&ctx, args),
        Command::Diff(args) => diff::run(&ctx, args),
        Command::History(args) => history::run(&ctx, args),
        Command::Show(args) => show::run(&ctx, args),
        Command::Codeowners(args) => codeowners::run(&ctx, args),
        Command::Check(args) => check::run(&ctx, args),
        Command::Report(args) => report::run(&ctx, args),
        Command::Warehouse(args) => warehouse::run(&ctx, args),
        Command::Completions(args) => completions::run(&ctx, args),
        Command::Man(args) => man::run(&ctx, args),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
