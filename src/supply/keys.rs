//! Public keys that signatures are verified against.
//!
//! Input: a key path relative to the catalogue root (`keys/team.pub`), and the PEM text of
//! the file. Output: a [`TrustedKey`] — the ECDSA P-256 verifying key, its fingerprint
//! (`sha256:<hex>` of the DER SubjectPublicKeyInfo) and cosign's key hint (base64 of the same
//! sha256, as written in a Sigstore bundle's `verificationMaterial.publicKey.hint`) — or a
//! [`KeyError`] saying what is wrong, and its [`diagnostic`] (E0601 cannot read, E0602 not a
//! P-256 public key) for `berth validate` — listings and policies alike.
//!
//! Rules: the path is relative, stays inside the catalogue (no `..` above the root, not
//! absolute) and is not a symlink; the file is a PEM `PUBLIC KEY` (PKIX) of an ECDSA P-256
//! key, as `cosign generate-key-pair` and `openssl ec -pubout` write it. A private key is
//! refused with its own message: it must never be in the catalogue. The fingerprint is taken
//! over the canonical DER encoding (uncompressed point), the bytes cosign hashes for its hint.

use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use sha2::{Digest as _, Sha256};

use crate::model::diag::{Code, Diagnostic};
use crate::model::span::Pos;

/// Largest key file read (a PEM public key is a few hundred bytes).
const MAX_KEY_FILE: u64 = 64 * 1024;

/// A public key signatures are checked against.
#[derive(Clone, Debug)]
pub struct TrustedKey {
    /// The path as written in the catalogue (relative to its root).
    pub path: String,
    /// `sha256:<hex>` of the DER SubjectPublicKeyInfo.
    pub fingerprint: String,
    /// base64 (standard) of the same sha256: cosign's key hint in a bundle.
    pub hint: String,
    pub(super) key: VerifyingKey,
}

impl PartialEq for TrustedKey {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.fingerprint == other.fingerprint
    }
}

/// Why a key cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The file cannot be read (missing, a directory, a symlink, outside the catalogue).
    #[error("{0}")]
    Unreadable(String),
    /// The file is not a PEM ECDSA P-256 public key.
    #[error("{0}")]
    Invalid(String),
}

impl KeyError {
    pub fn message(&self) -> &str {
        match self {
            KeyError::Unreadable(m) | KeyError::Invalid(m) => m,
        }
    }
}

/// The diagnostic for the key at `rel` (read from `root`), named at `file:pos`: E0601 when
/// it cannot be read, E0602 when it is not a PEM P-256 public key; `None` when it is usable.
pub fn diagnostic(root: &Path, rel: &str, file: &Path, pos: Pos) -> Option<Diagnostic> {
    let e = load(root, rel).err()?;
    let (code, hint) = match &e {
        KeyError::Unreadable(_) => (
            Code::KeyUnreadable,
            "give the path of the public key file relative to the catalogue root, e.g. `keys/team.pub` (cosign generate-key-pair writes cosign.pub)",
        ),
        KeyError::Invalid(_) => (
            Code::KeyInvalid,
            "use the PEM public key of an ECDSA P-256 key pair (`-----BEGIN PUBLIC KEY-----`), e.g. cosign.pub; never commit the private key",
        ),
    };
    Some(Diagnostic::error(code, file, pos, e.message().to_string()).with_hint(hint))
}

/// The file a key path names under `root`, if the path is acceptable.
fn resolve(root: &Path, rel: &str) -> Result<PathBuf, KeyError> {
    let p = Path::new(rel.trim());
    if rel.trim().is_empty() {
        return Err(KeyError::Unreadable("the key path is empty".into()));
    }
    if p.is_absolute() || rel.starts_with('/') || rel.starts_with('\\') {
        return Err(KeyError::Unreadable(format!(
            "key path `{rel}` is absolute; give it relative to the catalogue root"
        )));
    }
    let mut depth: i32 = 0;
    for c in p.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => {
                return Err(KeyError::Unreadable(format!(
                    "key path `{rel}` is not a plain relative path"
                )));
            }
        }
        if depth < 0 {
            return Err(KeyError::Unreadable(format!(
                "key path `{rel}` leaves the catalogue"
            )));
        }
    }
    Ok(root.join(p))
}

/// Read and parse the key at `rel` (relative to `root`).
pub fn load(root: &Path, rel: &str) -> Result<TrustedKey, KeyError> {
    let file = resolve(root, rel)?;
    let meta = std::fs::symlink_metadata(&file)
        .map_err(|e| KeyError::Unreadable(format!("key file `{rel}` cannot be read: {e}")))?;
    if meta.file_type().is_symlink() {
        return Err(KeyError::Unreadable(format!(
            "key file `{rel}` is a symlink; berth reads only regular files in the catalogue"
        )));
    }
    if !meta.is_file() {
        return Err(KeyError::Unreadable(format!(
            "key file `{rel}` is not a file"
        )));
    }
    if meta.len() > MAX_KEY_FILE {
        return Err(KeyError::Invalid(format!(
            "key file `{rel}` is {} bytes, not a PEM public key",
            meta.len()
        )));
    }
    let text = std::fs::read_to_string(&file)
        .map_err(|e| KeyError::Unreadable(format!("key file `{rel}` cannot be read: {e}")))?;
    parse(rel, &text)
}

/// Parse the PEM text of a public key.
pub fn parse(path: &str, pem: &str) -> Result<TrustedKey, KeyError> {
    if pem.contains("PRIVATE KEY") {
        return Err(KeyError::Invalid(format!(
            "`{path}` holds a private key; a catalogue holds only public keys"
        )));
    }
    if !pem.contains("-----BEGIN PUBLIC KEY-----") {
        return Err(KeyError::Invalid(format!(
            "`{path}` is not a PEM public key (no `-----BEGIN PUBLIC KEY-----`)"
        )));
    }
    let key = VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| {
        KeyError::Invalid(format!(
            "`{path}` is not an ECDSA P-256 public key ({e}); cosign key-based signatures use P-256"
        ))
    })?;
    let der = key
        .to_public_key_der()
        .map_err(|e| KeyError::Invalid(format!("`{path}`: cannot encode the key ({e})")))?;
    let sum = Sha256::digest(der.as_bytes());
    Ok(TrustedKey {
        path: path.trim().to_string(),
        fingerprint: format!("sha256:{}", hex(&sum)),
        hint: base64::engine::general_purpose::STANDARD.encode(sum),
        key,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;

    pub(crate) fn pem_of(sk: &SigningKey) -> String {
        VerifyingKey::from(sk)
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap()
    }

    #[test]
    fn fingerprint_and_hint_are_of_the_der_spki() {
        let sk = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let pem = pem_of(&sk);
        let k = parse("keys/team.pub", &pem).unwrap();
        let der = VerifyingKey::from(&sk).to_public_key_der().unwrap();
        let sum = Sha256::digest(der.as_bytes());
        assert_eq!(k.fingerprint, format!("sha256:{}", hex(&sum)));
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&k.hint)
                .unwrap(),
            sum.to_vec()
        );
        assert_eq!(k.path, "keys/team.pub");
    }

    #[test]
    fn bad_keys_say_why() {
        let e = parse("k.pub", "-----BEGIN EC PRIVATE KEY-----\nxx\n").unwrap_err();
        assert!(e.message().contains("private key"), "{e}");
        let e = parse("k.pub", "hello").unwrap_err();
        assert!(e.message().contains("not a PEM public key"), "{e}");
        let e = parse(
            "k.pub",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        )
        .unwrap_err();
        assert!(e.message().contains("not an ECDSA P-256"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        for (rel, want) in [
            ("../k.pub", "leaves the catalogue"),
            ("a/../../k.pub", "leaves the catalogue"),
            ("/etc/k.pub", "absolute"),
            ("", "empty"),
            ("missing.pub", "cannot be read"),
        ] {
            let e = load(dir.path(), rel).unwrap_err();
            assert!(
                matches!(e, KeyError::Unreadable(_)) && e.message().contains(want),
                "{rel}: {e}"
            );
        }
    }
}
