//! Policy diagnostics for tag templates.
//!
//! Input: one loaded policy and the catalogue root. Output: an `E0205 InvalidTemplate` diagnostic when the policy
//! whose `target.tag` cannot be used (minijinja syntax errors, unknown filters, tests,
//! functions or variables, invalid strftime formats, unknown MSR `%` codes), positioned at
//! the offending character when it can be located in the file, else at the tag value.
//! Regex, semver range and platform checks live in `validate.rs`.

use crate::model::diag::{Code, Diagnostic, Diagnostics};
use std::path::Path;

use crate::model::span::{Pos, Sp};
use crate::model::{Policy, Source};
use crate::policy::template::TagTemplate;

/// Template check of one policy (read from `root`/`src.path`).
pub fn check_policy(root: &Path, src: &Source<Policy>) -> Diagnostics {
    let mut diags = Diagnostics::new();
    {
        let tag = &src.value.target.value.tag;
        if let Err(e) = TagTemplate::parse(tag) {
            let line_text = std::fs::read_to_string(root.join(&src.path))
                .ok()
                .and_then(|t| {
                    t.lines()
                        .nth(tag.pos.line.saturating_sub(1) as usize)
                        .map(str::to_string)
                });
            let pos = locate(tag, line_text.as_deref(), e.offset);
            diags.push(
                Diagnostic::error(
                    Code::InvalidTemplate,
                    &src.path,
                    pos,
                    format!("target.tag {:?}: {}", tag.value, e.message),
                )
                .with_hint(
                    "a tag with `{{ }}` is a minijinja template (variables tag, repository, digest, version, labels, created, promoted_at; filter strftime); without, MSR codes (%n = source tag, %Y %m %d %H %M %S …)",
                ),
            );
        }
    }
    diags
}

/// Position of byte `offset` of a single-line template whose YAML value starts at `tag.pos`.
/// Quoted scalars start one column later; escapes inside double quotes would shift the
/// column, so they fall back to the value's own position.
fn locate(tag: &Sp<String>, line: Option<&str>, offset: Option<usize>) -> Pos {
    let (Some(line), Some(off)) = (line, offset) else {
        return tag.pos;
    };
    if tag.pos.line == 0 || tag.value.contains('\n') || off > tag.value.len() {
        return tag.pos;
    }
    let start = tag.pos.col.saturating_sub(1) as usize;
    let rest: String = line.chars().skip(start).collect();
    let quote = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => Some(q),
        _ => None,
    };
    let body: String = rest.chars().skip(usize::from(quote.is_some())).collect();
    if !body.starts_with(tag.value.as_str()) {
        // Escaped or folded: do not guess.
        return tag.pos;
    }
    let chars = tag.value[..off].chars().count() as u32;
    Pos::new(
        tag.pos.line,
        tag.pos.col + u32::from(quote.is_some()) + chars,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Catalogue;

    fn check_policies(cat: &Catalogue) -> Diagnostics {
        let mut d = Diagnostics::new();
        for p in &cat.policies {
            d.extend(check_policy(&cat.root, p));
        }
        d
    }

    fn catalogue(files: &[(&str, &str)]) -> (tempfile::TempDir, Catalogue) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = dir.path().join("policies").join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let (cat, diags) = crate::catalogue::load::load(dir.path());
        assert!(diags.is_empty(), "{:?}", diags.into_sorted());
        (dir, cat)
    }

    fn policy(tag_line: &str) -> String {
        format!(
            "name: p\nsource: {{ registry: r.example, repository: dev/web }}\ntarget:\n  registry: r.example\n  repository: qa/web\n{tag_line}\n"
        )
    }

    #[test]
    fn reports_each_bad_template_with_position() {
        let (_d, cat) = catalogue(&[
            (
                "a.yaml",
                &policy("  tag: \"{{ promoted_at | strftime('%Y') }}\""),
            ),
            ("b.yaml", &policy("  tag: \"x-{{ tag | nope }}\"")),
            ("c.yaml", &policy("  tag: '%n-%Q'")),
            ("d.yaml", &policy("  tag: v{{ tag")),
            ("e.yaml", &policy("  tag: \"%n-%Y%m%d\"")),
        ]);
        let got: Vec<String> = check_policies(&cat)
            .into_sorted()
            .iter()
            .map(|d| format!("{}:{}:{} {}", d.file, d.line, d.column, d.code))
            .collect();
        // b: the value starts at col 8 (the quote); `nope` is byte 11 of it → col 20.
        // c: `%Q` at byte 3 of a single-quoted value → col 8 + 1 + 3.
        // d: plain scalar at col 8; minijinja points at `tag` (byte 4) → col 12.
        assert_eq!(
            got,
            vec![
                "policies/b.yaml:6:20 E0205",
                "policies/c.yaml:6:12 E0205",
                "policies/d.yaml:6:12 E0205",
            ]
        );
        let d = check_policies(&cat).into_sorted();
        assert!(d[0].message.contains("unknown filter"), "{}", d[0].message);
        assert!(d[1].message.contains("'%Q'"), "{}", d[1].message);
        assert!(d[2].message.contains("syntax error"), "{}", d[2].message);
    }
}
