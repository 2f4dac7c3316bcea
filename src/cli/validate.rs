//! `berth validate [--format text|json|markdown|github]`: every problem at once; exit 1 on errors
//! (warnings alone pass).

use std::io::Write;

use clap::Args;

use crate::cli::ci::ReportFormat;
use crate::cli::{CatalogueArgs, EXIT_FINDINGS, EXIT_OK, IndexArgs, Ui};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub index: IndexArgs,
    /// Output format of the diagnostics.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

/// `berth validate`. Text on a terminal (or with `--color always`) shows each finding with
/// its source line and a caret; elsewhere one stable line per finding.
pub fn run(
    args: &ValidateArgs,
    cat: &CatalogueArgs,
    ui: &Ui,
    out: &mut dyn Write,
) -> anyhow::Result<u8> {
    let root = cat.root()?.to_path_buf();
    let computed = crate::pipeline::validate::run(root, args.index.index.clone())?;
    let diags = computed.diagnostics.as_slice();
    let failed = diags.iter().any(|d| d.is_error());
    let text = match args.format.report() {
        Some(crate::report::Format::Text) if ui.color => {
            crate::report::snippets::render(diags, &cat.catalogue, true)
        }
        Some(format) => crate::report::diagnostics::render(diags, format)?,
        None => {
            crate::report::github::diagnostics(diags, &crate::cli::ci::repo_locator(&cat.catalogue))
        }
    };
    out.write_all(text.as_bytes())?;
    crate::cli::discard(computed);
    Ok(if failed { EXIT_FINDINGS } else { EXIT_OK })
}
