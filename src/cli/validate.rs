//! `berth validate [--format text|json|markdown]`: every problem at once; exit 1 on errors
//! (warnings alone pass).

use std::io::Write;

use clap::Args;

use crate::cli::{CatalogueArgs, EXIT_FINDINGS, EXIT_OK, Format, IndexArgs, Ui};

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

/// `berth validate`. Text on a terminal (or with `--color always`) shows each finding with
/// its source line and a caret; elsewhere one stable line per finding.
pub fn run(args: &ValidateArgs, ui: &Ui, out: &mut dyn Write) -> anyhow::Result<u8> {
    let root = args.cat.root()?.to_path_buf();
    let diags = crate::pipeline::validate::validate(root, args.index.index.clone())?;
    let failed = diags.iter().any(|d| d.is_error());
    let text = if args.format == Format::Text && ui.color {
        crate::report::snippets::render(&diags, &args.cat.catalogue, true)
    } else {
        crate::report::diagnostics::render(&diags, args.format.into())?
    };
    out.write_all(text.as_bytes())?;
    Ok(if failed { EXIT_FINDINGS } else { EXIT_OK })
}
