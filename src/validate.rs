//! Not yet implemented.

use std::io::Write;

pub fn run(_args: &crate::cli::ValidateArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    writeln!(out, "berth validate: not implemented yet")?;
    Ok(crate::cli::EXIT_ERROR)
}

/// Static checks (stub until the validate stage lands).
pub fn check(
    _cat: &crate::load::Catalogue,
    _index: Option<&crate::model::Index>,
) -> crate::diag::Diagnostics {
    crate::diag::Diagnostics::new()
}
