//! Not yet implemented.

use std::io::Write;

pub fn run(_args: &crate::cli::SchemaArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    writeln!(out, "berth schema: not implemented yet")?;
    Ok(crate::cli::EXIT_ERROR)
}
