//! Stage: index — read and write `index.json`, the state of record.
//!
//! Input/Output: [`Index`]. Invariants: output is canonical (object keys sorted at every
//! level, two-space pretty JSON, trailing newline), so the same state always yields the same
//! bytes; writes are atomic (temp file in the same directory, fsync, rename) and skipped when
//! the bytes are unchanged, so a no-op run leaves the file (and its mtime) untouched.
//! Reading validates the content ([`check`]): a parsed index with a problem is an error
//! naming the JSON pointer of each offending value, never a silently accepted state.

pub mod check;

pub mod source;

pub mod write;

use std::path::Path;

use serde_json::{Map, Value};

use crate::model::{INDEX_SCHEMA_VERSION, Index};

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: index is not valid: {message}")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path}: index schema version {found} is newer than this berth understands ({supported})"
    )]
    TooNew {
        path: String,
        found: u32,
        supported: u32,
    },
    #[error("{}", invalid_text(path, problems))]
    Invalid {
        path: String,
        problems: Vec<check::Problem>,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// An empty index of the current schema version.
pub fn empty() -> Index {
    Index {
        schema_version: INDEX_SCHEMA_VERSION,
        ..Index::default()
    }
}

fn invalid_text(path: &str, problems: &[check::Problem]) -> String {
    problems
        .iter()
        .map(|p| {
            format!(
                "{path}:{}:{}: index is not valid: {}: {}",
                p.line, p.column, p.pointer, p.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `a == b`, where image entries shared by both (`Arc`) are equal without comparing them
/// field by field: a plan's next index shares the entries of the images it did not change.
pub fn same(a: &Index, b: &Index) -> bool {
    a.schema_version == b.schema_version
        && a.source_commit == b.source_commit
        && a.promotions == b.promotions
        && a.images.len() == b.images.len()
        && a.images
            .iter()
            .zip(&b.images)
            .all(|((ka, ea), (kb, eb))| ka == kb && (std::sync::Arc::ptr_eq(ea, eb) || ea == eb))
}

/// Hex sha256 of the index bytes: what berth's commit trailer records.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parse index text and validate its content ([`check::check`]).
pub fn parse(text: &str, path: &str) -> Result<Index, IndexError> {
    let idx: Index = serde_json::from_str(text).map_err(|e| IndexError::Parse {
        path: path.to_string(),
        line: e.line(),
        column: e.column(),
        message: json_error_text(&e),
    })?;
    if idx.schema_version > INDEX_SCHEMA_VERSION {
        return Err(IndexError::TooNew {
            path: path.to_string(),
            found: idx.schema_version,
            supported: INDEX_SCHEMA_VERSION,
        });
    }
    let problems = check::check(&idx, text);
    if !problems.is_empty() {
        return Err(IndexError::Invalid {
            path: path.to_string(),
            problems,
        });
    }
    Ok(idx)
}

/// serde_json's message without its " at line L column C" suffix (the position is shown anyway).
fn json_error_text(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    s.strip_suffix(&suffix).unwrap_or(&s).to_string()
}

/// Read the index at `path`; `Ok(None)` when it does not exist yet.
pub fn read(path: &Path) -> Result<Option<(Index, String)>, IndexError> {
    let shown = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some((parse(&text, &shown)?, text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(IndexError::Read {
            path: shown,
            source,
        }),
    }
}

/// Canonical JSON text of an index.
///
/// Serialized directly (no intermediate `Value`): the model declares fields in sorted order
/// and maps are `BTreeMap`s, so keys come out sorted at every level. That is several times
/// faster on a large catalogue than sorting a `Value` tree.
pub fn to_canonical_json(index: &Index) -> String {
    let mut bytes = Vec::new();
    write::write_canonical(index, &mut bytes).expect("index serializes");
    let s = String::from_utf8(bytes).expect("JSON is UTF-8");
    debug_assert_eq!(
        s,
        canonical_string(&serde_json::to_value(index).expect("index serializes")),
        "index model fields must be declared in sorted order"
    );
    s
}

/// Canonical pretty JSON (sorted keys, trailing newline) of any value.
pub fn canonical_string(value: &Value) -> String {
    let mut s = serde_json::to_string_pretty(&sorted(value)).expect("json serializes");
    s.push('\n');
    s
}

// Sort keys explicitly: serde_json's map order depends on crate features (preserve_order),
// which another dependency may switch on; canonical output must not.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k.clone(), sorted(v));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Write `text` to `path` atomically ([`crate::model::fsutil::write_atomic`]). Returns
/// `false` when the file already had these bytes.
pub fn write_atomic(path: &Path, text: &str) -> Result<bool, IndexError> {
    crate::model::fsutil::write_atomic(path, text.as_bytes()).map_err(|source| IndexError::Write {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_sorts_and_ends_with_newline() {
        let v: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[{"z":1,"y":2}],"c":null}}"#).unwrap();
        let s = canonical_string(&v);
        assert_eq!(
            s,
            "{\n  \"a\": {\n    \"c\": null,\n    \"d\": [\n      {\n        \"y\": 2,\n        \"z\": 1\n      }\n    ]\n  },\n  \"b\": 1\n}\n"
        );
    }

    #[test]
    fn direct_serialization_is_canonical() {
        use crate::model::*;
        // Every optional field set, so that each one is checked for its place.
        let v = VersionEntry {
            attempts: vec![AttemptEntry {
                catalogue_commit: Some("c0".into()),
                digest: Some("sha256:a".into()),
                recorded_at: "t0".into(),
                reference: "r0".into(),
                release_type: ReleaseType::Feature,
                updated_at: "t1".into(),
            }],
            catalogue_commit: Some("c".into()),
            config_labels: [
                ("b".to_string(), "2".to_string()),
                ("a".to_string(), "1".to_string()),
            ]
            .into(),
            digest: Some("sha256:x".into()),
            drift: Some(DriftEntry {
                digest: "sha256:y".into(),
            }),
            notes: Some("n".into()),
            platforms: vec!["linux/amd64".into()],
            pull: Some("p".into()),
            qa: Some(QaEntry {
                reason: Some("r".into()),
                status: QaStatus::Failed,
            }),
            recorded_at: "t".into(),
            reference: "r".into(),
            release_refused: Some(RefusedReleaseEntry {
                tag_digest: "sha256:b".into(),
                tested_digest: "sha256:a".into(),
            }),
            release_type: ReleaseType::Fix,
            size: Some(1),
            status: Status::Released,
            supply_chain: Some(SupplyChainEntry {
                keyless_signatures: 1,
                sbom: true,
                signature_keys: vec!["sha256:k".into()],
                vulnerabilities: Some(VulnerabilityCounts {
                    critical: 1,
                    high: 2,
                    low: 3,
                    medium: 4,
                }),
            }),
            updated_at: "t".into(),
            verification: VerificationEntry {
                level: Some("blobs".into()),
                reason: Some("x".into()),
                state: VerifyState::Failed,
            },
            version: "1.0.0".into(),
        };
        let ch = ChannelEntry {
            deprecated: true,
            pull: "p".into(),
            version: "1.0.0".into(),
        };
        let img = ImageEntry {
            agent_scope: vec!["a".into()],
            category: Some("c".into()),
            channels: [("latest".to_string(), ch.clone())].into(),
            code: "x".into(),
            debug_project: Some("d".into()),
            description: Some("d".into()),
            dockerfile: Some(DockerfileEntry {
                path: "p".into(),
                sha256: Some("s".into()),
            }),
            labels: vec!["l".into()],
            name: "n".into(),
            publisher: "p".into(),
            summary: "s".into(),
            testing_channels: [("1.latest".to_string(), ch)].into(),
            versions: vec![v],
        };
        let idx = Index {
            images: [("x".to_string(), std::sync::Arc::new(img))].into(),
            promotions: vec![PromotionRecord {
                artefacts: vec![PromotedArtefact {
                    digest: "sha256:s".into(),
                    kind: "signature".into(),
                    tag: Some("sha256-x.sig".into()),
                }],
                initiated_by: InitiatedBy::Policy,
                policy: Some("p".into()),
                promoted_at: "t".into(),
                source: "s".into(),
                source_digest: "d".into(),
                target: "t".into(),
            }],
            schema_version: 1,
            source_commit: Some("c".into()),
        };
        let direct = serde_json::to_string_pretty(&idx).unwrap() + "\n";
        assert_eq!(
            direct,
            canonical_string(&serde_json::to_value(&idx).unwrap())
        );
        let demo = parse(include_str!("../../fixtures/demo/index.json"), "demo").unwrap();
        assert_eq!(
            to_canonical_json(&demo),
            include_str!("../../fixtures/demo/index.json")
        );
    }

    #[test]
    fn atomic_write_skips_identical_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/index.json");
        assert!(write_atomic(&p, "x\n").unwrap());
        assert!(!write_atomic(&p, "x\n").unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&p), 0o644, "a new index is readable by pipelines");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o664)).unwrap();
            assert!(write_atomic(&p, "y\n").unwrap());
            assert_eq!(mode(&p), 0o664, "a rewrite keeps the mode");
        }
        assert!(write_atomic(&p, "z\n").unwrap());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "z\n");
        // No temp files left behind.
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn parse_reports_position_and_rejects_newer_schema() {
        let err = parse("{\n  \"schemaVersion\": 1,\n  oops\n}", "index.json").unwrap_err();
        assert!(matches!(err, IndexError::Parse { line: 3, .. }), "{err}");
        let err = parse(
            r#"{"schemaVersion": 99, "sourceCommit": null, "images": {}}"#,
            "i",
        )
        .unwrap_err();
        assert!(matches!(err, IndexError::TooNew { found: 99, .. }), "{err}");
    }
}
