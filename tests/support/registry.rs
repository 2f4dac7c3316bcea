//! The real CNCF distribution registry (`docker-registry serve`) on 127.0.0.1, anonymous, with
//! htpasswd or with token auth, and seeding it through the OCI distribution API: images,
//! multi-arch indexes, blobs and manifests.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::http::http;
use super::token::TokenIssuer;
use super::tools::{free_port, need, sha256};

pub enum Auth {
    None,
    Htpasswd { user: String, password: String },
    Token(Arc<TokenIssuer>),
}

pub struct RegistryProc {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

impl RegistryProc {
    pub fn start(auth: Auth) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, auth)
    }

    /// Start on an existing storage directory (e.g. seeded anonymously, then restarted with
    /// authentication).
    pub fn start_in(dir: tempfile::TempDir, auth: Auth) -> Self {
        Self::start_configured(dir, auth, "")
    }

    /// Start with `extra` appended to the registry's `config.yml` (top-level sections, e.g.
    /// `catalog:\n  maxentries: 50\n`).
    pub fn start_with(auth: Auth, extra: &str) -> Self {
        Self::start_configured(tempfile::tempdir().unwrap(), auth, extra)
    }

    fn start_configured(mut dir: tempfile::TempDir, auth: Auth, extra: &str) -> Self {
        need("docker-registry", "docker-registry");
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).unwrap();
        let auth_yaml = match &auth {
            Auth::None => String::new(),
            Auth::Htpasswd { user, password } => {
                need("htpasswd", "apache2-utils");
                let out = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .unwrap();
                assert!(out.status.success());
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, &out.stdout).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                    file.display()
                )
            }
            Auth::Token(t) => format!(
                "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                t.port,
                TokenIssuer::SERVICE,
                TokenIssuer::ISSUER,
                t.cert_pem.display()
            ),
        };
        let mut last_err = String::new();
        for _ in 0..5 {
            let port = free_port();
            let config = format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: berth-test-secret\n{auth_yaml}{extra}",
                storage.display()
            );
            let cfg = dir.path().join("config.yml");
            std::fs::write(&cfg, config).unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let child = Command::new("docker-registry")
                .arg("serve")
                .arg(&cfg)
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            let mut me = RegistryProc { dir, port, child };
            if me.wait_ready() {
                return me;
            }
            last_err =
                std::fs::read_to_string(me.dir.path().join("registry.log")).unwrap_or_default();
            // Take the dir back out for the next try.
            dir = me.stop();
        }
        panic!("docker-registry did not start: {last_err}");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if http("GET", &self.addr(), "/v2/", &[], b"").is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stop and hand back the storage dir (to restart with other auth).
    pub fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Path of a blob's data file in the registry storage.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for RegistryProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Seeding through the OCI distribution API (anonymous registry).

pub struct Img {
    pub os: &'static str,
    pub arch: &'static str,
    pub variant: Option<&'static str>,
    pub labels: BTreeMap<String, String>,
    pub layers: Vec<Vec<u8>>,
}

impl Img {
    pub fn new(seed: &str) -> Self {
        Img {
            os: "linux",
            arch: "amd64",
            variant: None,
            labels: BTreeMap::new(),
            layers: vec![
                format!("layer-a-{seed}").into_bytes(),
                format!("layer-b-{seed}").repeat(50).into_bytes(),
            ],
        }
    }
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.labels.insert(k.into(), v.into());
        self
    }
    pub fn platform(
        mut self,
        os: &'static str,
        arch: &'static str,
        variant: Option<&'static str>,
    ) -> Self {
        self.os = os;
        self.arch = arch;
        self.variant = variant;
        self
    }
}

/// What was pushed for one image manifest.
#[derive(Clone, Debug)]
pub struct Pushed {
    pub digest: String,
    pub config: String,
    pub layers: Vec<String>,
    /// manifest + config + layers.
    pub size: u64,
}

pub fn push_blob(addr: &str, repo: &str, data: &[u8]) -> String {
    let digest = sha256(data);
    let r = http(
        "POST",
        addr,
        &format!("/v2/{repo}/blobs/uploads/"),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(
        r.status,
        202,
        "start upload: {}",
        String::from_utf8_lossy(&r.body)
    );
    let loc = r.header("location").unwrap().to_string();
    let path = loc
        .split_once("://")
        .map(|(_, rest)| &rest[rest.find('/').unwrap()..])
        .unwrap_or(&loc)
        .to_string();
    let sep = if path.contains('?') { '&' } else { '?' };
    let r = http(
        "PUT",
        addr,
        &format!("{path}{sep}digest={digest}"),
        &[("Content-Type", "application/octet-stream")],
        data,
    )
    .unwrap();
    assert_eq!(
        r.status,
        201,
        "put blob: {}",
        String::from_utf8_lossy(&r.body)
    );
    digest
}

pub fn put_manifest(
    addr: &str,
    repo: &str,
    reference: &str,
    media_type: &str,
    body: &[u8],
) -> String {
    let r = http(
        "PUT",
        addr,
        &format!("/v2/{repo}/manifests/{reference}"),
        &[("Content-Type", media_type)],
        body,
    )
    .unwrap();
    assert_eq!(
        r.status,
        201,
        "put manifest: {}",
        String::from_utf8_lossy(&r.body)
    );
    sha256(body)
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Push the blobs and manifest of `img`; tag it when `tag` is given.
pub fn push_image(addr: &str, repo: &str, tag: Option<&str>, img: &Img) -> Pushed {
    let layers: Vec<(String, usize)> = img
        .layers
        .iter()
        .map(|l| (push_blob(addr, repo, l), l.len()))
        .collect();
    let mut cfg = serde_json::json!({
        "architecture": img.arch,
        "os": img.os,
        "config": { "Labels": img.labels },
        "rootfs": { "type": "layers", "diff_ids": layers.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>() },
    });
    if let Some(v) = img.variant {
        cfg["variant"] = v.into();
    }
    let cfg = serde_json::to_vec(&cfg).unwrap();
    let cfg_digest = push_blob(addr, repo, &cfg);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_digest, "size": cfg.len() },
        "layers": layers.iter().map(|(d, n)| serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": n,
        })).collect::<Vec<_>>(),
    });
    let body = serde_json::to_vec(&manifest).unwrap();
    let digest = sha256(&body);
    put_manifest(addr, repo, tag.unwrap_or(&digest), OCI_MANIFEST, &body);
    Pushed {
        size: body.len() as u64
            + cfg.len() as u64
            + layers.iter().map(|(_, n)| *n as u64).sum::<u64>(),
        digest,
        config: cfg_digest,
        layers: layers.into_iter().map(|(d, _)| d).collect(),
    }
}

/// Push a multi-arch OCI index of `imgs` under `tag`. Returns (index digest, index size
/// including children, children).
pub fn push_index(addr: &str, repo: &str, tag: &str, imgs: &[Img]) -> (String, u64, Vec<Pushed>) {
    let children: Vec<Pushed> = imgs
        .iter()
        .map(|i| push_image(addr, repo, None, i))
        .collect();
    let entries: Vec<serde_json::Value> = imgs
        .iter()
        .zip(&children)
        .map(|(i, p)| {
            let mut platform = serde_json::json!({ "os": i.os, "architecture": i.arch });
            if let Some(v) = i.variant {
                platform["variant"] = v.into();
            }
            serde_json::json!({
                "mediaType": OCI_MANIFEST,
                "digest": p.digest,
                "size": manifest_len(addr, repo, &p.digest),
                "platform": platform,
            })
        })
        .collect();
    let index =
        serde_json::json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries });
    let body = serde_json::to_vec(&index).unwrap();
    let digest = put_manifest(addr, repo, tag, OCI_INDEX, &body);
    let size = body.len() as u64 + children.iter().map(|c| c.size).sum::<u64>();
    (digest, size, children)
}

fn manifest_len(addr: &str, repo: &str, digest: &str) -> usize {
    let r = http(
        "GET",
        addr,
        &format!("/v2/{repo}/manifests/{digest}"),
        &[("Accept", OCI_MANIFEST)],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200);
    r.body.len()
}
