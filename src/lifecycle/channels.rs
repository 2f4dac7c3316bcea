//! Channels: `latest` and `M.latest` resolved over an image's versions.
//!
//! Input: an image's versions. Output: channel name → version, for everyone and for the
//! image's debug project. Rules: a channel points at the newest (semver precedence) version
//! that is released — or, for the debug project, also testing — and neither QA-failed nor
//! delisted. Public channels skip pre-release versions (a `-rc` never becomes `latest`); the
//! debug project sees them. When a major has no such version but has delisted ones,
//! `M.latest` falls back to the newest delisted one, marked deprecated. `latest` never falls
//! back to a delisted version.

use std::collections::BTreeMap;

use semver::Version;

use crate::model::{ChannelEntry, QaStatus, Status, VecMap, VersionEntry};

/// Which audience channels are computed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    DebugProject,
}

fn qa_failed(v: &VersionEntry) -> bool {
    v.qa.as_ref().is_some_and(|q| q.status == QaStatus::Failed)
}

fn eligible(v: &VersionEntry, sv: &Version, audience: Audience) -> bool {
    if qa_failed(v) {
        return false;
    }
    match audience {
        Audience::Everyone => v.status == Status::Released && sv.pre.is_empty(),
        Audience::DebugProject => matches!(v.status, Status::Released | Status::Testing),
    }
}

fn entry(v: &VersionEntry, deprecated: bool) -> ChannelEntry {
    ChannelEntry {
        version: v.version.clone(),
        pull: v.pull.clone().unwrap_or_else(|| v.reference.clone()),
        deprecated,
    }
}

/// Compute the channels of `versions` for `audience`.
pub fn compute(versions: &[VersionEntry], audience: Audience) -> VecMap<String, ChannelEntry> {
    let mut parsed: Vec<(Version, &VersionEntry)> = versions
        .iter()
        .filter_map(|v| Version::parse(&v.version).ok().map(|sv| (sv, v)))
        .collect();
    parsed.sort_by(|a, b| a.0.cmp(&b.0));

    let mut out = VecMap::new();
    let mut per_major: BTreeMap<u64, ChannelEntry> = BTreeMap::new();
    let mut fallback: BTreeMap<u64, ChannelEntry> = BTreeMap::new();
    for (sv, v) in &parsed {
        if eligible(v, sv, audience) {
            per_major.insert(sv.major, entry(v, false));
            out.insert("latest".to_string(), entry(v, false));
        } else if v.status == Status::Delisted && !qa_failed(v) {
            fallback.insert(sv.major, entry(v, true));
        }
    }
    for (major, e) in fallback {
        per_major.entry(major).or_insert(e);
    }
    for (major, e) in per_major {
        out.insert(format!("{major}.latest"), e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{QaEntry, ReleaseType, VerificationEntry, VerifyState};

    fn ver(version: &str, status: Status, qa_fail: bool) -> VersionEntry {
        VersionEntry {
            version: version.into(),
            release_type: ReleaseType::Fix,
            status,
            qa: qa_fail.then(|| QaEntry {
                status: QaStatus::Failed,
                reason: Some("x".into()),
            }),
            reference: format!("r/x:{version}"),
            digest: None,
            pull: None,
            platforms: vec![],
            size: None,
            config_labels: Default::default(),
            notes: None,
            recorded_at: String::new(),
            updated_at: String::new(),
            catalogue_commit: None,
            verification: VerificationEntry {
                state: VerifyState::Skipped,
                level: None,
                reason: None,
            },
            drift: None,
            attempts: Vec::new(),
            release_refused: None,
            supply_chain: None,
        }
    }

    fn show(m: &VecMap<String, ChannelEntry>) -> Vec<String> {
        m.iter()
            .map(|(k, e)| format!("{k}={}{}", e.version, if e.deprecated { "!" } else { "" }))
            .collect()
    }

    use Status::*;

    #[test]
    fn channel_table() {
        // (versions, everyone, debug project)
        type Case = (
            Vec<(&'static str, Status, bool)>,
            Vec<&'static str>,
            Vec<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (vec![], vec![], vec![]),
            (
                vec![("1.0.0", Testing, false)],
                vec![],
                vec!["1.latest=1.0.0", "latest=1.0.0"],
            ),
            (
                vec![
                    ("1.0.0", Released, false),
                    ("1.0.1", Released, true),
                    ("1.1.0", Testing, false),
                ],
                vec!["1.latest=1.0.0", "latest=1.0.0"],
                vec!["1.latest=1.1.0", "latest=1.1.0"],
            ),
            (
                // Major 1 only delisted: deprecated fallback; latest stays on major 2.
                vec![
                    ("1.0.0", Delisted, false),
                    ("1.1.0", Delisted, false),
                    ("2.0.0", Released, false),
                ],
                vec!["1.latest=1.1.0!", "2.latest=2.0.0", "latest=2.0.0"],
                vec!["1.latest=1.1.0!", "2.latest=2.0.0", "latest=2.0.0"],
            ),
            (
                // A released version in the major wins over the delisted fallback.
                vec![("1.0.0", Released, false), ("1.1.0", Delisted, false)],
                vec!["1.latest=1.0.0", "latest=1.0.0"],
                vec!["1.latest=1.0.0", "latest=1.0.0"],
            ),
            (
                // Pre-releases: debug project only.
                vec![("1.0.0", Released, false), ("2.0.0-rc.1", Released, false)],
                vec!["1.latest=1.0.0", "latest=1.0.0"],
                vec!["1.latest=1.0.0", "2.latest=2.0.0-rc.1", "latest=2.0.0-rc.1"],
            ),
            (
                // Cancelled and check-failed never count; semver order, not list order.
                vec![
                    ("1.10.0", Released, false),
                    ("1.9.0", Released, false),
                    ("1.11.0", Cancelled, false),
                    ("1.12.0", CheckFailed, false),
                ],
                vec!["1.latest=1.10.0", "latest=1.10.0"],
                vec!["1.latest=1.10.0", "latest=1.10.0"],
            ),
            (
                // Delisted and QA-failed: no fallback to the failed one.
                vec![("1.0.0", Delisted, true)],
                vec![],
                vec![],
            ),
        ];
        for (vs, everyone, debug) in cases {
            let versions: Vec<_> = vs.iter().map(|(v, s, q)| ver(v, *s, *q)).collect();
            assert_eq!(
                show(&compute(&versions, Audience::Everyone)),
                everyone,
                "{vs:?}"
            );
            assert_eq!(
                show(&compute(&versions, Audience::DebugProject)),
                debug,
                "{vs:?}"
            );
        }
    }
}
