//! `berth promote SOURCE TARGET`: a manual promotion by digest, recorded in the index.
//! Bad references are usage errors (exit 2); a refused copy is a finding (exit 1).

use std::io::Write;

use clap::Args;

use crate::cli::{CatalogueArgs, EXIT_FINDINGS, EXIT_OK, IndexArgs};
use crate::promote::Action;

#[derive(Debug, Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub index: IndexArgs,
    /// Source `host/repo:tag`.
    pub source: String,
    /// Target `host/repo:tag`.
    pub target: String,
    /// Output: sentences, or JSON (`version`, `source`, `sourceDigest`, `target`, `action`,
    /// `copy` counts).
    #[arg(long, value_enum, default_value_t)]
    pub format: crate::cli::mark::OutcomeFormat,
}

/// `berth promote`.
pub fn run(args: &PromoteArgs, cat: &CatalogueArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let done = crate::pipeline::promote::promote(
        cat.root()?,
        args.index.index.as_deref(),
        &args.source,
        &args.target,
        &crate::cli::progress::for_stderr(),
    )?;
    match done {
        Ok(r) if args.format == crate::cli::mark::OutcomeFormat::Json => {
            out.write_all(crate::report::outcomes::promote(&r).as_bytes())?;
            Ok(EXIT_OK)
        }
        Ok(r) => {
            let (rec, stats) = (&r.manual.record, &r.manual.stats);
            let how = match r.manual.action {
                Action::Present => "already present, nothing copied".to_string(),
                _ => format!(
                    "{} manifest(s) pushed, {} blob(s) mounted, {} copied, {} already there",
                    stats.manifests_pushed,
                    stats.blobs_mounted,
                    stats.blobs_copied,
                    stats.blobs_present
                ),
            };
            writeln!(
                out,
                "Promoted {} ({}) to {}: {how}.",
                rec.source, rec.source_digest, rec.target
            )?;
            writeln!(out, "Recorded in {}.", r.index_path.display())?;
            Ok(EXIT_OK)
        }
        Err(m) => {
            eprintln!("error: {m}");
            Ok(EXIT_FINDINGS)
        }
    }
}
