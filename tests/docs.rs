//! `berth completions` and `berth man` are generated from the parser itself: the bash script
//! loads in a real bash and registers completion for `berth`, offering every subcommand; the
//! man pages name every command and flag.

use std::process::Command;

fn berth(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

const COMMANDS: [&str; 10] = [
    "validate",
    "plan",
    "apply",
    "resolve",
    "mark",
    "promote",
    "schema",
    "init",
    "completions",
    "man",
];

#[test]
fn bash_completion_loads_and_offers_every_command() {
    let (code, script) = berth(&["completions", "bash"]);
    assert_eq!(code, 0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berth.bash");
    std::fs::write(&path, &script).unwrap();
    // Load it, then ask the completion function what `berth v<TAB>` and `berth <TAB>` offer.
    let probe = format!(
        r#"source {}
complete -p berth
COMP_WORDS=(berth ""); COMP_CWORD=1; COMP_LINE="berth "; COMP_POINT=6
_berth berth "" berth
printf '%s\n' "${{COMPREPLY[@]}}""#,
        path.display()
    );
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines().next().unwrap().ends_with("-F _berth berth"),
        "{text}"
    );
    let offered: Vec<&str> = text.lines().skip(1).collect();
    for c in COMMANDS {
        assert!(offered.contains(&c), "`{c}` not offered: {offered:?}");
    }
    for shell in ["zsh", "fish", "powershell"] {
        let (code, s) = berth(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        // fish spells long flags `-l catalogue`; the others `--catalogue`.
        assert!(s.contains("validate") && s.contains("catalogue"), "{shell}");
    }
}

#[test]
fn man_pages_cover_every_command() {
    let (code, page) = berth(&["man"]);
    assert_eq!(code, 0);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq"),
        "roff: {}",
        &page[..40]
    );
    assert!(page.contains(".TH berth 1"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    let (code, listed) = berth(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    for c in COMMANDS {
        let p = dir.path().join(format!("berth-{c}.1"));
        assert!(listed.contains(&p.display().to_string()), "{listed}");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(&format!(".TH berth-{c} 1")), "{c}");
    }
    let apply = std::fs::read_to_string(dir.path().join("berth-apply.1")).unwrap();
    assert!(apply.contains("max\\-push\\-attempts"), "{apply}");
}

/// `berth completions zsh | head -3` (a reader that stops early) is the reader's choice: exit
/// 0 and nothing on stderr, as for every other command — not a panic (exit 101).
#[test]
fn a_closed_pipe_ends_completions_and_man_quietly() {
    for args in [
        &["completions", "bash"][..],
        &["completions", "zsh"],
        &["completions", "fish"],
        &["completions", "powershell"],
        &["man"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before berth writes
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).as_ref()
            ),
            (Some(0), ""),
            "{args:?}"
        );
    }
}
