//! The store page: index.json rendered as a static site (`berth site`).
//!
//! Input: the recorded [`Index`] (and its exact text), the Dockerfiles it names, an optional
//! base URL. Output: the site's [`File`]s (relative path + bytes), handed one by one to a sink
//! of the command layer, which writes them. Nothing is fetched and nothing is computed beyond
//! presentation.
//!
//! Layout: `index.html` (every image as a card; search and filters run in the browser),
//! `images/<code>.html` (one page per image, its Dockerfile shown on it: one file per image,
//! since creating files is most of what a large site costs; each image's page and its home-page
//! card are rendered together, on every core), `assets/site.css` and
//! `assets/site.js` (no CDN, no inline script or style, so the pages carry a strict
//! Content-Security-Policy), `index.json` (byte-identical to the input) with
//! `schema/index.schema.json`, and `.nojekyll` for GitHub Pages. Links are relative, so the
//! site works from `file://`, a GitHub Pages project path or any static host.
//!
//! Invariants: the same input gives the same bytes (no clock, sorted iteration); every listing
//! text is escaped by the templates' HTML auto-escaping, the markdown description goes through
//! [`markdown`]; an image code that could not be a file name is refused, never written.

pub mod markdown;
pub mod supply;
pub mod text;
pub mod view;

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, context};

use crate::model::{ImageEntry, Index};
use crate::report::schema::{SchemaKind, schema_json};

/// A Dockerfile as read from the catalogue.
#[derive(Clone, Debug)]
pub struct Dockerfile {
    /// Hex sha256 of `text`.
    pub sha256: String,
    pub text: String,
}

/// Reads the Dockerfile an image's index entry names, for its page: `None` when it cannot be
/// published. Called from the render threads, so the files are read in parallel too.
pub type ReadDockerfile<'a> = &'a (dyn Fn(&ImageEntry) -> Option<Dockerfile> + Sync);

/// What the site is made from.
pub struct Input<'a> {
    pub index: &'a Index,
    /// The index file's exact text, published as `index.json`.
    pub index_text: &'a str,
    /// The catalogue's Dockerfiles (the command layer reads them; this module does no I/O).
    pub read_dockerfile: ReadDockerfile<'a>,
    /// Where the site will be served, ending in `/` (for the `berth resolve --index` lines).
    pub base_url: Option<&'a str>,
}

/// One file of the site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    /// Relative path with `/` separators.
    pub path: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error(
        "index entry /images/{key}: code {code:?} is not an image code (^[a-zA-Z_][A-Za-z0-9_-]{{0,31}}$, equal to its key); the store page names files by code"
    )]
    BadCode { key: String, code: String },
    #[error("rendering {page}: {source:#}")]
    Template {
        page: String,
        source: minijinja::Error,
    },
}

const BASE: &str = include_str!("base.html");
const HOME: &str = include_str!("home.html");
const CARD: &str = include_str!("card.html");
const IMAGE: &str = include_str!("image.html");
pub const CSS: &str = include_str!("site.css");
pub const JS: &str = include_str!("site.js");

/// Title of the home page.
pub const TITLE: &str = "Image store";

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Everything is HTML: every value is escaped unless a template says `|safe`, which only
    // the sanitised description does, or it is a card `card.html` rendered (marked safe in
    // `render_into`).
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(s) if !value.is_safe() && matches!(state.auto_escape(), AutoEscape::Html) => out
            .write_str(&escape_html(s))
            .map_err(minijinja::Error::from),
        _ => minijinja::escape_formatter(out, state, value),
    });
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    for (name, src) in [
        ("base.html", BASE),
        ("home.html", HOME),
        ("card.html", CARD),
        ("image.html", IMAGE),
    ] {
        env.add_template(name, src)
            .expect("the store page templates parse");
    }
    env
}

/// Text escaped for HTML text and quoted attribute values: `&`, `<`, `>`, `"` and `'`. (The
/// default formatter also escapes `/`, which HTML does not need and which makes every path
/// and reference on the pages longer.)
pub fn escape_html(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `^[a-zA-Z_][A-Za-z0-9_-]{0,31}$`: what validation allows, and safe as a file name.
fn is_code(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
}

/// Every image code is a valid code equal to its key, so it can name files.
pub fn check_codes(index: &Index) -> Result<(), SiteError> {
    for (key, img) in &index.images {
        if !is_code(key) || img.code != *key {
            return Err(SiteError::BadCode {
                key: key.clone(),
                code: img.code.clone(),
            });
        }
    }
    Ok(())
}

/// Render the site, handing every file to `sink` as soon as it is ready, so a large site is
/// never held in memory: first the image pages (rendered on every core; `sink`
/// is called from several threads), then what links to them (`index.html`, assets,
/// `index.json`, its schema). Every check on the index happens before the first file. Returns
/// the paths of all files, sorted.
pub fn render_into<E>(
    input: &Input<'_>,
    sink: &(dyn Fn(File) -> Result<(), E> + Sync),
) -> Result<Vec<String>, E>
where
    E: From<SiteError> + Send,
{
    check_codes(input.index)?;
    let env = environment();
    let md = markdown::Markdown::new();
    let index_url = input.base_url.map(|b| format!("{b}index.json"));
    let source_commit = input.index.source_commit.as_deref();
    let promotions = supply::promotions_by_digest(&input.index.promotions);
    let render = |template: &str, page: &str, ctx: Value| {
        env.get_template(template)
            .and_then(|t| t.render(ctx))
            .map_err(|source| SiteError::Template {
                page: page.to_string(),
                source,
            })
    };

    let mut images: Vec<&ImageEntry> = input.index.images.values().map(|e| &**e).collect();
    images.sort_by_cached_key(|i| (i.name.to_lowercase(), i.code.clone()));

    // One image: its page, handed to `sink`, and its card for the home page (rendered here
    // rather than on the home page, so the cards are made on every core too).
    let image = |img: &ImageEntry| -> Result<(String, Value), E> {
        let dockerfile = img.dockerfile.as_ref().map(|d| {
            let published = (input.read_dockerfile)(img);
            view::DockerfileView {
                path: d.path.clone(),
                changed: match (&published, &d.sha256) {
                    (Some(p), Some(recorded)) => p.sha256 != *recorded,
                    _ => false,
                },
                sha256: d.sha256.clone(),
                text: published.map(|p| p.text),
            }
        });
        let page = view::image_page(
            img,
            view::PageContext {
                markdown: &md,
                index_url: index_url.as_deref(),
                dockerfile,
                promotions: &promotions,
            },
        );
        let path = format!("images/{}.html", img.code);
        let canonical = input.base_url.map(|b| format!("{b}{path}"));
        let html = render(
            "image.html",
            &path,
            context! {
                root => "../",
                title => TITLE,
                canonical,
                source_commit,
                image => Value::from(Serde(&page)),
            },
        )?;
        sink(file(&path, html.into_bytes()))?;
        let card = render(
            "card.html",
            "index.html",
            context! { c => Value::from(Serde(&view::card(img))) },
        )?;
        // Rendered by an auto-escaping template from plain text: safe to insert as it is.
        Ok((path, Value::from_safe_string(card)))
    };

    // Images are independent: one share per core, in order, so the cards stay sorted.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let per_thread = images.len().div_ceil(threads).max(1);
    let shares: Vec<Result<Vec<(String, Value)>, E>> = std::thread::scope(|s| {
        let workers: Vec<_> = images
            .chunks(per_thread)
            .map(|chunk| {
                let image = &image;
                s.spawn(move || chunk.iter().map(|img| image(img)).collect())
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a render thread does not panic"))
            .collect()
    });
    let mut paths = Vec::with_capacity(images.len() + 8);
    let mut cards = Vec::with_capacity(images.len());
    for share in shares {
        for (path, card) in share? {
            paths.push(path);
            cards.push(card);
        }
    }
    // The home page links to every image page, so it comes after them.
    let home = render(
        "home.html",
        "index.html",
        context! {
            root => "",
            title => TITLE,
            canonical => input.base_url,
            source_commit,
            cards => Value::from(cards),
            filters => Value::from(Serde(&view::filters(&images))),
        },
    )?;

    let rest = [
        ("assets/site.css", CSS.as_bytes().to_vec()),
        ("assets/site.js", JS.as_bytes().to_vec()),
        ("index.html", home.into_bytes()),
        ("index.json", input.index_text.as_bytes().to_vec()),
        (
            "schema/index.schema.json",
            schema_json(SchemaKind::Index).into_bytes(),
        ),
        // GitHub Pages: serve the files as they are (no Jekyll build).
        (".nojekyll", Vec::new()),
    ];
    for (path, bytes) in rest {
        sink(file(path, bytes))?;
        paths.push(path.to_string());
    }
    paths.sort();
    Ok(paths)
}

fn file(path: &str, bytes: Vec<u8>) -> File {
    File {
        path: path.to_string(),
        bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_html("a/b@sha256:1"), "a/b@sha256:1");
        assert_eq!(
            escape_html("<a href=\"x\" title='y'>&amp;</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn codes_that_are_file_names() {
        assert!(is_code("ci-base"));
        assert!(is_code("_x"));
        assert!(is_code(&"a".repeat(32)));
        assert!(!is_code(&"a".repeat(33)));
        assert!(!is_code(""));
        assert!(!is_code("1abc"));
        assert!(!is_code("../x"));
        assert!(!is_code("a/b"));
        assert!(!is_code("a.html"));
    }
}
