//! Doublestar repository patterns (`dev/**`, `dev/*`, `team-?/app`, `{dev,qa}/web`).
//!
//! Input: a policy's `source.repository`. Output: a matcher over repository paths.
//! Semantics follow doublestar globbing: `*` and `?` never cross a `/`; `**` as a whole
//! component matches zero or more components (so `dev/**` matches `dev`, `dev/a` and
//! `dev/a/b`); `{a,b}` are alternatives. A pattern without wildcards is a plain repository
//! name and needs no catalogue listing to be resolved.

use regex::Regex;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatternError {
    #[error("unbalanced '{{' or '}}' in repository pattern")]
    Unbalanced,
    #[error("'**' must be a whole path component (`dev/**`, `**/web`)")]
    PartialDoubleStar,
}

/// A compiled repository pattern.
#[derive(Clone, Debug)]
pub struct RepoPattern {
    source: String,
    re: Regex,
}

/// Does `s` contain glob syntax (and so need the registry catalogue to resolve)?
pub fn has_wildcards(s: &str) -> bool {
    s.contains(['*', '?', '{', '['])
}

impl RepoPattern {
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        let comps: Vec<&str> = pattern.split('/').collect();
        let mut re = String::from("^");
        let n = comps.len();
        for (i, c) in comps.iter().enumerate() {
            let last = i + 1 == n;
            if *c == "**" {
                // Zero or more whole components, including their separators.
                if last {
                    if i == 0 {
                        re.push_str(".*");
                    } else {
                        // `a/**` also matches `a`: make the preceding '/' part of the group.
                        re.truncate(re.len() - 1);
                        re.push_str("(?:/.*)?");
                    }
                } else {
                    re.push_str("(?:[^/]+/)*");
                }
                continue;
            }
            if c.contains("**") {
                return Err(PatternError::PartialDoubleStar);
            }
            component(c, &mut re)?;
            if !last {
                re.push('/');
            }
        }
        re.push('$');
        Ok(RepoPattern {
            source: pattern.to_string(),
            re: Regex::new(&re).map_err(|_| PatternError::Unbalanced)?,
        })
    }

    pub fn matches(&self, repository: &str) -> bool {
        self.re.is_match(repository)
    }

    pub fn is_literal(&self) -> bool {
        !has_wildcards(&self.source)
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

fn component(c: &str, re: &mut String) -> Result<(), PatternError> {
    let mut depth = 0usize;
    for ch in c.chars() {
        match ch {
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '{' => {
                depth += 1;
                re.push_str("(?:");
            }
            '}' => {
                if depth == 0 {
                    return Err(PatternError::Unbalanced);
                }
                depth -= 1;
                re.push(')');
            }
            ',' if depth > 0 => re.push('|'),
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    if depth != 0 {
        return Err(PatternError::Unbalanced);
    }
    Ok(())
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
            ("{dev,qa}/web", "prod/web", false),
            ("dev/web.site", "dev/webxsite", false),
            ("dev/web-*", "dev/web-api", true),
        ];
        for (p, repo, want) in cases {
            let pat = RepoPattern::new(p).unwrap();
            assert_eq!(pat.matches(repo), *want, "{p} vs {repo}");
        }
    }

    #[test]
    fn errors_and_literals() {
        assert_eq!(
            RepoPattern::new("dev/a**").unwrap_err(),
            PatternError::PartialDoubleStar
        );
        assert_eq!(
            RepoPattern::new("{dev/a").unwrap_err(),
            PatternError::Unbalanced
        );
        assert_eq!(
            RepoPattern::new("a}").unwrap_err(),
            PatternError::Unbalanced
        );
        assert!(RepoPattern::new("dev/web").unwrap().is_literal());
        assert!(!RepoPattern::new("dev/*").unwrap().is_literal());
    }
}
