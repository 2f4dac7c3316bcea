//! Test builders: artefacts exactly as cosign (and scanners) attach them, in the registry's
//! in-memory fake. Unit tests only; the real-registry tests build the same with openssl.

use p256::ecdsa::SigningKey;

use crate::registry::Repo;
use crate::registry::fake::Fake;
use crate::registry::manifest::{OCI_INDEX, OCI_MANIFEST};
use crate::supply::keys::TrustedKey;
use crate::supply::signature::tests::{bundle_bytes, der_b64, key, simple_payload};
use crate::supply::signature::{COSIGN_SIGN_PREDICATE, SIGNATURE_ANNOTATION};
use crate::supply::{BUNDLE_V03, EMPTY_CONFIG, SARIF, SIMPLE_SIGNING};

pub struct Signer {
    pub sk: SigningKey,
    pub key: TrustedKey,
}

pub fn signer(seed: u8) -> Signer {
    let (sk, key) = key(seed);
    Signer { sk, key }
}

fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap()
}

/// A cosign ≤ 2 signature: `sha256-<hex>.sig` with one simple-signing layer.
pub fn cosign_sig(f: &Fake, repo: &Repo, subject: &str, s: &Signer) -> String {
    let payload = simple_payload(subject);
    let layer = f.put_blob(repo, &payload);
    let cfg = serde_json::json!({"architecture": "", "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
        "rootfs": {"type": "layers", "diff_ids": [layer.digest]}, "config": {}});
    let cfg = f.put_blob(repo, cfg.to_string().as_bytes());
    let m = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg.digest, "size": cfg.size},
        "layers": [{"mediaType": SIMPLE_SIGNING, "digest": layer.digest, "size": layer.size,
            "annotations": {SIGNATURE_ANNOTATION: der_b64(&s.sk, &payload)}}]});
    let tag = format!("sha256-{}.sig", hex(subject));
    f.put_raw_manifest(repo, Some(&tag), OCI_MANIFEST, m.to_string().as_bytes())
}

/// An OCI 1.1 referrer of `subject` with one layer.
pub fn referrer(
    f: &Fake,
    repo: &Repo,
    subject: &str,
    artifact_type: &str,
    layer_type: &str,
    bytes: &[u8],
) -> String {
    let empty = f.put_blob(repo, b"{}");
    let layer = f.put_blob(repo, bytes);
    let m = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_CONFIG, "digest": empty.digest, "size": 2},
        "layers": [{"mediaType": layer_type, "digest": layer.digest, "size": layer.size}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 1},
        "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}});
    f.put_raw_manifest(repo, None, OCI_MANIFEST, m.to_string().as_bytes())
}

/// A cosign 3 signature: a Sigstore bundle v0.3 referrer.
pub fn bundle(f: &Fake, repo: &Repo, subject: &str, s: &Signer) -> String {
    let b = bundle_bytes(&s.sk, &s.key.hint, subject, COSIGN_SIGN_PREDICATE);
    referrer(f, repo, subject, BUNDLE_V03, BUNDLE_V03, &b)
}

pub fn sbom(f: &Fake, repo: &Repo, subject: &str) -> String {
    let doc = br#"{"spdxVersion":"SPDX-2.3","name":"x"}"#;
    referrer(
        f,
        repo,
        subject,
        "application/spdx+json",
        "application/spdx+json",
        doc,
    )
}

/// A SARIF report with `critical` results of severity 9.8 and `high` of 7.5.
pub fn sarif(f: &Fake, repo: &Repo, subject: &str, critical: usize, high: usize) -> String {
    let results: Vec<serde_json::Value> = (0..critical)
        .map(|i| serde_json::json!({"ruleId": format!("CVE-C{i}"), "properties": {"security-severity": "9.8"}}))
        .chain((0..high).map(|i| serde_json::json!({"ruleId": format!("CVE-H{i}"), "properties": {"security-severity": "7.5"}})))
        .collect();
    let log = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": results}]});
    referrer(f, repo, subject, SARIF, SARIF, log.to_string().as_bytes())
}

/// The referrers tag schema `sha256-<hex>` listing `entries` the way cosign 3.0.x writes
/// them (empty artifactType).
pub fn tag_schema(f: &Fake, repo: &Repo, subject: &str, entries: &[String]) -> String {
    let list: Vec<serde_json::Value> = entries
        .iter()
        .map(|d| {
            let size = f.repos.borrow()[repo].manifests[d].1.len();
            serde_json::json!({"mediaType": OCI_MANIFEST, "digest": d, "size": size, "artifactType": ""})
        })
        .collect();
    let idx = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list});
    let tag = format!("sha256-{}", hex(subject));
    f.put_raw_manifest(repo, Some(&tag), OCI_INDEX, idx.to_string().as_bytes())
}
