//! Cosign key-based signatures, in both formats cosign writes, verified against
//! [`TrustedKey`]s.
//!
//! - **Simple signing** (cosign ≤ 2, the `sha256-<hex>.sig` tag): each layer of type
//!   `application/vnd.dev.cosign.simplesigning.v1+json` is a JSON payload; its signature is
//!   the base64 ASN.1 DER ECDSA signature in the layer annotation
//!   `dev.cosignproject.cosign/signature`, over the SHA-256 of the payload bytes. The payload's
//!   `critical.image.docker-manifest-digest` must be the image digest and its `critical.type`
//!   `cosign container image signature`; `critical.identity.docker-reference` is ignored (as
//!   cosign does, so signatures stay valid on promoted copies).
//! - **Sigstore bundle v0.3** (cosign 3, an OCI 1.1 referrer): the bundle's `dsseEnvelope`
//!   (`payloadType` `application/vnd.in-toto+json`) carries an in-toto Statement v1; each
//!   signature is over the DSSE pre-authentication encoding
//!   `DSSEv1 <len(type)> <type> <len(payload)> <payload>`; a subject of the statement must
//!   have the image's sha256. `verificationMaterial.publicKey.hint` is base64 of the sha256 of
//!   the signer's DER public key. A statement whose predicate is cosign's signing predicate
//!   (`https://sigstore.dev/cosign/sign/v1`) is a signature; any other predicate makes the
//!   bundle an attestation (an SBOM one for SPDX/CycloneDX predicates).
//!
//! Keyless signatures (a certificate instead of a key: Fulcio/Rekor) are reported as present
//! but not verified: checking them needs online trust roots. JSON is parsed, never compared as
//! bytes; the signature is checked before anything in the payload is believed. A high-S
//! signature (Go's and OpenSSL's ECDSA produce either half) is normalised before verifying.

use std::collections::BTreeMap;

use base64::Engine as _;
use p256::ecdsa::Signature;
use p256::ecdsa::signature::Verifier as _;
use serde::Deserialize;

use crate::supply::keys::TrustedKey;

/// Layer annotation holding a simple-signing signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Layer annotation of a keyless simple-signing signature's certificate.
const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// The `critical.type` cosign writes.
const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";
/// The in-toto predicate of a cosign 3 image signature.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
const IN_TOTO_PAYLOAD: &str = "application/vnd.in-toto+json";
const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";

/// What one signature came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It verifies with the key at `key` (its fingerprint) and names the image digest.
    Verified { key: String, fingerprint: String },
    /// A keyless signature: present, not verified.
    Keyless,
    /// It does not verify with any of the keys given, or does not name the image: why.
    NotVerified(String),
}

/// A bundle, read: what it is and whether its signature holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleCheck {
    /// The statement's predicate type (`https://sigstore.dev/cosign/sign/v1` for a signature).
    pub predicate_type: String,
    pub outcome: Outcome,
}

impl BundleCheck {
    pub fn is_signature(&self) -> bool {
        self.predicate_type == COSIGN_SIGN_PREDICATE
    }
}

fn b64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    let e = base64::engine::general_purpose::STANDARD;
    e.decode(s)
        .ok()
        .or_else(|| base64::engine::general_purpose::URL_SAFE.decode(s).ok())
}

/// Parse an ECDSA signature: ASN.1 DER (what cosign writes), or fixed 64 bytes r‖s.
fn parse_sig(bytes: &[u8]) -> Option<Signature> {
    let sig = Signature::from_der(bytes)
        .ok()
        .or_else(|| Signature::from_slice(bytes).ok())?;
    Some(sig.normalize_s().unwrap_or(sig))
}

/// The first key `sig` over `msg` verifies with.
fn verifying_key<'k>(
    keys: &'k [TrustedKey],
    msg: &[u8],
    sig: &Signature,
) -> Option<&'k TrustedKey> {
    keys.iter().find(|k| k.key.verify(msg, sig).is_ok())
}

fn names(keys: &[TrustedKey]) -> String {
    let v: Vec<&str> = keys.iter().map(|k| k.path.as_str()).collect();
    if v.is_empty() {
        "no key given".to_string()
    } else {
        v.join(", ")
    }
}

#[derive(Deserialize)]
struct SimplePayload {
    critical: Critical,
}
#[derive(Deserialize)]
struct Critical {
    image: CriticalImage,
    #[serde(rename = "type")]
    kind: String,
}
#[derive(Deserialize)]
struct CriticalImage {
    #[serde(rename = "docker-manifest-digest")]
    digest: String,
}

/// Check one simple-signing layer: `payload` its bytes, `annotations` the layer's.
pub fn simple_signing(
    payload: &[u8],
    annotations: &BTreeMap<String, String>,
    subject: &str,
    keys: &[TrustedKey],
) -> Outcome {
    let keyless = annotations.contains_key(CERTIFICATE_ANNOTATION);
    let Some(sig_text) = annotations.get(SIGNATURE_ANNOTATION) else {
        return Outcome::NotVerified(format!(
            "the layer has no `{SIGNATURE_ANNOTATION}` annotation"
        ));
    };
    let Some(sig) = b64(sig_text).as_deref().and_then(parse_sig) else {
        return Outcome::NotVerified("the signature is not a base64 ECDSA signature".into());
    };
    let Some(k) = verifying_key(keys, payload, &sig) else {
        return if keyless {
            Outcome::Keyless
        } else {
            Outcome::NotVerified(format!(
                "the signature does not verify with {}",
                names(keys)
            ))
        };
    };
    match serde_json::from_slice::<SimplePayload>(payload) {
        Err(e) => Outcome::NotVerified(format!("the signed payload is not simple signing: {e}")),
        Ok(p) if p.critical.kind != SIMPLE_SIGNING_TYPE => Outcome::NotVerified(format!(
            "the signed payload's type is {:?}, not {SIMPLE_SIGNING_TYPE:?}",
            p.critical.kind
        )),
        Ok(p) if p.critical.image.digest != subject => Outcome::NotVerified(format!(
            "the signed payload names {}, not this image",
            p.critical.image.digest
        )),
        Ok(_) => Outcome::Verified {
            key: k.path.clone(),
            fingerprint: k.fingerprint.clone(),
        },
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bundle {
    media_type: String,
    #[serde(default)]
    verification_material: Option<Material>,
    #[serde(default)]
    dsse_envelope: Option<Envelope>,
}
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Material {
    #[serde(default)]
    public_key: Option<PublicKeyId>,
    #[serde(default)]
    certificate: Option<serde_json::Value>,
    #[serde(default)]
    x509_certificate_chain: Option<serde_json::Value>,
}
#[derive(Deserialize)]
struct PublicKeyId {
    #[serde(default)]
    hint: Option<String>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload: String,
    payload_type: String,
    #[serde(default)]
    signatures: Vec<EnvelopeSig>,
}
#[derive(Deserialize)]
struct EnvelopeSig {
    sig: String,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Statement {
    #[serde(rename = "_type")]
    kind: String,
    #[serde(default)]
    subject: Vec<Subject>,
    #[serde(default)]
    predicate_type: String,
}
#[derive(Deserialize)]
struct Subject {
    #[serde(default)]
    digest: BTreeMap<String, String>,
}

/// DSSE pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Check a Sigstore bundle (its JSON bytes) for the image `subject`. `Err` when it is not a
/// bundle berth can read (the reason).
pub fn bundle(bytes: &[u8], subject: &str, keys: &[TrustedKey]) -> Result<BundleCheck, String> {
    let b: Bundle =
        serde_json::from_slice(bytes).map_err(|e| format!("the bundle is not valid JSON: {e}"))?;
    if b.media_type != crate::supply::BUNDLE_V03 {
        return Err(format!("unsupported bundle media type {:?}", b.media_type));
    }
    let env = b
        .dsse_envelope
        .ok_or("the bundle carries no DSSE envelope (message signatures are not read)")?;
    if env.payload_type != IN_TOTO_PAYLOAD {
        return Err(format!(
            "the envelope's payloadType is {:?}, not {IN_TOTO_PAYLOAD:?}",
            env.payload_type
        ));
    }
    let payload = b64(&env.payload).ok_or("the envelope payload is not base64")?;
    let st: Statement = serde_json::from_slice(&payload)
        .map_err(|e| format!("the envelope payload is not an in-toto statement: {e}"))?;
    if st.kind != STATEMENT_V1 {
        return Err(format!(
            "the statement type is {:?}, not {STATEMENT_V1:?}",
            st.kind
        ));
    }
    let predicate_type = st.predicate_type.clone();
    let m = b.verification_material.unwrap_or_default();
    let keyless =
        m.public_key.is_none() && (m.certificate.is_some() || m.x509_certificate_chain.is_some());
    if keyless {
        return Ok(BundleCheck {
            predicate_type,
            outcome: Outcome::Keyless,
        });
    }
    let hint = m.public_key.and_then(|p| p.hint).filter(|h| !h.is_empty());
    let msg = pae(&env.payload_type, &payload);
    let signer = env
        .signatures
        .iter()
        .filter_map(|s| b64(&s.sig).as_deref().and_then(parse_sig))
        .find_map(|sig| verifying_key(keys, &msg, &sig));
    let outcome = match signer {
        None => match &hint {
            Some(h) if !keys.iter().any(|k| &k.hint == h) => Outcome::NotVerified(format!(
                "signed by another key (hint {h}), not {}",
                names(keys)
            )),
            _ => Outcome::NotVerified(format!(
                "the DSSE signature does not verify with {}",
                names(keys)
            )),
        },
        Some(k) => {
            let hex = subject.strip_prefix("sha256:").unwrap_or(subject);
            if st
                .subject
                .iter()
                .any(|s| s.digest.get("sha256").map(String::as_str) == Some(hex))
            {
                Outcome::Verified {
                    key: k.path.clone(),
                    fingerprint: k.fingerprint.clone(),
                }
            } else {
                Outcome::NotVerified("the signed statement's subject is not this image".into())
            }
        }
    };
    Ok(BundleCheck {
        predicate_type,
        outcome,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::supply::keys;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::EncodePublicKey;

    pub(crate) fn key(seed: u8) -> (SigningKey, TrustedKey) {
        let sk = SigningKey::from_slice(&[seed; 32]).unwrap();
        let pem = p256::ecdsa::VerifyingKey::from(&sk)
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let tk = keys::parse(&format!("keys/k{seed}.pub"), &pem).unwrap();
        (sk, tk)
    }

    pub(crate) fn der_b64(sk: &SigningKey, msg: &[u8]) -> String {
        let sig: Signature = sk.sign(msg);
        base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes())
    }

    pub(crate) fn simple_payload(digest: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"critical": {"identity": {"docker-reference": "elsewhere/x"},
            "image": {"docker-manifest-digest": digest}, "type": SIMPLE_SIGNING_TYPE}, "optional": null}))
        .unwrap()
    }

    pub(crate) fn bundle_bytes(
        sk: &SigningKey,
        hint: &str,
        digest: &str,
        predicate: &str,
    ) -> Vec<u8> {
        let hex = digest.strip_prefix("sha256:").unwrap();
        let st = serde_json::to_vec(&serde_json::json!({"_type": STATEMENT_V1,
            "subject": [{"name": "reg/x", "digest": {"sha256": hex}}],
            "predicateType": predicate, "predicate": {}}))
        .unwrap();
        let e = base64::engine::general_purpose::STANDARD;
        serde_json::to_vec(&serde_json::json!({"mediaType": crate::supply::BUNDLE_V03,
            "verificationMaterial": {"publicKey": {"hint": hint}},
            "dsseEnvelope": {"payload": e.encode(&st), "payloadType": IN_TOTO_PAYLOAD,
                "signatures": [{"sig": der_b64(sk, &pae(IN_TOTO_PAYLOAD, &st)), "keyid": ""}]}}))
        .unwrap()
    }

    const D: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const OTHER: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn simple_signing_checks_key_and_digest() {
        let (sk, k) = key(1);
        let (_, k2) = key(2);
        let p = simple_payload(D);
        let ann = BTreeMap::from([(SIGNATURE_ANNOTATION.to_string(), der_b64(&sk, &p))]);
        assert_eq!(
            simple_signing(&p, &ann, D, &[k2.clone(), k.clone()]),
            Outcome::Verified {
                key: k.path.clone(),
                fingerprint: k.fingerprint.clone()
            }
        );
        // The same signature for another image: the payload decides.
        assert!(
            matches!(simple_signing(&p, &ann, OTHER, std::slice::from_ref(&k)),
            Outcome::NotVerified(m) if m.contains("names sha256:1111"))
        );
        assert!(
            matches!(simple_signing(&p, &ann, D, std::slice::from_ref(&k2)),
            Outcome::NotVerified(m) if m.contains("does not verify with keys/k2.pub"))
        );
        // A payload changed after signing.
        let mut bad = p.clone();
        bad[5] ^= 1;
        assert!(matches!(
            simple_signing(&bad, &ann, D, std::slice::from_ref(&k)),
            Outcome::NotVerified(_)
        ));
        let mut keyless = ann.clone();
        keyless.insert(
            CERTIFICATE_ANNOTATION.into(),
            "-----BEGIN CERTIFICATE-----".into(),
        );
        assert_eq!(simple_signing(&p, &keyless, D, &[k2]), Outcome::Keyless);
        assert!(matches!(
            simple_signing(&p, &BTreeMap::new(), D, &[k]),
            Outcome::NotVerified(m) if m.contains("no `dev.cosignproject.cosign/signature`")
        ));
    }

    #[test]
    fn bundle_checks_pae_key_hint_and_subject() {
        let (sk, k) = key(3);
        let (sk4, k4) = key(4);
        let b = bundle_bytes(&sk, &k.hint, D, COSIGN_SIGN_PREDICATE);
        let c = bundle(&b, D, std::slice::from_ref(&k)).unwrap();
        assert!(c.is_signature());
        assert!(
            matches!(c.outcome, Outcome::Verified { ref fingerprint, .. } if *fingerprint == k.fingerprint)
        );
        assert!(
            matches!(bundle(&b, OTHER, std::slice::from_ref(&k)).unwrap().outcome,
            Outcome::NotVerified(m) if m.contains("subject"))
        );
        assert!(
            matches!(bundle(&b, D, std::slice::from_ref(&k4)).unwrap().outcome,
            Outcome::NotVerified(m) if m.contains("another key"))
        );
        // Another predicate: an attestation (here an SBOM one), not a signature.
        let att = bundle_bytes(&sk4, &k4.hint, D, "https://spdx.dev/Document");
        let c = bundle(&att, D, std::slice::from_ref(&k4)).unwrap();
        assert!(!c.is_signature());
        assert!(matches!(c.outcome, Outcome::Verified { .. }));
        // Signed over the payload itself instead of the PAE: not a DSSE signature.
        let mut v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        let e = base64::engine::general_purpose::STANDARD;
        let st = e
            .decode(v["dsseEnvelope"]["payload"].as_str().unwrap())
            .unwrap();
        v["dsseEnvelope"]["signatures"][0]["sig"] = der_b64(&sk, &st).into();
        let c = bundle(
            &serde_json::to_vec(&v).unwrap(),
            D,
            std::slice::from_ref(&k),
        )
        .unwrap();
        assert!(
            matches!(c.outcome, Outcome::NotVerified(m) if m.contains("DSSE signature does not verify"))
        );
        // Keyless: present, not verified.
        v["verificationMaterial"] = serde_json::json!({"certificate": {"rawBytes": "MII="}});
        let c = bundle(
            &serde_json::to_vec(&v).unwrap(),
            D,
            std::slice::from_ref(&k),
        )
        .unwrap();
        assert_eq!(c.outcome, Outcome::Keyless);
        v["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1".into();
        assert!(bundle(&serde_json::to_vec(&v).unwrap(), D, &[k]).is_err());
        assert_eq!(pae("t", b"ab"), b"DSSEv1 1 t 2 ab".to_vec());
    }
}
