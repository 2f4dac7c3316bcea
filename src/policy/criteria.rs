//! Criteria: compiled once, then evaluated per candidate image.
//!
//! Input: a policy's `criteria` (model types, with positions) and the [`Facts`] of one
//! candidate (tag, labels, platforms). Output of compiling: [`Criteria`] or every
//! [`Problem`] found (each with its diagnostic code and the position of the offending
//! value: the `matches` regex, the `semver` range, the empty `oneOf`, …). Output of
//! evaluating: `Ok` when all criteria hold, or the first criterion that failed (for the
//! plan's "why not" lines).
//!
//! Rules (the same for `berth validate` and the promotion planner, which both compile here
//! through [`crate::policy::compile`]): a tag criterion needs at least one operator, a label
//! criterion with none only requires the label to exist;
//! `oneOf: []` never matches and is refused; `matches` is a Rust regex that must compile on
//! its own and is then anchored to the whole value; `semver` is a range (a leading `v` on the
//! value is allowed); a label needs a non-empty `name`; a platform is
//! `os/arch[/variant]` in lowercase. [`Criteria::needs_manifest`] lets the caller skip
//! manifest fetches when tag criteria alone already reject a tag.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use semver::{Version, VersionReq};

use crate::model::diag::Code;
use crate::model::span::{Pos, Sp};
use crate::model::{Criterion, StringMatch};
use crate::policy::supply::SupplyCriterion;

static PLATFORM_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$").unwrap());

/// What is known about one candidate image.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    pub tag: String,
    /// Config labels (of the image, or for an index the union over its platform images).
    pub labels: BTreeMap<String, String>,
    /// `os/arch[/variant]` platforms the image offers.
    pub platforms: Vec<String>,
    /// Signatures, SBOM and scan report attached (looked up only for supply criteria).
    pub supply: Option<crate::supply::Evidence>,
}

/// Why a criterion cannot be used, at the position of the offending value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub code: Code,
    pub pos: Pos,
    pub message: String,
    pub hint: &'static str,
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

/// The last meaningful line of a regex error ("unclosed group"), so a diagnostic stays on
/// one line.
pub fn regex_error_text(e: &regex::Error) -> String {
    let s = e.to_string();
    s.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: ").map(str::to_string))
        .unwrap_or_else(|| s.lines().last().unwrap_or("").trim().to_string())
}

/// Does the string match offer any operator at all?
fn has_operator(m: &StringMatch) -> bool {
    m.equals.is_some()
        || m.starts_with.is_some()
        || m.ends_with.is_some()
        || m.contains.is_some()
        || m.one_of.is_some()
        || m.not_one_of.is_some()
        || m.matches.is_some()
        || m.semver.is_some()
}

impl Matcher {
    /// Compile the operators of a tag condition (see [`Matcher::compile_for`]).
    pub fn compile(m: &StringMatch) -> Result<Self, Vec<Problem>> {
        Self::compile_for("tag", m)
    }

    /// Compile the operators of a `kind` (`tag` or `label`) criterion; no operator at all is
    /// allowed here (it matches everything; the criterion-level rule refuses it).
    pub fn compile_for(kind: &str, m: &StringMatch) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        if let Some(list) = &m.one_of
            && list.is_empty()
        {
            problems.push(Problem {
                code: Code::EmptyMatch,
                pos: list.pos,
                message: format!("{kind} criterion has an empty `oneOf`, which never matches"),
                hint: "list at least one value",
            });
        }
        let matches = m.matches.as_ref().and_then(|p| {
            // Checked on its own first: anchoring `a)|(b` would make it valid.
            let anchored = Regex::new(&p.value)
                .and_then(|_| Regex::new(&format!("^(?:{})$", p.value)));
            match anchored {
                Ok(re) => Some(re),
                Err(e) => {
                    problems.push(Problem {
                        code: Code::InvalidRegex,
                        pos: p.pos,
                        message: format!(
                            "{kind} `matches` is not a valid regex: {}",
                            regex_error_text(&e)
                        ),
                        hint: "Rust regex syntax (https://docs.rs/regex); the whole value must match",
                    });
                    None
                }
            }
        });
        let semver = m
            .semver
            .as_ref()
            .and_then(|r| match VersionReq::parse(&r.value) {
                Ok(req) => Some(req),
                Err(e) => {
                    problems.push(Problem {
                        code: Code::InvalidSemverRange,
                        pos: r.pos,
                        message: format!("{kind} `semver` range `{}` is not valid: {e}", r.value),
                        hint: "e.g. `>=1.2, <2` or `^1.4`",
                    });
                    None
                }
            });
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Matcher {
            equals: m.equals.clone(),
            starts_with: m.starts_with.clone(),
            ends_with: m.ends_with.clone(),
            contains: m.contains.clone(),
            one_of: m.one_of.as_ref().map(|l| l.value.clone()),
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
    /// Signature, SBOM or vulnerabilities (see `policy::supply`).
    Supply(SupplyCriterion),
}

/// Split `os/arch[/variant]` as an image reports it (registry data: read leniently).
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

/// A criterion of kind `kind` without any operator.
fn no_operator(kind: &str, at: &Sp<impl Sized>) -> Problem {
    Problem {
        code: Code::EmptyMatch,
        pos: at.pos,
        message: format!("{kind} criterion has no operator"),
        hint: "use equals, startsWith, endsWith, contains, oneOf, notOneOf, matches or semver",
    }
}

impl Compiled {
    /// Compile one criterion, reporting every problem it has.
    pub fn compile(c: &Criterion) -> Result<Self, Vec<Problem>> {
        match c {
            Criterion::Tag(m) => {
                let mut problems = Vec::new();
                if !has_operator(m) {
                    problems.push(no_operator("tag", m));
                }
                match Matcher::compile_for("tag", m) {
                    Ok(matcher) if problems.is_empty() => Ok(Compiled::Tag(matcher)),
                    Ok(_) => Err(problems),
                    Err(more) => Err(problems.into_iter().chain(more).collect()),
                }
            }
            Criterion::Label(l) => {
                let mut problems = Vec::new();
                if l.name.trim().is_empty() {
                    problems.push(Problem {
                        code: Code::EmptyField,
                        pos: l.name.pos,
                        message: "label criterion has an empty `name`".into(),
                        hint: "name the image config label, e.g. `org.opencontainers.image.vendor`",
                    });
                }
                // No operator: the label must exist (any value).
                let ops = l.operators();
                match Matcher::compile_for("label", &ops) {
                    Ok(matcher) if problems.is_empty() => Ok(Compiled::Label {
                        name: l.name.value.clone(),
                        matcher,
                    }),
                    Ok(_) => Err(problems),
                    Err(more) => Err(problems.into_iter().chain(more).collect()),
                }
            }
            Criterion::Platform(p) => match parse_platform(p) {
                Some((os, arch, variant)) if PLATFORM_RE.is_match(p) => {
                    Ok(Compiled::Platform { os, arch, variant })
                }
                _ => Err(vec![Problem {
                    code: Code::InvalidPlatform,
                    pos: p.pos,
                    message: format!("platform `{}` is not os/arch[/variant]", p.value),
                    hint: "e.g. `linux/amd64` or `linux/arm64/v8`",
                }]),
            },
            // The key file itself is checked by `policy::compile` (it reads the catalogue).
            Criterion::Signature(s) => Ok(Compiled::Supply(SupplyCriterion::Signature {
                key: s.key.trim().to_string(),
            })),
            Criterion::Sbom(_) => Ok(Compiled::Supply(SupplyCriterion::Sbom)),
            Criterion::Vulnerabilities(v) => {
                if [v.critical, v.high, v.medium, v.low]
                    .iter()
                    .all(Option::is_none)
                {
                    return Err(vec![Problem {
                        code: Code::NoVulnerabilityLimit,
                        pos: v.pos,
                        message: "vulnerabilities criterion sets no limit".into(),
                        hint: "give maximum counts per severity, e.g. `vulnerabilities: { critical: 0, high: 3 }`",
                    }]);
                }
                Ok(Compiled::Supply(SupplyCriterion::Vulnerabilities(
                    v.value.clone(),
                )))
            }
        }
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
            Compiled::Supply(c) => c.check(f.supply.as_ref()).is_ok(),
        }
    }

    /// Why it fails for `f` (the plan's line for a rejected candidate).
    pub fn why(&self, f: &Facts) -> String {
        match self {
            Compiled::Supply(c) => match c.check(f.supply.as_ref()) {
                Err(why) => format!("{}: {why}", c.describe()),
                Ok(()) => c.describe(),
            },
            other => other.describe(),
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
            Compiled::Supply(c) => c.describe(),
        }
    }
}

/// All criteria of one policy, compiled.
#[derive(Clone, Debug, Default)]
pub struct Criteria {
    items: Vec<Compiled>,
}

impl Criteria {
    /// Compile every criterion; all problems of all criteria are reported.
    pub fn compile<'a>(
        criteria: impl IntoIterator<Item = &'a Criterion>,
    ) -> Result<Self, Vec<Problem>> {
        let mut items = Vec::new();
        let mut problems = Vec::new();
        for c in criteria {
            match Compiled::compile(c) {
                Ok(c) => items.push(c),
                Err(p) => problems.extend(p),
            }
        }
        if problems.is_empty() {
            Ok(Criteria { items })
        } else {
            Err(problems)
        }
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
        self.items
            .iter()
            .any(|c| matches!(c, Compiled::Label { .. } | Compiled::Platform { .. }))
    }

    /// The artefacts the supply-chain criteria need read (none: nothing to look up).
    pub fn supply_wanted(&self) -> crate::supply::Want {
        let mut w = crate::supply::Want::default();
        for c in &self.items {
            if let Compiled::Supply(s) = c {
                let x = s.want();
                w.signatures |= x.signatures;
                w.sbom |= x.sbom;
                w.reports |= x.reports;
            }
        }
        w
    }

    /// Key paths of the signature criteria.
    pub fn signature_keys(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter_map(|c| match c {
                Compiled::Supply(SupplyCriterion::Signature { key }) => Some(key.as_str()),
                _ => None,
            })
            .collect()
    }

    /// [`Self::evaluate`] of every criterion but the supply-chain ones (which need requests).
    pub fn evaluate_local(&self, f: &Facts) -> Result<(), &Compiled> {
        match self
            .items
            .iter()
            .find(|c| !matches!(c, Compiled::Supply(_)) && !c.holds(f))
        {
            Some(c) => Err(c),
            None => Ok(()),
        }
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
            (sm(|m| m.one_of = s(&["a", "b"]).map(Into::into)), "b", true),
            (
                sm(|m| m.one_of = s(&["a", "b"]).map(Into::into)),
                "c",
                false,
            ),
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
            supply: None,
        }
    }

    #[test]
    fn labels_and_platforms_table() {
        let vendor = |eq: Option<&str>| {
            Criterion::Label(
                LabelMatch {
                    name: "vendor".into(),
                    equals: eq.map(String::from),
                    ..LabelMatch::default()
                }
                .into(),
            )
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
                Criterion::Label(
                    LabelMatch {
                        name: "missing".into(),
                        ..LabelMatch::default()
                    }
                    .into(),
                ),
                false,
            ),
            (
                Criterion::Label(
                    LabelMatch {
                        name: "v".into(),
                        semver: Some("~1.2".into()),
                        ..LabelMatch::default()
                    }
                    .into(),
                ),
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
            Criterion::Tag(sm(|m| m.ends_with = Some("-stable".into())).into()),
            Criterion::Label(
                LabelMatch {
                    name: "vendor".into(),
                    equals: Some("acme".into()),
                    ..LabelMatch::default()
                }
                .into(),
            ),
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
        let codes = |c: &Criterion| -> Vec<Code> {
            Compiled::compile(c)
                .unwrap_err()
                .iter()
                .map(|p| p.code)
                .collect()
        };
        let bad_re = Criterion::Tag(sm(|m| m.matches = Some("(".into())).into());
        assert_eq!(codes(&bad_re), vec![Code::InvalidRegex]);
        // Valid once anchored as `^(?:…)$`, but not on its own: refused.
        let sneaky = Criterion::Tag(sm(|m| m.matches = Some("a)|(b".into())).into());
        assert_eq!(codes(&sneaky), vec![Code::InvalidRegex]);
        let bad_range = Criterion::Tag(sm(|m| m.semver = Some(">>1".into())).into());
        assert_eq!(codes(&bad_range), vec![Code::InvalidSemverRange]);
        for p in ["linux", "linux/", "a/b/c/d", "/amd64", "Linux/AMD64"] {
            let e = Compiled::compile(&Criterion::Platform(p.into())).unwrap_err();
            assert_eq!(e[0].code, Code::InvalidPlatform, "{p}");
            assert_eq!(
                e[0].message,
                format!("platform `{p}` is not os/arch[/variant]")
            );
        }
        // Every problem of a criterion at once.
        let all = Criterion::Tag(
            sm(|m| {
                m.matches = Some("(".into());
                m.semver = Some(">>1".into());
                m.one_of = Some(Vec::new().into());
            })
            .into(),
        );
        assert_eq!(
            codes(&all),
            vec![
                Code::EmptyMatch,
                Code::InvalidRegex,
                Code::InvalidSemverRange
            ]
        );
        assert_eq!(
            codes(&Criterion::Tag(StringMatch::default().into())),
            vec![Code::EmptyMatch]
        );
        let unnamed = Criterion::Label(
            LabelMatch {
                name: " ".into(),
                ..LabelMatch::default()
            }
            .into(),
        );
        assert_eq!(codes(&unnamed), vec![Code::EmptyField]);
    }

    #[test]
    fn regex_errors_stay_on_one_line() {
        // Built at run time, as user input is; a literal would be rejected by clippy.
        let pattern = String::from("(");
        let e = Regex::new(&pattern).unwrap_err();
        let t = regex_error_text(&e);
        assert!(!t.contains('\n') && !t.is_empty(), "{t:?}");
    }
}
