//! The `berth` binary: parse the command line, run the library, map to an exit code.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

// berth allocates many small, short-lived values (one parse tree per listing); mimalloc keeps
// that cheap where glibc malloc spends a sixth of a large run consolidating free lists. Built
// without transparent huge pages (`no_thp`): the first touch of a huge page zeroes 2 MiB and
// may make the kernel compact memory to find one, which cost a 100,000-listing validate more
// than half of its system time; berth's memory is small objects, not large arrays.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = berth::cli::Cli::parse();
    let default_level = match cli.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level))
        // The HTML parser under the store page's sanitiser logs every token at debug level.
        .add_directive("html5ever=warn".parse().expect("a valid directive"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(cli.color.enabled(std::io::stderr().is_terminal()))
        .init();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = match berth::cli::run(&cli, std::io::stdout().is_terminal(), &mut out) {
        Ok(code) => code,
        // A closed pipe (`berth plan | head`) is the reader's choice, not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            berth::cli::EXIT_OK
        }
        Err(e) => {
            let _ = out.flush();
            eprintln!("error: {}", error_chain(&e));
            berth::cli::EXIT_ERROR
        }
    };
    let _ = out.flush();
    ExitCode::from(code)
}

/// The error and its causes joined with ": ", leaving out a cause whose text the message
/// before it already ends with (many errors print their source themselves).
fn error_chain(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if text.ends_with(&c) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&c);
    }
    text
}
