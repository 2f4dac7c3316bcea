//! `berth init [DIR] [--force]`: create a starter catalogue. Refusing to overwrite prints to
//! stderr and exits 1.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::catalogue::init::{InitError, init};
use crate::cli::{EXIT_FINDINGS, EXIT_OK};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to create the catalogue in (default: current directory).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

/// `berth init`.
pub fn run(args: &InitArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    match init(&args.dir, args.force) {
        Ok(c) => {
            writeln!(
                out,
                "initialised a berth catalogue in {}",
                crate::model::diag::display_path(&args.dir)
            )?;
            for p in &c.created {
                writeln!(out, "  created {p}")?;
            }
            for p in &c.overwritten {
                writeln!(out, "  overwrote {p}")?;
            }
            writeln!(
                out,
                "next: edit images/hello.yaml, run `berth validate` and `berth plan --offline`, \
                 then commit everything, .berth/ included"
            )?;
            Ok(EXIT_OK)
        }
        Err(e @ InitError::Exists { .. }) => {
            eprintln!("error: {e}");
            Ok(EXIT_FINDINGS)
        }
        Err(e) => Err(e.into()),
    }
}
