//! The supply-chain summary of the store page, computed from the index: per version what
//! its `supplyChain` record says (verified signature keys, keyless signatures present but not
//! verified, SBOM, vulnerability counts) and where its digest was promoted (the index's
//! `promotions`), and the compact marks of a home-page card. Plain text only: the templates
//! escape it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{ImageEntry, PromotionRecord, SupplyChainEntry};
use crate::report::site::text::time_text;

/// One supply-chain mark: `kind` picks the colour as for [`Badge`](super::view::Badge),
/// `text` says it, `title` (a full fingerprint) is shown on hover.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mark {
    pub kind: &'static str,
    pub text: String,
    pub title: Option<String>,
}

impl Mark {
    pub fn new(kind: &'static str, text: impl Into<String>) -> Self {
        Mark {
            kind,
            text: text.into(),
            title: None,
        }
    }
}

/// What the index records of one version's signatures, SBOM, scan report and promotions.
#[derive(Debug, Serialize)]
pub struct SupplyRow {
    pub version: String,
    /// Signature, SBOM and vulnerability marks; `None` when the version has no `supplyChain`
    /// record (only promotions).
    pub checks: Option<SupplyChecks>,
    /// `promoted to host/repo:tag on … with 1 signature, 1 SBOM`, oldest first.
    pub promoted: Vec<String>,
}

/// The marks of a `supplyChain` record.
#[derive(Debug, Serialize)]
pub struct SupplyChecks {
    /// One per verified key, then the keyless signatures; `no verified signature` otherwise.
    pub signatures: Vec<Mark>,
    pub sbom: Mark,
    pub vulnerabilities: Mark,
}

/// Characters of a key fingerprint's hex shown on the page (the whole one is its title).
const FINGERPRINT_SHOWN: usize = 12;

/// `sha256:ab12cd34ef56…` for `sha256:ab12cd34ef56<more hex>`.
fn short_fingerprint(fp: &str) -> String {
    let (algo, hex) = fp.split_once(':').unwrap_or(("", fp));
    let prefix = if algo.is_empty() {
        String::new()
    } else {
        format!("{algo}:")
    };
    if hex.chars().count() > FINGERPRINT_SHOWN {
        let shown: String = hex.chars().take(FINGERPRINT_SHOWN).collect();
        format!("{prefix}{shown}…")
    } else {
        format!("{prefix}{hex}")
    }
}

/// `0 critical, 2 high, 5 medium, 1 low`.
fn vulnerability_text(c: &crate::model::VulnerabilityCounts) -> String {
    format!(
        "{} critical, {} high, {} medium, {} low",
        c.critical, c.high, c.medium, c.low
    )
}

/// The marks of a version's `supplyChain` record.
pub fn supply_checks(s: &SupplyChainEntry) -> SupplyChecks {
    let mut signatures: Vec<Mark> = s
        .signature_keys
        .iter()
        .map(|k| Mark {
            kind: "ok",
            text: format!("signed — key {}", short_fingerprint(k)),
            title: Some(k.clone()),
        })
        .collect();
    match s.keyless_signatures {
        0 => {}
        1 => signatures.push(Mark::new(
            "muted",
            "keyless signature present, not verified",
        )),
        n => signatures.push(Mark::new(
            "muted",
            format!("{n} keyless signatures present, not verified"),
        )),
    }
    if signatures.is_empty() {
        signatures.push(Mark::new("warn", "no verified signature"));
    }
    let sbom = if s.sbom {
        Mark::new("ok", "SBOM attached")
    } else {
        Mark::new("muted", "no SBOM")
    };
    let vulnerabilities = match &s.vulnerabilities {
        None => Mark::new("muted", "no scan report"),
        Some(c) => Mark::new(
            if c.critical > 0 {
                "bad"
            } else if c.high > 0 {
                "warn"
            } else {
                "ok"
            },
            format!("vulnerabilities: {}", vulnerability_text(c)),
        ),
    };
    SupplyChecks {
        signatures,
        sbom,
        vulnerabilities,
    }
}

/// The compact marks of a home-page card: `signed`, `SBOM`, and the worst severity found.
pub fn card_marks(s: &SupplyChainEntry) -> Vec<Mark> {
    let mut out = Vec::new();
    if !s.signature_keys.is_empty() {
        out.push(Mark::new("ok", "signed"));
    } else if s.keyless_signatures > 0 {
        out.push(Mark::new("muted", "keyless signature, not verified"));
    }
    if s.sbom {
        out.push(Mark::new("ok", "SBOM"));
    }
    if let Some(c) = &s.vulnerabilities {
        out.push(if c.critical > 0 {
            Mark::new("bad", format!("{} critical", c.critical))
        } else if c.high > 0 {
            Mark::new("warn", format!("{} high", c.high))
        } else {
            Mark::new("ok", "no critical or high")
        });
    }
    out
}

/// Promotions by the digest they copied, in the index's order (oldest first).
pub fn promotions_by_digest(
    promotions: &[PromotionRecord],
) -> BTreeMap<&str, Vec<&PromotionRecord>> {
    let mut m: BTreeMap<&str, Vec<&PromotionRecord>> = BTreeMap::new();
    for p in promotions {
        m.entry(p.source_digest.as_str()).or_default().push(p);
    }
    m
}

/// `promoted to host/repo:tag on 2026-03-02 09:14 UTC with 1 signature, 1 SBOM`.
fn promoted_text(p: &PromotionRecord) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &p.artefacts {
        *counts.entry(a.kind.as_str()).or_default() += 1;
    }
    let kinds: Vec<String> = counts
        .into_iter()
        .map(|(kind, n)| {
            let (one, many) = match kind {
                "signature" => ("signature", "signatures"),
                "sbom" => ("SBOM", "SBOMs"),
                "scan-report" => ("scan report", "scan reports"),
                "attestation" => ("attestation", "attestations"),
                _ => ("other artefact", "other artefacts"),
            };
            format!("{n} {}", if n == 1 { one } else { many })
        })
        .collect();
    let mut s = format!("promoted to {} on {}", p.target, time_text(&p.promoted_at));
    if !kinds.is_empty() {
        s.push_str(" with ");
        s.push_str(&kinds.join(", "));
    }
    s
}

/// The supply-chain rows of an image page, newest version first: a version with a
/// `supplyChain` record or a recorded promotion of its digest has one, any other none.
pub fn rows(
    img: &ImageEntry,
    promotions: &BTreeMap<&str, Vec<&PromotionRecord>>,
) -> Vec<SupplyRow> {
    img.versions
        .iter()
        .rev()
        .filter_map(|v| {
            let promoted: Vec<String> = v
                .digest
                .as_deref()
                .and_then(|d| promotions.get(d))
                .map(|ps| ps.iter().map(|p| promoted_text(p)).collect())
                .unwrap_or_default();
            let checks = v.supply_chain.as_ref().map(supply_checks);
            (checks.is_some() || !promoted.is_empty()).then(|| SupplyRow {
                version: v.version.clone(),
                checks,
                promoted,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(marks: &[Mark]) -> Vec<String> {
        marks
            .iter()
            .map(|m| format!("{}:{}", m.kind, m.text))
            .collect()
    }

    #[test]
    fn supply_chain_marks_say_what_was_found() {
        let marks = |m: &[Mark]| -> Vec<String> {
            m.iter()
                .map(|m| match &m.title {
                    Some(t) => format!("{}:{} [{t}]", m.kind, m.text),
                    None => format!("{}:{}", m.kind, m.text),
                })
                .collect()
        };
        let counts = |critical, high| crate::model::VulnerabilityCounts {
            critical,
            high,
            low: 4,
            medium: 3,
        };
        let s = SupplyChainEntry {
            keyless_signatures: 3,
            sbom: false,
            // A short (hand-edited) fingerprint is shown whole, without an ellipsis.
            signature_keys: vec!["sha256:abc".into()],
            vulnerabilities: Some(counts(1, 2)),
        };
        let c = supply_checks(&s);
        assert_eq!(
            marks(&c.signatures),
            [
                "ok:signed — key sha256:abc [sha256:abc]",
                "muted:3 keyless signatures present, not verified"
            ]
        );
        assert_eq!(marks(&[c.sbom]), ["muted:no SBOM"]);
        assert_eq!(
            marks(&[c.vulnerabilities]),
            ["bad:vulnerabilities: 1 critical, 2 high, 3 medium, 4 low"]
        );
        assert_eq!(texts(&card_marks(&s)), ["ok:signed", "bad:1 critical"]);
        // Keyless alone is not `signed`.
        let s = SupplyChainEntry {
            keyless_signatures: 1,
            sbom: true,
            signature_keys: Vec::new(),
            vulnerabilities: Some(counts(0, 0)),
        };
        assert_eq!(
            texts(&card_marks(&s)),
            [
                "muted:keyless signature, not verified",
                "ok:SBOM",
                "ok:no critical or high"
            ]
        );
        assert_eq!(
            marks(&[supply_checks(&s).vulnerabilities]),
            ["ok:vulnerabilities: 0 critical, 0 high, 3 medium, 4 low"]
        );
        assert_eq!(
            short_fingerprint("sha256:0123456789abcdef"),
            "sha256:0123456789ab…"
        );
        assert_eq!(short_fingerprint("0123456789abcdef"), "0123456789ab…");
    }
}
