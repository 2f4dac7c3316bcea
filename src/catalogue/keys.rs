//! Signature keys of listings (`verify.signature.key`): each must be a readable PEM ECDSA
//! P-256 public key inside the catalogue.
//!
//! Input: a loaded catalogue. Output: diagnostics (E0601 cannot read, E0602 not a P-256 public
//! key) at the key's value, with a hint. The rules are `crate::supply::keys` — the code that
//! loads keys for verification; policy keys are checked by `crate::policy::compile`.

use crate::catalogue::load::Catalogue;
use crate::model::diag::Diagnostics;

/// Check the keys of every listing's `verify.signature`.
pub fn check_listings(cat: &Catalogue, d: &mut Diagnostics) {
    for src in &cat.listings {
        let Some(sig) = src
            .value
            .verify
            .as_ref()
            .and_then(|v| v.value.signature.as_ref())
        else {
            continue;
        };
        let key = &sig.value.key;
        if let Some(diag) =
            crate::supply::keys::diagnostic(&cat.root, &key.value, &src.path, key.pos)
        {
            d.push(diag);
        }
    }
}
