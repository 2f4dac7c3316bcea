//! Stage: supply-chain artefacts — what is attached to an image digest, and what it proves.
//!
//! Input: a registry [`Api`], a repository and an image digest, the public keys to verify
//! signatures with ([`keys::TrustedKey`], paths relative to the catalogue root) and which
//! kinds of artefact the caller needs ([`Want`]). Output: [`Attached`] (every artefact found,
//! with its manifest: what promotion copies) and [`Evidence`] (signatures checked, SBOM
//! present, vulnerability counts: what verification records and policies evaluate).
//!
//! | file | holds |
//! |---|---|
//! | [`discover`] | OCI 1.1 referrers API, the referrers tag schema (`sha256-<hex>`) and cosign's `.sig`/`.att`/`.sbom` tags; each artefact classified by its own manifest |
//! | [`signature`] | cosign simple signing and Sigstore bundle v0.3 (DSSE, in-toto Statement v1) verification |
//! | [`keys`] | PEM ECDSA P-256 public keys, fingerprints, cosign key hints |
//! | [`sarif`] | vulnerability counts per severity from a SARIF report |
//!
//! Crypto: RustCrypto `p256` (ECDSA P-256 with SHA-256, `ecdsa` + `pkcs8` + `pem`) and
//! `sha2`, not the `sigstore` crate: berth verifies key-based signatures only (keyless ones
//! need Fulcio/Rekor trust roots online and are reported as present, not verified), and the
//! two formats are small enough to read with serde, so the smaller, audited primitives are
//! enough. Invariants: artefacts are looked up only when a caller asks (versions being
//! verified with `verify:`, policy candidates that need them, promotions); a signature counts
//! only when it verifies with a given key *and* names the image digest; an SBOM counts
//! whether or not it is signed; the newest scan report (by its `org.opencontainers.image.created`
//! annotation, else the last found) gives the vulnerability counts.

pub mod discover;
pub mod keys;
pub mod sarif;
pub mod signature;
#[cfg(test)]
pub(crate) mod testing;

use std::collections::BTreeSet;

pub use discover::{Artefact, Attached, Kind, Via, Want, discover, is_artefact_tag};
pub use keys::{KeyError, TrustedKey};
pub use signature::Outcome;

use crate::model::{SupplyChainEntry, VulnerabilityCounts};
use crate::registry::{Api, Descriptor, Repo};

/// Sigstore bundle v0.3 (cosign 3's signature format).
pub const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// A cosign simple-signing payload layer (cosign ≤ 2).
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// cosign 2's artifactType for signatures stored as OCI 1.1 referrers.
pub const COSIGN_SIG_ARTIFACT: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
/// A DSSE envelope layer (cosign `.att` attestations).
pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
/// A SARIF scan report.
pub const SARIF: &str = "application/sarif+json";
/// The OCI empty descriptor's media type (artifact manifests' config).
pub const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";

/// Is `t` an SBOM media type (SPDX, CycloneDX, cosign's SBOM artifact type)?
pub fn is_sbom_type(t: &str) -> bool {
    let t = t.to_ascii_lowercase();
    ["application/spdx", "text/spdx", "application/vnd.cyclonedx"]
        .iter()
        .any(|p| t.starts_with(p))
        || t == "application/vnd.dev.cosign.artifact.sbom.v1+json"
}

/// Is `p` an SBOM predicate type of an attestation (SPDX, CycloneDX)?
pub fn is_sbom_predicate(p: &str) -> bool {
    p.starts_with("https://spdx.dev/Document") || p.starts_with("https://cyclonedx.org/bom")
}

/// One signature found and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureCheck {
    /// `simple-signing` or `sigstore-bundle-v0.3`.
    pub format: &'static str,
    /// Digest of the artefact manifest it is in.
    pub artefact: String,
    pub outcome: Outcome,
}

/// What the artefacts attached to one digest prove.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    pub subject: String,
    pub signatures: Vec<SignatureCheck>,
    pub sbom: bool,
    /// Scan reports found.
    pub reports: usize,
    /// Counts of the newest readable report.
    pub vulnerabilities: Option<VulnerabilityCounts>,
    /// Why the newest report could not be read.
    pub report_error: Option<String>,
    /// Artefacts found (of the kinds looked for).
    pub artefacts: usize,
    /// The keys signatures were checked against: (path, fingerprint).
    pub keys: Vec<(String, String)>,
}

impl Evidence {
    /// Does a signature by the key at `path` verify?
    pub fn signed_by(&self, path: &str) -> bool {
        self.signatures
            .iter()
            .any(|s| matches!(&s.outcome, Outcome::Verified { key, .. } if key == path))
    }

    /// Why no signature by the key at `path` verifies (for check-failed reasons and the plan).
    pub fn why_not_signed(&self, path: &str) -> String {
        let head = match self.keys.iter().find(|(p, _)| p == path) {
            Some((_, f)) => format!(
                "no valid signature by {path} ({}…)",
                f.get(..19).unwrap_or(f)
            ),
            None => format!("no valid signature by {path}"),
        };
        if self.signatures.is_empty() {
            return format!("{head}: no signature is attached to {}", self.subject);
        }
        let mut why: Vec<String> = Vec::new();
        let keyless = self
            .signatures
            .iter()
            .filter(|s| s.outcome == Outcome::Keyless)
            .count();
        for s in &self.signatures {
            if let Outcome::NotVerified(r) = &s.outcome
                && !why.contains(r)
            {
                why.push(r.clone());
            }
        }
        if keyless > 0 {
            why.push(format!(
                "{keyless} keyless signature(s) present but not verified (they need online trust roots)"
            ));
        }
        if why.is_empty() {
            why.push("signed by other keys only".into());
        }
        format!("{head}: {}", why.join("; "))
    }

    /// What index.json records.
    pub fn entry(&self) -> SupplyChainEntry {
        let keys: BTreeSet<String> = self
            .signatures
            .iter()
            .filter_map(|s| match &s.outcome {
                Outcome::Verified { fingerprint, .. } => Some(fingerprint.clone()),
                _ => None,
            })
            .collect();
        SupplyChainEntry {
            keyless_signatures: self
                .signatures
                .iter()
                .filter(|s| s.outcome == Outcome::Keyless)
                .count() as u64,
            sbom: self.sbom,
            signature_keys: keys.into_iter().collect(),
            vulnerabilities: self.vulnerabilities,
        }
    }
}

/// The layers of `a` whose media type satisfies `pred`.
fn layers<'a>(
    a: &'a Artefact,
    pred: impl Fn(&str) -> bool + 'a,
) -> impl Iterator<Item = &'a Descriptor> {
    a.info.layers.iter().filter(move |l| pred(&l.media_type))
}

/// Check what `attached` holds: signatures against `keys`, SBOMs, the newest scan report.
/// Blobs (signed payloads, bundles, reports) are read from `repo`, bounded in size and
/// digest-checked by the [`Api`].
pub async fn inspect<A: Api>(
    api: &A,
    repo: &Repo,
    attached: &Attached,
    keys: &[TrustedKey],
    want: Want,
) -> Evidence {
    let subject = attached.subject.as_str();
    let mut ev = Evidence {
        subject: subject.to_string(),
        artefacts: attached.artefacts.len(),
        keys: keys
            .iter()
            .map(|k| (k.path.clone(), k.fingerprint.clone()))
            .collect(),
        ..Evidence::default()
    };
    let mut newest_report: Option<&Artefact> = None;
    for a in &attached.artefacts {
        match a.kind {
            Kind::SimpleSigning if want.signatures || want.all => {
                for l in layers(a, |t| t == SIMPLE_SIGNING) {
                    let outcome = match api.blob(repo, l).await {
                        Ok(payload) => {
                            signature::simple_signing(&payload, &l.annotations, subject, keys)
                        }
                        Err(e) => {
                            Outcome::NotVerified(format!("cannot read the signed payload: {e}"))
                        }
                    };
                    ev.signatures.push(SignatureCheck {
                        format: "simple-signing",
                        artefact: a.manifest.digest.clone(),
                        outcome,
                    });
                }
            }
            Kind::Bundle if want.signatures || want.sbom || want.all => {
                if a.info
                    .annotations
                    .get("dev.sigstore.bundle.predicateType")
                    .is_some_and(|p| is_sbom_predicate(p))
                {
                    ev.sbom = true;
                }
                for l in layers(a, |t| t.starts_with("application/vnd.dev.sigstore.bundle")) {
                    let checked = match api.blob(repo, l).await {
                        Ok(b) => signature::bundle(&b, subject, keys),
                        Err(e) => Err(format!("cannot read the bundle: {e}")),
                    };
                    let outcome = match checked {
                        Ok(c) if c.is_signature() => c.outcome,
                        Ok(c) => {
                            ev.sbom |= is_sbom_predicate(&c.predicate_type);
                            continue;
                        }
                        Err(why) => Outcome::NotVerified(why),
                    };
                    ev.signatures.push(SignatureCheck {
                        format: "sigstore-bundle-v0.3",
                        artefact: a.manifest.digest.clone(),
                        outcome,
                    });
                }
            }
            Kind::Attestation => {
                ev.sbom |= a.info.layers.iter().any(|l| {
                    l.annotations
                        .get("predicateType")
                        .is_some_and(|p| is_sbom_predicate(p))
                });
            }
            Kind::Sbom => ev.sbom = true,
            Kind::ScanReport => {
                ev.reports += 1;
                let created = |x: &Artefact| {
                    x.info
                        .annotations
                        .get("org.opencontainers.image.created")
                        .cloned()
                        .unwrap_or_default()
                };
                if newest_report.is_none_or(|n| created(a) >= created(n)) {
                    newest_report = Some(a);
                }
            }
            _ => {}
        }
    }
    if let Some(r) = newest_report
        && (want.reports || want.all)
    {
        let layer = layers(r, |t| t == SARIF).next().or(r.info.layers.first());
        match layer {
            None => ev.report_error = Some("the scan report has no layer".into()),
            Some(l) => match api.blob(repo, l).await {
                Ok(b) => match sarif::count(&b) {
                    Ok(c) => ev.vulnerabilities = Some(c),
                    Err(e) => ev.report_error = Some(e),
                },
                Err(e) => ev.report_error = Some(format!("cannot read the scan report: {e}")),
            },
        }
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::fake::Fake;
    use crate::supply::testing as t;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    const EVERYTHING: Want = Want {
        signatures: true,
        sbom: true,
        reports: true,
        all: false,
    };

    /// Both signature formats, an SBOM and a report, found through the referrers API (the
    /// fake offers it) and cosign's tag; the evidence holds what verified.
    #[test]
    fn referrers_api_and_cosign_tags() {
        let f = Fake::default();
        let repo = Repo::new("reg.test", "dev/app");
        let img = f.image(&repo, Some("1"), "a", &[], "linux/amd64");
        let (a, b, other) = (t::signer(1), t::signer(2), t::signer(3));
        t::cosign_sig(&f, &repo, &img, &a);
        t::bundle(&f, &repo, &img, &b);
        t::sbom(&f, &repo, &img);
        t::sarif(&f, &repo, &img, 1, 2);
        let att = block(discover(&f, &repo, &img, EVERYTHING, None)).unwrap();
        assert!(att.api);
        assert_eq!(att.artefacts.len(), 4);
        let keys = [a.key.clone(), b.key.clone(), other.key.clone()];
        let ev = block(inspect(&f, &repo, &att, &keys, EVERYTHING));
        assert!(ev.signed_by(&a.key.path) && ev.signed_by(&b.key.path));
        assert!(!ev.signed_by(&other.key.path));
        assert!(ev.sbom);
        let e = ev.entry();
        let mut want = vec![a.key.fingerprint.clone(), b.key.fingerprint.clone()];
        want.sort();
        assert_eq!(e.signature_keys, want);
        assert_eq!(
            e.vulnerabilities,
            Some(VulnerabilityCounts {
                critical: 1,
                high: 2,
                ..VulnerabilityCounts::default()
            })
        );
        // One referrers call; cosign's three tags asked once each (only .sig exists).
        assert_eq!(f.calls("referrers"), 1);
        // A signature over another image is not this image's.
        let img2 = f.image(&repo, Some("2"), "b", &[], "linux/amd64");
        let att2 = block(discover(&f, &repo, &img2, EVERYTHING, None)).unwrap();
        let ev2 = block(inspect(&f, &repo, &att2, &keys, EVERYTHING));
        assert_eq!(ev2.artefacts, 0);
        assert!(
            ev2.why_not_signed(&a.key.path)
                .ends_with(&format!("no signature is attached to {img2}")),
            "{}",
            ev2.why_not_signed(&a.key.path)
        );
    }

    /// Without the API: the tag schema's entries (empty artifactType, as cosign 3.0.x writes
    /// them) are read and each manifest decides what it is; a known tag list saves requests.
    #[test]
    fn tag_schema_fallback_lets_each_manifest_decide() {
        let f = Fake::default();
        f.no_referrers_api.set(true);
        let repo = Repo::new("reg.test", "dev/app");
        let img = f.image(&repo, Some("1"), "a", &[], "linux/amd64");
        let s = t::signer(5);
        let entries = vec![t::bundle(&f, &repo, &img, &s), t::sbom(&f, &repo, &img)];
        t::tag_schema(&f, &repo, &img, &entries);
        let att = block(discover(&f, &repo, &img, EVERYTHING, None)).unwrap();
        assert!(!att.api && att.tag_index.is_some());
        let kinds: Vec<Kind> = att.artefacts.iter().map(|a| a.kind).collect();
        assert_eq!(kinds, vec![Kind::Bundle, Kind::Sbom]);
        let ev = block(inspect(
            &f,
            &repo,
            &att,
            std::slice::from_ref(&s.key),
            EVERYTHING,
        ));
        assert!(ev.signed_by(&s.key.path) && ev.sbom);
        assert_eq!(ev.vulnerabilities, None);
        // The repository's tag list says which cosign tags exist: none is requested.
        let before = f.calls("manifest");
        let tags: BTreeSet<String> = block(f.tags(&repo)).unwrap().into_iter().collect();
        block(discover(&f, &repo, &img, EVERYTHING, Some(&tags))).unwrap();
        // The tag-schema index and its two entries only.
        assert_eq!(f.calls("manifest") - before, 3);
    }
}
