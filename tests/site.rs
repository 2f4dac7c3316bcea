//! `berth site` without a browser (issue 12): the files it writes and their bytes —
//! deterministic, incremental, self-contained (no inline script or style, no external
//! resource, every link resolves inside the site), index.json and its schema published as
//! they are — and what it refuses (a directory it does not own, the catalogue, an index whose
//! codes are not file names, plain-http base URLs).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn demo() -> PathBuf {
    root().join("fixtures/demo")
}

fn berth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .env_remove("BERTH_LOG")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn site(catalogue: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "site",
        "--catalogue",
        catalogue.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    berth(&args)
}

fn site_ok(catalogue: &Path, out: &Path, extra: &[&str]) -> String {
    let o = site(catalogue, out, extra);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o)
}

/// Every file under `dir` (relative path → bytes).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn mtimes(dir: &Path) -> BTreeMap<String, std::time::SystemTime> {
    tree(dir)
        .into_keys()
        .map(|k| {
            let t = std::fs::metadata(dir.join(&k)).unwrap().modified().unwrap();
            (k, t)
        })
        .collect()
}

const DEMO_FILES: &[&str] = &[
    ".berth-site",
    ".nojekyll",
    "assets/site.css",
    "assets/site.js",
    "images/ci-base.html",
    "images/legacy-tools.html",
    "images/node-build.html",
    "images/python-lint.html",
    "index.html",
    "index.json",
    "schema/index.schema.json",
];

#[test]
fn demo_site_is_deterministic_incremental_and_publishes_the_index_as_is() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("nested/b"));
    assert_eq!(
        site_ok(&demo(), &a, &[]),
        format!(
            "berth site: 4 images, 10 files written, 0 unchanged, 0 removed\nopen {}\n",
            a.join("index.html").display()
        )
    );
    site_ok(&demo(), &b, &[]);
    let files = tree(&a);
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        DEMO_FILES
    );
    // Byte-identical for the same index, wherever it is written.
    assert_eq!(files, tree(&b));
    // index.json is the recorded file, byte for byte; its schema is `berth schema index`.
    assert_eq!(
        files["index.json"],
        std::fs::read(demo().join("index.json")).unwrap()
    );
    assert_eq!(
        files["schema/index.schema.json"],
        berth(&["schema", "index"]).stdout
    );
    // The Dockerfile is shown on its image's page, escaped (`&&`), linked from the facts.
    let page = String::from_utf8(files["images/ci-base.html"].clone()).unwrap();
    let dockerfile = std::fs::read_to_string(demo().join("dockerfiles/ci-base.Dockerfile"))
        .unwrap()
        .replace('&', "&amp;");
    assert!(
        page.contains(&format!(
            "<h2 id=\"h-dockerfile\">Dockerfile</h2>\n<pre class=\"dockerfile\" tabindex=\"0\" aria-labelledby=\"h-dockerfile\"><code>{dockerfile}</code></pre>"
        )),
        "{page}"
    );
    assert!(page.contains(
        "<a href=\"#h-dockerfile\" id=\"dockerfile\">dockerfiles/ci-base.Dockerfile</a>"
    ));
    assert_eq!(
        String::from_utf8(files[".berth-site"].clone()).unwrap(),
        DEMO_FILES[1..]
            .iter()
            .map(|f| format!("{f}\n"))
            .collect::<String>()
    );

    // A second run changes nothing, not even a modification time.
    let before = mtimes(&a);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert!(
        site_ok(&demo(), &a, &[])
            .starts_with("berth site: 4 images, 0 files written, 10 unchanged, 0 removed\n")
    );
    assert_eq!(mtimes(&a), before);
}

#[test]
fn an_index_change_rewrites_only_the_pages_it_touches_and_removes_what_is_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = tmp.path().join("cat");
    support::copy_dir(&demo(), &cat);
    let out = tmp.path().join("site");
    site_ok(&cat, &out, &[]);
    let before = mtimes(&out);
    std::thread::sleep(std::time::Duration::from_millis(20));

    let mut index: Value =
        serde_json::from_str(&std::fs::read_to_string(cat.join("index.json")).unwrap()).unwrap();
    index["images"]
        .as_object_mut()
        .unwrap()
        .remove("legacy-tools");
    index["images"]["ci-base"]["summary"] = "Ubuntu 24.04 with build tools".into();
    std::fs::write(
        cat.join("index.json"),
        serde_json::to_string_pretty(&index).unwrap(),
    )
    .unwrap();

    assert!(
        site_ok(&cat, &out, &[])
            .starts_with("berth site: 3 images, 3 files written, 6 unchanged, 1 removed\n")
    );
    let after = mtimes(&out);
    assert!(!after.contains_key("images/legacy-tools.html"));
    let changed: Vec<&str> = after
        .iter()
        .filter(|(k, t)| before.get(*k) != Some(*t))
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        changed,
        [
            ".berth-site",
            "images/ci-base.html",
            "index.html",
            "index.json"
        ]
    );
    let home = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(home.contains("Ubuntu 24.04 with build tools"));
    assert!(!home.contains("legacy-tools"));
    assert!(
        !std::fs::read_to_string(out.join(".berth-site"))
            .unwrap()
            .contains("legacy-tools")
    );
}

/// `href`/`src` values of a page.
fn references(html: &str) -> Vec<String> {
    let re = regex::Regex::new(r#"\s(?:href|src)="([^"]*)""#).unwrap();
    re.captures_iter(html).map(|c| c[1].to_string()).collect()
}

#[test]
fn pages_are_self_contained_with_a_strict_policy_and_links_that_resolve() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("site");
    site_ok(&demo(), &out, &[]);
    let files = tree(&out);
    let pages: Vec<&String> = files.keys().filter(|k| k.ends_with(".html")).collect();
    assert_eq!(pages.len(), 5);
    let inline_handler = regex::Regex::new(r"(?i)<[^>]*\son[a-z]+\s*=").unwrap();
    for page in pages {
        let html = String::from_utf8(files[page].clone()).unwrap();
        assert!(html.contains(
            r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self' file:; style-src 'self' file:; img-src 'self' data:; base-uri 'none'; form-action 'none'">"#
        ), "{page}");
        // Nothing inline that the policy would block, nothing from elsewhere.
        assert_eq!(html.matches("<script").count(), 1, "{page}");
        assert_eq!(html.matches("<script src=").count(), 1, "{page}");
        assert!(!html.contains("<style"), "{page}");
        assert!(!html.contains(" style="), "{page}");
        assert!(!inline_handler.is_match(&html), "{page}");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{page}"
        );
        // Every link and resource is a file of the site (the fragment aside).
        let dir = Path::new(page.as_str()).parent().unwrap();
        for r in references(&html) {
            if r == "data:," {
                continue;
            }
            let (target, fragment) = r.split_once('#').unwrap_or((&r, ""));
            if target.is_empty() {
                assert!(
                    html.contains(&format!(" id=\"{fragment}\"")),
                    "{page}: {r} points at no element"
                );
                continue;
            }
            let mut parts: Vec<&str> = dir
                .to_str()
                .unwrap()
                .split('/')
                .filter(|s| !s.is_empty())
                .collect();
            for seg in target.split('/') {
                match seg {
                    ".." => {
                        assert!(parts.pop().is_some(), "{page}: {r} leaves the site");
                    }
                    s => parts.push(s),
                }
            }
            let resolved = parts.join("/");
            assert!(
                files.contains_key(&resolved),
                "{page}: {r} → {resolved} is not in the site"
            );
        }
    }
}

#[test]
fn base_url_gives_resolve_lines_and_canonical_links() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("site");
    site_ok(
        &demo(),
        &out,
        &["--base-url", "https://acme.github.io/images"],
    );
    let page = std::fs::read_to_string(out.join("images/ci-base.html")).unwrap();
    assert!(page.contains(
        "<pre class=\"resolve\"><code>berth resolve --index https://acme.github.io/images/index.json ci-base@latest\nberth resolve --index https://acme.github.io/images/index.json ci-base@1.latest</code></pre>"
    ), "{page}");
    assert!(page.contains(
        r#"<link rel="canonical" href="https://acme.github.io/images/images/ci-base.html">"#
    ));
    let home = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(home.contains(r#"<link rel="canonical" href="https://acme.github.io/images/">"#));

    // Without it, the lines resolve from the catalogue checkout.
    let plain = tmp.path().join("plain");
    site_ok(&demo(), &plain, &[]);
    let page = std::fs::read_to_string(plain.join("images/ci-base.html")).unwrap();
    assert!(page.contains(
        "<pre class=\"resolve\"><code>berth resolve ci-base@latest\nberth resolve ci-base@1.latest</code></pre>"
    ));
    assert!(!page.contains("canonical"));

    let o = site(
        &demo(),
        &tmp.path().join("http"),
        &["--base-url", "http://pages.example/images/"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: --base-url http://pages.example/images/: plain http is refused (berth resolve fetches an index only over https); use https\n"
    );
    assert!(!tmp.path().join("http").exists());
}

#[test]
fn refuses_a_directory_it_does_not_own_and_the_catalogue() {
    let tmp = tempfile::tempdir().unwrap();
    let foreign = tmp.path().join("home");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("index.html"), "my own page").unwrap();
    let o = site(&demo(), &foreign, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "error: --out {} is not empty and was not written by `berth site` (no .berth-site); choose a new or empty directory\n",
            foreign.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(foreign.join("index.html")).unwrap(),
        "my own page"
    );
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);

    // An empty directory is fine.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    site_ok(&demo(), &empty, &[]);

    let cat = tmp.path().join("cat");
    support::copy_dir(&demo(), &cat);
    let before = tree(&cat);
    let o = site(&cat, &cat, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is the catalogue directory; give the site a directory of its own"),
        "{}",
        stderr(&o)
    );
    assert_eq!(tree(&cat), before);
}

#[test]
fn an_index_it_cannot_render_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = tmp.path().join("cat");
    std::fs::create_dir_all(cat.join("images")).unwrap();
    let out = tmp.path().join("site");

    // No index yet.
    let o = site(&cat, &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("index.json; run `berth apply` first"),
        "{}",
        stderr(&o)
    );

    // Not JSON.
    std::fs::write(cat.join("index.json"), "{\"images\": [}\n").unwrap();
    let o = site(&cat, &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: index.json:1:11: error[E0007]: the index is not valid: invalid type: sequence, expected a map\n  \
         hint: the index is generated by `berth apply`; restore it from git instead of editing it\n"
    );

    // A code that would be a path outside the site.
    let mut index: Value =
        serde_json::from_str(&std::fs::read_to_string(demo().join("index.json")).unwrap()).unwrap();
    let images = index["images"].as_object_mut().unwrap();
    let mut evil = images["ci-base"].clone();
    evil["code"] = "../../escape".into();
    images.insert("../../escape".into(), evil);
    std::fs::write(
        cat.join("index.json"),
        serde_json::to_string_pretty(&index).unwrap(),
    )
    .unwrap();
    let o = site(&cat, &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: index entry /images/../../escape: code \"../../escape\" is not an image code (^[a-zA-Z_][A-Za-z0-9_-]{0,31}$, equal to its key); the store page names files by code\n"
    );
    assert!(!out.exists());
    assert!(!tmp.path().join("escape.html").exists());
}

#[test]
fn dockerfiles_are_published_only_from_inside_the_catalogue() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = tmp.path().join("cat");
    support::copy_dir(&demo(), &cat);
    // Changed since the index recorded its sha256: still published, and said so.
    std::fs::write(
        cat.join("dockerfiles/ci-base.Dockerfile"),
        "FROM ubuntu:26.04\n",
    )
    .unwrap();
    let out = tmp.path().join("site");
    site_ok(&cat, &out, &[]);
    let page = std::fs::read_to_string(out.join("images/ci-base.html")).unwrap();
    assert!(page.contains(
        "<a href=\"#h-dockerfile\" id=\"dockerfile\">dockerfiles/ci-base.Dockerfile</a> <span class=\"digest\" title=\"sha256 recorded in index.json\">sha256 036f6d7dbc6b</span> <span class=\"badge warn\">changed since the index was written</span>"
    ), "{page}");
    assert!(
        page.contains("<code>FROM ubuntu:26.04\n</code></pre>"),
        "{page}"
    );

    // The site is still written, with the Dockerfile's path only, a warning saying why, and
    // nothing of the file it was pointed at.
    let refused = |why: &str| {
        let o = site(&cat, &out, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let warning =
            format!("ci-base: Dockerfile dockerfiles/ci-base.Dockerfile not published: {why}");
        assert!(stderr(&o).contains(&warning), "{}", stderr(&o));
        let page = std::fs::read_to_string(out.join("images/ci-base.html")).unwrap();
        assert!(
            page.contains("<code>dockerfiles/ci-base.Dockerfile</code> (not in the catalogue)")
        );
        assert!(!page.contains("h-dockerfile"), "{page}");
        assert!(
            !tree(&out)
                .values()
                .any(|b| String::from_utf8_lossy(b).contains("not for the web"))
        );
    };

    // A symlink (here to a file outside the catalogue) is never followed.
    let secret = tmp.path().join("secret.txt");
    std::fs::write(&secret, "not for the web\n").unwrap();
    std::fs::remove_file(cat.join("dockerfiles/ci-base.Dockerfile")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&secret, cat.join("dockerfiles/ci-base.Dockerfile")).unwrap();
    refused("it is a symlink");

    // Nor is a directory on the way: `dockerfiles/` itself a symlink to a folder outside.
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("ci-base.Dockerfile"), "not for the web\n").unwrap();
    std::fs::rename(
        cat.join("dockerfiles"),
        tmp.path().join("dockerfiles-moved"),
    )
    .unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, cat.join("dockerfiles")).unwrap();
    refused("dockerfiles is a symlink (it could lead outside the catalogue)");
}
