//! `berth validate [--format text|json|markdown]`: every problem at once; exit 1 on errors
//! (warnings alone pass).

use std::io::Write;

use clap::Args;

use crate::cli::{CatalogueArgs, EXIT_FINDINGS, EXIT_OK, Format, IndexArgs};

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

/// `berth validate`.
pub fn run(args: &ValidateArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let root = args.cat.root()?.to_path_buf();
    let diags = crate::pipeline::validate::validate(root, args.index.index.clone())?;
    let failed = diags.iter().any(|d| d.is_error());
    out.write_all(crate::report::diagnostics::render(&diags, args.format.into())?.as_bytes())?;
    Ok(if failed { EXIT_FINDINGS } else { EXIT_OK })
}
