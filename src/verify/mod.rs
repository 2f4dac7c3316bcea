//! Stage: verify — check that references can really be pulled.
//!
//! Input: the verification requests of a plan, berth.yaml (registry limits, credentials) and
//! the level. Output: one [`VerifyOutcome`] per distinct reference, plus [`VerifyStats`].
//!
//! Per reference, through the registry [`Api`] and its one manifest model
//! (`crate::registry::manifest`): resolve tag → digest (a digest the registry serves:
//! `crate::registry::Registry::resolve`), read the image manifests of an index (attestations
//! are not images) and the first image's config (platforms, labels; read whole, digest and
//! size checked), add up the size; `blobs` also HEADs every other blob and compares its size;
//! `full` downloads every other blob streamed, checking sha256 and size while reading
//! (memory bounded by one network chunk). Foreign layers (`urls`) count in the size but live
//! elsewhere and are not checked. A reference whose requests all name the same recorded digest
//! (a `testing` tag being re-resolved) costs one manifest HEAD when the registry still names
//! that digest ([`VerifyOutcome::Unchanged`]); otherwise it is verified fully. One reference's
//! failure is its own `Failed(reason)`; all others proceed. Offline, every outcome is `Skipped` and no request is made. Requests run
//! concurrently on a tokio runtime built here (the rest of berth is synchronous), bounded per
//! registry host by [`crate::registry::Limits`] — shared by every credential.
//!
//! Supply chain: a reference whose listing has `verify:` ([`VerifyRequest::supply`]) is never
//! answered by the one-HEAD shortcut (a signature can be removed while the tag stays); after
//! the image checks, the artefacts attached to its digest are looked up and checked
//! (`crate::supply`): a required key without a verifying signature makes the outcome
//! `Failed` with the reason; otherwise the facts carry what was found (key fingerprints
//! verified, SBOM, vulnerability counts). [`VerifyStats::referrer_lookups`] counts the digests
//! whose artefacts were looked up — only these, never others.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::future::join_all;
use tokio::sync::OnceCell;

use crate::lifecycle::{ImageFacts, VerifyOutcome, VerifyRequest};
use crate::model::Config;
use crate::model::reference::ImageRef;
use crate::registry::manifest::{config_info, index_platforms};
use crate::registry::{Api, Descriptor, Live, Parsed, RegistryError, Repo};
use crate::supply::{TrustedKey, Want};

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot start the verification runtime: {0}")]
    Runtime(String),
}

/// Counters reported after verification.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct VerifyStats {
    pub references: usize,
    pub requests: u64,
    pub retries: u64,
    /// Digests whose attached artefacts (signatures, SBOMs, scan reports) were looked up.
    #[serde(rename = "referrerLookups")]
    pub referrer_lookups: u64,
}

/// How deep verification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    /// Resolve tag → digest, read manifests and config.
    Manifest,
    /// Also HEAD every referenced blob (default).
    #[default]
    Blobs,
    /// Download every blob and check its digest.
    Full,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Manifest => "manifest",
            Level::Blobs => "blobs",
            Level::Full => "full",
        }
    }
}

/// Outcome of one blob check, shared by every image that references the blob.
type BlobCell = OnceCell<Result<(), RegistryError>>;

/// A blob check: repository, digest, declared size, full download or `HEAD`.
type BlobKey = (Repo, String, u64, bool);

/// Verify every distinct reference of `requests`.
pub fn verify_all(
    requests: &[VerifyRequest],
    offline: bool,
    level: Level,
    config: &Config,
    root: &Path,
    progress: &dyn crate::model::progress::Progress,
) -> Result<(BTreeMap<String, VerifyOutcome>, VerifyStats), VerifyError> {
    // The first request of a reference decides its credential (requests are sorted).
    let mut distinct: BTreeMap<&str, &VerifyRequest> = BTreeMap::new();
    // Supply-chain checks per reference: asked for by any request, with every key any
    // request requires.
    let mut supply: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in requests {
        distinct.entry(r.reference.as_str()).or_insert(r);
        if let Some(keys) = &r.supply {
            supply
                .entry(r.reference.as_str())
                .or_default()
                .extend(keys.iter().map(String::as_str));
        }
    }
    let mut loaded: BTreeMap<&str, Result<TrustedKey, String>> = BTreeMap::new();
    for k in supply.values().flatten() {
        loaded.entry(k).or_insert_with(|| {
            crate::supply::keys::load(root, k).map_err(|e| e.message().to_string())
        });
    }
    let known = known_digests(requests);
    let mut out = BTreeMap::new();
    if offline || distinct.is_empty() {
        for r in distinct.keys() {
            out.insert(r.to_string(), VerifyOutcome::Skipped);
        }
        return Ok((
            out,
            VerifyStats {
                references: distinct.len(),
                ..VerifyStats::default()
            },
        ));
    }
    let live = Live::new(config, BTreeMap::new());
    // One view of the registries and one memo per credential name.
    let mut views: BTreeMap<Option<String>, (Live, Memo)> = BTreeMap::new();
    let mut jobs = Vec::new();
    for (reference, req) in &distinct {
        let Some(r) = ImageRef::parse_canonical(reference) else {
            out.insert(
                reference.to_string(),
                VerifyOutcome::Failed(format!("`{reference}` is not a registry reference")),
            );
            continue;
        };
        views.entry(req.credential.clone()).or_insert_with(|| {
            (
                live.with_credential(req.credential.as_deref()),
                Memo::default(),
            )
        });
        let mut known = known.get(reference).cloned().flatten();
        let keys = match supply.get(reference) {
            None => None,
            Some(paths) => {
                known = None;
                let mut ks = Vec::new();
                let mut bad = None;
                for p in paths {
                    match &loaded[p] {
                        Ok(k) => ks.push(k.clone()),
                        Err(e) => bad = bad.or(Some(format!("signature key {p}: {e}"))),
                    }
                }
                if let Some(why) = bad {
                    out.insert(reference.to_string(), VerifyOutcome::Failed(why));
                    continue;
                }
                Some(ks)
            }
        };
        jobs.push((
            reference.to_string(),
            req.credential.clone(),
            r,
            known,
            keys,
        ));
    }
    let lookups = &AtomicU64::new(0);
    let started = std::time::Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| VerifyError::Runtime(e.to_string()))?;
    let views = &views;
    let stats = &live.stats;
    progress.start("verifying", jobs.len() as u64);
    let results = rt.block_on(join_all(jobs.into_iter().map(
        |(reference, credential, r, known, keys)| async move {
            let (view, memo) = &views[&credential];
            let outcome = confirm_or_verify(view, memo, &r, level, known.as_deref()).await;
            let outcome = match (outcome, keys) {
                (VerifyOutcome::Passed(f), Some(keys)) => {
                    lookups.fetch_add(1, Ordering::Relaxed);
                    check_supply(view, &r, f, &keys).await
                }
                (o, _) => o,
            };
            progress.advance(1, stats.retries());
            (reference, outcome)
        },
    )));
    progress.finish();
    for (reference, outcome) in results {
        tracing::debug!(%reference, ?outcome, "verified");
        out.insert(reference, outcome);
    }
    let vs = VerifyStats {
        references: distinct.len(),
        requests: live.stats.requests(),
        retries: live.stats.retries(),
        referrer_lookups: lookups.load(Ordering::Relaxed),
    };
    tracing::info!(
        references = vs.references,
        requests = vs.requests,
        retries = vs.retries,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "verification finished"
    );
    Ok((out, vs))
}

/// Look up and check what is attached to a verified image: every key in `keys` must have
/// signed its digest. Passed facts carry what was found.
pub async fn check_supply<A: Api>(
    api: &A,
    r: &ImageRef,
    mut facts: ImageFacts,
    keys: &[TrustedKey],
) -> VerifyOutcome {
    let repo = Repo::new(&r.registry, &r.repository);
    let want = Want {
        signatures: true,
        sbom: true,
        reports: true,
        all: false,
    };
    let attached = match crate::supply::discover(api, &repo, &facts.digest, want, None).await {
        Ok(a) => a,
        Err(e) => {
            return VerifyOutcome::Failed(format!("looking up signatures and SBOMs: {e}"));
        }
    };
    let ev = crate::supply::inspect(api, &repo, &attached, keys, want).await;
    if let Some(k) = keys.iter().find(|k| !ev.signed_by(&k.path)) {
        return VerifyOutcome::Failed(format!("signature: {}", ev.why_not_signed(&k.path)));
    }
    facts.supply = Some(ev.entry());
    VerifyOutcome::Passed(facts)
}

/// Per reference, the digest every request for it names as known (`None` when one names
/// none or they disagree: then it is verified fully).
fn known_digests(requests: &[VerifyRequest]) -> BTreeMap<&str, Option<String>> {
    let mut known: BTreeMap<&str, Option<String>> = BTreeMap::new();
    for r in requests {
        known
            .entry(r.reference.as_str())
            .and_modify(|k| {
                if *k != r.known_digest {
                    *k = None;
                }
            })
            .or_insert_with(|| r.known_digest.clone());
    }
    known
}

/// Re-resolve a tag whose digest is `known`: one manifest HEAD; the answer is
/// [`VerifyOutcome::Unchanged`] when the registry names `known` (a digest it serves: see
/// `crate::registry::Registry::resolve`). Another digest or no manifest (404) is verified
/// fully at `level` (which also says why it fails). Without `known`, a full verification.
async fn confirm_or_verify<A: Api>(
    api: &A,
    memo: &Memo,
    r: &ImageRef,
    level: Level,
    known: Option<&str>,
) -> VerifyOutcome {
    if let Some(known) = known {
        let repo = Repo::new(&r.registry, &r.repository);
        match api.manifest_digest(&repo, &r.tag).await {
            Ok(Some(d)) if d == known => return VerifyOutcome::Unchanged(d),
            Ok(_) => {}
            Err(e) => return VerifyOutcome::Failed(e.to_string()),
        }
    }
    match verify_with(api, memo, r, level).await {
        Ok(facts) => VerifyOutcome::Passed(facts),
        Err(e) => VerifyOutcome::Failed(e.to_string()),
    }
}

/// Blob checks already made in this run, per credential: images share base layers, and a
/// blob checked once needs no second request. Concurrent checks of the same blob wait for
/// the first.
#[derive(Default)]
pub struct Memo {
    cells: std::sync::Mutex<HashMap<BlobKey, Arc<BlobCell>>>,
}

impl Memo {
    /// Check `blob` once: its size by `HEAD`, or (`full`) its bytes streamed.
    async fn check<A: Api>(
        &self,
        api: &A,
        repo: &Repo,
        blob: &Descriptor,
        full: bool,
    ) -> Result<(), RegistryError> {
        let cell = self
            .cells
            .lock()
            .expect("memo lock")
            .entry((repo.clone(), blob.digest.clone(), blob.size, full))
            .or_default()
            .clone();
        cell.get_or_init(|| async {
            if full {
                return api.check_blob(repo, blob).await;
            }
            match api.blob_size(repo, &blob.digest).await? {
                None => Err(RegistryError::BlobUnknown {
                    digest: blob.digest.clone(),
                }),
                Some(have) if have != 0 && have != blob.size => Err(RegistryError::SizeMismatch {
                    digest: blob.digest.clone(),
                    expected: blob.size,
                    actual: have,
                }),
                Some(_) => Ok(()),
            }
        })
        .await
        .clone()
    }
}

/// Verify one reference at `level`.
pub async fn verify_one<A: Api>(
    api: &A,
    r: &ImageRef,
    level: Level,
) -> Result<ImageFacts, RegistryError> {
    verify_with(api, &Memo::default(), r, level).await
}

async fn verify_with<A: Api>(
    api: &A,
    memo: &Memo,
    r: &ImageRef,
    level: Level,
) -> Result<ImageFacts, RegistryError> {
    let repo = Repo::new(&r.registry, &r.repository);
    let unknown = |reference: &str| RegistryError::ManifestUnknown {
        repository: r.repository.clone(),
        reference: reference.to_string(),
    };
    let top = api
        .manifest(&repo, &r.tag)
        .await?
        .ok_or_else(|| unknown(&r.tag))?;
    // Every image manifest (the reference itself, or the images of its index) with the
    // length of its own bytes when it is a child.
    let mut images: Vec<(Parsed, u64)> = Vec::new();
    let mut platforms = BTreeSet::new();
    match &top.parsed {
        Parsed::Index { children } => {
            platforms.extend(index_platforms(children));
            let wanted = top.parsed.images();
            let fetched = join_all(wanted.iter().map(|c| api.manifest(&repo, &c.digest))).await;
            for (c, res) in wanted.iter().zip(fetched) {
                let child = res?.ok_or_else(|| unknown(&c.digest))?;
                if child.digest != c.digest {
                    return Err(RegistryError::DigestMismatch {
                        what: format!("manifest {}", c.digest),
                        expected: c.digest.clone(),
                        actual: child.digest,
                    });
                }
                if let Parsed::Index { .. } = child.parsed {
                    return Err(RegistryError::InvalidManifest {
                        reference: format!("{}@{}", r.repository, c.digest),
                        message: "nested index is not supported".into(),
                    });
                }
                images.push((child.parsed, child.bytes.len() as u64));
            }
        }
        Parsed::Image { .. } => images.push((top.parsed.clone(), 0)),
    }
    let Some((
        Parsed::Image {
            config: first_cfg, ..
        },
        _,
    )) = images.first()
    else {
        return Err(RegistryError::InvalidManifest {
            reference: r.to_string(),
            message: "index lists no image manifests".into(),
        });
    };
    // The config of the first image gives the labels (and the platform of a single image);
    // reading it whole checks its digest and size.
    let cfg_bytes = api.blob(&repo, first_cfg).await?;
    let info = config_info(&cfg_bytes).map_err(|e| RegistryError::InvalidConfig {
        digest: first_cfg.digest.clone(),
        message: e.to_string(),
    })?;
    if let Parsed::Image { .. } = top.parsed {
        platforms.extend(info.platforms);
    }

    // Size: every manifest, config and layer (foreign ones too); checks: every distinct
    // blob in the registry but the config already read.
    let mut size = top.bytes.len() as u64;
    let mut blobs: BTreeMap<&str, &Descriptor> = BTreeMap::new();
    for (parsed, manifest_len) in &images {
        size += manifest_len;
        if let Parsed::Image { config, layers } = parsed {
            size += config.size + layers.iter().map(|l| l.size).sum::<u64>();
        }
        for b in parsed.blobs() {
            if b.digest != first_cfg.digest {
                blobs.insert(&b.digest, b);
            }
        }
    }
    if level != Level::Manifest {
        let full = level == Level::Full;
        let checks = blobs.values().map(|b| memo.check(api, &repo, b, full));
        first_error(join_all(checks).await)?;
    }
    Ok(ImageFacts {
        digest: top.digest,
        platforms: platforms.into_iter().collect(),
        size: Some(size),
        config_labels: info.labels,
        level: level.as_str().to_string(),
        supply: None,
    })
}

/// The first error in digest order (deterministic reasons).
fn first_error(results: Vec<Result<(), RegistryError>>) -> Result<(), RegistryError> {
    results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::fake::Fake;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn image_ref(repo: &Repo, tag: &str) -> ImageRef {
        ImageRef::new(Some(&repo.host), &repo.repository, tag)
    }

    /// The image's blobs: (config, layer).
    fn blobs(f: &Fake, repo: &Repo, digest: &str) -> (Descriptor, Descriptor) {
        let m = block(f.manifest(repo, digest)).unwrap().unwrap();
        let Parsed::Image { config, layers } = m.parsed else {
            panic!("image expected")
        };
        (config, layers[0].clone())
    }

    #[test]
    fn index_facts_leave_attestations_out() {
        let f = Fake::default();
        let repo = Repo::new("reg.test", "dev/app");
        let (idx, img, att) = f.attested_index(&repo, "1");
        let facts = block(verify_one(&f, &image_ref(&repo, "1"), Level::Blobs)).unwrap();
        assert_eq!(facts.digest, idx);
        assert_eq!(facts.platforms, vec!["linux/amd64"]);
        assert_eq!(
            facts.config_labels,
            [("vendor".to_string(), "acme".to_string())].into()
        );
        // The index and its one image; the attestation is neither read nor counted.
        assert_eq!(f.calls("manifest"), 2);
        let len = |d: &str| f.repos.borrow()[&repo].manifests[d].1.len() as u64;
        let (config, layer) = blobs(&f, &repo, &img);
        assert_eq!(
            facts.size,
            Some(len(&idx) + len(&img) + config.size + layer.size)
        );
        assert_ne!(len(&att), 0);
        // Config read whole once, the layer HEADed.
        assert_eq!((f.calls("blob"), f.calls("blob_size")), (1, 1));
    }

    #[test]
    fn levels_check_what_they_promise() {
        let f = Fake::default();
        let repo = Repo::new("reg.test", "dev/app");
        let d = f.image(&repo, Some("1"), "x", &[], "linux/arm64");
        let (_, layer) = blobs(&f, &repo, &d);
        let r = image_ref(&repo, "1");
        // A corrupted layer of the declared length: only `full` reads it.
        let mut bad = f.repos.borrow()[&repo].blobs[&layer.digest].clone();
        bad[0] ^= 0xff;
        f.corrupt_blob(&repo, &layer.digest, &bad);
        let facts = block(verify_one(&f, &r, Level::Blobs)).unwrap();
        assert_eq!(facts.platforms, vec!["linux/arm64"]);
        let err = block(verify_one(&f, &r, Level::Full)).unwrap_err();
        assert!(
            matches!(&err, RegistryError::DigestMismatch { expected, .. } if *expected == layer.digest),
            "{err}"
        );
        assert_eq!(
            f.calls("check_blob"),
            1,
            "the config was read whole already"
        );
        // A truncated layer: `blobs` sees the size, `full` too.
        f.corrupt_blob(&repo, &layer.digest, &bad[..bad.len() - 1]);
        for level in [Level::Blobs, Level::Full] {
            let err = block(verify_one(&f, &r, level)).unwrap_err();
            assert_eq!(
                err,
                RegistryError::SizeMismatch {
                    digest: layer.digest.clone(),
                    expected: layer.size,
                    actual: layer.size - 1
                }
            );
        }
        // `manifest` reads no layer at all.
        assert!(block(verify_one(&f, &r, Level::Manifest)).is_ok());
        // Missing: a 404 is the reason.
        f.repos
            .borrow_mut()
            .get_mut(&repo)
            .unwrap()
            .blobs
            .remove(&layer.digest);
        assert_eq!(
            block(verify_one(&f, &r, Level::Blobs)).unwrap_err(),
            RegistryError::BlobUnknown {
                digest: layer.digest.clone()
            }
        );
        let missing = block(verify_one(&f, &image_ref(&repo, "2"), Level::Blobs)).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "manifest unknown: 2 not found in dev/app (404)"
        );
    }

    /// A required key: a verifying signature passes and records what is attached; without
    /// it (removed, or by another key) the outcome fails with the reason.
    #[test]
    fn a_required_signature_passes_or_fails_the_check() {
        use crate::supply::testing as t;
        let f = Fake::default();
        let repo = Repo::new("reg.test", "dev/app");
        let d = f.image(&repo, Some("1"), "x", &[], "linux/amd64");
        let (s, other) = (t::signer(1), t::signer(2));
        let sig = t::cosign_sig(&f, &repo, &d, &s);
        t::sarif(&f, &repo, &d, 0, 1);
        let r = image_ref(&repo, "1");
        let facts = block(verify_one(&f, &r, Level::Blobs)).unwrap();
        let VerifyOutcome::Passed(got) = block(check_supply(
            &f,
            &r,
            facts.clone(),
            std::slice::from_ref(&s.key),
        )) else {
            panic!("passed expected")
        };
        let sc = got.supply.unwrap();
        assert_eq!(sc.signature_keys, vec![s.key.fingerprint.clone()]);
        assert!(!sc.sbom);
        assert_eq!(sc.vulnerabilities.unwrap().high, 1);
        let VerifyOutcome::Failed(why) = block(check_supply(
            &f,
            &r,
            facts.clone(),
            std::slice::from_ref(&other.key),
        )) else {
            panic!("failed expected")
        };
        assert!(
            why.starts_with("signature: no valid signature by keys/k2.pub")
                && why.contains("the signature does not verify with keys/k2.pub"),
            "{why}"
        );
        // The signature removed: the same image fails the check.
        let tag = format!("sha256-{}.sig", &d[7..]);
        let mut repos = f.repos.borrow_mut();
        let data = repos.get_mut(&repo).unwrap();
        data.tags.remove(&tag);
        data.manifests.remove(&sig);
        drop(repos);
        let VerifyOutcome::Failed(why) =
            block(check_supply(&f, &r, facts, std::slice::from_ref(&s.key)))
        else {
            panic!("failed expected")
        };
        assert!(
            why.ends_with(&format!("no signature is attached to {d}")),
            "{why}"
        );
    }

    /// Rule: a reference is confirmed by one manifest HEAD only when every request naming it
    /// knows the same digest; requests that disagree, or one that knows none, make it a full
    /// verification (a survivor of the mutation run: `!=` made `==` kept the first digest).
    #[test]
    fn a_known_digest_holds_only_when_every_request_agrees() {
        let req = |reference: &str, known: Option<&str>| VerifyRequest {
            code: "c".into(),
            version: "1.0.0".into(),
            reference: reference.into(),
            credential: None,
            known_digest: known.map(str::to_string),
            supply: None,
        };
        let requests = [
            req("r/a:1", Some("sha256:aa")),
            req("r/a:1", Some("sha256:aa")),
            req("r/b:1", Some("sha256:bb")),
            req("r/b:1", Some("sha256:cc")),
            req("r/c:1", None),
            req("r/c:1", Some("sha256:dd")),
            req("r/d:1", Some("sha256:ee")),
        ];
        assert_eq!(
            known_digests(&requests),
            BTreeMap::from([
                ("r/a:1", Some("sha256:aa".to_string())),
                ("r/b:1", None),
                ("r/c:1", None),
                ("r/d:1", Some("sha256:ee".to_string())),
            ])
        );
    }
}
