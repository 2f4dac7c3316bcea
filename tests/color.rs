//! "Colours only on a terminal": `--color auto` colours a terminal (a real pty, through
//! util-linux `script`) unless `NO_COLOR` is set; pipes never get escapes; `--color always` /
//! `never` override. On a terminal, diagnostics show the source line with a caret.

use std::process::Command;

const ESC: char = '\u{1b}';

fn berth() -> &'static str {
    env!("CARGO_BIN_EXE_berth")
}

fn catalogue() -> String {
    format!("{}/fixtures/bad/many-problems", env!("CARGO_MANIFEST_DIR"))
}

/// Run berth on a pseudo-terminal and return what the terminal showed.
fn on_terminal(extra_env: &[(&str, &str)], flags: &str) -> String {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("script").is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`script` is not installed; install it with: apt-get install -y bsdutils"
    );
    let cmd = format!("{} validate --catalogue {} {flags}", berth(), catalogue());
    let mut c = Command::new("script");
    c.args(["-qec", &cmd, "/dev/null"]).env_remove("NO_COLOR");
    for (k, v) in extra_env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    // validate exits 1 on this catalogue; script passes the status through (-e).
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_pipe_gets_no_colour_unless_forced() {
    let piped = Command::new(berth())
        .args(["validate", "--catalogue", &catalogue()])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert_eq!(piped.status.code(), Some(1));
    let text = String::from_utf8(piped.stdout).unwrap();
    assert!(!text.contains(ESC), "{text}");
    assert!(
        text.contains("images/ci-base.yaml:9:8: error[E0106]: the tag `latest` is not allowed"),
        "{text}"
    );
    // Global flags go before or after the subcommand.
    for args in [
        vec!["--color", "always", "validate", "--catalogue", &catalogue()],
        vec!["validate", "--catalogue", &catalogue(), "--color", "always"],
    ] {
        let forced = Command::new(berth()).args(&args).output().unwrap();
        assert_eq!(forced.status.code(), Some(1));
        let text = String::from_utf8(forced.stdout).unwrap();
        assert!(text.contains(ESC), "{args:?}: {text}");
    }
}

#[test]
fn a_terminal_gets_colour_and_snippets_unless_no_color() {
    let tty = on_terminal(&[], "");
    assert!(tty.contains(ESC), "{tty}");
    assert!(
        tty.contains("tag: latest"),
        "the source line is shown: {tty}"
    );
    let plain = on_terminal(&[("NO_COLOR", "1")], "");
    assert!(!plain.contains(ESC), "{plain}");
    let never = on_terminal(&[], "--color never");
    assert!(!never.contains(ESC), "{never}");
    // An empty NO_COLOR does not count (the convention says "set and not empty").
    assert!(on_terminal(&[("NO_COLOR", "")], "").contains(ESC));
}
