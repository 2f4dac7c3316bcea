//! Harness for "secrets travel only over TLS": a loopback CA and server certificate (openssl
//! CLI), a real git smart-HTTP server (`git http-backend` behind Python's http.server, plain
//! or TLS, optionally demanding Basic auth, logging every Authorization header), the real
//! registry serving TLS, and a wiretap: a TCP relay recording every byte a client sends.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{free_port, need};

/// A CA and a server certificate for `127.0.0.1` signed by it (ECDSA P-256). Clients trust
/// the CA through `SSL_CERT_FILE` (OpenSSL in libgit2, rustls-native-certs in berth).
pub struct TlsCert {
    _dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TlsCert {
    pub fn for_loopback() -> Self {
        need("openssl", "openssl");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=berth test CA"];
        ca.extend(ec);
        ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
        openssl(p, &ca);
        let mut csr = vec!["req", "-new", "-subj", "/CN=127.0.0.1"];
        csr.extend(ec);
        csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
        openssl(p, &csr);
        std::fs::write(
            p.join("ext.cnf"),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
        )
        .unwrap();
        openssl(
            p,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
                "-out",
                "server.pem",
            ],
        );
        TlsCert {
            ca: p.join("ca.pem"),
            cert: p.join("server.pem"),
            key: p.join("server.key"),
            _dir: dir,
        }
    }
}

/// One request as the git server logged it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct GitRequest {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
}

/// `git http-backend` serving the bare repositories below a directory, on 127.0.0.1.
pub struct GitHttpServer {
    child: Child,
    pub port: u16,
    tls: bool,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl GitHttpServer {
    /// Serve the bare repositories in `project_root`; with `basic_auth` (`user:password`)
    /// every request without exactly that Authorization is answered 401 (Basic challenge).
    pub fn start(project_root: &Path, basic_auth: Option<&str>, tls: Option<&TlsCert>) -> Self {
        need("python3", "python3");
        need("git", "git");
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("requests.jsonl");
        std::fs::write(&log, "").unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/git_http_server.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script).arg(project_root).arg(&log);
        if let Some(a) = basic_auth {
            cmd.arg("--auth").arg(a);
        }
        if let Some(t) = tls {
            cmd.arg("--tls").arg(&t.cert).arg(&t.key);
        }
        let stderr = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "git http server did not start: {}",
                std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
            )
        });
        GitHttpServer {
            child,
            port,
            tls: tls.is_some(),
            log,
            _dir: dir,
        }
    }

    /// `http(s)://127.0.0.1:PORT/<repo>`.
    pub fn url(&self, repo: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}/{repo}", self.port)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<GitRequest> {
        std::fs::read_to_string(&self.log)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real registry serving https with `cert`, on `storage` (e.g. one seeded over http by
/// a [`super::RegistryProc`] and stopped), with the given `auth:` YAML block.
pub struct TlsRegistry {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl TlsRegistry {
    pub fn start(storage: &Path, cert: &TlsCert, auth_yaml: &str) -> Self {
        need("docker-registry", "docker-registry");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: berth-test-secret\n  tls:\n    certificate: {}\n    key: {}\n{auth_yaml}",
            storage.display(),
            cert.cert.display(),
            cert.key.display()
        );
        let cfg = dir.path().join("config.yml");
        std::fs::write(&cfg, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(&cfg)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "docker-registry (tls) exited with {status}: {}",
                    std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
                );
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry (tls) did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        TlsRegistry {
            child,
            port,
            _dir: dir,
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for TlsRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP relay to `upstream` that records every byte clients send (whatever the protocol:
/// plain HTTP shows its headers, a TLS handshake shows none).
pub struct Wiretap {
    pub port: u16,
    sent: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
}

impl Wiretap {
    pub fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (sent, stop) = (sent.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            client.set_nonblocking(false).unwrap();
                            let (sent, upstream) = (sent.clone(), upstream.clone());
                            std::thread::spawn(move || relay(client, &upstream, &sent));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
        }
        Wiretap { port, sent, stop }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Everything clients sent so far.
    pub fn sent(&self) -> Vec<u8> {
        self.sent.lock().unwrap().clone()
    }

    /// Does `needle` occur in what clients sent (ASCII case-insensitive)?
    pub fn saw(&self, needle: &str) -> bool {
        let hay = self.sent().to_ascii_lowercase();
        let needle = needle.to_ascii_lowercase();
        hay.windows(needle.len()).any(|w| w == needle.as_bytes())
    }
}

impl Drop for Wiretap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn relay(mut client: TcpStream, upstream: &str, sent: &Mutex<Vec<u8>>) {
    let Ok(mut up) = TcpStream::connect(upstream) else {
        return;
    };
    let (mut up_read, mut client_write) = (up.try_clone().unwrap(), client.try_clone().unwrap());
    let back = std::thread::spawn(move || {
        let _ = std::io::copy(&mut up_read, &mut client_write);
        let _ = client_write.shutdown(Shutdown::Write);
    });
    let mut buf = [0u8; 16 * 1024];
    loop {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                sent.lock().unwrap().extend_from_slice(&buf[..n]);
                if up.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = up.shutdown(Shutdown::Write);
    let _ = back.join();
}
