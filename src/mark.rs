//! Not yet implemented.

use std::io::Write;

pub fn run(_args: &crate::cli::MarkArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    writeln!(out, "berth mark: not implemented yet")?;
    Ok(crate::cli::EXIT_ERROR)
}
