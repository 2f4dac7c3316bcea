//! Stage: verify — check that references can really be pulled.
//!
//! Input: the verification requests of a plan, berth.yaml (registry limits, credentials) and
//! the level. Output: one [`VerifyOutcome`] per distinct reference, plus [`VerifyStats`].
//!
//! Per reference: resolve tag → digest (index or manifest), read child manifests of an index
//! and the image config (platforms, labels, size); `blobs` also HEADs every referenced blob;
//! `full` downloads every blob and checks its digest and size. A reference whose requests all
//! name the same recorded digest (a `testing` tag being re-resolved) costs one HEAD of the
//! manifest when the registry's `Docker-Content-Digest` still names it
//! ([`VerifyOutcome::Unchanged`]); otherwise it is verified fully. One reference's failure is its
//! own `Failed(reason)`; all others proceed. Offline, every outcome is `Skipped` and no
//! request is made. Requests run concurrently on a tokio runtime built here (the rest of berth
//! is synchronous), bounded per registry host by [`crate::registry::Limits`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use futures_util::future::join_all;
use tokio::sync::OnceCell;

use crate::lifecycle::{ImageFacts, VerifyOutcome, VerifyRequest};
use crate::model::Config;
use crate::model::reference::ImageRef;
use crate::registry::{Endpoint, Limits, ManifestKind, Registry, RegistryError, Stats};

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

/// A registry client for (host, credential) with its memo, or why none could be made.
type RegistrySlot = Result<(Registry, Arc<Memo>), String>;

/// Outcome of one blob check, shared by every image that references the blob.
type BlobCell = OnceCell<Result<u64, RegistryError>>;

/// Verify every distinct reference of `requests`.
pub fn verify_all(
    requests: &[VerifyRequest],
    offline: bool,
    level: Level,
    config: &Config,
) -> Result<(BTreeMap<String, VerifyOutcome>, VerifyStats), VerifyError> {
    // The first request of a reference decides its credential (requests are sorted).
    let mut distinct: BTreeMap<&str, &VerifyRequest> = BTreeMap::new();
    for r in requests {
        distinct.entry(r.reference.as_str()).or_insert(r);
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
    let stats = Arc::new(Stats::default());
    let mut endpoints: HashMap<String, Arc<Endpoint>> = HashMap::new();
    let mut registries: HashMap<(String, Option<String>), RegistrySlot> = HashMap::new();
    let mut jobs = Vec::new();
    for (reference, req) in &distinct {
        let Some(r) = ImageRef::parse_canonical(reference) else {
            out.insert(
                reference.to_string(),
                VerifyOutcome::Failed(format!("`{reference}` is not a registry reference")),
            );
            continue;
        };
        let key = (r.registry.clone(), req.credential.clone());
        let reg = registries
            .entry(key)
            .or_insert_with(|| {
                let ep = match endpoints.get(&r.registry) {
                    Some(ep) => ep.clone(),
                    None => {
                        let limits =
                            Limits::for_host(config.registries.get(&r.registry).map(|c| &c.value));
                        let ep = Endpoint::new(&r.registry, limits, stats.clone())
                            .map_err(|e| e.to_string())?;
                        endpoints.insert(r.registry.clone(), ep.clone());
                        ep
                    }
                };
                let cred = crate::registry::credentials::resolve(
                    req.credential.as_deref(),
                    config,
                    &r.registry,
                )?;
                Ok((Registry::new(ep, cred), Arc::new(Memo::default())))
            })
            .clone();
        match reg {
            Ok((reg, memo)) => {
                let known = known.get(reference).cloned().flatten();
                jobs.push((reference.to_string(), reg, memo, r, known))
            }
            Err(why) => {
                out.insert(reference.to_string(), VerifyOutcome::Failed(why));
            }
        }
    }
    let started = std::time::Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| VerifyError::Runtime(e.to_string()))?;
    let results = rt.block_on(join_all(jobs.into_iter().map(
        |(reference, reg, memo, r, known)| async move {
            let outcome = confirm_or_verify(&reg, &memo, &r, level, known.as_deref()).await;
            (reference, outcome)
        },
    )));
    for (reference, outcome) in results {
        tracing::debug!(%reference, ?outcome, "verified");
        out.insert(reference, outcome);
    }
    let vs = VerifyStats {
        references: distinct.len(),
        requests: stats.requests(),
        retries: stats.retries(),
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

/// Re-resolve a tag whose digest is `known`: one HEAD of the manifest; the answer is
/// [`VerifyOutcome::Unchanged`] when the registry's `Docker-Content-Digest` names `known`.
/// Another digest, no header, or no manifest (404) is verified fully at `level` (which also
/// says why it fails). Without `known`, a full verification.
async fn confirm_or_verify(
    reg: &Registry,
    memo: &Memo,
    r: &ImageRef,
    level: Level,
    known: Option<&str>,
) -> VerifyOutcome {
    if let Some(known) = known {
        match reg.head_manifest(&r.repository, &r.tag).await {
            Ok(Some(d)) if d == known => return VerifyOutcome::Unchanged(d),
            Ok(_) => {}
            Err(e) => return VerifyOutcome::Failed(e.to_string()),
        }
    }
    match verify_with(reg, memo, r, level).await {
        Ok(facts) => VerifyOutcome::Passed(facts),
        Err(e) => VerifyOutcome::Failed(e.to_string()),
    }
}

/// One image manifest of a reference (the reference itself, or a child of its index).
struct Image {
    manifest: oci_client::manifest::OciImageManifest,
    manifest_len: u64,
}

/// Blob checks already made in this run, per registry and credential: images share base
/// layers, and a blob checked once needs no second request. Concurrent checks of the same
/// blob wait for the first.
#[derive(Default)]
pub struct Memo {
    cells: std::sync::Mutex<HashMap<(String, String, bool), Arc<BlobCell>>>,
}

impl Memo {
    /// HEAD (or, `full`, GET and digest-check) `digest` once; returns its size.
    async fn blob(
        &self,
        reg: &Registry,
        repo: &str,
        digest: &str,
        full: bool,
    ) -> Result<u64, RegistryError> {
        let cell = self
            .cells
            .lock()
            .expect("memo lock")
            .entry((repo.to_string(), digest.to_string(), full))
            .or_default()
            .clone();
        cell.get_or_init(|| async {
            if full {
                reg.get_blob(repo, digest).await.map(|b| b.len() as u64)
            } else {
                reg.head_blob(repo, digest).await
            }
        })
        .await
        .clone()
    }
}

/// Verify one reference at `level`.
pub async fn verify_one(
    reg: &Registry,
    r: &ImageRef,
    level: Level,
) -> Result<ImageFacts, RegistryError> {
    verify_with(reg, &Memo::default(), r, level).await
}

async fn verify_with(
    reg: &Registry,
    memo: &Memo,
    r: &ImageRef,
    level: Level,
) -> Result<ImageFacts, RegistryError> {
    let repo = r.repository.as_str();
    let top = reg.resolve(repo, &r.tag).await?;
    let mut size = top.bytes.len() as u64;
    let mut platforms = BTreeSet::new();
    let mut images = Vec::new();
    match &top.kind {
        ManifestKind::Index(idx) => {
            let children: Vec<_> = idx
                .manifests
                .iter()
                .filter(|m| !is_attestation(m))
                .collect();
            for m in &children {
                if let Some(p) = &m.platform {
                    platforms.insert(platform_string(
                        &p.os.to_string(),
                        &p.architecture.to_string(),
                        p.variant.as_deref(),
                    ));
                }
            }
            let fetched = join_all(children.iter().map(|m| reg.resolve(repo, &m.digest))).await;
            for (m, res) in children.iter().zip(fetched) {
                let child = res?;
                if child.digest != m.digest {
                    return Err(RegistryError::DigestMismatch {
                        what: format!("manifest {}", m.digest),
                        expected: m.digest.clone(),
                        actual: child.digest,
                    });
                }
                match child.kind {
                    ManifestKind::Image(manifest) => images.push(Image {
                        manifest: *manifest,
                        manifest_len: child.bytes.len() as u64,
                    }),
                    ManifestKind::Index(_) => {
                        return Err(RegistryError::InvalidManifest {
                            reference: format!("{repo}@{}", m.digest),
                            message: "nested index is not supported".into(),
                        });
                    }
                }
            }
        }
        ManifestKind::Image(m) => images.push(Image {
            manifest: (**m).clone(),
            manifest_len: 0,
        }),
    }
    if images.is_empty() {
        return Err(RegistryError::InvalidManifest {
            reference: r.to_string(),
            message: "index lists no image manifests".into(),
        });
    }
    // The config of the first image gives the labels (and the platform of a single image).
    let first_cfg = images[0].manifest.config.digest.clone();
    let cfg_bytes = reg.get_blob(repo, &first_cfg).await?;
    let cfg: ConfigJson = serde_json::from_slice(&cfg_bytes).unwrap_or_default();
    if matches!(top.kind, ManifestKind::Image(_))
        && let (Some(os), Some(arch)) = (&cfg.os, &cfg.architecture)
    {
        platforms.insert(platform_string(os, arch, cfg.variant.as_deref()));
    }
    let labels: BTreeMap<String, String> = cfg
        .config
        .and_then(|c| c.labels)
        .unwrap_or_default()
        .into_iter()
        .collect();

    // Every distinct blob with the size its manifest declares.
    let mut blobs: BTreeMap<String, u64> = BTreeMap::new();
    for img in &images {
        size += img.manifest_len;
        for d in std::iter::once(&img.manifest.config).chain(img.manifest.layers.iter()) {
            let s = d.size.max(0) as u64;
            size += s;
            blobs.insert(d.digest.clone(), s);
        }
    }
    match level {
        Level::Manifest => {}
        Level::Blobs => {
            let checks =
                blobs
                    .iter()
                    .filter(|(d, _)| **d != first_cfg)
                    .map(|(d, want)| async move {
                        let have = memo.blob(reg, repo, d, false).await?;
                        if have != 0 && have != *want {
                            return Err(RegistryError::SizeMismatch {
                                digest: d.clone(),
                                expected: *want,
                                actual: have,
                            });
                        }
                        Ok(())
                    });
            first_error(join_all(checks).await)?;
        }
        Level::Full => {
            let checks = blobs.iter().map(|(d, want)| async move {
                let have = memo.blob(reg, repo, d, true).await?;
                if have != *want {
                    return Err(RegistryError::SizeMismatch {
                        digest: d.clone(),
                        expected: *want,
                        actual: have,
                    });
                }
                Ok(())
            });
            first_error(join_all(checks).await)?;
        }
    }
    Ok(ImageFacts {
        digest: top.digest,
        platforms: platforms.into_iter().collect(),
        size: Some(size),
        config_labels: labels,
        level: level.as_str().to_string(),
    })
}

/// The first error in digest order (deterministic reasons).
fn first_error(results: Vec<Result<(), RegistryError>>) -> Result<(), RegistryError> {
    results.into_iter().collect()
}

fn platform_string(os: &str, arch: &str, variant: Option<&str>) -> String {
    match variant {
        Some(v) if !v.is_empty() => format!("{os}/{arch}/{v}"),
        _ => format!("{os}/{arch}"),
    }
}

/// Build attestations (`unknown/unknown`, docker's reference type) are not pullable images.
fn is_attestation(m: &oci_client::manifest::ImageIndexEntry) -> bool {
    let annotated = m
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("vnd.docker.reference.type"));
    let unknown = m
        .platform
        .as_ref()
        .is_some_and(|p| p.os.to_string() == "unknown" && p.architecture.to_string() == "unknown");
    annotated || unknown
}

/// The parts of an image config berth reads; lenient so odd configs still verify.
#[derive(Debug, Default, serde::Deserialize)]
struct ConfigJson {
    os: Option<String>,
    architecture: Option<String>,
    variant: Option<String>,
    config: Option<ConfigInner>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct ConfigInner {
    #[serde(rename = "Labels")]
    labels: Option<BTreeMap<String, String>>,
}
