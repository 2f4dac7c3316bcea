//! Line-level YAML lexing for `berth mark`'s text editor: just enough to find keys,
//! values, trailing comments and flow collections on the lines of a block mapping.
//!
//! Input: lines of a listing (each with its line ending). Output: byte offsets and keys;
//! [`quote`] renders a double-quoted scalar. Invariant: every helper answers `None` (or
//! leaves the text whole) when it meets something it does not understand, so the editor
//! refuses the layout instead of guessing; the editor re-parses what it wrote anyway.

/// `"…"` YAML double-quoted scalar that reads back as exactly `s`.
pub fn quote(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            '\0' => o.push_str("\\0"),
            // Control characters, DEL, C1 controls, line/paragraph separators and the BOM are
            // not allowed (or not kept) literally in YAML text: escape them.
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let n = c as u32;
                if n <= 0xff {
                    o.push_str(&format!("\\x{n:02x}"));
                } else {
                    o.push_str(&format!("\\u{n:04x}"));
                }
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Line body without its line ending.
pub(super) fn body(line: &str) -> &str {
    let l = line.strip_suffix('\n').unwrap_or(line);
    l.strip_suffix('\r').unwrap_or(l)
}

/// Line ending of a line (`""` for a last line without one).
pub(super) fn ending(line: &str) -> &str {
    &line[body(line).len()..]
}

pub(super) fn indent(line: &str) -> usize {
    body(line).len() - body(line).trim_start_matches(' ').len()
}

pub(super) fn is_blank(line: &str) -> bool {
    body(line).trim().is_empty()
}

pub(super) fn is_comment(line: &str) -> bool {
    body(line).trim_start().starts_with('#')
}

/// Non-blank, non-comment line.
pub(super) fn is_content(line: &str) -> bool {
    !is_blank(line) && !is_comment(line)
}

/// Parse a block mapping key at the start of `s`. Returns the key and the byte offset just
/// after its `:`. `None` for anything that is not a simple key (`- item`, `? key`, flow, …).
pub(super) fn parse_key(s: &str) -> Option<(String, usize)> {
    let first = s.chars().next()?;
    let (key, after) = match first {
        '"' => {
            let mut out = String::new();
            let mut it = s.char_indices().skip(1);
            loop {
                let (i, c) = it.next()?;
                match c {
                    '"' => break (out, i + 1),
                    '\\' => {
                        let (_, e) = it.next()?;
                        out.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                    }
                    c => out.push(c),
                }
            }
        }
        '\'' => {
            let mut out = String::new();
            let mut it = s.char_indices().skip(1).peekable();
            loop {
                let (i, c) = it.next()?;
                if c == '\'' {
                    if it.peek().map(|&(_, n)| n) == Some('\'') {
                        it.next();
                        out.push('\'');
                    } else {
                        break (out, i + 1);
                    }
                } else {
                    out.push(c);
                }
            }
        }
        '?' | '-' | '[' | '{' | '#' | '&' | '*' | '!' | '|' | '>' | '%' | '@' | '`' => {
            return None;
        }
        _ => {
            let bytes = s.as_bytes();
            let i = (0..bytes.len()).find(|&i| {
                bytes[i] == b':' && bytes.get(i + 1).is_none_or(|b| *b == b' ' || *b == b'\t')
            })?;
            return Some((s[..i].trim_end().to_string(), i + 1));
        }
    };
    let rest = &s[after..];
    let trimmed = rest.trim_start_matches([' ', '\t']);
    if !trimmed.starts_with(':') {
        return None;
    }
    Some((key, after + (rest.len() - trimmed.len()) + 1))
}

/// Split a single line's text into value and trailing comment (`#` after whitespace, outside
/// quotes). The comment part keeps the whitespace before the `#`.
pub(super) fn split_comment(s: &str) -> (&str, &str) {
    let mut quote: Option<char> = None;
    let mut prev: Option<char> = None;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match quote {
            Some(q) => quote = in_quote(q, c, &mut it),
            None if opens_quote(c, prev) => quote = Some(c),
            None if starts_comment(c, prev) => {
                let cut = s[..i].trim_end().len();
                return (&s[..cut], &s[cut..]);
            }
            None => {}
        }
        prev = Some(c);
    }
    (s, "")
}

/// One character `c` inside a scalar quoted with `open`: an escape (`\x` in `"…"`) or a
/// doubled `''` in `'…'` consumes the next character too. Returns the quote still open after
/// `c` (`None` when `c` closed it).
fn in_quote<I: Iterator<Item = (usize, char)>>(
    open: char,
    c: char,
    it: &mut std::iter::Peekable<I>,
) -> Option<char> {
    match (open, c) {
        ('"', '\\') => {
            it.next();
            Some(open)
        }
        ('"', '"') => None,
        ('\'', '\'') if it.peek().map(|&(_, n)| n) == Some('\'') => {
            it.next();
            Some(open)
        }
        ('\'', '\'') => None,
        _ => Some(open),
    }
}

/// A quote opens a quoted scalar only where a token starts (after whitespace, `{[,:`, or at
/// the start): `it's` is plain text.
fn opens_quote(c: char, prev: Option<char>) -> bool {
    (c == '"' || c == '\'') && prev.is_none_or(|p| p.is_whitespace() || "{[,:".contains(p))
}

/// `#` starts a comment only after whitespace (or at the start): `a#b` is plain text.
fn starts_comment(c: char, prev: Option<char>) -> bool {
    c == '#' && prev.is_none_or(char::is_whitespace)
}

/// Where a flow collection starting with `{` at (`line`, byte `col`) ends: the line and the
/// byte offset just after its closing `}`. Quotes and comments are honoured across lines.
pub(super) fn flow_end(lines: &[String], line: usize, col: usize) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (li, l) in lines.iter().enumerate().skip(line) {
        let b = body(l);
        let start = if li == line { col } else { 0 };
        let mut prev: Option<char> = if li == line && col > 0 {
            b[..col].chars().last()
        } else {
            None
        };
        let mut it = b[start..].char_indices().peekable();
        while let Some((off, c)) = it.next() {
            let i = start + off;
            match quote {
                Some(q) => quote = in_quote(q, c, &mut it),
                None if opens_quote(c, prev) => quote = Some(c),
                None if starts_comment(c, prev) => break,
                None => match c {
                    '{' | '[' => depth += 1,
                    '}' | ']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some((li, i + 1));
                        }
                    }
                    _ => {}
                },
            }
            prev = Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_key_forms() {
        assert_eq!(parse_key("\"1.0.1\": {"), Some(("1.0.1".into(), 8)));
        assert_eq!(parse_key("'1.0.1' : x"), Some(("1.0.1".into(), 9)));
        assert_eq!(parse_key("1.0.1:"), Some(("1.0.1".into(), 6)));
        assert_eq!(parse_key("versions:  # c"), Some(("versions".into(), 9)));
        assert_eq!(parse_key("- a"), None);
        assert_eq!(parse_key("a:b"), None);
    }

    #[test]
    fn comments_are_split_outside_quotes() {
        assert_eq!(split_comment("x # c"), ("x", " # c"));
        assert_eq!(split_comment("\"a # b\" # c"), ("\"a # b\"", " # c"));
        assert_eq!(split_comment("it's # c"), ("it's", " # c"));
        assert_eq!(split_comment("a#b"), ("a#b", ""));
    }
}
