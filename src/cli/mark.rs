//! `berth mark CODE@VERSION --qa-failed --reason … | --qa-passed | --delist`: edits the
//! listing in place. Catalogue findings print to stderr and exit 1; usage errors exit 2.

use std::io::Write;

use clap::Args;

use crate::catalogue::mark::{Action, MarkError, Request, mark};
use crate::cli::{CatalogueArgs, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["qa_failed", "qa_passed", "delist"])))]
pub struct MarkArgs {
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
    /// Output: a sentence, or JSON (`version`, `target`, `file`, `changed`, `marks`).
    #[arg(long, value_enum, default_value_t)]
    pub format: OutcomeFormat,
}

/// `--format` of `mark` and `promote`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum OutcomeFormat {
    #[default]
    Text,
    Json,
}

/// Exit status of a failed mark: findings about the catalogue are 1, usage and internal
/// errors 2.
pub fn exit_code(e: &MarkError) -> u8 {
    if e.is_finding() {
        EXIT_FINDINGS
    } else {
        EXIT_ERROR
    }
}

/// Build a request from the command line.
fn request(args: &MarkArgs) -> Result<Request, MarkError> {
    let action = match (args.qa_failed, args.qa_passed, args.delist) {
        (true, false, false) => Action::QaFailed,
        (false, true, false) => Action::QaPassed,
        (false, false, true) => Action::Delist,
        _ => return Err(MarkError::Action),
    };
    Request::new(&args.target, action, args.reason.as_deref())
}

/// `berth mark`.
pub fn run(args: &MarkArgs, cat: &CatalogueArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let req = request(args)?;
    match mark(cat.root()?, &req) {
        Ok(outcome) => {
            match args.format {
                OutcomeFormat::Text => writeln!(out, "{}", outcome.summary())?,
                OutcomeFormat::Json => {
                    out.write_all(crate::report::outcomes::mark(&outcome).as_bytes())?
                }
            }
            Ok(EXIT_OK)
        }
        Err(e) if e.is_finding() => {
            eprintln!("error: {e}");
            Ok(EXIT_FINDINGS)
        }
        Err(e) => Err(e.into()),
    }
}
