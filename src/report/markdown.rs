//! Untrusted text in markdown: the plan goes into a PR comment and the step summary, and
//! listing text (messages quoting YAML values, file names, registry error reasons, policy
//! names) is written by whoever opened the pull request.
//!
//! Input: any string. Output: markdown that renders as exactly that text on one line: it cannot
//! add HTML, images or links, ping `@someone` or cross-reference `#123`, start a new line or
//! break out of a table cell or code span.

/// Plain text for a table cell or list item.
///
/// Markdown punctuation that could start emphasis, code, links, images, strike-through or
/// math is backslash-escaped, `<`/`>`/`&` become entities (no HTML), `@` and
/// `#` get a zero-width space after them (no mentions, no issue references), line breaks
/// become spaces and `|` is escaped (the table stays a table).
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '\r' | '\n' => out.push(' '),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' => out.push_str("@&#8203;"),
            '#' => out.push_str("#&#8203;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '!' | '~' | '|' | '$' => {
                out.push('\\');
                out.push(ch);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A berth message, which quotes values in backticks (`` tag `latest` is not allowed ``):
/// each quoted value becomes a [`code`] span and the rest [`text`], so the message keeps its
/// formatting while every piece is escaped. With an odd number of backticks (a value holding
/// one) the whole message is [`text`].
pub fn message(s: &str, in_table: bool) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return text(s);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 0 {
                text(p)
            } else {
                code(p, in_table)
            }
        })
        .collect()
}

/// An inline code span holding `s` verbatim (nothing inside a code span is markdown, HTML,
/// a mention or a reference). The fence is one backtick longer than the longest run in `s`;
/// line breaks become spaces. `in_table`: `|` is escaped as `\|`, which GitHub's tables
/// require even inside code spans (and show as `|`).
pub fn code(s: &str, in_table: bool) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = if in_table {
        flat.replace('|', "\\|")
    } else {
        flat
    };
    let mut longest = 0;
    let mut run = 0;
    for c in flat.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    if flat.is_empty() {
        return String::new();
    }
    let fence = "`".repeat(longest + 1);
    // A span holding a backtick gets a space inside the fence (stripped when rendered), so
    // that a backtick at its start or end is not read as part of the fence.
    if longest > 0 {
        format!("{fence} {flat} {fence}")
    } else {
        format!("{fence}{flat}{fence}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_neutralises_html_mentions_references_and_tables() {
        assert_eq!(text("plain words 1 2"), "plain words 1 2");
        assert_eq!(
            text("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(text("cc @octocat"), "cc @&#8203;octocat");
        assert_eq!(text("fixes #12"), "fixes #&#8203;12");
        assert_eq!(text("a | b\nc\r"), "a \\| b c ");
        assert_eq!(text("[x](https://e.example)"), "\\[x\\](https://e.example)");
        assert_eq!(text("![t](u)"), "\\!\\[t\\](u)");
        assert_eq!(text("**b** _i_ `c`"), "\\*\\*b\\*\\* \\_i\\_ \\`c\\`");
        assert_eq!(text("&lt;"), "&amp;lt;");
        assert_eq!(text("a\u{7}b"), "a b");
    }

    #[test]
    fn messages_keep_their_code_spans() {
        assert_eq!(
            message("tag `latest` is not allowed | @x", true),
            "tag `latest` is not allowed \\| @&#8203;x"
        );
        assert_eq!(
            message("name `<b>@x</b>` taken", false),
            "name `<b>@x</b>` taken"
        );
        // An odd backtick (inside a value) cannot open a span: all of it is text.
        assert_eq!(
            message("name `a`b` <i>", false),
            "name \\`a\\`b\\` &lt;i&gt;"
        );
        assert_eq!(message("", false), "");
    }

    #[test]
    fn code_spans_hold_any_text() {
        assert_eq!(code("host/repo:1.0", true), "`host/repo:1.0`");
        assert_eq!(code("a|b", true), "`a\\|b`");
        assert_eq!(code("a|b", false), "`a|b`");
        assert_eq!(code("x`y", false), "`` x`y ``");
        assert_eq!(code("``", false), "``` `` ```");
        assert_eq!(code("a\nb", false), "`a b`");
        assert_eq!(code("", false), "");
        // Mentions and HTML are inert inside a code span: kept as they are.
        assert_eq!(code("@team <b>", false), "`@team <b>`");
    }
}
