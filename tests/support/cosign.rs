//! Supply-chain artefacts exactly as cosign (and scanners, `oras attach`) write them, pushed
//! to the real registry: key pairs and signatures made by `openssl` (ECDSA P-256,
//! `openssl dgst -sha256 -sign`), cosign ≤ 2's `sha256-<hex>.sig` simple-signing manifest,
//! cosign 3's Sigstore bundle v0.3 referrer (DSSE over an in-toto Statement v1), SPDX SBOM and
//! SARIF report referrers, and the referrers tag schema index `sha256-<hex>` a registry without
//! the OCI 1.1 API needs (entries with the empty artifactType cosign 3.0.x writes).

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;

use super::http::http;
use super::registry::{OCI_INDEX, OCI_MANIFEST, push_blob, put_manifest};
use super::tools::{need, sha256};

pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";
pub const SARIF: &str = "application/sarif+json";
pub const SPDX: &str = "application/spdx+json";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn openssl(args: &[&str]) -> Vec<u8> {
    need("openssl", "openssl");
    let o = Command::new("openssl").args(args).output().unwrap();
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// An ECDSA P-256 key pair made by openssl.
pub struct KeyPair {
    pub dir: tempfile::TempDir,
    pub private: PathBuf,
    /// PEM `PUBLIC KEY` (PKIX), as cosign.pub.
    pub public_pem: String,
    /// `sha256:<hex>` of the DER SubjectPublicKeyInfo (computed from openssl's DER output).
    pub fingerprint: String,
    /// base64 of the same sha256 (cosign's key hint).
    pub hint: String,
}

impl KeyPair {
    pub fn generate() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("key.pem");
        let p = private.to_str().unwrap();
        openssl(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            p,
        ]);
        let public_pem = String::from_utf8(openssl(&["ec", "-in", p, "-pubout"])).unwrap();
        let der = openssl(&["ec", "-in", p, "-pubout", "-outform", "DER"]);
        let fingerprint = sha256(&der);
        let raw: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&fingerprint[7 + 2 * i..9 + 2 * i], 16).unwrap())
            .collect();
        KeyPair {
            hint: b64(&raw),
            dir,
            private,
            public_pem,
            fingerprint,
        }
    }

    /// Write the public key into the catalogue at `rel`.
    pub fn install(&self, root: &Path, rel: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, &self.public_pem).unwrap();
    }

    /// base64 of the ASN.1 DER ECDSA signature over sha256(`data`), by `openssl dgst`.
    pub fn sign(&self, data: &[u8]) -> String {
        let input = self.dir.path().join("data");
        let out = self.dir.path().join("sig.der");
        std::fs::write(&input, data).unwrap();
        openssl(&[
            "dgst",
            "-sha256",
            "-sign",
            self.private.to_str().unwrap(),
            "-out",
            out.to_str().unwrap(),
            input.to_str().unwrap(),
        ]);
        b64(&std::fs::read(out).unwrap())
    }
}

fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap()
}

/// cosign ≤ 2: the `sha256-<hex>.sig` manifest with one simple-signing layer whose
/// signature is in `dev.cosignproject.cosign/signature`. `docker-reference` names
/// `reference` (cosign writes the repository the image was signed in). Returns the
/// signature manifest's digest.
pub fn push_cosign_sig(
    addr: &str,
    repo: &str,
    image: &str,
    reference: &str,
    key: &KeyPair,
) -> String {
    let payload = serde_json::to_vec(&serde_json::json!({
        "critical": {
            "identity": {"docker-reference": reference},
            "image": {"docker-manifest-digest": image},
            "type": "cosign container image signature"
        },
        "optional": null
    }))
    .unwrap();
    let layer = push_blob(addr, repo, &payload);
    let cfg = serde_json::to_vec(&serde_json::json!({
        "architecture": "", "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
        "rootfs": {"type": "layers", "diff_ids": [layer]}, "config": {}
    }))
    .unwrap();
    let cfg_digest = push_blob(addr, repo, &cfg);
    let m = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": cfg.len(), "digest": cfg_digest},
        "layers": [{"mediaType": SIMPLE_SIGNING, "size": payload.len(), "digest": layer,
            "annotations": {"dev.cosignproject.cosign/signature": key.sign(&payload)}}]
    }))
    .unwrap();
    put_manifest(
        addr,
        repo,
        &format!("sha256-{}.sig", hex(image)),
        OCI_MANIFEST,
        &m,
    )
}

/// An OCI 1.1 referrer of `image` (empty config, one layer), pushed by digest and listed in
/// the referrers tag schema index (the registry has no referrers API). Returns its digest.
pub fn push_referrer(
    addr: &str,
    repo: &str,
    image: &str,
    artifact_type: &str,
    layer_type: &str,
    body: &[u8],
    annotations: serde_json::Value,
) -> String {
    let empty = push_blob(addr, repo, b"{}");
    let layer = push_blob(addr, repo, body);
    let subject_size = manifest_size(addr, repo, image);
    let m = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_CONFIG, "digest": empty, "size": 2},
        "layers": [{"mediaType": layer_type, "digest": layer, "size": body.len(),
            "annotations": {"org.opencontainers.image.title": format!("sha256-{}.json", hex(&layer))}}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": image, "size": subject_size},
        "annotations": annotations
    }))
    .unwrap();
    let digest = sha256(&m);
    put_manifest(addr, repo, &digest, OCI_MANIFEST, &m);
    add_to_tag_schema(addr, repo, image, &digest, m.len());
    digest
}

/// cosign 3: a Sigstore bundle v0.3 (DSSE over an in-toto Statement v1 with cosign's
/// signing predicate, signed by openssl over the PAE) attached as a referrer.
pub fn push_bundle(addr: &str, repo: &str, image: &str, key: &KeyPair) -> String {
    let statement = serde_json::to_vec(&serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": format!("{addr}/{repo}"), "digest": {"sha256": hex(image)}}],
        "predicateType": "https://sigstore.dev/cosign/sign/v1",
        "predicate": {}
    }))
    .unwrap();
    let payload_type = "application/vnd.in-toto+json";
    let mut pae = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        statement.len()
    )
    .into_bytes();
    pae.extend_from_slice(&statement);
    let bundle = serde_json::to_vec(&serde_json::json!({
        "mediaType": BUNDLE_V03,
        "verificationMaterial": {"publicKey": {"hint": key.hint}, "tlogEntries": []},
        "dsseEnvelope": {"payload": b64(&statement), "payloadType": payload_type,
            "signatures": [{"sig": key.sign(&pae)}]}
    }))
    .unwrap();
    push_referrer(
        addr,
        repo,
        image,
        BUNDLE_V03,
        BUNDLE_V03,
        &bundle,
        serde_json::json!({
            "dev.sigstore.bundle.content": "dsse-envelope",
            "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1",
            "org.opencontainers.image.created": "2026-11-01T00:00:00Z"
        }),
    )
}

/// An SPDX SBOM referrer.
pub fn push_sbom(addr: &str, repo: &str, image: &str) -> String {
    let doc = serde_json::to_vec(&serde_json::json!({"spdxVersion": "SPDX-2.3", "name": repo,
        "packages": [{"name": "openssl", "versionInfo": "3.0.19"}]}))
    .unwrap();
    push_referrer(
        addr,
        repo,
        image,
        SPDX,
        SPDX,
        &doc,
        serde_json::json!({"org.opencontainers.image.created": "2026-11-01T00:00:00Z"}),
    )
}

/// A SARIF scan report referrer (as `trivy --format sarif` + `oras attach` make it):
/// `critical` vulnerabilities rated 9.8 on their rules, `high` rated 7.5 on their results.
pub fn push_sarif(addr: &str, repo: &str, image: &str, critical: usize, high: usize) -> String {
    let rules: Vec<serde_json::Value> = (0..critical)
        .map(|i| serde_json::json!({"id": format!("CVE-2026-{i:04}"), "properties": {"security-severity": "9.8"}}))
        .collect();
    let results: Vec<serde_json::Value> = (0..critical)
        .map(|i| serde_json::json!({"ruleId": format!("CVE-2026-{i:04}"), "ruleIndex": i, "level": "error"}))
        .chain((0..high).map(|i| {
            serde_json::json!({"ruleId": format!("CVE-2025-{i:04}"), "level": "warning",
                "properties": {"security-severity": "7.5"}})
        }))
        .collect();
    let log = serde_json::to_vec(&serde_json::json!({"version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": "Trivy", "rules": rules}}, "results": results}]}))
    .unwrap();
    push_referrer(
        addr,
        repo,
        image,
        SARIF,
        SARIF,
        &log,
        serde_json::json!({"org.opencontainers.image.created": "2026-11-02T00:00:00Z"}),
    )
}

fn manifest_size(addr: &str, repo: &str, digest: &str) -> usize {
    let r = http(
        "GET",
        addr,
        &format!("/v2/{repo}/manifests/{digest}"),
        &[("Accept", format!("{OCI_MANIFEST}, {OCI_INDEX}").as_str())],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200, "manifest {digest}");
    r.body.len()
}

/// Add `referrer` to the tag schema index `sha256-<hex>` of `image` (created when absent),
/// with the empty artifactType cosign 3.0.x writes.
pub fn add_to_tag_schema(addr: &str, repo: &str, image: &str, referrer: &str, size: usize) {
    let tag = format!("sha256-{}", hex(image));
    let r = http(
        "GET",
        addr,
        &format!("/v2/{repo}/manifests/{tag}"),
        &[("Accept", OCI_INDEX)],
        b"",
    )
    .unwrap();
    let mut idx: serde_json::Value = if r.status == 200 {
        serde_json::from_slice(&r.body).unwrap()
    } else {
        serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
    };
    idx["manifests"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"mediaType": OCI_MANIFEST, "digest": referrer, "size": size, "artifactType": ""}));
    put_manifest(
        addr,
        repo,
        &tag,
        OCI_INDEX,
        &serde_json::to_vec(&idx).unwrap(),
    );
}

/// Delete a manifest by digest (the test registry allows deletes).
pub fn delete_manifest(addr: &str, repo: &str, digest: &str) {
    let r = http(
        "DELETE",
        addr,
        &format!("/v2/{repo}/manifests/{digest}"),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 202, "delete {repo}@{digest}");
}

/// The digest a tag points at, `None` when it does not exist.
pub fn tag_digest_of(addr: &str, repo: &str, tag: &str) -> Option<String> {
    let r = http(
        "GET",
        addr,
        &format!("/v2/{repo}/manifests/{tag}"),
        &[("Accept", format!("{OCI_MANIFEST}, {OCI_INDEX}").as_str())],
        b"",
    )
    .unwrap();
    (r.status == 200).then(|| sha256(&r.body))
}
