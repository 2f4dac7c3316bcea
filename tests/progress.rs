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

/// A catalogue with no listings and one policy promoting `team/app` tags ending in `-ok`
/// to `qa/app` under the same tag: `n` such images and one tag that does not match.
fn promoting(host: &str, n: usize) -> Catalogue {
    promoting_via(host, host, n)
}

/// [`promoting`], the images pushed to `registry` and berth reaching it as `host`.
fn promoting_via(registry: &str, host: &str, n: usize) -> Catalogue {
    for i in 0..n {
        let tag = format!("{i}-ok");
        push_image(
            registry,
            "team/app",
            Some(&tag),
            &Img::new(&format!("a{i}")),
        );
    }
    push_image(registry, "team/app", Some("9-no"), &Img::new("no"));
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[host]));
    std::fs::create_dir_all(cat.root.join("policies")).unwrap();
    std::fs::write(
        cat.root.join("policies/app-to-qa.yaml"),
        format!(
            "name: app-to-qa\nsource: {{ registry: \"{host}\", repository: team/app }}\ncriteria:\n  - tag: {{ endsWith: \"-ok\" }}\ntarget:\n  registry: \"{host}\"\n  repository: qa/app\n  tag: \"%n\"\n"
        ),
    )
    .unwrap();
    cat
}

/// The progress lines of stage `what`, cut before the rate: `berth: copying 2/4`.
fn stage<'s>(stderr: &'s str, what: &str) -> Vec<&'s str> {
    let head = format!("berth: {what} ");
    stderr
        .lines()
        .filter(|l| l.starts_with(&head))
        .map(|l| l.split(" (").next().unwrap())
        .collect()
}

#[test]
fn apply_reports_planning_and_copies_in_ci_lines_and_stdout_stays_the_report() {
    // Two identical registries and catalogues: one applied without progress, one with.
    let (quiet_reg, loud_reg) = (
        RegistryProc::start(Auth::None),
        RegistryProc::start(Auth::None),
    );
    let mut quiet = promoting(&quiet_reg.addr(), 4);
    quiet.env("BERTH_PROGRESS", "off");
    let q = quiet.apply(&[]);
    assert_eq!(String::from_utf8_lossy(&q.stderr), "", "{}", text(&q));

    let mut loud = promoting(&loud_reg.addr(), 4);
    loud.env("BERTH_PROGRESS", "lines");
    loud.env("BERTH_PROGRESS_EVERY", "0");
    let o = loud.apply(&[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    // Five candidates checked (four `-ok` tags and `9-no`), then four images copied: one
    // line per item (interval 0), then the stage's last line.
    assert_eq!(
        stage(&stderr, "planning promotions"),
        [1, 2, 3, 4, 5, 5].map(|i| format!("berth: planning promotions {i}/5")),
        "{stderr}"
    );
    assert_eq!(
        stage(&stderr, "copying"),
        [1, 2, 3, 4, 4].map(|i| format!("berth: copying {i}/4")),
        "{stderr}"
    );
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with("berth: copying 4/4 (100%), ") && last.ends_with("/s, 0 retries"),
        "{stderr}"
    );
    // Every stderr line is progress, and every copy was made.
    assert!(stderr.lines().all(|l| l.starts_with("berth: ")), "{stderr}");
    assert_eq!(loud.index()["promotions"].as_array().unwrap().len(), 4);
    // stdout is the same report as without progress (only the registry address and the
    // catalogue directory differ).
    let same = |out: &[u8], host: &str, cat: &Catalogue| {
        String::from_utf8_lossy(out)
            .replace(host, "HOST")
            .replace(&cat.root.display().to_string(), "CAT")
    };
    let shown = same(&o.stdout, &loud_reg.addr(), &loud);
    assert_eq!(shown, same(&q.stdout, &quiet_reg.addr(), &quiet));
    assert!(shown.contains("HOST/qa/app:3-ok [copy, done]"), "{shown}");
}

#[test]
fn plan_reports_planning_only_and_promote_reports_its_copy() {
    let reg = RegistryProc::start(Auth::None);
    let host = reg.addr();
    let mut cat = promoting(&host, 2);
    cat.env("BERTH_PROGRESS", "off");
    let quiet = cat.berth(&["plan"]);
    assert_eq!(quiet.status.code(), Some(0), "{}", text(&quiet));
    cat.env("BERTH_PROGRESS", "lines");
    cat.env("BERTH_PROGRESS_EVERY", "0");
    let o = cat.berth(&["plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        stage(&stderr, "planning promotions"),
        [1, 2, 3, 3].map(|i| format!("berth: planning promotions {i}/3")),
        "{stderr}"
    );
    assert!(
        stage(&stderr, "copying").is_empty(),
        "plan copies nothing: {stderr}"
    );
    assert_eq!(o.stdout, quiet.stdout);

    let src = format!("{host}/team/app:0-ok");
    let dst = format!("{host}/prod/app:1");
    let p = cat.berth(&["promote", &src, &dst]);
    assert_eq!(p.status.code(), Some(0), "{}", text(&p));
    let stderr = String::from_utf8_lossy(&p.stderr);
    assert_eq!(
        stage(&stderr, "copying"),
        ["berth: copying 1/1", "berth: copying 1/1"],
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&p.stdout).starts_with(&format!("Promoted {src} (sha256:")));
}

#[test]
fn copy_lines_count_the_retries_of_the_copy() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use support::{Fault, FaultProxy};
    let reg = RegistryProc::start(Auth::None);
    let faulted = Arc::new(AtomicBool::new(false));
    let once = faulted.clone();
    // The first manifest push answers 503 once; the client retries it.
    let proxy = FaultProxy::start(
        reg.addr(),
        Arc::new(move |_, line: &str| {
            if line.starts_with("PUT ")
                && line.contains("/manifests/")
                && !once.swap(true, Ordering::SeqCst)
            {
                Fault::Status(503, None)
            } else {
                Fault::Pass
            }
        }),
    );
    let host = proxy.addr();
    let mut cat = promoting_via(&reg.addr(), &host, 2);
    cat.env("BERTH_PROGRESS", "lines");
    cat.env("BERTH_PROGRESS_EVERY", "0");
    let o = cat.apply(&[]);
    assert!(faulted.load(Ordering::SeqCst));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with("berth: copying 2/2 (100%), ") && last.ends_with("/s, 1 retries"),
        "{stderr}"
    );
    assert_eq!(cat.index()["promotions"].as_array().unwrap().len(), 2);
}

#[test]
fn a_terminal_gets_a_bar_for_planning_and_copying() {
    support::need("script", "bsdutils");
    let reg = RegistryProc::start(Auth::None);
    let cat = promoting(&reg.addr(), 2);
    let cmd = format!(
        "{} apply --catalogue {}",
        env!("CARGO_BIN_EXE_berth"),
        cat.root.display()
    );
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("BERTH_PROGRESS")
        .env("HOME", cat.tmp.path().join("home"))
        .env("BERTH_NOW", "2026-11-20T10:00:00Z")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{shown}");
    assert!(shown.contains("planning promotions ["), "{shown}");
    assert!(shown.contains("copying ["), "{shown}");
    assert!(shown.contains("\u{1b}[2K"), "the bar is cleared: {shown:?}");
    assert_eq!(cat.index()["promotions"].as_array().unwrap().len(), 2);
}
