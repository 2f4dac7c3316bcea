//! `compile`: a loaded policy → a [`CompiledPolicy`] ready to evaluate, or every diagnostic
//! that explains why it is not ("parse, don't validate").
//!
//! Input: one [`Source<Policy>`] (the typed file with its relative path and spans) and the
//! catalogue root (the template check reads the value's line once, only when the template is
//! wrong, to place the caret inside a quoted scalar). Output: `Ok(CompiledPolicy)` — the
//! source pattern matcher, the compiled criteria (anchored regexes, semver ranges,
//! platforms), the parsed tag template and the canonical source host and target — or
//! `Err(Diagnostics)`, every problem of the file at once, each at the offending value:
//! name (E0201), registries (E0109), target repository (E0107), source pattern (E0206),
//! criteria (E0203, E0204, E0207, E0208, E0120, E0603), signature key files (E0601, E0602)
//! and the tag template (E0205).
//!
//! Invariants: this is the only place a policy is checked. `berth validate` reports these
//! diagnostics (plus the cross-file rules it owns: duplicate names, credentials defined in
//! berth.yaml) and the promotion planner evaluates only what compiled, so a policy the planner
//! runs is one validate accepts, and the other way round. Pure apart from that one read.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::model::diag::{Code, Diagnostic, Diagnostics};
use crate::model::reference::{
    normalize_registry, normalize_repository, registry_diagnostic, repository_diagnostic,
};
use crate::model::span::{Pos, Sp};
use crate::model::{Policy, Source};
use crate::policy::criteria::Criteria;
use crate::policy::pattern::RepoPattern;
use crate::policy::template::TagTemplate;

static POLICY_NAME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_][A-Za-z0-9_.-]{0,63}$").unwrap());

/// A policy that passed every check, in the form the planner evaluates.
#[derive(Clone, Debug)]
pub struct CompiledPolicy {
    pub name: String,
    /// Policy file, relative to the catalogue root.
    pub path: PathBuf,
    /// Canonical source registry host.
    pub source_host: String,
    /// Which source repositories the policy reads.
    pub pattern: RepoPattern,
    pub criteria: Criteria,
    pub template: TagTemplate,
    /// Canonical target registry host and repository.
    pub target_host: String,
    pub target_repository: String,
    pub overwrite: bool,
}

/// Check and compile one policy (read from `root`/`src.path`).
pub fn compile(root: &Path, src: &Source<Policy>) -> Result<CompiledPolicy, Diagnostics> {
    let file = src.path.as_path();
    let p = &src.value;
    let mut d = Diagnostics::new();

    if !POLICY_NAME_RE.is_match(&p.name.value) {
        d.push(
            Diagnostic::error(
                Code::InvalidPolicyName,
                file,
                p.name.pos,
                format!("policy name `{}` is not valid", p.name.value),
            )
            .with_hint("up to 64 letters, digits, `_`, `.` or `-`, e.g. `website-to-qa`"),
        );
    }
    d.push_all(registry_diagnostic(p.source.registry.as_ref(), file));
    let pattern = RepoPattern::new(&p.source.repository.value)
        .map_err(|e| {
            d.push(
                Diagnostic::error(
                    Code::InvalidPattern,
                    file,
                    p.source.repository.pos,
                    format!(
                        "source repository `{}` is not a valid pattern: {e}",
                        p.source.repository.value
                    ),
                )
                .with_hint(
                    "a repository path where components may use `*`, `?`, `{a,b}`, or be `**`, e.g. `dev/**`",
                ),
            )
        })
        .ok();
    d.push_all(registry_diagnostic(p.target.registry.as_ref(), file));
    d.push_all(repository_diagnostic(&p.target.repository, file));
    let criteria = Criteria::compile(p.criteria.iter().map(|c| &c.value))
        .map_err(|problems| {
            for pr in problems {
                d.push(Diagnostic::error(pr.code, file, pr.pos, pr.message).with_hint(pr.hint));
            }
        })
        .ok();
    // Signature keys: files of the catalogue (E0601, E0602).
    for c in &p.criteria {
        if let crate::model::Criterion::Signature(sig) = &c.value
            && let Some(diag) =
                crate::supply::keys::diagnostic(root, &sig.key.value, file, sig.key.pos)
        {
            d.push(diag);
        }
    }
    let template = TagTemplate::parse(&p.target.tag)
        .map_err(|e| {
            let tag = &p.target.tag;
            let pos = locate(root, file, tag, e.offset);
            d.push(
                Diagnostic::error(
                    Code::InvalidTemplate,
                    file,
                    pos,
                    format!("target.tag {:?}: {}", tag.value, e.message),
                )
                .with_hint(
                    "a tag with `{{ }}` is a minijinja template (variables tag, repository, digest, version, labels, created, promoted_at; filter strftime); without, MSR codes (%n = source tag, %Y %m %d %H %M %S …)",
                ),
            )
        })
        .ok();

    match (pattern, criteria, template) {
        (Some(pattern), Some(criteria), Some(template)) if d.is_empty() => {
            let source_host =
                normalize_registry(p.source.registry.as_ref().map(|r| r.value.as_str()));
            let target_host =
                normalize_registry(p.target.registry.as_ref().map(|r| r.value.as_str()));
            let target_repository = normalize_repository(&target_host, &p.target.repository);
            Ok(CompiledPolicy {
                name: p.name.value.clone(),
                path: src.path.clone(),
                source_host,
                pattern,
                criteria,
                template,
                target_host,
                target_repository,
                overwrite: p.overwrite,
            })
        }
        _ => Err(d),
    }
}

/// Position of byte `offset` of a single-line template whose YAML value starts at `tag.pos`.
/// Quoted scalars start one column later; escapes inside double quotes would shift the
/// column, so they fall back to the value's own position.
fn locate(root: &Path, file: &Path, tag: &Sp<String>, offset: Option<usize>) -> Pos {
    let Some(off) = offset else {
        return tag.pos;
    };
    if tag.pos.line == 0 || tag.value.contains('\n') || off > tag.value.len() {
        return tag.pos;
    }
    let Some(line) = std::fs::read_to_string(root.join(file)).ok().and_then(|t| {
        t.lines()
            .nth(tag.pos.line.saturating_sub(1) as usize)
            .map(str::to_string)
    }) else {
        return tag.pos;
    };
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
            if let Err(e) = compile(&cat.root, p) {
                d.extend(e);
            }
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

    #[test]
    fn compiles_a_good_policy_canonically() {
        let (_d, cat) = catalogue(&[(
            "p.yaml",
            "name: p\nsource: { repository: \"{dev,qa}/web\" }\ncriteria:\n  - tag: { semver: \">=1\" }\ntarget: { repository: web, tag: \"%n\" }\noverwrite: true\n",
        )]);
        let c = compile(&cat.root, &cat.policies[0]).unwrap();
        assert_eq!(c.name, "p");
        assert_eq!(c.path, PathBuf::from("policies/p.yaml"));
        assert_eq!(c.source_host, "docker.io");
        assert!(c.pattern.matches("qa/web") && !c.pattern.matches("prod/web"));
        assert!(c.criteria.tag_holds("1.2.0") && !c.criteria.tag_holds("0.9.0"));
        assert_eq!(c.template.source(), "%n");
        assert_eq!(
            (c.target_host.as_str(), c.target_repository.as_str()),
            ("docker.io", "library/web")
        );
        assert!(c.overwrite);
    }

    #[test]
    fn every_problem_of_a_file_at_once() {
        let (_d, cat) = catalogue(&[(
            "p.yaml",
            "name: \"bad name\"\nsource: { registry: \"a_b\", repository: \"dev/a**\" }\ncriteria:\n  - tag: { matches: \"(\" }\n  - platform: linux\ntarget: { registry: r.example, repository: QA, tag: \"%Q\" }\n",
        )]);
        let d = compile(&cat.root, &cat.policies[0])
            .unwrap_err()
            .into_sorted();
        let got: Vec<String> = d
            .iter()
            .map(|d| format!("{}:{} {}", d.line, d.column, d.code))
            .collect();
        assert_eq!(
            got,
            vec![
                "1:7 E0201",
                "2:21 E0109",
                "2:40 E0206",
                "4:21 E0203",
                "5:15 E0207",
                "6:44 E0107",
                "6:54 E0205",
            ]
        );
    }
}
