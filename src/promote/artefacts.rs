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

    /// The referrers API path: referrers pushed by digest (the target indexes them by
    /// subject), the cosign tag copied to the same tag; a second copy pushes nothing.
    #[test]
    fn referrers_and_cosign_tags_go_with_the_image_idempotently() {
        let f = Fake::default();
        let dev = Repo::new("reg.test", "dev/app");
        let qa = Repo::new("reg.test", "qa/app");
        let img = f.image(&dev, Some("1"), "a", &[], "linux/amd64");
        let s = t::signer(1);
        let sig = t::cosign_sig(&f, &dev, &img, &s);
        let b = t::bundle(&f, &dev, &img, &s);
        let sb = t::sbom(&f, &dev, &img);
        let sess = Session::new(&f);
        block(sess.copy(&dev, &img, &qa, "1")).unwrap();
        let got = block(sess.copy_artefacts(&dev, &img, &qa)).unwrap();
        let sig_tag = format!("sha256-{}.sig", &img[7..]);
        let mut want = vec![
            PromotedArtefact {
                digest: sig.clone(),
                kind: "signature".into(),
                tag: Some(sig_tag.clone()),
            },
            PromotedArtefact {
                digest: b.clone(),
                kind: "signature".into(),
                tag: None,
            },
            PromotedArtefact {
                digest: sb.clone(),
                kind: "sbom".into(),
                tag: None,
            },
        ];
        want.sort();
        assert_eq!(got, want);
        assert_eq!(f.tag_digest(&qa, &sig_tag), Some(sig));
        // The target finds them by subject, and they still verify there.
        let found = block(crate::supply::discover(&f, &qa, &img, Want::ALL, None)).unwrap();
        assert_eq!(found.artefacts.len(), 3);
        let ev = block(crate::supply::inspect(
            &f,
            &qa,
            &found,
            std::slice::from_ref(&s.key),
            Want::ALL,
        ));
        assert_eq!(ev.signatures.len(), 2);
        assert!(
            ev.signatures
                .iter()
                .all(|c| matches!(c.outcome, crate::supply::Outcome::Verified { .. }))
        );
        // Same registry: every blob mounted, each once: the image's config and layer, the
        // signature's payload and config, the bundle and the SBOM, and the empty config the
        // two referrers share (looked at once per session, not once per referrer).
        assert_eq!(f.calls("copy_blob"), 0);
        assert_eq!((f.calls("blob_size"), f.calls("mount_blob")), (7, 7));
        assert_eq!(sess.stats.borrow().blobs_present, 1);
        assert_eq!(sess.stats.borrow().artefacts_copied, 3);
        let puts = f.calls("put_manifest");
        let again = block(Session::new(&f).copy_artefacts(&dev, &img, &qa)).unwrap();
        assert_eq!(again, got);
        assert_eq!(f.calls("put_manifest"), puts);
    }

    /// Without the API at the target: its tag-schema index gets the source's bytes when it
    /// has none, and only the missing entries when it has one (others' entries kept).
    #[test]
    fn tag_schema_index_is_copied_or_merged() {
        let f = Fake::default();
        f.no_referrers_api.set(true);
        let dev = Repo::new("reg.test", "dev/app");
        let qa = Repo::new("reg.test", "qa/app");
        let img = f.image(&dev, Some("1"), "a", &[], "linux/amd64");
        let s = t::signer(2);
        let entries = vec![t::bundle(&f, &dev, &img, &s)];
        let src_idx = t::tag_schema(&f, &dev, &img, &entries);
        let sess = Session::new(&f);
        block(sess.copy(&dev, &img, &qa, "1")).unwrap();
        block(sess.copy_artefacts(&dev, &img, &qa)).unwrap();
        let tag = format!("sha256-{}", &img[7..]);
        assert_eq!(f.tag_digest(&qa, &tag), Some(src_idx.clone()));

        // The target gained another signer's bundle meanwhile; the source a report.
        let other = t::signer(3);
        block(sess.copy(&dev, &img, &qa, "1")).unwrap();
        let theirs = t::bundle(&f, &qa, &img, &other);
        let mut qa_entries = entries.clone();
        qa_entries.push(theirs.clone());
        t::tag_schema(&f, &qa, &img, &qa_entries);
        let report = t::sarif(&f, &dev, &img, 0, 0);
        t::tag_schema(&f, &dev, &img, &[entries[0].clone(), report.clone()]);
        block(Session::new(&f).copy_artefacts(&dev, &img, &qa)).unwrap();
        let idx = block(f.manifest(&qa, &tag)).unwrap().unwrap();
        let listed: Vec<String> = match idx.parsed {
            crate::registry::Parsed::Index { children } => {
                children.into_iter().map(|c| c.digest).collect()
            }
            _ => panic!("index expected"),
        };
        assert_eq!(listed, vec![entries[0].clone(), theirs, report]);
    }
}
