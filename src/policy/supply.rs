//! Supply-chain criteria: `signature: { key }`, `sbom: present`, `vulnerabilities: { … }`.
//!
//! Input: the criterion and the [`Evidence`] of one candidate (signatures checked against the
//! policy's keys, SBOM present, vulnerability counts) — or none, when the candidate's
//! artefacts were not looked up. Output: `Ok` or the reason it fails, for the plan's list of
//! rejected candidates ("no valid signature by keys/team.pub (sha256:…): …", "no scan
//! report", "2 critical > 0"). These criteria need registry requests, so the planner
//! evaluates them last, only for candidates every other criterion accepted.

use crate::model::VulnerabilityLimits;
use crate::supply::{Evidence, Want};

/// One compiled supply-chain criterion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SupplyCriterion {
    /// A cosign signature by the key at this path (relative to the catalogue root).
    Signature {
        key: String,
    },
    Sbom,
    Vulnerabilities(VulnerabilityLimits),
}

impl SupplyCriterion {
    /// `Ok` when it holds for `ev`, else why not.
    pub fn check(&self, ev: Option<&Evidence>) -> Result<(), String> {
        let Some(ev) = ev else {
            return Err("attached artefacts not looked up".into());
        };
        match self {
            SupplyCriterion::Signature { key } => {
                if ev.signed_by(key) {
                    Ok(())
                } else {
                    Err(ev.why_not_signed(key))
                }
            }
            SupplyCriterion::Sbom => {
                if ev.sbom {
                    Ok(())
                } else {
                    Err("no SBOM attached".into())
                }
            }
            SupplyCriterion::Vulnerabilities(limits) => {
                let Some(c) = ev.vulnerabilities else {
                    return Err(match &ev.report_error {
                        Some(e) => format!("no scan report: {e}"),
                        None => "no scan report".into(),
                    });
                };
                let over: Vec<String> = [
                    ("critical", c.critical, limits.critical),
                    ("high", c.high, limits.high),
                    ("medium", c.medium, limits.medium),
                    ("low", c.low, limits.low),
                ]
                .into_iter()
                .filter_map(|(name, n, max)| {
                    max.filter(|m| n > *m).map(|m| format!("{n} {name} > {m}"))
                })
                .collect();
                if over.is_empty() {
                    Ok(())
                } else {
                    Err(over.join(", "))
                }
            }
        }
    }

    /// "signature keys/team.pub", "sbom", "vulnerabilities".
    pub fn describe(&self) -> String {
        match self {
            SupplyCriterion::Signature { key } => format!("signature {key}"),
            SupplyCriterion::Sbom => "sbom".into(),
            SupplyCriterion::Vulnerabilities(_) => "vulnerabilities".into(),
        }
    }

    /// Which artefacts evaluating it needs read.
    pub fn want(&self) -> Want {
        match self {
            SupplyCriterion::Signature { .. } => Want {
                signatures: true,
                ..Want::default()
            },
            SupplyCriterion::Sbom => Want {
                sbom: true,
                ..Want::default()
            },
            SupplyCriterion::Vulnerabilities(_) => Want {
                reports: true,
                ..Want::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::VulnerabilityCounts;
    use crate::supply::{Outcome, SignatureCheck};

    #[test]
    fn each_criterion_says_why_it_fails() {
        let mut ev = Evidence {
            subject: "sha256:ab".into(),
            keys: vec![("keys/a.pub".into(), format!("sha256:{}", "1".repeat(64)))],
            ..Evidence::default()
        };
        let sig = SupplyCriterion::Signature {
            key: "keys/a.pub".into(),
        };
        assert_eq!(
            sig.check(Some(&ev)).unwrap_err(),
            "no valid signature by keys/a.pub (sha256:111111111111…): no signature is attached to sha256:ab"
        );
        ev.signatures.push(SignatureCheck {
            format: "simple-signing",
            artefact: "sha256:cd".into(),
            outcome: Outcome::Verified {
                key: "keys/a.pub".into(),
                fingerprint: "f".into(),
            },
        });
        assert_eq!(sig.check(Some(&ev)), Ok(()));
        assert_eq!(
            SupplyCriterion::Sbom.check(Some(&ev)).unwrap_err(),
            "no SBOM attached"
        );
        let v = SupplyCriterion::Vulnerabilities(VulnerabilityLimits {
            critical: Some(0),
            high: Some(3),
            ..VulnerabilityLimits::default()
        });
        assert_eq!(v.check(Some(&ev)).unwrap_err(), "no scan report");
        ev.vulnerabilities = Some(VulnerabilityCounts {
            critical: 1,
            high: 4,
            medium: 50,
            low: 9,
        });
        assert_eq!(
            v.check(Some(&ev)).unwrap_err(),
            "1 critical > 0, 4 high > 3"
        );
        ev.vulnerabilities = Some(VulnerabilityCounts {
            high: 3,
            medium: 50,
            ..VulnerabilityCounts::default()
        });
        assert_eq!(v.check(Some(&ev)), Ok(()));
        assert!(v.check(None).is_err());
    }
}
