//! Doublestar repository patterns (`dev/**`, `dev/*`, `team-?/app`, `{dev,qa}/web`): the one
//! rule that both `berth validate` and the promotion planner use.
//!
//! Input: a policy's `source.repository`. Output: a [`RepoPattern`] (a matcher over
//! repository paths) or a [`PatternError`] saying what is wrong.
//!
//! Semantics (doublestar globbing, as in the contract):
//! - `*` matches any characters within one path component, `?` exactly one; neither crosses
//!   a `/`;
//! - `**` as a whole component matches zero or more whole components, so `dev/**` matches
//!   `dev`, `dev/a` and `dev/a/b`, and `a/**/b` matches `a/b`; `**/**` is the same as `**`;
//! - `{a,b}` are alternatives (nested braces allowed, alternatives may contain `/`), so
//!   `{dev,qa}/web` matches `dev/web` and `qa/web`.
//!
//! Rules (errors, never guessed at): `**` inside a component (`web**`) is refused, where
//! doublestar silently reads it as `*`; empty components (`//`, a leading or trailing `/`)
//! and characters no repository can contain (uppercase, `:`, `[`, spaces) are refused, so a
//! pattern only matches repositories a registry can hold; braces must balance; at most
//! [`MAX_ALTERNATIVES`] alternatives.
//!
//! Why not `globset`: its `dev/**` does not match `dev` itself and it accepts `dev/a**`
//! without a word, and it cannot say which component of a pattern is wrong; the patterns here
//! are tiny, so each alternative is compiled to one anchored regex.

use regex::Regex;

use crate::model::reference;

/// Most alternatives a brace pattern may expand to.
pub const MAX_ALTERNATIVES: usize = 64;

/// Why a pattern is not usable; the message completes "… is not a valid pattern: ".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatternError(pub String);

/// A compiled repository pattern.
#[derive(Clone, Debug)]
pub struct RepoPattern {
    source: String,
    re: Regex,
}

/// Does `s` contain glob syntax (and so need the registry catalogue to resolve)?
pub fn has_wildcards(s: &str) -> bool {
    s.contains(['*', '?', '{', '}'])
}

impl RepoPattern {
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        if pattern.is_empty() {
            return Err(PatternError("the pattern is empty".into()));
        }
        let alternatives = expand_braces(pattern)?;
        let mut res = Vec::with_capacity(alternatives.len());
        for alt in &alternatives {
            let re = alternative_regex(alt).map_err(|e| {
                if alternatives.len() > 1 {
                    PatternError(format!("in the alternative `{alt}`: {}", e.0))
                } else {
                    e
                }
            })?;
            res.push(re);
        }
        let re = format!("^(?:{})$", res.join("|"));
        Ok(RepoPattern {
            source: pattern.to_string(),
            re: Regex::new(&re).map_err(|e| PatternError(e.to_string()))?,
        })
    }

    pub fn matches(&self, repository: &str) -> bool {
        self.re.is_match(repository)
    }

    /// A plain repository name: resolved without listing the registry's catalogue.
    pub fn is_literal(&self) -> bool {
        !has_wildcards(&self.source)
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// Expand `{a,b}` alternatives (nested, possibly containing `/`) into plain patterns.
fn expand_braces(pattern: &str) -> Result<Vec<String>, PatternError> {
    let unbalanced = || PatternError("unbalanced `{` or `}`".into());
    let Some(open) = pattern.find('{') else {
        if pattern.contains('}') {
            return Err(unbalanced());
        }
        return Ok(vec![pattern.to_string()]);
    };
    if pattern[..open].contains('}') {
        return Err(unbalanced());
    }
    // The matching `}` of the first `{`, and the top-level commas between them.
    let mut depth = 0usize;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, c) in pattern.char_indices().skip_while(|(i, _)| *i < open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let close = close.ok_or_else(unbalanced)?;
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    let mut bounds = vec![open];
    bounds.extend(commas);
    bounds.push(close);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let body = &pattern[w[0] + 1..w[1]];
        for alt in expand_braces(&format!("{head}{body}{tail}"))? {
            if out.len() == MAX_ALTERNATIVES {
                return Err(PatternError(format!(
                    "more than {MAX_ALTERNATIVES} alternatives"
                )));
            }
            out.push(alt);
        }
    }
    Ok(out)
}

/// Check one brace-free alternative and compile it to a regex body (unanchored).
fn alternative_regex(pattern: &str) -> Result<String, PatternError> {
    if pattern.contains(',') {
        return Err(PatternError("`,` is only allowed inside `{…}`".into()));
    }
    let mut comps: Vec<&str> = Vec::new();
    for c in pattern.split('/') {
        // `**/**` is the same as `**`.
        if c == "**" && comps.last() == Some(&"**") {
            continue;
        }
        comps.push(c);
    }
    for c in &comps {
        if c.is_empty() {
            return Err(PatternError(
                "empty path component (`//`, or a leading or trailing `/`)".into(),
            ));
        }
        if *c != "**" {
            if c.contains("**") {
                return Err(PatternError(format!(
                    "`**` must be a whole path component, found `{c}`"
                )));
            }
            // Wildcards stand for at least a valid character; the rest must be a valid component.
            let probe = c.replace(['*', '?'], "a");
            if !reference::valid_repository(&probe) {
                return Err(PatternError(format!(
                    "component `{c}` is not a valid repository component"
                )));
            }
        }
    }
    if comps == ["**"] {
        return Ok(r"[^/]+(?:/[^/]+)*".to_string());
    }
    let mut re = String::new();
    let mut after_leading_globstar = false;
    for (i, c) in comps.iter().enumerate() {
        if *c == "**" {
            if i == 0 {
                re.push_str("(?:[^/]+/)*");
                after_leading_globstar = true;
            } else {
                re.push_str("(?:/[^/]+)*");
            }
            continue;
        }
        if i > 0 && !after_leading_globstar {
            re.push('/');
        }
        after_leading_globstar = false;
        for ch in c.chars() {
            match ch {
                '*' => re.push_str("[^/]*"),
                '?' => re.push_str("[^/]"),
                other => re.push_str(&regex::escape(&other.to_string())),
            }
        }
    }
    Ok(re)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, &str, bool)] = &[
            ("dev/website", "dev/website", true),
            ("dev/website", "dev/websites", false),
            ("dev/*", "dev/website", true),
            ("dev/*", "dev/a/b", false),
            ("dev/*", "dev", false),
            ("dev/**", "dev", true),
            ("dev/**", "dev/a", true),
            ("dev/**", "dev/a/b/c", true),
            ("dev/**", "devx/a", false),
            ("dev/**", "qa/dev/a", false),
            ("**", "a/b", true),
            ("**/web", "web", true),
            ("**/web", "x/y/web", true),
            ("**/web", "x/y/webs", false),
            ("dev/**/web", "dev/web", true),
            ("dev/**/web", "dev/a/b/web", true),
            ("dev/**/web", "dev/a/b/api", false),
            ("team-?/app", "team-a/app", true),
            ("team-?/app", "team-ab/app", false),
            ("{dev,qa}/web", "qa/web", true),
            ("{dev,qa}/web", "dev/web", true),
            ("{dev,qa}/web", "prod/web", false),
            ("{dev,qa}/web", "dev,qa/web", false),
            ("dev/web.site", "dev/webxsite", false),
            ("dev/web-*", "dev/web-api", true),
            // Alternatives may span components and nest.
            ("{dev/a,qa/**}/x", "dev/a/x", true),
            ("{dev/a,qa/**}/x", "qa/b/c/x", true),
            ("{dev/a,qa/**}/x", "dev/b/x", false),
            ("team-{a,b{1,2}}/app", "team-b2/app", true),
            ("team-{a,b{1,2}}/app", "team-b/app", false),
        ];
        for (p, repo, want) in cases {
            let pat = RepoPattern::new(p).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert_eq!(pat.matches(repo), *want, "{p} vs {repo}");
        }
    }

    /// The table `berth validate` used to hold (`compile_pattern`), kept whole.
    #[test]
    fn doublestar_patterns() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "dev/website",
                &["dev/website"],
                &["dev/websites", "dev", "x/dev/website"],
            ),
            (
                "dev/*",
                &["dev/a", "dev/web-site"],
                &["dev", "dev/a/b", "x/dev/a"],
            ),
            (
                "dev/**",
                &["dev", "dev/a", "dev/a/b/c"],
                &["devx", "x/dev/a"],
            ),
            ("**/web", &["web", "a/web", "a/b/web"], &["web2", "a/web/b"]),
            (
                "a/**/b",
                &["a/b", "a/x/b", "a/x/y/b"],
                &["a/xb", "ab", "a/b/c"],
            ),
            ("**", &["a", "a/b/c"], &[""]),
            (
                "team-?/web*",
                &["team-a/web", "team-b/website"],
                &["team-ab/web", "team-/web"],
            ),
            ("a/**/**/b", &["a/b", "a/x/b"], &["b"]),
            ("v1.0/x", &["v1.0/x"], &["v1x0/x"]),
        ];
        for (pat, yes, no) in cases {
            let re = RepoPattern::new(pat).unwrap_or_else(|e| panic!("{pat}: {e}"));
            for y in *yes {
                assert!(re.matches(y), "{pat} should match {y}");
            }
            for n in *no {
                assert!(!re.matches(n), "{pat} should not match {n}");
            }
        }
        for bad in [
            "", "dev/", "/dev", "dev//x", "dev/***", "dev/a**", "Dev/x", "dev/x:1", "a b",
        ] {
            assert!(RepoPattern::new(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn errors_and_literals() {
        let err = |p: &str| RepoPattern::new(p).unwrap_err().0;
        assert_eq!(
            err("dev/a**"),
            "`**` must be a whole path component, found `a**`"
        );
        assert_eq!(err("{dev/a"), "unbalanced `{` or `}`");
        assert_eq!(err("a}"), "unbalanced `{` or `}`");
        assert_eq!(err("a}{b"), "unbalanced `{` or `}`");
        assert_eq!(err("dev,qa/web"), "`,` is only allowed inside `{…}`");
        assert_eq!(
            err("{,qa}/web"),
            "in the alternative `/web`: empty path component (`//`, or a leading or trailing `/`)"
        );
        assert_eq!(
            err("{dev,QA}/web"),
            "in the alternative `QA/web`: component `QA` is not a valid repository component"
        );
        assert_eq!(
            err("[ab]/x"),
            "component `[ab]` is not a valid repository component"
        );
        let many = "{a,b}/{a,b}/{a,b}/{a,b}/{a,b}/{a,b}/{a,b}";
        assert_eq!(err(many), "more than 64 alternatives");
        assert!(RepoPattern::new("dev/web").unwrap().is_literal());
        assert!(!RepoPattern::new("dev/*").unwrap().is_literal());
        assert!(!RepoPattern::new("{dev,qa}/web").unwrap().is_literal());
    }
}
