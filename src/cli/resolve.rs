//! `berth resolve CODE@SELECTOR [--project P] [--json]`: the pinned pull reference on stdout,
//! warnings (QA failed, delisted, not pinned) on stderr; exit 1 when nothing resolves.

use std::io::Write;

use clap::Args;

use crate::cli::{CatalogueArgs, EXIT_FINDINGS, EXIT_OK, IndexArgs};

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

/// `berth resolve`.
pub fn run(args: &ResolveArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let resolved = crate::pipeline::resolve::resolve(
        args.cat.root()?,
        args.index.index.as_deref(),
        &args.target,
        args.project.as_deref(),
    )?;
    match resolved {
        Ok(r) => {
            for w in &r.warnings {
                tracing::warn!("{w}");
            }
            if args.json {
                writeln!(out, "{}", serde_json::to_string_pretty(&r)?)?;
            } else {
                writeln!(out, "{}", r.pull)?;
            }
            Ok(EXIT_OK)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(EXIT_FINDINGS)
        }
    }
}
