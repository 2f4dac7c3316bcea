//! A listing's markdown description as HTML that can only format text.
//!
//! The description is untrusted (DESIGN "Integrity"): whoever edits a listing must not be able
//! to add HTML, scripts, links, images or anything that loads or points elsewhere. Two layers:
//!
//! 1. pulldown-cmark events are rewritten before rendering: raw HTML (blocks and inline) becomes
//!    text, so it shows literally; a link keeps its text and shows its destination in
//!    parentheses as text; an image shows its alt text in brackets; headings move two levels
//!    down (`#` → `<h3>`) under the page's own `<h1>`/`<h2>`.
//! 2. ammonia then keeps only formatting tags (paragraphs, emphasis, code, lists, quotes,
//!    headings, tables), with no attributes at all and no URL schemes, and drops the content of
//!    `script` and `style` — so even a bug in step 1 cannot let markup through.

use std::collections::HashSet;

use pulldown_cmark::{CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

/// Tags a rendered description may contain (ammonia's allow-list).
const ALLOWED_TAGS: &[&str] = &[
    "p",
    "br",
    "hr",
    "em",
    "strong",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
];

/// Renders descriptions; build once per site (the sanitiser's tables are reused).
pub struct Markdown {
    cleaner: ammonia::Builder<'static>,
}

impl Default for Markdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Markdown {
    pub fn new() -> Self {
        let mut cleaner = ammonia::Builder::empty();
        cleaner
            .tags(ALLOWED_TAGS.iter().copied().collect())
            .clean_content_tags(["script", "style"].into_iter().collect())
            .generic_attributes(HashSet::new())
            .tag_attributes(Default::default())
            .url_schemes(HashSet::new())
            .link_rel(None)
            .strip_comments(true);
        Markdown { cleaner }
    }

    /// Safe HTML for `text` (markdown).
    pub fn to_html(&self, text: &str) -> String {
        let parser = Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
        let mut links: Vec<(LinkType, String)> = Vec::new();
        let events = parser.filter_map(|ev| match ev {
            Event::Html(s) | Event::InlineHtml(s) => Some(Event::Text(s)),
            Event::Start(Tag::HtmlBlock) => Some(Event::Start(Tag::Paragraph)),
            Event::End(TagEnd::HtmlBlock) => Some(Event::End(TagEnd::Paragraph)),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                ..
            }) => {
                links.push((link_type, dest_url.to_string()));
                None
            }
            Event::End(TagEnd::Link) => match links.pop() {
                Some((LinkType::Autolink | LinkType::Email, _)) | None => None,
                Some((_, dest)) if dest.is_empty() => None,
                Some((_, dest)) => Some(Event::Text(CowStr::from(format!(" ({dest})")))),
            },
            Event::Start(Tag::Image { .. }) => Some(Event::Text(CowStr::Borrowed("[image: "))),
            Event::End(TagEnd::Image) => Some(Event::Text(CowStr::Borrowed("]"))),
            Event::Start(Tag::Heading { level, .. }) => Some(Event::Start(Tag::Heading {
                level: demote(level),
                id: None,
                classes: Vec::new(),
                attrs: Vec::new(),
            })),
            Event::End(TagEnd::Heading(level)) => Some(Event::End(TagEnd::Heading(demote(level)))),
            Event::Start(Tag::CodeBlock(_)) => Some(Event::Start(Tag::CodeBlock(
                pulldown_cmark::CodeBlockKind::Indented,
            ))),
            other => Some(other),
        });
        let mut html = String::with_capacity(text.len() * 3 / 2);
        pulldown_cmark::html::push_html(&mut html, events);
        self.cleaner.clean(&html).to_string()
    }
}

/// Two levels down, at most `<h6>`: the page owns `<h1>` (the image) and `<h2>` (sections).
fn demote(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H3,
        HeadingLevel::H2 => HeadingLevel::H4,
        HeadingLevel::H3 => HeadingLevel::H5,
        _ => HeadingLevel::H6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(md: &str) -> String {
        Markdown::new().to_html(md)
    }

    #[test]
    fn formatting_is_kept() {
        assert_eq!(
            html("Ubuntu with `build-essential`, *git* and **curl**.\n\n- one\n- two\n"),
            "<p>Ubuntu with <code>build-essential</code>, <em>git</em> and <strong>curl</strong>.</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
        );
        assert_eq!(html("# Usage\n## More"), "<h3>Usage</h3>\n<h4>More</h4>\n");
        assert_eq!(
            html("```sh\necho hi\n```\n"),
            "<pre><code>echo hi\n</code></pre>\n"
        );
        assert_eq!(
            html("| a | b |\n|:--|--:|\n| 1 | 2 |\n"),
            "<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody>\n<tr><td>1</td><td>2</td></tr>\n</tbody></table>\n"
        );
    }

    #[test]
    fn raw_html_shows_as_text() {
        assert_eq!(
            html("<script>alert(1)</script>\n"),
            "<p>&lt;script&gt;alert(1)&lt;/script&gt;\n</p>\n"
        );
        assert_eq!(
            html("hi <img src=x onerror=\"alert(1)\"> <b onclick=x>b</b>"),
            "<p>hi &lt;img src=x onerror=\"alert(1)\"&gt; &lt;b onclick=x&gt;b&lt;/b&gt;</p>\n"
        );
        assert_eq!(
            html("<div onmouseover=\"x()\">\n\n*still markdown*\n\n</div>\n"),
            "<p>&lt;div onmouseover=\"x()\"&gt;\n</p>\n<p><em>still markdown</em></p>\n<p>&lt;/div&gt;\n</p>\n"
        );
    }

    #[test]
    fn links_and_images_become_text() {
        assert_eq!(
            html("[docs](javascript:alert(1)) and [x](https://evil.example \"t\")"),
            "<p>docs (javascript:alert(1)) and x (https://evil.example)</p>\n"
        );
        assert_eq!(
            html("<https://evil.example> [r][1]\n\n[1]: https://r.example\n"),
            "<p>https://evil.example r (https://r.example)</p>\n"
        );
        assert_eq!(
            html("![logo](https://evil.example/x.png)"),
            "<p>[image: logo]</p>\n"
        );
    }

    #[test]
    fn nothing_but_formatting_survives() {
        // Whatever the markdown step lets through, the sanitiser has the last word.
        let md = Markdown::new();
        assert_eq!(
            md.cleaner
                .clean("<p style=\"x\" onclick=\"y\"><a href=\"https://e\">t</a><img src=x><script>s</script></p>")
                .to_string(),
            "<p>t</p>"
        );
    }
}
