//! Test harness for registry verification: the real CNCF distribution registry
//! (`docker-registry serve`) on 127.0.0.1, seeding through the OCI distribution API, a token
//! issuer, a fault-injecting proxy, and a catalogue + `berth` runner.
//!
//! Every process and thread is owned by a guard and stopped on drop; every test gets its own
//! registry and temp dir, so tests run in parallel. A missing tool fails the test with the
//! apt-get line that installs it (tests never skip).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::{Digest, Sha256};

/// Fail (never skip) when `tool` is missing.
pub fn need(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is not installed; install it with: apt-get install -y {package}"
    );
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn sha256(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    format!(
        "sha256:{}",
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client (Connection: close), so seeding does not depend on the code under
// test.

pub struct HttpResp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn http(
    method: &str,
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResp> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw, method == "HEAD")
}

fn parse_response(raw: &[u8], head: bool) -> std::io::Result<HttpResp> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head_text = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head_text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked && !head {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let n = usize::from_str_radix(
                String::from_utf8_lossy(&rest[..eol])
                    .split(';')
                    .next()
                    .unwrap()
                    .trim(),
                16,
            )
            .unwrap_or(0);
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
            rest = &rest[eol + 2 + n + 2..];
        }
        body = out;
    }
    Ok(HttpResp {
        status,
        headers,
        body,
    })
}

// ---------------------------------------------------------------------------------------------
// The registry process.

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
    pub fn start_in(mut dir: tempfile::TempDir, auth: Auth) -> Self {
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
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: berth-test-secret\n{auth_yaml}",
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

// ---------------------------------------------------------------------------------------------
// Token issuer for `auth.token` (RS256 JWTs signed with openssl, cert in `x5c`).

pub struct TokenIssuer {
    pub port: u16,
    pub cert_pem: PathBuf,
    pub requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

impl TokenIssuer {
    pub const SERVICE: &'static str = "berth-test-registry";
    pub const ISSUER: &'static str = "berth-test-issuer";

    pub fn start(user: &str, password: &str) -> Arc<Self> {
        need("openssl", "openssl");
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let cert = dir.path().join("cert.pem");
        let ok = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=berth-test-token",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "openssl req failed");
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .unwrap();
        assert!(der.status.success());
        let x5c = base64::engine::general_purpose::STANDARD.encode(&der.stdout);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        {
            let stop = stop.clone();
            let requests = requests.clone();
            let key = key.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((s, _)) => {
                            s.set_nonblocking(false).unwrap();
                            requests.fetch_add(1, Ordering::Relaxed);
                            let _ = serve_token(s, &expected, &key, &x5c);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            });
        }
        Arc::new(TokenIssuer {
            port,
            cert_pem: cert,
            requests,
            stop,
            _dir: dir,
        })
    }
}

impl Drop for TokenIssuer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?'));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve_token(mut s: TcpStream, expected: &str, key: &Path, x5c: &str) -> std::io::Result<()> {
    let (request_line, headers, _) = read_request(&mut s)?;
    let authorized = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("authorization") && v == expected);
    if !authorized {
        s.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(());
    }
    let target = request_line.split(' ').nth(1).unwrap_or("/");
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut access = Vec::new();
    for pair in query.split('&') {
        if let Some(("scope", v)) = pair.split_once('=') {
            for scope in url_decode(v).split(' ') {
                let parts: Vec<&str> = scope.splitn(3, ':').collect();
                if parts.len() == 3 {
                    access.push(serde_json::json!({
                        "type": parts[0], "name": parts[1],
                        "actions": parts[2].split(',').collect::<Vec<_>>(),
                    }));
                }
            }
        }
    }
    let now = chrono_now();
    let header = serde_json::json!({ "typ": "JWT", "alg": "RS256", "x5c": [x5c] });
    let claims = serde_json::json!({
        "iss": TokenIssuer::ISSUER, "sub": "berth", "aud": TokenIssuer::SERVICE,
        "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", rand_id()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        b64url(&serde_json::to_vec(&header).unwrap()),
        b64url(&serde_json::to_vec(&claims).unwrap())
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(signing_input.as_bytes())?;
    let sig = child.wait_with_output()?;
    let jwt = format!("{signing_input}.{}", b64url(&sig.stdout));
    let body = serde_json::to_vec(&serde_json::json!({ "token": jwt, "expires_in": 300 })).unwrap();
    s.write_all(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )?;
    s.write_all(&body)?;
    Ok(())
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn rand_id() -> u64 {
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed) as u64
}

/// Read an HTTP request: (request line, headers, body).
type Request = (String, Vec<(String, String)>, Vec<u8>);

fn read_request(s: &mut TcpStream) -> std::io::Result<Request> {
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut r = BufReader::new(s.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let request_line = line.trim_end().to_string();
    if request_line.is_empty() {
        return Err(std::io::Error::other("empty request"));
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok((request_line, headers, body))
}

// ---------------------------------------------------------------------------------------------
// Fault-injecting proxy.

#[derive(Clone, Debug)]
pub enum Fault {
    Pass,
    /// Answer with this status (and `Retry-After` seconds) without forwarding.
    Status(u16, Option<u64>),
    /// Close the connection without answering.
    Drop,
    /// Forward, but send only the headers and part of the body, then close.
    Truncate,
    /// Wait, then forward.
    Delay(Duration),
    /// Forward, but flip bits in the middle of a successful answer's body (same length).
    Corrupt,
}

pub type FaultFn = dyn Fn(usize, &str) -> Fault + Send + Sync;

pub struct FaultProxy {
    pub port: u16,
    /// Requests seen (1-based numbering is passed to the fault function).
    pub requests: Arc<AtomicUsize>,
    /// Request lines seen, in order.
    pub log: Arc<Mutex<Vec<String>>>,
    /// Highest number of requests in flight at once.
    pub max_inflight: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Proxy to `upstream` (`127.0.0.1:PORT`); `fault(n, request_line)` decides each request.
    pub fn start(upstream: String, fault: Arc<FaultFn>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let max_inflight = Arc::new(AtomicUsize::new(0));
        let inflight = Arc::new(AtomicUsize::new(0));
        {
            let (stop, requests, log) = (stop.clone(), requests.clone(), log.clone());
            let (max_inflight, inflight) = (max_inflight.clone(), inflight.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((s, _)) => {
                            s.set_nonblocking(false).unwrap();
                            let (requests, log, fault, upstream) = (
                                requests.clone(),
                                log.clone(),
                                fault.clone(),
                                upstream.clone(),
                            );
                            let (max_inflight, inflight) = (max_inflight.clone(), inflight.clone());
                            std::thread::spawn(move || {
                                let _ = proxy_one(
                                    s,
                                    &upstream,
                                    &requests,
                                    &log,
                                    &*fault,
                                    &|d: isize| {
                                        if d > 0 {
                                            let now = inflight.fetch_add(1, Ordering::SeqCst) + 1;
                                            max_inflight.fetch_max(now, Ordering::SeqCst);
                                        } else {
                                            inflight.fetch_sub(1, Ordering::SeqCst);
                                        }
                                    },
                                );
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            });
        }
        FaultProxy {
            port,
            requests,
            log,
            max_inflight,
            stop,
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn proxy_one(
    mut client: TcpStream,
    upstream: &str,
    requests: &AtomicUsize,
    log: &Mutex<Vec<String>>,
    fault: &FaultFn,
    track: &dyn Fn(isize),
) -> std::io::Result<()> {
    // One request per connection: the proxy answers with Connection: close.
    let (request_line, headers, body) = read_request(&mut client)?;
    track(1);
    let r = forward(
        &mut client,
        request_line,
        headers,
        body,
        upstream,
        requests,
        log,
        fault,
    );
    track(-1);
    r
}

#[allow(clippy::too_many_arguments)]
fn forward(
    client: &mut TcpStream,
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    upstream: &str,
    requests: &AtomicUsize,
    log: &Mutex<Vec<String>>,
    fault: &FaultFn,
) -> std::io::Result<()> {
    let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
    log.lock().unwrap().push(request_line.clone());
    let f = fault(n, &request_line);
    match f {
        Fault::Status(code, retry_after) => {
            let ra = retry_after
                .map(|s| format!("Retry-After: {s}\r\n"))
                .unwrap_or_default();
            let body = r#"{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}"#;
            client.write_all(
                format!(
                    "HTTP/1.1 {code} Injected\r\n{ra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )?;
            return Ok(());
        }
        Fault::Drop => {
            let _ = client.shutdown(Shutdown::Both);
            return Ok(());
        }
        Fault::Delay(d) => std::thread::sleep(d),
        Fault::Pass | Fault::Truncate | Fault::Corrupt => {}
    }
    let mut up = TcpStream::connect(upstream)?;
    let mut req = format!("{request_line}\r\n");
    for (k, v) in &headers {
        if k.eq_ignore_ascii_case("connection") || k.eq_ignore_ascii_case("host") {
            continue;
        }
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Host: {upstream}\r\nConnection: close\r\n\r\n"));
    up.write_all(req.as_bytes())?;
    up.write_all(&body)?;
    let mut raw = Vec::new();
    up.read_to_end(&mut raw)?;
    if matches!(f, Fault::Truncate) {
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4;
        let keep = split + (raw.len() - split) / 2;
        if raw.len() > split {
            client.write_all(&raw[..keep])?;
            let _ = client.shutdown(Shutdown::Both);
            return Ok(());
        }
    }
    if matches!(f, Fault::Corrupt) && raw.starts_with(b"HTTP/1.1 200") {
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4;
        if raw.len() > split {
            let mid = split + (raw.len() - split) / 2;
            raw[mid] ^= 0xff;
        }
    }
    client.write_all(&raw)?;
    let _ = client.shutdown(Shutdown::Write);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Catalogue + berth runner.

pub struct Listing<'a> {
    pub code: &'a str,
    pub host: &'a str,
    pub repo: &'a str,
    pub tag: &'a str,
    pub credential: Option<&'a str>,
    pub kind: &'a str,
    pub stage: &'a str,
}

impl<'a> Listing<'a> {
    pub fn new(code: &'a str, host: &'a str, repo: &'a str, tag: &'a str) -> Self {
        Listing {
            code,
            host,
            repo,
            tag,
            credential: None,
            kind: "new",
            stage: "testing",
        }
    }
    pub fn cred(mut self, c: &'a str) -> Self {
        self.credential = Some(c);
        self
    }
    pub fn release(mut self, kind: &'a str, stage: &'a str) -> Self {
        self.kind = kind;
        self.stage = stage;
        self
    }
}

pub struct Catalogue {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Catalogue {
    /// A catalogue whose berth.yaml is `berth_yaml`; HOME points into the temp dir so no
    /// real docker config is read.
    pub fn new(berth_yaml: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("cat");
        std::fs::create_dir_all(root.join("images")).unwrap();
        std::fs::write(root.join("berth.yaml"), berth_yaml).unwrap();
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        Catalogue {
            env: vec![
                ("HOME".into(), home.display().to_string()),
                ("BERTH_NOW".into(), "2026-11-20T10:00:00Z".into()),
                ("BERTH_REGISTRY_BACKOFF_MS".into(), "20".into()),
            ],
            tmp,
            root,
        }
    }

    pub fn insecure_yaml(hosts: &[&str]) -> String {
        let mut s = String::from("registries:\n");
        for h in hosts {
            s.push_str(&format!("  \"{h}\":\n    insecure: true\n"));
        }
        s
    }

    pub fn listing(&self, l: &Listing) {
        let cred = l
            .credential
            .map(|c| format!("  credential: {c}\n"))
            .unwrap_or_default();
        let name: String = l.code.replace(['-', '_'], " ");
        let yaml = format!(
            "code: {}\nname: {name}\nsummary: test image\npublisher: qa\nimage:\n  registry: \"{}\"\n  repository: {}\n  tag: \"{}\"\n{cred}release:\n  type: {}\n  stage: {}\n",
            l.code, l.host, l.repo, l.tag, l.kind, l.stage
        );
        std::fs::write(self.root.join(format!("images/{}.yaml", l.code)), yaml).unwrap();
    }

    pub fn env(&mut self, k: &str, v: &str) {
        self.env.retain(|(a, _)| a != k);
        self.env.push((k.into(), v.into()));
    }

    pub fn berth(&self, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
        c.args(args).arg("--catalogue").arg(&self.root);
        c.env_remove("DOCKER_CONFIG");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    /// `berth plan --format json`, parsed.
    pub fn plan(&self, extra: &[&str]) -> serde_json::Value {
        let mut args = vec!["plan", "--format", "json"];
        args.extend_from_slice(extra);
        let o = self.berth(&args);
        assert!(o.status.code() == Some(0), "plan failed: {}", text(&o));
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("plan json: {e}\n{}", text(&o)))
    }

    /// `berth apply`; asserts success.
    pub fn apply(&self, extra: &[&str]) -> Output {
        let mut args = vec!["apply"];
        args.extend_from_slice(extra);
        let o = self.berth(&args);
        assert_eq!(o.status.code(), Some(0), "apply failed: {}", text(&o));
        o
    }

    pub fn index(&self) -> serde_json::Value {
        let t = std::fs::read_to_string(self.root.join("index.json")).unwrap();
        serde_json::from_str(&t).unwrap()
    }

    pub fn index_text(&self) -> String {
        std::fs::read_to_string(self.root.join("index.json")).unwrap_or_default()
    }

    /// The index entry of `code@version`.
    pub fn version(&self, code: &str, version: &str) -> serde_json::Value {
        let idx = self.index();
        idx["images"][code]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["version"] == version)
            .cloned()
            .unwrap_or_else(|| panic!("{code}@{version} not in index: {idx:#}"))
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The verification line of `code` in a plan.
pub fn verification<'v>(plan: &'v serde_json::Value, code: &str) -> &'v serde_json::Value {
    plan["verifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == code)
        .unwrap_or_else(|| panic!("no verification for {code}: {plan:#}"))
}

pub mod github_fake;
