//! `berth site` in a real browser (issue 12): headless Debian chromium through chromedriver.
//!
//! - the demo store from `file://`: every page loads without a console message, search and
//!   each filter narrow the cards (and `/`, `Esc` work from the keyboard), the copy button puts
//!   the pinned `1.latest` reference on the clipboard (by mouse and by keyboard), light and dark
//!   follow `prefers-color-scheme`, a phone-width window scrolls only vertically; screenshots
//!   of home and an image page, light and dark, land in `target/tmp/site/`;
//! - the same site over HTTP (as GitHub Pages serves it): pages load quietly and `berth
//!   resolve --index <site>/index.json` resolves from the published index;
//! - a listing whose every text field is hostile (`<script>`, `javascript:` links, event
//!   attributes, `<img src=…>`, table-breaking markup) renders as inert text.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::{Value, json};
use support::browser::{Browser, file_url};
use support::static_http::StaticServer;

const CI_BASE_1_LATEST: &str = "registry.acme.example/platform/ci-base@sha256:392c78e7d549f47c4dfc143cfef0ce429d4bd35a212f588443404adf5bca78e8";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn berth(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .output()
        .unwrap()
}

/// `berth site` of `catalogue` into a fresh directory.
fn site(catalogue: &Path, extra: &[&str]) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("site");
    let mut args = vec![
        "site",
        "--catalogue",
        catalogue.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = berth(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn artefacts() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("site")
}

/// Names of the cards the home page shows.
async fn visible_cards(b: &Browser) -> Vec<String> {
    let v = b
        .js(
            "return [...document.querySelectorAll('#cards > li')].filter(e => !e.hidden && e.offsetParent !== null).map(e => e.querySelector('h2').textContent)",
            vec![],
        )
        .await;
    serde_json::from_value(v).unwrap()
}

async fn text_of(b: &Browser, css: &str) -> String {
    b.client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn active_id(b: &Browser) -> String {
    b.js(
        "return document.activeElement.id || document.activeElement.tagName",
        vec![],
    )
    .await
    .as_str()
    .unwrap()
    .to_string()
}

async fn select(b: &Browser, id: &str, value: &str) {
    b.client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

async fn goto(b: &Browser, url: &str) {
    b.client.goto(url).await.unwrap();
    // site.js runs deferred; the home page shows its filters once it has.
    b.js("return document.readyState", vec![]).await;
}

/// Elements that stick out of the viewport sideways (outside boxes that scroll by design):
/// empty when nothing makes the page scroll horizontally.
async fn overflow_x(b: &Browser) -> Value {
    b.js(
        r#"
        const w = document.documentElement.clientWidth;
        const out = [...document.body.querySelectorAll('*')]
            .filter(e => !e.closest('.scroll, pre'))
            .filter(e => e.getBoundingClientRect().right > w + 0.5)
            .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
        return { scroll: document.documentElement.scrollWidth - w, out };
        "#,
        vec![],
    )
    .await
}

async fn body_background(b: &Browser) -> String {
    b.js(
        "return getComputedStyle(document.body).backgroundColor",
        vec![],
    )
    .await
    .as_str()
    .unwrap()
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_store_from_file_search_filters_copy_dark_and_phone() {
    let out = site(&root().join("fixtures/demo"), &[]);
    let dir = out.path().join("site");
    let home = file_url(&dir.join("index.html"));
    let shots = artefacts();
    let b = Browser::start(1280, 900).await;
    b.grant_clipboard().await;

    // Every page of the demo loads without a console message.
    goto(&b, &home).await;
    b.assert_quiet_console("index.html").await;
    for code in ["ci-base", "legacy-tools", "node-build", "python-lint"] {
        goto(&b, &file_url(&dir.join(format!("images/{code}.html")))).await;
        b.assert_quiet_console(code).await;
    }
    // The Dockerfile link leads to the file, shown on the page.
    goto(&b, &file_url(&dir.join("images/ci-base.html"))).await;
    b.client
        .find(Locator::Id("dockerfile"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        b.js(
            "const h = document.getElementById('h-dockerfile').getBoundingClientRect(); return [location.hash, h.top >= 0 && h.bottom <= innerHeight]",
            vec![]
        )
        .await,
        json!(["#h-dockerfile", true])
    );
    assert_eq!(
        text_of(&b, "pre.dockerfile").await,
        std::fs::read_to_string(root().join("fixtures/demo/dockerfiles/ci-base.Dockerfile"))
            .unwrap()
            .trim_end()
    );

    // Home: every image as a card, sorted by name; filters shown once the script runs.
    goto(&b, &home).await;
    let all = ["CI Base", "Legacy Tools", "Node Build", "Python Lint"];
    assert_eq!(visible_cards(&b).await, all);
    assert_eq!(text_of(&b, "#count").await, "4 of 4 images");
    let card = text_of(&b, "#cards > li:nth-child(1)").await;
    for part in [
        "CI Base",
        "ci-base",
        "Ubuntu with build tools",
        "Latest 1.1.0 released",
        "platform-team",
        "ubuntu",
        "build",
    ] {
        assert!(card.contains(part), "{part:?} not in card: {card}");
    }
    assert!(
        text_of(&b, "#cards > li:nth-child(2)")
            .await
            .contains("Latest 1.0.0 delisted")
    );
    b.full_page_screenshot(&shots.join("home-light.png")).await;

    // Search by part of the name, from the keyboard: `/` focuses the box.
    b.client
        .active_element()
        .await
        .unwrap()
        .send_keys("/")
        .await
        .unwrap();
    assert_eq!(active_id(&b).await, "q");
    b.client
        .active_element()
        .await
        .unwrap()
        .send_keys("pyth")
        .await
        .unwrap();
    assert_eq!(visible_cards(&b).await, ["Python Lint"]);
    assert_eq!(text_of(&b, "#count").await, "1 of 4 images");
    let url = b.client.current_url().await.unwrap();
    assert_eq!(url.fragment(), Some("q=pyth"));
    // Words match anywhere (code, summary, labels, publisher), all of them.
    b.client
        .active_element()
        .await
        .unwrap()
        .send_keys(&Key::Escape.to_string())
        .await
        .unwrap();
    assert_eq!(visible_cards(&b).await, all);
    let q = b.client.find(Locator::Id("q")).await.unwrap();
    q.send_keys("team node").await.unwrap();
    assert_eq!(visible_cards(&b).await, ["Node Build"]);
    q.clear().await.unwrap();
    q.send_keys("nothing-like-this").await.unwrap();
    assert_eq!(visible_cards(&b).await, Vec::<String>::new());
    assert!(text_of(&b, "#empty").await.starts_with("No image matches."));
    b.client
        .find(Locator::Id("clear2"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(visible_cards(&b).await, all);

    // Each filter, and filters combined with the search.
    select(&b, "f-label", "node").await;
    assert_eq!(visible_cards(&b).await, ["Node Build"]);
    select(&b, "f-label", "").await;
    select(&b, "f-category", "pipeline-job").await;
    assert_eq!(visible_cards(&b).await, ["Node Build", "Python Lint"]);
    select(&b, "f-scope", "linux-k8s").await;
    assert_eq!(visible_cards(&b).await, ["Node Build"]);
    select(&b, "f-category", "").await;
    select(&b, "f-scope", "").await;
    select(&b, "f-publisher", "platform-team").await;
    assert_eq!(visible_cards(&b).await, ["CI Base", "Legacy Tools"]);
    let q = b.client.find(Locator::Id("q")).await.unwrap();
    q.send_keys("legacy").await.unwrap();
    assert_eq!(visible_cards(&b).await, ["Legacy Tools"]);
    // The state is in the address: a reload (or a shared link) shows the same result.
    b.client.refresh().await.unwrap();
    assert_eq!(visible_cards(&b).await, ["Legacy Tools"]);
    b.client
        .find(Locator::Id("clear"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(visible_cards(&b).await, all);
    b.assert_quiet_console("index.html after searching").await;

    // Find CI Base by typing part of its name, open it, copy its pinned 1.latest reference.
    let q = b.client.find(Locator::Id("q")).await.unwrap();
    q.send_keys("CI Ba").await.unwrap();
    assert_eq!(visible_cards(&b).await, ["CI Base"]);
    b.client
        .find(Locator::LinkText("CI Base"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(text_of(&b, "h1").await, "CI Base");
    let button = b
        .client
        .find(Locator::Css("#channel-1\\.latest button.copy"))
        .await
        .unwrap();
    button.click().await.unwrap();
    b.js_async(
        "const done = arguments[0]; const t = setInterval(() => { if (document.querySelector('#channel-1\\\\.latest button.copy').dataset.copied) { clearInterval(t); done(); } }, 20);",
        vec![],
    )
    .await;
    assert_eq!(button.text().await.unwrap(), "Copied");
    assert_eq!(
        button.attr("data-copied").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(clipboard(&b).await, CI_BASE_1_LATEST);
    assert_eq!(
        text_of(&b, "#announce").await,
        format!("Copied {CI_BASE_1_LATEST}")
    );

    // By keyboard: Tab to the copy button of `latest`, press Enter.
    b.js("navigator.clipboard.writeText('')", vec![]).await;
    b.js(
        "document.activeElement.blur(); window.scrollTo(0, 0)",
        vec![],
    )
    .await;
    let mut reached = false;
    for _ in 0..40 {
        b.client
            .active_element()
            .await
            .unwrap()
            .send_keys(&Key::Tab.to_string())
            .await
            .unwrap();
        let label = b
            .js(
                "return document.activeElement.getAttribute('aria-label') || ''",
                vec![],
            )
            .await;
        if label == "Copy the pinned reference of latest" {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab never reached the copy button of `latest`");
    b.client
        .active_element()
        .await
        .unwrap()
        .send_keys(&Key::Enter.to_string())
        .await
        .unwrap();
    b.js_async(
        "const done = arguments[0]; const t = setInterval(() => { if (document.activeElement.dataset.copied) { clearInterval(t); done(); } }, 20);",
        vec![],
    )
    .await;
    assert_eq!(clipboard(&b).await, CI_BASE_1_LATEST);

    // The versions table: QA failed with its reason, newest first.
    let rows = b
        .js(
            "return [...document.querySelectorAll('table.versions tbody tr')].map(r => r.innerText.replace(/\\s+/g, ' ').trim())",
            vec![],
        )
        .await;
    let rows: Vec<String> = serde_json::from_value(rows).unwrap();
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert!(rows[0].starts_with("1.1.0 released feature"), "{rows:#?}");
    assert!(
        rows[1].starts_with("1.0.1 released QA failed acceptance run 4411 failed fix"),
        "{rows:#?}"
    );
    b.full_page_screenshot(&shots.join("image-light.png")).await;

    // Light and dark follow prefers-color-scheme.
    assert_eq!(body_background(&b).await, "rgb(246, 247, 249)");
    b.color_scheme(true).await;
    assert_eq!(body_background(&b).await, "rgb(13, 17, 23)");
    b.full_page_screenshot(&shots.join("image-dark.png")).await;
    goto(&b, &home).await;
    assert_eq!(body_background(&b).await, "rgb(13, 17, 23)");
    b.full_page_screenshot(&shots.join("home-dark.png")).await;
    b.color_scheme(false).await;

    // A phone: nothing scrolls sideways (wide tables scroll inside their own box).
    b.resize(390, 844).await;
    goto(&b, &home).await;
    assert_eq!(overflow_x(&b).await, json!({ "scroll": 0, "out": [] }));
    b.full_page_screenshot(&shots.join("home-phone.png")).await;
    for code in ["ci-base", "node-build"] {
        goto(&b, &file_url(&dir.join(format!("images/{code}.html")))).await;
        assert_eq!(
            overflow_x(&b).await,
            json!({ "scroll": 0, "out": [] }),
            "{code}"
        );
    }
    b.full_page_screenshot(&shots.join("image-phone.png")).await;
    b.assert_quiet_console("phone").await;
    b.close().await;
}

async fn clipboard(b: &Browser) -> String {
    b.js_async(
        "const done = arguments[0]; navigator.clipboard.readText().then(done, e => done('error: ' + e));",
        vec![],
    )
    .await
    .as_str()
    .unwrap()
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_like_github_pages_and_resolve_reads_the_published_index() {
    let out = site(&root().join("fixtures/demo"), &[]);
    let dir = out.path().join("site");
    let server = StaticServer::start(&dir);
    let b = Browser::start(1280, 900).await;
    goto(&b, &server.url()).await;
    assert_eq!(visible_cards(&b).await.len(), 4);
    let q = b.client.find(Locator::Id("q")).await.unwrap();
    q.send_keys("node").await.unwrap();
    assert_eq!(visible_cards(&b).await, ["Node Build"]);
    b.client
        .find(Locator::LinkText("Node Build"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        b.client.current_url().await.unwrap().path(),
        "/images/node-build.html"
    );
    // The delisted 1.x falls back, marked.
    let row = text_of(&b, "#channel-1\\.latest").await;
    assert!(row.contains("1.0.0 deprecated: delisted"), "{row}");
    let row = text_of(&b, "#v1\\.0\\.0").await;
    assert!(
        row.contains("delisted deprecated fallback of 1.latest"),
        "{row}"
    );
    b.assert_quiet_console("over http").await;
    b.close().await;

    // The published index.json is what `berth resolve --index URL` reads.
    let url = format!("{}index.json", server.url());
    let cache = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["resolve", "--index", &url, "ci-base@1.latest"])
        .env("BERTH_CACHE_DIR", cache.path())
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        format!("{CI_BASE_1_LATEST}\n")
    );
}

/// Hostile text in every field a listing controls.
const EVIL: &str = "<script>window.__pwned='script'</script>";

fn hostile_catalogue() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let cat = tmp.path();
    std::fs::write(cat.join("berth.yaml"), "{}\n").unwrap();
    let mut index: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/demo/index.json")).unwrap(),
    )
    .unwrap();
    let img = &mut index["images"]["ci-base"];
    img["name"] = json!("<b onclick=\"window.__pwned='name'\">Evil</b>");
    img["summary"] = json!(format!("</p>{EVIL}<p>"));
    img["publisher"] = json!("'><img src=x onerror=\"window.__pwned='publisher'\">");
    img["category"] = json!("\" onfocus=\"window.__pwned='category'\" autofocus x=\"");
    img["agentScope"] = json!(["<iframe src=\"javascript:window.__pwned='scope'\"></iframe>"]);
    img["labels"] = json!([format!("\">{EVIL}"), "ok"]);
    img["debugProject"] = json!("<style>body{display:none}</style>");
    img["description"] = json!(concat!(
        "# Title\n\n",
        "<script>window.__pwned='description'</script>\n\n",
        "[click me](javascript:window.__pwned='link') and <a href=\"https://evil.example\">evil</a>\n\n",
        "<img src=x onerror=\"window.__pwned='img'\"> ![pixel](https://evil.example/p.png)\n\n",
        "<div onmouseover=\"window.__pwned='div'\">hover</div> @admin\n\n",
        "</td></tr><tr><td>injected row</td></tr>\n",
    ));
    let versions = img["versions"].as_array_mut().unwrap();
    versions[0]["notes"] = json!("</td></tr><tr><td>fake row</td></tr></tbody></table><table>");
    versions[1]["qa"]["reason"] =
        json!("<a href=\"javascript:window.__pwned='reason'\">details</a>");
    versions[2]["notes"] = json!("<img src=\"https://evil.example/track.png\">");
    // (versions are oldest first in the index, newest first on the page)
    std::fs::write(
        cat.join("index.json"),
        serde_json::to_string_pretty(&index).unwrap(),
    )
    .unwrap();
    tmp
}

/// Everything that could run, load or link on the current page.
async fn active_content(b: &Browser) -> Value {
    b.js(
        r#"
        const onAttrs = [...document.querySelectorAll('*')].flatMap(e =>
            [...e.attributes].filter(a => a.name.startsWith('on')).map(a => e.tagName + '[' + a.name + ']'));
        return {
            pwned: window.__pwned === undefined ? null : String(window.__pwned),
            onAttrs,
            scripts: [...document.scripts].map(s => s.getAttribute('src')),
            loaders: [...document.querySelectorAll('img, iframe, object, embed, style, base, form, video, audio, source, svg, math')].map(e => e.tagName),
            links: [...document.querySelectorAll('[href]')].map(e => e.getAttribute('href')),
            autofocus: document.querySelectorAll('[autofocus]').length,
        };
        "#,
        vec![],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_listing_text_renders_inert() {
    let cat = hostile_catalogue();
    let out = site(cat.path(), &[]);
    let dir = out.path().join("site");
    let b = Browser::start(1280, 900).await;

    for (page, prefix) in [("index.html", ""), ("images/ci-base.html", "../")] {
        goto(&b, &file_url(&dir.join(page))).await;
        // Let anything that could fire (onerror of an image, autofocus) do so.
        b.js_async("setTimeout(arguments[0], 300)", vec![]).await;
        let found = active_content(&b).await;
        assert_eq!(found["pwned"], Value::Null, "{page}: {found:#}");
        assert_eq!(found["onAttrs"], json!([]), "{page}: {found:#}");
        assert_eq!(
            found["scripts"],
            json!([format!("{prefix}assets/site.js")]),
            "{page}"
        );
        assert_eq!(found["loaders"], json!([]), "{page}: {found:#}");
        assert_eq!(found["autofocus"], json!(0), "{page}");
        for href in found["links"].as_array().unwrap() {
            let href = href.as_str().unwrap();
            assert!(
                href == "data:,"
                    || (!href.contains(':') && !href.starts_with("//") && !href.is_empty()),
                "{page}: a link that leaves the site: {href}"
            );
        }
        b.assert_quiet_console(page).await;
    }

    // The hostile text is shown as text, where it was written.
    goto(&b, &file_url(&dir.join("images/ci-base.html"))).await;
    assert_eq!(
        text_of(&b, "h1").await,
        "<b onclick=\"window.__pwned='name'\">Evil</b>"
    );
    assert_eq!(text_of(&b, ".summary").await, format!("</p>{EVIL}<p>"));
    let description = text_of(&b, ".description").await;
    for shown in [
        "<script>window.__pwned='description'</script>",
        "click me (javascript:window.__pwned='link')",
        "<a href=\"https://evil.example\">evil</a>",
        "<img src=x onerror=\"window.__pwned='img'\">",
        "[image: pixel]",
        "<div onmouseover=\"window.__pwned='div'\">hover</div> @admin",
        "</td></tr><tr><td>injected row</td></tr>",
    ] {
        assert!(
            description.contains(shown),
            "{shown:?} not shown as text in:\n{description}"
        );
    }
    assert_eq!(text_of(&b, ".description h3").await, "Title");
    // No row was added or hidden: three versions, three rows, each with its eight cells.
    let cells = b
        .js(
            "return [...document.querySelectorAll('table.versions tbody tr')].map(r => r.cells.length)",
            vec![],
        )
        .await;
    assert_eq!(cells, json!([8, 8, 8]));
    assert_eq!(
        b.js("return document.querySelectorAll('table').length", vec![])
            .await,
        json!(2)
    );
    let row = text_of(&b, "#v1\\.0\\.0").await;
    assert!(
        row.contains("</td></tr><tr><td>fake row</td></tr></tbody></table><table>"),
        "{row}"
    );
    let row = text_of(&b, "#v1\\.0\\.1").await;
    assert!(
        row.contains("QA failed <a href=\"javascript:window.__pwned='reason'\">details</a>"),
        "{row}"
    );
    // Hovering and focusing everything runs nothing either.
    b.js(
        "for (const e of document.querySelectorAll('*')) { e.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})); e.focus && e.focus(); }",
        vec![],
    )
    .await;
    assert_eq!(active_content(&b).await["pwned"], Value::Null);
    b.screenshot(&artefacts().join("hostile-image.png")).await;
    b.close().await;
}

const KEY_A: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const KEY_B: &str = "sha256:ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12";

/// The demo index with supply-chain records on two of ci-base's three versions (none on
/// 1.0.0), promotions of ci-base 1.1.0 and of python-lint 1.0.0 (which has no record), and a
/// promotion target that is markup.
fn supply_catalogue() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let cat = tmp.path();
    std::fs::write(cat.join("berth.yaml"), "{}\n").unwrap();
    let mut index: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/demo/index.json")).unwrap(),
    )
    .unwrap();
    let versions = index["images"]["ci-base"]["versions"]
        .as_array_mut()
        .unwrap();
    assert_eq!(versions[2]["version"], "1.1.0");
    versions[2]["supplyChain"] = json!({
        "keylessSignatures": 1,
        "sbom": true,
        "signatureKeys": [KEY_A, KEY_B],
        "vulnerabilities": {"critical": 0, "high": 2, "low": 1, "medium": 5},
    });
    let ci_digest = versions[2]["digest"].clone();
    versions[1]["supplyChain"] = json!({"sbom": false, "signatureKeys": []});
    let lint_digest = index["images"]["python-lint"]["versions"][0]["digest"].clone();
    index["promotions"] = json!([
        {
            "artefacts": [
                {"digest": "sha256:s1", "kind": "signature", "tag": "sha256-x.sig"},
                {"digest": "sha256:s2", "kind": "signature"},
                {"digest": "sha256:s3", "kind": "sbom"},
            ],
            "initiatedBy": "policy",
            "policy": "ci-to-release",
            "promotedAt": "2026-03-02T09:14:05Z",
            "source": "registry.acme.example/platform/ci-base:1.1.0",
            "sourceDigest": ci_digest,
            "target": "registry.acme.example/release/ci-base:1.1.0",
        },
        {
            "initiatedBy": "manual",
            "policy": null,
            "promotedAt": "2026-03-03T10:00:00Z",
            "source": "registry.acme.example/quality/python-lint:1.0.0",
            "sourceDigest": lint_digest,
            "target": "registry.acme.example/q/python-lint:<img src=x onerror=\"window.__pwned='target'\">",
        },
    ]);
    std::fs::write(
        cat.join("index.json"),
        serde_json::to_string_pretty(&index).unwrap(),
    )
    .unwrap();
    tmp
}

/// The supply-chain table of the current page: per row its id and cells, a cell as the texts
/// of its list items (or its text).
async fn supply_rows(b: &Browser) -> Value {
    b.js(
        r#"
        return [...document.querySelectorAll('table.supply tbody tr')].map(r => [r.id,
            ...[...r.cells].map(c => {
                const items = [...c.querySelectorAll('li')];
                return items.length ? items.map(i => i.textContent) : c.textContent;
            })]);
        "#,
        vec![],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supply_chain_summary_per_version_and_on_the_home_card() {
    let cat = supply_catalogue();
    let out = site(cat.path(), &[]);
    let dir = out.path().join("site");
    let b = Browser::start(1280, 900).await;

    goto(&b, &file_url(&dir.join("images/ci-base.html"))).await;
    b.assert_quiet_console("ci-base").await;
    assert_eq!(text_of(&b, "#h-supply").await, "Supply chain");
    // Newest first; 1.0.0 has no record and no promotion: no row.
    assert_eq!(
        supply_rows(&b).await,
        json!([
            [
                "supply-1.1.0",
                "1.1.0",
                [
                    "signed — key sha256:0123456789ab…",
                    "signed — key sha256:ab12cd34ef56…",
                    "keyless signature present, not verified"
                ],
                "SBOM attached",
                "vulnerabilities: 0 critical, 2 high, 5 medium, 1 low",
                [
                    "promoted to registry.acme.example/release/ci-base:1.1.0 on 2026-03-02 09:14 UTC with 1 SBOM, 2 signatures"
                ]
            ],
            [
                "supply-1.0.1",
                "1.0.1",
                ["no verified signature"],
                "no SBOM",
                "no scan report",
                ""
            ],
        ])
    );
    // The whole fingerprint is one hover away.
    assert_eq!(
        b.js(
            "return [...document.querySelectorAll('table.supply [title]')].map(e => e.title)",
            vec![]
        )
        .await,
        json!([KEY_A, KEY_B])
    );
    b.full_page_screenshot(&artefacts().join("supply-image-light.png"))
        .await;

    // A version with only a promotion says that nothing else is recorded; the markup in the
    // target is text.
    goto(&b, &file_url(&dir.join("images/python-lint.html"))).await;
    b.assert_quiet_console("python-lint").await;
    assert_eq!(
        supply_rows(&b).await,
        json!([[
            "supply-1.0.0",
            "1.0.0",
            "not recorded for this version",
            [
                "promoted to registry.acme.example/q/python-lint:<img src=x onerror=\"window.__pwned='target'\"> on 2026-03-03 10:00 UTC"
            ]
        ]])
    );
    let found = active_content(&b).await;
    assert_eq!(found["pwned"], Value::Null, "{found:#}");
    assert_eq!(found["loaders"], json!([]), "{found:#}");

    // An image without any record has no such section.
    goto(&b, &file_url(&dir.join("images/node-build.html"))).await;
    assert_eq!(
        b.js(
            "return [document.getElementById('h-supply'), document.querySelectorAll('table.supply').length]",
            vec![]
        )
        .await,
        json!([null, 0])
    );

    // Home: the card of ci-base carries the marks of its latest version (1.1.0), the others none.
    goto(&b, &file_url(&dir.join("index.html"))).await;
    b.assert_quiet_console("index.html").await;
    assert_eq!(
        b.js(
            "return [...document.querySelectorAll('#cards > li')].map(c => [c.querySelector('h2').textContent, c.querySelector('.supply')?.getAttribute('aria-label') ?? null, [...c.querySelectorAll('.supply li')].map(l => l.textContent)])",
            vec![]
        )
        .await,
        json!([
            ["CI Base", "Supply chain of 1.1.0", ["signed", "SBOM", "2 high"]],
            ["Legacy Tools", null, []],
            ["Node Build", null, []],
            ["Python Lint", null, []],
        ])
    );
    b.close().await;
}
