//! Not yet implemented.

use std::io::Write;

pub fn run(_args: &crate::cli::SchemaArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    writeln!(out, "berth schema: not implemented yet")?;
    Ok(crate::cli::EXIT_ERROR)
}

/// TEMPORARY stub so `berth init` compiles until the real schema module lands (it creates
/// `dir` and writes the four `*.schema.json` files there). Replace with the real one on merge.
pub fn write_all(_dir: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}
