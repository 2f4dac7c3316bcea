//! Command dispatch: one function per subcommand, each returning an exit status.
//! Reports go to `out` (stdout); logs go through `tracing` to stderr.

use std::io::Write;

use crate::cli::{Cli, Command};

/// Run a parsed command line. `Err` means an internal or usage error (exit 2).
pub fn run(cli: &Cli, out: &mut dyn Write) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Validate(a) => crate::validate::run(a, out),
        Command::Plan(a) => crate::plan::run(a, out),
        Command::Apply(a) => crate::apply::run(a, out),
        Command::Resolve(a) => crate::resolve::run(a, out),
        Command::Mark(a) => crate::mark::run(a, out),
        Command::Schema(a) => crate::schema::run(a, out),
        Command::Init(a) => crate::init::run(a, out),
        Command::Promote(a) => crate::promote::run_manual(a, out),
    }
}
