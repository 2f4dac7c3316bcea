//! The command layer: one file per command, each `Args` (clap derive) → a call into
//! [`crate::pipeline`] (or a stage) → a rendering from [`crate::report`] → an exit code.
//!
//! Nothing below this module sees a CLI type: flags are mapped here into the library's own
//! option types ([`crate::report::Format`], [`crate::verify::Level`], …). Reports go to
//! `out` (stdout); logs and errors go to stderr.

pub mod apply;
pub mod ci;
pub mod docs;
pub mod init;
pub mod mark;
pub mod plan;
pub mod progress;
pub mod promote;
pub mod resolve;
pub mod schema;
pub mod site;
pub mod validate;

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Let go of a command's result without freeing it: the process ends right after the
/// command, and giving a 100,000-listing catalogue and its index back allocation by
/// allocation costs several percent of the run. Only for values whose drop does nothing else
/// (no lock, no temporary file).
pub(crate) fn discard<T>(value: T) {
    std::mem::forget(value);
}

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: findings (invalid catalogue, failed resolution, …).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status: usage or internal error (clap also uses 2 for usage errors).
pub const EXIT_ERROR: u8 = 2;
/// Exit status: `plan --detailed-exitcode` found pending changes.
pub const EXIT_CHANGES: u8 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    about = "GitOps reconciler for a container-image catalogue"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub cat: CatalogueArgs,
    /// More log output on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to colour output: `auto` colours a terminal unless `NO_COLOR` is set.
    #[arg(long, global = true, value_enum, default_value_t)]
    pub color: ColorChoice,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Colour a stream that is (`is_terminal`) or is not a terminal? `auto` follows the
    /// terminal and the `NO_COLOR` convention (set and non-empty: no colour).
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// How the report on stdout is presented (from the global flags and the terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ui {
    /// Diagnostics with source snippets and colours (a terminal, or `--color always`).
    pub color: bool,
}

#[derive(Debug, Args, Clone)]
pub struct CatalogueArgs {
    /// Catalogue directory (before or after the subcommand).
    #[arg(long, default_value = ".", global = true, env = "BERTH_CATALOGUE")]
    pub catalogue: PathBuf,
}

impl CatalogueArgs {
    /// The catalogue directory, or an error (exit 2) when it is not a berth catalogue: every
    /// command that takes `--catalogue` calls this before reading or writing anything.
    pub fn root(&self) -> anyhow::Result<&std::path::Path> {
        crate::catalogue::load::check_root(&self.catalogue)?;
        Ok(&self.catalogue)
    }
}

#[derive(Debug, Args, Clone)]
pub struct IndexArgs {
    /// Index file (default: `index` from berth.yaml, else index.json in the catalogue).
    #[arg(long)]
    pub index: Option<PathBuf>,
}

/// `--format` of the reporting commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Markdown,
    Json,
}

impl From<Format> for crate::report::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Text => crate::report::Format::Text,
            Format::Markdown => crate::report::Format::Markdown,
            Format::Json => crate::report::Format::Json,
        }
    }
}

/// `--verify`: how deep verification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum VerifyLevel {
    /// Resolve tag → digest, read manifests and config.
    Manifest,
    /// Also HEAD every referenced blob (default).
    #[default]
    Blobs,
    /// Download every blob and check its digest.
    Full,
}

impl From<VerifyLevel> for crate::verify::Level {
    fn from(l: VerifyLevel) -> Self {
        match l {
            VerifyLevel::Manifest => crate::verify::Level::Manifest,
            VerifyLevel::Blobs => crate::verify::Level::Blobs,
            VerifyLevel::Full => crate::verify::Level::Full,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the catalogue locally and report every problem at once.
    Validate(validate::ValidateArgs),
    /// Show what `apply` would do.
    Plan(plan::PlanArgs),
    /// Verify, compute versions, write index.json (and commit/push).
    Apply(apply::ApplyArgs),
    /// Resolve CODE@SELECTOR (`1.2.0`, `1.latest`, `latest`) to a pinned pull reference.
    Resolve(resolve::ResolveArgs),
    /// Mark a version: QA failed/passed or delisted (edits the listing in place).
    Mark(mark::MarkArgs),
    /// Promote an image manually.
    Promote(promote::PromoteArgs),
    /// Print the JSON Schemas (or write them to a directory).
    Schema(schema::SchemaArgs),
    /// Create a new catalogue skeleton.
    Init(init::InitArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(docs::CompletionsArgs),
    /// Print berth's man page, or write one page per command into a directory.
    Man(docs::ManArgs),
    /// Run in GitHub Actions: plan on pull requests, apply on the default branch (used by
    /// the action; reads the runner's environment).
    Ci(ci::CiArgs),
    /// Write the store page: a static site of the catalogue, with index.json beside it.
    Site(site::SiteArgs),
}

pub use apply::ApplyArgs;
pub use init::InitArgs;
pub use mark::MarkArgs;
pub use plan::PlanArgs;
pub use promote::PromoteArgs;
pub use resolve::ResolveArgs;
pub use schema::{SchemaArgs, SchemaKind};
pub use validate::ValidateArgs;

/// Run a parsed command line. `Err` means an internal or usage error (exit 2).
/// `stdout_is_terminal` decides `--color auto`.
pub fn run(cli: &Cli, stdout_is_terminal: bool, out: &mut dyn Write) -> anyhow::Result<u8> {
    let ui = Ui {
        color: cli.color.enabled(stdout_is_terminal),
    };
    match &cli.command {
        Command::Validate(a) => validate::run(a, &cli.cat, &ui, out),
        Command::Plan(a) => plan::run(a, &cli.cat, out),
        Command::Apply(a) => apply::run(a, &cli.cat, out),
        Command::Resolve(a) => resolve::run(a, &cli.cat, out),
        Command::Mark(a) => mark::run(a, &cli.cat, out),
        Command::Schema(a) => schema::run(a, out),
        Command::Init(a) => init::run(a, out),
        Command::Promote(a) => promote::run(a, &cli.cat, out),
        Command::Completions(a) => docs::completions(a, out),
        Command::Man(a) => docs::man(a, out),
        Command::Ci(a) => ci::run(a, &cli.cat, out),
        Command::Site(a) => site::run(a, &cli.cat, out),
    }
}
