//! Progress of verification (issue 10): in CI (no terminal) a line with done/total, rate and
//! retries every few seconds (`BERTH_PROGRESS_EVERY` shortens the interval here), a bar on a
//! terminal, and never anything on stdout — the report stays byte-identical with or without it.

mod support;

use support::{Auth, Catalogue, Img, Listing, RegistryProc, push_image, text};

fn catalogue(host: &str) -> Catalogue {
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[host]));
    for i in 0..3 {
        let repo = format!("team/p{i}");
        push_image(host, &repo, Some("1"), &Img::new(&format!("p{i}")));
        let code = format!("p{i}");
        cat.listing(&Listing::new(&code, host, &repo, "1").release("new", "testing"));
    }
    cat
}

#[test]
fn ci_logs_get_periodic_lines_on_stderr_and_stdout_stays_the_report() {
    let reg = RegistryProc::start(Auth::None);
    let host = reg.addr();
    let mut cat = catalogue(&host);
    cat.env("BERTH_NOW", "2026-11-26T12:00:00Z");
    cat.env("BERTH_PROGRESS", "off");
    let quiet = cat.berth(&["plan"]);
    assert_eq!(quiet.status.code(), Some(0), "{}", text(&quiet));
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("verifying"));

    cat.env("BERTH_PROGRESS", "lines");
    cat.env("BERTH_PROGRESS_EVERY", "0");
    let o = cat.berth(&["plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("berth: verifying "))
        .collect();
    // One line per finished image (interval 0) plus the last one.
    assert_eq!(lines.len(), 4, "{stderr}");
    for (i, l) in lines.iter().take(3).enumerate() {
        let done = format!("berth: verifying {}/3 (", i + 1);
        assert!(l.starts_with(&done), "{l}");
        assert!(l.ends_with(", 0 retries"), "{l}");
        assert!(l.contains("/s, "), "{l}");
    }
    assert!(
        lines[3].starts_with("berth: verifying 3/3 (100%)"),
        "{stderr}"
    );
    // Nothing of it on stdout: the report is the same as without progress.
    assert_eq!(o.stdout, quiet.stdout);
}

#[test]
fn a_terminal_gets_a_bar_that_is_cleared() {
    support::need("script", "bsdutils");
    let reg = RegistryProc::start(Auth::None);
    let host = reg.addr();
    let cat = catalogue(&host);
    let cmd = format!(
        "{} plan --catalogue {} --format json",
        env!("CARGO_BIN_EXE_berth"),
        cat.root.display()
    );
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("BERTH_PROGRESS")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let shown = String::from_utf8_lossy(&o.stdout);
    // indicatif drew the bar (a terminal merges stdout and stderr) and then erased it.
    assert!(shown.contains("verifying ["), "{shown}");
    assert!(shown.contains("\u{1b}[2K"), "the bar is cleared: {shown:?}");
}
