//! Every command in the README's ```sh blocks runs as written (issue 10), with one
//! substitution: `cargo run [--release] [-q] --` becomes the berth binary cargo built for this
//! test run, because a nested `cargo run` would wait for the build lock the running
//! `cargo test` holds. A command exits 0 unless its line says `# exits N`. Exempt, and why:
//! `bash tests/run.sh` is this very suite; a line using `$BERTH_INDEX_URL` is a pipeline recipe
//! that tests/resolve.rs runs against a loopback server.

use std::process::Command;

const EXEMPT: &[(&str, &str)] = &[
    ("bash tests/run.sh", "the test suite itself"),
    (
        "$BERTH_INDEX_URL",
        "run by tests/resolve.rs against a loopback server",
    ),
];

fn root() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

/// The README's shell commands: (line number, command, expected exit status).
fn commands() -> Vec<(usize, String, i32)> {
    let readme = std::fs::read_to_string(format!("{}/README.md", root())).unwrap();
    let mut out = Vec::new();
    let mut in_sh = false;
    for (i, line) in readme.lines().enumerate() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let (cmd, comment) = match line.split_once(" # ") {
            Some((c, note)) => (c.trim(), note.trim()),
            None => (line.trim(), ""),
        };
        if cmd.is_empty() || cmd.starts_with('#') {
            continue;
        }
        let status = comment
            .strip_prefix("exits ")
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        out.push((i + 1, cmd.to_string(), status));
    }
    out
}

#[test]
fn every_readme_command_runs_as_written() {
    let bin = env!("CARGO_BIN_EXE_berth");
    let all = commands();
    assert!(
        all.len() >= 6,
        "the README's commands were not found: {all:?}"
    );
    let mut ran = 0;
    for (line, cmd, want) in &all {
        if let Some((_, why)) = EXEMPT.iter().find(|(pat, _)| cmd.contains(pat)) {
            eprintln!("README:{line}: `{cmd}` not run here: {why}");
            continue;
        }
        let shell = [
            "cargo run --release -- ",
            "cargo run -q -- ",
            "cargo run -- ",
        ]
        .iter()
        .fold(cmd.clone(), |c, p| c.replace(p, &format!("'{bin}' ")));
        assert!(
            !shell.contains("cargo run"),
            "README:{line}: unexpected cargo form: {cmd}"
        );
        // target/ of this checkout is where the README's commands write.
        let o = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &shell])
            .current_dir(root())
            .env("BERTH_NOW", "2026-11-26T12:00:00Z")
            .env_remove("BERTH_CATALOGUE")
            .env_remove("GITHUB_ACTIONS")
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(*want),
            "README:{line}: `{cmd}`\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            !o.stdout.is_empty(),
            "README:{line}: `{cmd}` printed nothing"
        );
        ran += 1;
    }
    assert!(ran >= 5, "ran only {ran} README commands");
    // The main job wrote its index where the README says, and left the demo untouched.
    let written = std::fs::read_to_string(format!("{}/target/demo-index.json", root())).unwrap();
    let demo = std::fs::read_to_string(format!("{}/fixtures/demo/index.json", root())).unwrap();
    assert_ne!(written, demo, "the demo plan has changes to write");
    let status = Command::new("git")
        .args(["status", "--porcelain", "fixtures/demo"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        status.stdout.is_empty(),
        "the README's commands changed fixtures/demo: {}",
        String::from_utf8_lossy(&status.stdout)
    );
}
