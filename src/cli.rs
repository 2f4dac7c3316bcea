//! Command-line interface definition (clap derive). Parsing only; behaviour lives in the
//! stage modules and `commands.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// More log output on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Args, Clone)]
pub struct CatalogueArgs {
    /// Catalogue directory.
    #[arg(long, default_value = ".", global = true)]
    pub catalogue: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct IndexArgs {
    /// Index file (default: `index` from berth.yaml, else index.json in the catalogue).
    #[arg(long)]
    pub index: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Markdown,
    Json,
}

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the catalogue locally and report every problem at once.
    Validate(ValidateArgs),
    /// Show what `apply` would do.
    Plan(PlanArgs),
    /// Verify, compute versions, write index.json (and commit/push).
    Apply(ApplyArgs),
    /// Resolve CODE@SELECTOR (`1.2.0`, `1.latest`, `latest`) to a pinned pull reference.
    Resolve(ResolveArgs),
    /// Mark a version: QA failed/passed or delisted (edits the listing in place).
    Mark(MarkArgs),
    /// Promote an image manually.
    Promote(PromoteArgs),
    /// Print the JSON Schemas (or write them to a directory).
    Schema(SchemaArgs),
    /// Create a new catalogue skeleton.
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub cat: CatalogueArgs,
    #[command(flatten)]
    pub index: IndexArgs,
    /// Output format of the diagnostics.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub cat: CatalogueArgs,
    #[command(flatten)]
    pub index: IndexArgs,
    /// Compare against the index at this git revision instead of the working tree's.
    #[arg(long)]
    pub base: Option<String>,
    /// Do not contact registries (verification shown as skipped).
    #[arg(long)]
    pub offline: bool,
    /// Verification depth.
    #[arg(long = "verify", value_enum, default_value_t)]
    pub verify: VerifyLevel,
    /// Also re-resolve the newest released version of each image and report drift when its
    /// tag moved (the pin stays).
    #[arg(long)]
    pub check_drift: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Exit with 3 when the plan has changes.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also write the plan as JSON to this file (one run for a PR comment and for machines:
    /// registries are asked once).
    #[arg(long)]
    pub json_out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub cat: CatalogueArgs,
    #[command(flatten)]
    pub index: IndexArgs,
    /// Do not contact registries.
    #[arg(long)]
    pub offline: bool,
    /// Record verification as skipped (required with --offline).
    #[arg(long)]
    pub skip_verify: bool,
    #[arg(long = "verify", value_enum, default_value_t)]
    pub verify: VerifyLevel,
    /// Also re-resolve the newest released version of each image and record drift when its
    /// tag moved (the pin stays).
    #[arg(long)]
    pub check_drift: bool,
    /// Commit the index (and nothing else) to the catalogue repository.
    #[arg(long)]
    pub commit: bool,
    /// Push the commit (implies --commit).
    #[arg(long)]
    pub push: bool,
    /// Output format of the report.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Write the new index here instead of over the index it read (a dry run that keeps
    /// the catalogue untouched).
    #[arg(long, conflicts_with_all = ["commit", "push"])]
    pub out: Option<PathBuf>,
    /// Remote to push to.
    #[arg(long, default_value = "origin")]
    pub remote: String,
    /// Branch to push (default: the current branch).
    #[arg(long)]
    pub branch: Option<String>,
    /// How many times to push when the branch keeps moving (fetch, regenerate, retry).
    #[arg(long, default_value_t = 5)]
    pub max_push_attempts: u32,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    #[command(flatten)]
    pub cat: CatalogueArgs,
    #[command(flatten)]
    pub index: IndexArgs,
    /// CODE@SELECTOR, e.g. `ci-base@1.latest`.
    pub target: String,
    /// The project asking; the image's debug project also sees testing versions.
    #[arg(long)]
    pub project: Option<String>,
    /// Print JSON instead of the bare pull reference.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["qa_failed", "qa_passed", "delist"])))]
pub struct MarkArgs {
    #[command(flatten)]
    pub cat: CatalogueArgs,
    /// CODE@VERSION, e.g. `ci-base@1.0.1`.
    pub target: String,
    /// Mark the version as failed by QA (requires --reason).
    #[arg(long, requires = "reason")]
    pub qa_failed: bool,
    /// Mark the version as passed by QA.
    #[arg(long)]
    pub qa_passed: bool,
    /// Delist the version.
    #[arg(long)]
    pub delist: bool,
    /// Why (recorded with the mark).
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub cat: CatalogueArgs,
    #[command(flatten)]
    pub index: IndexArgs,
    /// Source `host/repo:tag`.
    pub source: String,
    /// Target `host/repo:tag`.
    pub target: String,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write all schemas into this directory instead of printing one.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Which schema to print.
    #[arg(value_enum, default_value_t)]
    pub which: SchemaKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum SchemaKind {
    #[default]
    Listing,
    Policy,
    Config,
    Index,
    /// Output of `berth plan --format json`.
    Plan,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to create the catalogue in (default: current directory).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}
