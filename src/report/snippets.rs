//! Diagnostics as a terminal shows them: the code, the message, `file:line:col`, the offending
//! source line with a caret under the position, and the hint — rendered by annotate-snippets
//! (the crate cargo and rustc use), in colour when the caller asks for it.
//!
//! Input: sorted diagnostics and the catalogue root their paths are relative to (files are
//! read once each, lazily). Output: a string. A file that cannot be read (deleted since, or a
//! position past its end) falls back to the one-line form, so nothing is ever lost.
//! Used for text output on a terminal (or `--color always`); pipes and CI logs keep the stable
//! one-line form of [`crate::model::diag::render_text`].

use std::collections::HashMap;
use std::path::Path;

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

use crate::model::diag::{Diagnostic, Severity};

/// Render `diags` with source snippets; `styled` adds ANSI colours.
pub fn render(diags: &[Diagnostic], root: &Path, styled: bool) -> String {
    let renderer = if styled {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut sources: HashMap<&str, Option<String>> = HashMap::new();
    let mut out = String::new();
    for d in diags {
        let text = sources
            .entry(d.file.as_str())
            .or_insert_with(|| std::fs::read_to_string(root.join(&d.file)).ok());
        match text.as_deref().and_then(|t| line_of(t, d.line)) {
            Some(line) => {
                let span = span_at(line, d.column);
                let level = match d.severity {
                    Severity::Error => Level::ERROR,
                    Severity::Warning => Level::WARNING,
                };
                let code = d.code.to_string();
                let mut group = level.primary_title(&d.message).id(&code).element(
                    Snippet::source(line)
                        .line_start(d.line as usize)
                        .path(&d.file)
                        .annotation(AnnotationKind::Primary.span(span)),
                );
                if let Some(h) = &d.hint {
                    group = group.element(Level::HELP.message(h));
                }
                out.push_str(&renderer.render(&[group]));
                out.push_str("\n\n");
            }
            None => {
                out.push_str(&d.to_string());
                out.push('\n');
            }
        }
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    out.push_str(&format!("{errors} error(s), {warnings} warning(s)\n"));
    out
}

/// Line `n` (1-based) of `text`, without its line ending.
fn line_of(text: &str, n: u32) -> Option<&str> {
    let line = text.lines().nth((n as usize).checked_sub(1)?)?;
    Some(line.strip_suffix('\r').unwrap_or(line))
}

/// The byte span to underline: from character column `col` (1-based) to the end of the word
/// there (at least one character; the end of the line when the column is past it).
fn span_at(line: &str, col: u32) -> std::ops::Range<usize> {
    let start = line
        .char_indices()
        .nth((col as usize).saturating_sub(1))
        .map(|(i, _)| i)
        .unwrap_or(line.len());
    let rest = &line[start..];
    let len = rest
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || *c == ',' || *c == '}' || *c == ']')
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    // A map key's span stops before its colon.
    let len = if len > 1 && rest[..len].ends_with(':') {
        len - 1
    } else {
        len
    };
    let len = if len == 0 {
        rest.chars().next().map(char::len_utf8).unwrap_or(0)
    } else {
        len
    };
    start..start + len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::diag::Code;
    use crate::model::span::Pos;

    #[test]
    fn shows_the_source_line_with_a_caret_under_the_value() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("images")).unwrap();
        std::fs::write(
            dir.path().join("images/a.yaml"),
            "code: a\nimage:\n  tag: latest\n",
        )
        .unwrap();
        let d = Diagnostic::error(
            Code::TagLatest,
            "images/a.yaml",
            Pos::new(3, 8),
            "tag `latest` is not allowed",
        )
        .with_hint("pin a version tag");
        let text = render(&[d], dir.path(), false);
        assert!(text.contains("error[E"), "{text}");
        assert!(text.contains("images/a.yaml:3:8"), "{text}");
        assert!(text.contains("3 |   tag: latest"), "{text}");
        // The caret sits under `latest` (column 8), six characters wide.
        let caret_line = text.lines().find(|l| l.contains('^')).unwrap();
        let bar = caret_line.find('|').unwrap();
        assert_eq!(&caret_line[bar + 1..].trim_end(), &"        ^^^^^^");
        assert!(text.contains("help: pin a version tag"), "{text}");
        assert!(text.ends_with("1 error(s), 0 warning(s)\n"));
        assert!(!text.contains('\u{1b}'), "plain output has no escapes");
        assert!(render(&[], dir.path(), true).ends_with("0 error(s), 0 warning(s)\n"));
    }

    #[test]
    fn unreadable_source_falls_back_to_one_line() {
        let d = Diagnostic::error(Code::TagLatest, "gone.yaml", Pos::new(1, 1), "msg");
        let text = render(std::slice::from_ref(&d), Path::new("/nonexistent"), true);
        assert_eq!(text, format!("{d}\n1 error(s), 0 warning(s)\n"));
    }
}
