//! Copying what is attached to a promoted image: signatures, SBOMs, scan reports.
//!
//! Input: a [`Session`], the source repository and image digest, the target repository.
//! Output: every artefact found at the source (`crate::supply::discover`: referrers API,
//! referrers tag schema, cosign tags) present at the target, and the list of what was
//! copied, for the promotion record.
//!
//! Rules: artefacts are copied by digest, blobs mounted within a registry (the engine's copy),
//! so their digests — and the signatures over the image digest — stay valid at the target. An
//! OCI 1.1 referrer is pushed by digest; when the target registry has no referrers API it is
//! also listed in the target's tag-schema index `sha256-<hex>`: the source's index bytes when
//! the target has none, else the target's index with the missing entries appended (entries
//! already there are kept: other signers' signatures are never dropped). A cosign tag
//! (`sha256-<hex>.sig`, `.att`, `.sbom`) is copied to the same tag, as `cosign copy` does.
//! Idempotent: an artefact the target already has is not pushed again (one HEAD), and an
//! index that already lists everything is not rewritten.

use std::collections::BTreeSet;
use std::rc::Rc;

use crate::model::PromotedArtefact;
use crate::promote::engine::{PromoteError, Session};
use crate::registry::manifest::OCI_INDEX;
use crate::registry::{Api, Repo};
use crate::supply::discover::tag_schema_tag;
use crate::supply::{Artefact, Attached, Via, Want};

impl<R: Api> Session<'_, R> {
    /// Copy everything attached to `digest` in `from` to `to` (see the module doc).
    pub async fn copy_artefacts(
        &self,
        from: &Repo,
        digest: &str,
        to: &Repo,
    ) -> Result<Vec<PromotedArtefact>, PromoteError> {
        self.stats.borrow_mut().referrer_lookups += 1;
        let attached = crate::supply::discover(self.reg, from, digest, Want::ALL, None).await?;
        let mut out = Vec::new();
        let mut referrers = Vec::new();
        for a in &attached.artefacts {
            let d = a.manifest.digest.clone();
            // Read once: the copy below takes it from the session's cache.
            self.manifests
                .borrow_mut()
                .entry(d.clone())
                .or_insert_with(|| Rc::new(a.manifest.clone()));
            let tag = match &a.via {
                Via::CosignTag(t) => Some(t.clone()),
                _ => None,
            };
            let reference = tag.clone().unwrap_or_else(|| d.clone());
            if self.reg.manifest_digest(to, &reference).await?.as_deref() == Some(d.as_str()) {
                self.stats.borrow_mut().artefacts_present += 1;
            } else {
                self.copy_manifest(from, &d, to, &reference).await?;
                self.stats.borrow_mut().artefacts_copied += 1;
            }
            if tag.is_none() {
                referrers.push(a);
            }
            out.push(PromotedArtefact {
                digest: d,
                kind: a.kind.word().to_string(),
                tag,
            });
        }
        if !referrers.is_empty() {
            self.list_in_tag_schema(to, &attached, &referrers).await?;
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Make the target's tag-schema index list `referrers`, unless the target registry
    /// indexes referrers itself (it has the API).
    async fn list_in_tag_schema(
        &self,
        to: &Repo,
        attached: &Attached,
        referrers: &[&Artefact],
    ) -> Result<(), PromoteError> {
        if self
            .reg
            .referrers(to, &attached.subject, None)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let Some(tag) = tag_schema_tag(&attached.subject) else {
            return Ok(());
        };
        // The entries as the source lists them (cosign's, with their own artifactType), or
        // made from each referrer's manifest.
        let source_entries: Vec<serde_json::Value> = attached
            .tag_index
            .as_ref()
            .and_then(|m| serde_json::from_slice::<serde_json::Value>(&m.bytes).ok())
            .and_then(|v| v.get("manifests").and_then(|m| m.as_array()).cloned())
            .unwrap_or_default();
        let entry = |a: &Artefact| -> serde_json::Value {
            let d = &a.manifest.digest;
            if let Some(e) = source_entries
                .iter()
                .find(|e| e["digest"].as_str() == Some(d.as_str()))
            {
                return e.clone();
            }
            let mut e = serde_json::json!({
                "mediaType": a.manifest.media_type,
                "digest": d,
                "size": a.manifest.bytes.len(),
            });
            let at = a
                .info
                .artifact_type
                .clone()
                .or_else(|| a.info.config.as_ref().map(|c| c.media_type.clone()));
            if let Some(at) = at {
                e["artifactType"] = at.into();
            }
            if !a.info.annotations.is_empty() {
                e["annotations"] = serde_json::json!(a.info.annotations);
            }
            e
        };
        let body =
            match self.reg.manifest(to, &tag).await? {
                None => match &attached.tag_index {
                    // The source's own index, byte for byte, when it lists exactly these.
                    Some(idx)
                        if source_entries.len() == referrers.len()
                            && referrers.iter().all(|a| {
                                source_entries.iter().any(|e| {
                                    e["digest"].as_str() == Some(a.manifest.digest.as_str())
                                })
                            }) =>
                    {
                        idx.bytes.to_vec()
                    }
                    _ => serde_json::to_vec(&serde_json::json!({
                        "schemaVersion": 2,
                        "mediaType": OCI_INDEX,
                        "manifests": referrers.iter().map(|a| entry(a)).collect::<Vec<_>>(),
                    }))
                    .expect("index serializes"),
                },
                Some(existing) => {
                    let mut v: serde_json::Value = serde_json::from_slice(&existing.bytes)
                        .map_err(|e| PromoteError::Manifest {
                            reference: format!("{to}:{tag}"),
                            message: format!("the referrers index is not JSON: {e}"),
                        })?;
                    let have: BTreeSet<String> = v["manifests"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|e| e["digest"].as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    let missing: Vec<serde_json::Value> = referrers
                        .iter()
                        .filter(|a| !have.contains(&a.manifest.digest))
                        .map(|a| entry(a))
                        .collect();
                    if missing.is_empty() {
                        return Ok(());
                    }
                    if !v["manifests"].is_array() {
                        v["manifests"] = serde_json::json!([]);
                    }
                    v["manifests"]
                        .as_array_mut()
                        .expect("an array")
                        .extend(missing);
                    serde_json::to_vec(&v).expect("index serializes")
                }
            };
        self.reg.put_manifest(to, &tag, OCI_INDEX, &body).await?;
        self.stats.borrow_mut().manifests_pushed += 1;
        Ok(())
    }
}
