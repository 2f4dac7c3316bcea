//! `berth apply`: verify, compute versions, run promotions, write the index atomically,
//! commit and push. The plan report is printed first, then one line per step taken.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::cli::{CatalogueArgs, EXIT_FINDINGS, EXIT_OK, Format, IndexArgs, VerifyLevel};
use crate::pipeline::apply::{Applied, ApplyOptions, Step, apply};
use crate::pipeline::plan::Options;

#[derive(Debug, Args)]
pub struct ApplyArgs {
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
    /// Seconds to wait for another apply on this working copy to finish before giving up
    /// (exit 2).
    #[arg(long, env = "BERTH_LOCK_TIMEOUT", default_value_t = DEFAULT_LOCK_TIMEOUT)]
    pub lock_timeout: u64,
}

/// Seconds a second apply waits for the first (`--lock-timeout`, `BERTH_LOCK_TIMEOUT`).
pub const DEFAULT_LOCK_TIMEOUT: u64 = 60;

/// `berth apply`.
pub fn run(args: &ApplyArgs, cat: &CatalogueArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    if args.offline && !args.skip_verify {
        anyhow::bail!(
            "--offline needs --skip-verify: apply records verification, and offline it can only record it as skipped"
        );
    }
    let offline = args.offline || args.skip_verify;
    let opts = ApplyOptions {
        plan: Options {
            catalogue: cat.root()?.to_path_buf(),
            index: args.index.index.clone(),
            offline,
            level: args.verify.into(),
            check_drift: args.check_drift,
            base_rev: None,
            progress: crate::cli::progress::for_stderr(),
        },
        out: args.out.clone(),
        commit: args.commit,
        push: args.push,
        remote: args.remote.clone(),
        branch: args.branch.clone(),
        max_push_attempts: args.max_push_attempts,
        lock_timeout: std::time::Duration::from_secs(args.lock_timeout),
    };
    let format = args.format.into();
    let applied = apply(&opts, &mut |step| report_step(&step, format, offline, out))?;
    Ok(exit_code(applied))
}

/// Exit status of an apply: findings (1) when it was refused, a promotion failed or a release
/// was refused — the latter two never hold back the index or its commit.
pub fn exit_code(applied: Applied) -> u8 {
    match applied {
        Applied::Refused => EXIT_FINDINGS,
        Applied::Done {
            promotion_problems,
            refused,
        } if promotion_problems || refused => EXIT_FINDINGS,
        Applied::Done { .. } => EXIT_OK,
    }
}

/// Report one step of an apply in `format` (shared with `berth ci`). In JSON the report is
/// the one document on `out`; the sentences saying what apply did go to stderr.
pub fn report_step(
    step: &Step<'_>,
    format: crate::report::Format,
    offline: bool,
    report: &mut dyn Write,
) -> anyhow::Result<()> {
    let json = format == crate::report::Format::Json;
    if let Step::Planned(c) = step {
        report.write_all(crate::report::plan::render(c, format, offline).as_bytes())?;
    }
    let mut stderr = std::io::stderr();
    let out: &mut dyn Write = if json { &mut stderr } else { report };
    match step {
        Step::Planned(c) => {
            if c.blocks_write() && json {
                writeln!(
                    out,
                    "Nothing written: fix the errors the report lists first."
                )?;
            } else if c.blocks_write() {
                writeln!(out, "Nothing written: fix the errors above first.")?;
            } else if c.has_errors() {
                writeln!(
                    out,
                    "Refused releases stay testing; everything else is applied."
                )?;
            }
        }
        Step::Wrote { path, changed } => {
            if *changed {
                writeln!(out, "Wrote {}.", path.display())?;
            } else {
                writeln!(out, "{} unchanged.", path.display())?;
            }
        }
        Step::Committed {
            id: Some(id),
            message,
        } => writeln!(
            out,
            "Committed {}: {}",
            &id[..12.min(id.len())],
            message.lines().next().unwrap_or("")
        )?,
        Step::Committed { id: None, .. } => writeln!(out, "Nothing to commit.")?,
        Step::Pushed {
            outcome,
            remote,
            branch,
        } => {
            if outcome.pushed {
                writeln!(
                    out,
                    "Pushed {} to {remote}/{branch} (attempt {}).",
                    &outcome.commit[..12.min(outcome.commit.len())],
                    outcome.attempts
                )?;
            } else {
                writeln!(out, "Nothing to push: the remote already has this state.")?;
            }
        }
    }
    Ok(())
}
