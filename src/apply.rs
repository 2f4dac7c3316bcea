//! Not yet implemented.

use std::io::Write;

pub fn run(_args: &crate::cli::ApplyArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    writeln!(out, "berth apply: not implemented yet")?;
    Ok(crate::cli::EXIT_ERROR)
}
