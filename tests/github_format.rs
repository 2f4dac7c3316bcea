//! What berth hands to GitHub: `--format github` annotations of validate and plan (paths
//! relative to the repository root, escaped per the workflow-command rules) and markdown
//! that stays inert when listing text is hostile (it goes into a PR comment).

use std::path::Path;
use std::process::{Command, Output};

fn berth(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .current_dir(cwd)
        .env_remove("GITHUB_WORKSPACE")
        .env("BERTH_NOW", "2026-11-20T10:00:00Z")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn git_init(dir: &Path) {
    let st = Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("git is required: apt-get install git");
    assert!(st.success());
}

/// A listing whose text tries everything: HTML, a mention, an issue reference, a pipe that
/// would add a table column, backticks that would close a code span.
const EVIL_NAME: &str = "Evil `<img src=x onerror=alert(1)>` @octocat | #1";

fn evil_catalogue(dir: &Path) {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    std::fs::write(
        dir.join("berth.yaml"),
        "registries:\n  \"127.0.0.1:1\":\n    insecure: true\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("images/evil.yaml"),
        format!(
            "code: evil\nname: {EVIL_NAME:?}\nsummary: s\npublisher: p\nimage:\n  registry: \"127.0.0.1:1\"\n  repository: acme/evil\n  tag: \"1.0\"\nrelease:\n  type: new\n  stage: testing\n"
        ),
    )
    .unwrap();
}

/// `md` without fenced code blocks and code spans (whose content is shown verbatim) and
/// without backslash-escaped characters: what GitHub would interpret.
fn live_text(md: &str) -> String {
    let mut out = String::new();
    let mut in_fence = false;
    for line in md.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '\\' => i += 2,
                '`' => {
                    let n = chars[i..].iter().take_while(|c| **c == '`').count();
                    // Find the closing run of exactly n backticks.
                    let mut j = i + n;
                    let mut closed = None;
                    while j < chars.len() {
                        if chars[j] == '`' {
                            let m = chars[j..].iter().take_while(|c| **c == '`').count();
                            if m == n {
                                closed = Some(j + m);
                                break;
                            }
                            j += m;
                        } else {
                            j += 1;
                        }
                    }
                    match closed {
                        Some(end) => i = end,
                        None => {
                            out.extend(&chars[i..i + n]);
                            i += n;
                        }
                    }
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        out.push('\n');
    }
    out
}

/// Markdown that cannot add HTML, ping anyone, reference an issue or add table columns.
fn assert_inert(md: &str) {
    let live = live_text(md);
    let html = live
        .replace("<details>", "")
        .replace("</details>", "")
        .replace("<summary>", "")
        .replace("</summary>", "");
    assert!(!html.contains('<'), "raw HTML in:\n{md}");
    for (i, _) in live.match_indices('@') {
        assert!(
            live[i + 1..].starts_with("&#8203;"),
            "a live mention in:\n{md}"
        );
    }
    for (i, _) in live.match_indices('#') {
        let rest = &live[i + 1..];
        let entity = live[..i].ends_with('&');
        assert!(
            entity || !rest.starts_with(|c: char| c.is_ascii_alphanumeric()),
            "a live issue reference in:\n{md}"
        );
    }
    // Every table row has as many cells as its header.
    let mut columns = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            columns = None;
            continue;
        }
        let cells = line.replace("\\|", "").matches('|').count();
        match columns {
            None => columns = Some(cells),
            Some(n) => assert_eq!(cells, n, "row breaks its table: {line}\n{md}"),
        }
    }
}

#[test]
fn plan_markdown_keeps_hostile_listing_text_inert() {
    let tmp = tempfile::tempdir().unwrap();
    evil_catalogue(tmp.path());
    let o = berth(tmp.path(), &["plan", "--offline", "--format", "markdown"]);
    let md = stdout(&o);
    assert_inert(&md);
    let row = md
        .lines()
        .find(|l| l.contains("new image"))
        .unwrap_or_else(|| panic!("no new-image row in:\n{md}"));
    assert_eq!(
        row,
        "| `evil` |  | new image Evil `<img src=x onerror=alert(1)>` @&#8203;octocat \\| #&#8203;1 |"
    );
}

#[test]
fn validate_markdown_keeps_hostile_listing_text_inert() {
    let tmp = tempfile::tempdir().unwrap();
    evil_catalogue(tmp.path());
    // A file name that would close a one-backtick code span and add HTML and a mention.
    std::fs::write(
        tmp.path().join("images/x`<b>@y.yaml"),
        "code: other\nname: Other\n",
    )
    .unwrap();
    let o = berth(tmp.path(), &["validate", "--format", "markdown"]);
    let md = stdout(&o);
    assert_inert(&md);
    assert!(
        md.contains("- **error** `E0006` `` images/x`<b>@y.yaml:2:1 ``: missing field `summary`"),
        "{md}"
    );
}

#[test]
fn validate_annotations_point_at_repository_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let cat = repo.join("catalogue");
    std::fs::create_dir_all(cat.join("images")).unwrap();
    git_init(&repo);
    std::fs::write(cat.join("berth.yaml"), "registries: {}\n").unwrap();
    // `,` and `:` in the file name must be escaped in the `file=` property.
    std::fs::write(
        cat.join("images/odd,name:1.yaml"),
        "code: odd\nname: Odd\nsummary: s\npublisher: p\nimage:\n  repository: acme/odd\n  tag: latest\nrelease:\n  type: new\n  stage: testing\n",
    )
    .unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();

    let expected = "::error file=catalogue/images/odd%2Cname%3A1.yaml,line=1,col=7,title=E0102::code `odd` does not match the file name `odd,name:1`%0Ahint: rename the file to `odd.yaml` or set `code: odd,name:1`\n\
::error file=catalogue/images/odd%2Cname%3A1.yaml,line=7,col=8,title=E0106::the tag `latest` is not allowed%0Ahint: use an immutable, versioned tag (e.g. `2026.11.1`); berth provides `latest` as a channel\n";

    // From outside the repository, with an absolute catalogue path.
    let o = berth(
        &elsewhere,
        &[
            "validate",
            "--format",
            "github",
            "--catalogue",
            cat.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), format!("{expected}2 error(s), 0 warning(s)\n"));

    // From inside the catalogue, with the default `.`; plan says the same plus a summary.
    let o = berth(&cat, &["plan", "--offline", "--format", "github"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        format!(
            "{expected}::notice title=berth plan::2 error(s): this catalogue cannot be applied\n"
        )
    );
}

#[test]
fn plan_annotations_summarise_a_valid_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = tmp.path().join("cat");
    std::fs::create_dir_all(cat.join("images")).unwrap();
    std::fs::write(cat.join("berth.yaml"), "registries: {}\n").unwrap();
    std::fs::write(
        cat.join("images/ok.yaml"),
        "code: ok\nname: Ok\nsummary: s\npublisher: p\nimage:\n  repository: acme/ok\n  tag: \"1.0\"\nrelease:\n  type: new\n  stage: testing\n",
    )
    .unwrap();
    let o = berth(&cat, &["plan", "--offline", "--format", "github"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(
        stdout(&o),
        "::notice title=berth plan::2 change(s) in 1 image(s)\n"
    );
}

/// The plan notice says what the text report's first line says when no version changes: a
/// first run creates the index (never "the index is up to date" for a file that does not
/// exist); after apply, the index is up to date.
#[test]
fn plan_notice_without_version_changes_agrees_with_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = tmp.path().join("cat");
    std::fs::create_dir_all(cat.join("images")).unwrap();
    std::fs::write(cat.join("berth.yaml"), "registries: {}\n").unwrap();
    let o = berth(&cat, &["plan", "--offline", "--format", "github"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(
        stdout(&o),
        "::notice title=berth plan::No versions yet: the index will be created.\n"
    );
    let a = berth(&cat, &["apply", "--offline", "--skip-verify"]);
    assert_eq!(a.status.code(), Some(0), "{}", stdout(&a));
    let o = berth(&cat, &["plan", "--offline", "--format", "github"]);
    let text = stdout(&o);
    let notices: Vec<&str> = text.lines().filter(|l| l.starts_with("::notice")).collect();
    assert_eq!(
        notices,
        ["::notice title=berth plan::No changes. The index is up to date."]
    );
}
