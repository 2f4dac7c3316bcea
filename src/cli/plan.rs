//! `berth plan`: what `apply` would do, rendered as text, markdown or JSON; writes nothing
//! but the optional `--json-out` copy of the report.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::cli::ci::ReportFormat;
use crate::cli::{CatalogueArgs, EXIT_CHANGES, EXIT_FINDINGS, EXIT_OK, IndexArgs, VerifyLevel};
use crate::pipeline::plan::{Options, compute};
use crate::report::plan::render;

#[derive(Debug, Args)]
pub struct PlanArgs {
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
    /// Output format (`github`: workflow-command annotations for GitHub Actions).
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    /// Exit with 3 when the plan has changes.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also write the plan as JSON to this file (one run for a PR comment and for machines:
    /// registries are asked once).
    #[arg(long)]
    pub json_out: Option<PathBuf>,
}

/// `berth plan`.
pub fn run(args: &PlanArgs, cat: &CatalogueArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let opts = Options {
        catalogue: cat.root()?.to_path_buf(),
        index: args.index.index.clone(),
        offline: args.offline,
        level: args.verify.into(),
        check_drift: args.check_drift,
        base_rev: args.base.clone(),
        progress: crate::cli::progress::for_stderr(),
    };
    let c = compute(&opts)?;
    let text = match args.format.report() {
        Some(format) => render(&c, format, args.offline),
        None => crate::report::github::plan(&c, &crate::cli::ci::repo_locator(&cat.catalogue)),
    };
    out.write_all(text.as_bytes())?;
    if let Some(path) = &args.json_out {
        std::fs::write(path, render(&c, crate::report::Format::Json, args.offline))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    let code = if c.has_errors() {
        EXIT_FINDINGS
    } else if args.detailed_exitcode && c.index_changed() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    };
    crate::cli::discard(c);
    Ok(code)
}
