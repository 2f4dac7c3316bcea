//! Criteria evaluation: does a candidate image satisfy every criterion of a policy?
//!
//! Input: a policy's `criteria` and the [`Facts`] of one candidate (tag, labels, platforms).
//! Output: `true` when all criteria hold, or the first criterion that failed (for the plan's
//! "why not" lines). Criteria are compiled once ([`Criteria::compile`]): regexes are anchored
//! to the whole value, semver ranges parsed, platforms split; a compile error is a policy
//! error (validate reports the same problems as diagnostics before any registry request).
//! [`Criteria::needs_manifest`] lets the caller skip manifest fetches when tag criteria
//! alone already reject a tag.

use std::collections::BTreeMap;

use regex::Regex;
use semver::{Version, VersionReq};

use crate::model::{Criterion, StringMatch};

/// What is known about one candidate image.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    pub tag: String,
    /// Config labels (of the image, or for an index the union over its platform images).
    pub labels: BTreeMap<String, String>,
    /// `os/arch[/variant]` platforms the image offers.
    pub platforms: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CriteriaError {
    #[error("invalid regex {pattern:?}: {message}")]
    Regex { pattern: String, message: String },
    #[error("invalid semver range {range:?}: {message}")]
    Semver { range: String, message: String },
    #[error("invalid platform {0:?}: expected os/arch or os/arch/variant")]
    Platform(String),
    #[error("label criterion needs a name")]
    EmptyLabel,
}

/// Compiled string operators; every operator given must hold.
#[derive(Clone, Debug, Default)]
pub struct Matcher {
    equals: Option<String>,
    starts_with: Option<String>,
    ends_with: Option<String>,
    contains: Option<String>,
    one_of: Option<Vec<String>>,
    not_one_of: Option<Vec<String>>,
    matches: Option<Regex>,
    semver: Option<VersionReq>,
}

/// Parse a tag or label value as semver; a leading `v` is allowed (`v1.2.3`).
pub fn parse_semver(s: &str) -> Option<Version> {
    let t = s.strip_prefix('v').unwrap_or(s);
    Version::parse(t).ok()
}

impl Matcher {
    pub fn compile(m: &StringMatch) -> Result<Self, CriteriaError> {
        let matches = match &m.matches {
            Some(p) => Some(Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                CriteriaError::Regex {
                    pattern: p.clone(),
                    message: e
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or("")
                        .trim()
                        .to_string(),
                }
            })?),
            None => None,
        };
        let semver = match &m.semver {
            Some(r) => Some(VersionReq::parse(r).map_err(|e| CriteriaError::Semver {
                range: r.clone(),
                message: e.to_string(),
            })?),
            None => None,
        };
        Ok(Matcher {
            equals: m.equals.clone(),
            starts_with: m.starts_with.clone(),
            ends_with: m.ends_with.clone(),
            contains: m.contains.clone(),
            one_of: m.one_of.clone(),
            not_one_of: m.not_one_of.clone(),
            matches,
            semver,
        })
    }

    pub fn is_match(&self, v: &str) -> bool {
        self.equals.as_deref().is_none_or(|e| v == e)
            && self.starts_with.as_deref().is_none_or(|p| v.starts_with(p))
            && self.ends_with.as_deref().is_none_or(|p| v.ends_with(p))
            && self.contains.as_deref().is_none_or(|p| v.contains(p))
            && self
                .one_of
                .as_ref()
                .is_none_or(|l| l.iter().any(|x| x == v))
            && self
                .not_one_of
                .as_ref()
                .is_none_or(|l| !l.iter().any(|x| x == v))
            && self.matches.as_ref().is_none_or(|r| r.is_match(v))
            && self
                .semver
                .as_ref()
                .is_none_or(|r| parse_semver(v).is_some_and(|ver| r.matches(&ver)))
    }
}

/// One compiled criterion.
#[derive(Clone, Debug)]
pub enum Compiled {
    Tag(Matcher),
    Label {
        name: String,
        matcher: Matcher,
    },
    Platform {
        os: String,
        arch: String,
        variant: Option<String>,
    },
}

/// Split `os/arch[/variant]`.
pub fn parse_platform(p: &str) -> Option<(String, String, Option<String>)> {
    let parts: Vec<&str> = p.split('/').collect();
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    };
    match parts.as_slice() {
        [os, arch] if ok(os) && ok(arch) => Some((os.to_string(), arch.to_string(), None)),
        [os, arch, v] if ok(os) && ok(arch) && ok(v) => {
            Some((os.to_string(), arch.to_string(), Some(v.to_string())))
        }
        _ => None,
    }
}

impl Compiled {
    pub fn compile(c: &Criterion) -> Result<Self, CriteriaError> {
        Ok(match c {
            Criterion::Tag(m) => Compiled::Tag(Matcher::compile(m)?),
            Criterion::Label(l) => {
                if l.name.is_empty() {
                    return Err(CriteriaError::EmptyLabel);
                }
                Compiled::Label {
                    name: l.name.clone(),
                    matcher: Matcher::compile(&l.operators())?,
                }
            }
            Criterion::Platform(p) => {
                let (os, arch, variant) =
                    parse_platform(p).ok_or_else(|| CriteriaError::Platform(p.clone()))?;
                Compiled::Platform { os, arch, variant }
            }
        })
    }

    pub fn holds(&self, f: &Facts) -> bool {
        match self {
            Compiled::Tag(m) => m.is_match(&f.tag),
            Compiled::Label { name, matcher } => {
                f.labels.get(name).is_some_and(|v| matcher.is_match(v))
            }
            Compiled::Platform { os, arch, variant } => f.platforms.iter().any(|p| {
                // A criterion without a variant accepts any variant of that os/arch.
                parse_platform(p).is_some_and(|(o, a, v)| {
                    &o == os && &a == arch && (variant.is_none() || variant == &v)
                })
            }),
        }
    }

    /// Human description for "not promoted because …" lines.
    pub fn describe(&self) -> String {
        match self {
            Compiled::Tag(_) => "tag criterion".to_string(),
            Compiled::Label { name, .. } => format!("label {name}"),
            Compiled::Platform { os, arch, variant } => match variant {
                Some(v) => format!("platform {os}/{arch}/{v}"),
                None => format!("platform {os}/{arch}"),
            },
        }
    }
}

/// All criteria of one policy, compiled.
#[derive(Clone, Debug, Default)]
pub struct Criteria {
    items: Vec<Compiled>,
}

impl Criteria {
    pub fn compile<'a>(
        criteria: impl IntoIterator<Item = &'a Criterion>,
    ) -> Result<Self, CriteriaError> {
        let items = criteria
            .into_iter()
            .map(Compiled::compile)
            .collect::<Result<_, _>>()?;
        Ok(Criteria { items })
    }

    /// Do the tag criteria accept `tag`? (Evaluated before any manifest is fetched.)
    pub fn tag_holds(&self, tag: &str) -> bool {
        self.items.iter().all(|c| match c {
            Compiled::Tag(m) => m.is_match(tag),
            _ => true,
        })
    }

    /// Does any criterion need the manifest/config (labels, platforms)?
    pub fn needs_manifest(&self) -> bool {
        self.items.iter().any(|c| !matches!(c, Compiled::Tag(_)))
    }

    /// `Ok(())` when all criteria hold, else the first one that failed.
    pub fn evaluate(&self, f: &Facts) -> Result<(), &Compiled> {
        match self.items.iter().find(|c| !c.holds(f)) {
            Some(c) => Err(c),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LabelMatch;

    fn sm(f: impl FnOnce(&mut StringMatch)) -> StringMatch {
        let mut m = StringMatch::default();
        f(&mut m);
        m
    }

    #[test]
    fn string_operators_table() {
        let s = |v: &[&str]| Some(v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        let cases: Vec<(StringMatch, &str, bool)> = vec![
            (sm(|m| m.equals = Some("1.0".into())), "1.0", true),
            (sm(|m| m.equals = Some("1.0".into())), "1.0.1", false),
            (sm(|m| m.starts_with = Some("rel-".into())), "rel-3", true),
            (
                sm(|m| m.starts_with = Some("rel-".into())),
                "pre-rel-3",
                false,
            ),
            (
                sm(|m| m.ends_with = Some("-stable".into())),
                "1.2-stable",
                true,
            ),
            (
                sm(|m| m.ends_with = Some("-stable".into())),
                "1.2-stable-rc",
                false,
            ),
            (sm(|m| m.contains = Some("rc".into())), "1.0-rc1", true),
            (sm(|m| m.contains = Some("rc".into())), "1.0", false),
            (sm(|m| m.one_of = s(&["a", "b"])), "b", true),
            (sm(|m| m.one_of = s(&["a", "b"])), "c", false),
            (sm(|m| m.not_one_of = s(&["a", "b"])), "c", true),
            (sm(|m| m.not_one_of = s(&["a", "b"])), "a", false),
            // Regexes are anchored to the whole value.
            (sm(|m| m.matches = Some(r"\d+\.\d+".into())), "1.2", true),
            (sm(|m| m.matches = Some(r"\d+\.\d+".into())), "x1.2", false),
            (sm(|m| m.matches = Some(r"\d+\.\d+".into())), "1.2x", false),
            (sm(|m| m.matches = Some("a|b".into())), "b", true),
            (sm(|m| m.matches = Some("a|b".into())), "ab", false),
            (sm(|m| m.semver = Some(">=1.2, <2".into())), "1.4.0", true),
            (sm(|m| m.semver = Some(">=1.2, <2".into())), "v1.4.0", true),
            (sm(|m| m.semver = Some(">=1.2, <2".into())), "2.0.0", false),
            (sm(|m| m.semver = Some(">=1.2, <2".into())), "1.1.9", false),
            (sm(|m| m.semver = Some(">=1.2, <2".into())), "latest", false),
            (sm(|m| m.semver = Some("^1".into())), "1.3.0-rc.1", false),
            // Several operators: all must hold.
            (
                sm(|m| {
                    m.starts_with = Some("1.".into());
                    m.ends_with = Some("-stable".into());
                }),
                "1.2-stable",
                true,
            ),
            (
                sm(|m| {
                    m.starts_with = Some("1.".into());
                    m.ends_with = Some("-stable".into());
                }),
                "2.2-stable",
                false,
            ),
            (StringMatch::default(), "anything", true),
        ];
        for (i, (m, v, want)) in cases.iter().enumerate() {
            let c = Matcher::compile(m).unwrap();
            assert_eq!(c.is_match(v), *want, "case {i}: {m:?} vs {v}");
        }
    }

    fn facts(tag: &str, labels: &[(&str, &str)], platforms: &[&str]) -> Facts {
        Facts {
            tag: tag.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            platforms: platforms.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn labels_and_platforms_table() {
        let vendor = |eq: Option<&str>| {
            Criterion::Label(LabelMatch {
                name: "vendor".into(),
                equals: eq.map(String::from),
                ..LabelMatch::default()
            })
        };
        let plat = |p: &str| Criterion::Platform(p.into());
        let f = facts(
            "1.0-stable",
            &[("vendor", "acme"), ("v", "1.2.3")],
            &["linux/amd64", "linux/arm64/v8"],
        );
        let cases: Vec<(Criterion, bool)> = vec![
            (vendor(Some("acme")), true),
            (vendor(Some("other")), false),
            // Existence alone.
            (vendor(None), true),
            (
                Criterion::Label(LabelMatch {
                    name: "missing".into(),
                    ..LabelMatch::default()
                }),
                false,
            ),
            (
                Criterion::Label(LabelMatch {
                    name: "v".into(),
                    semver: Some("~1.2".into()),
                    ..LabelMatch::default()
                }),
                true,
            ),
            (plat("linux/amd64"), true),
            (plat("linux/arm64"), true),
            (plat("linux/arm64/v8"), true),
            (plat("linux/arm64/v7"), false),
            (plat("linux/amd64/v2"), false),
            (plat("windows/amd64"), false),
            (plat("linux/s390x"), false),
        ];
        for (i, (c, want)) in cases.iter().enumerate() {
            let comp = Compiled::compile(c).unwrap();
            assert_eq!(comp.holds(&f), *want, "case {i}: {c:?}");
        }
    }

    #[test]
    fn all_criteria_must_hold() {
        let crit = vec![
            Criterion::Tag(sm(|m| m.ends_with = Some("-stable".into()))),
            Criterion::Label(LabelMatch {
                name: "vendor".into(),
                equals: Some("acme".into()),
                ..LabelMatch::default()
            }),
            Criterion::Platform("linux/amd64".into()),
        ];
        let c = Criteria::compile(&crit).unwrap();
        assert!(c.needs_manifest());
        assert!(c.tag_holds("3-stable"));
        assert!(!c.tag_holds("3-beta"));
        assert!(
            c.evaluate(&facts("3-stable", &[("vendor", "acme")], &["linux/amd64"]))
                .is_ok()
        );
        let e = c
            .evaluate(&facts("3-stable", &[("vendor", "acme")], &["linux/arm64"]))
            .unwrap_err();
        assert_eq!(e.describe(), "platform linux/amd64");
        let e = c
            .evaluate(&facts("3-stable", &[("vendor", "evil")], &["linux/amd64"]))
            .unwrap_err();
        assert_eq!(e.describe(), "label vendor");
        let tags_only = Criteria::compile(&crit[..1]).unwrap();
        assert!(!tags_only.needs_manifest());
        assert!(
            Criteria::compile(&[])
                .unwrap()
                .evaluate(&Facts::default())
                .is_ok()
        );
    }

    #[test]
    fn compile_errors() {
        let bad_re = Criterion::Tag(sm(|m| m.matches = Some("(".into())));
        assert!(matches!(
            Compiled::compile(&bad_re),
            Err(CriteriaError::Regex { .. })
        ));
        let bad_range = Criterion::Tag(sm(|m| m.semver = Some(">>1".into())));
        assert!(matches!(
            Compiled::compile(&bad_range),
            Err(CriteriaError::Semver { .. })
        ));
        for p in ["linux", "linux/", "a/b/c/d", "/amd64"] {
            assert_eq!(
                Compiled::compile(&Criterion::Platform(p.into())).unwrap_err(),
                CriteriaError::Platform(p.into())
            );
        }
    }
}
