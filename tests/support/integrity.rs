//! Harness for the integrity tests: a proxy in front of the registry that answers HEAD of a
//! manifest without `Docker-Content-Digest` (as some registries and caches do), so the
//! re-resolution of testing tags has to fall back to a full verification.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Forwards every request to `upstream`; drops `Docker-Content-Digest` from the answers to
/// `HEAD …/manifests/…`. Request lines are logged in order.
pub struct DigestlessHeadProxy {
    pub port: u16,
    pub log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl DigestlessHeadProxy {
    pub fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        {
            let (stop, log) = (stop.clone(), log.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((s, _)) => {
                            s.set_nonblocking(false).unwrap();
                            let (log, upstream) = (log.clone(), upstream.clone());
                            std::thread::spawn(move || {
                                let _ = serve(s, &upstream, &log);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            });
        }
        DigestlessHeadProxy { port, log, stop }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Request lines seen from index `from` on.
    pub fn seen_since(&self, from: usize) -> Vec<String> {
        self.log.lock().unwrap()[from..].to_vec()
    }

    pub fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }
}

impl Drop for DigestlessHeadProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One request per connection (answers carry `Connection: close`).
fn serve(mut client: TcpStream, upstream: &str, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut r = BufReader::new(client.try_clone()?);
    let mut request_line = String::new();
    r.read_line(&mut request_line)?;
    let request_line = request_line.trim_end().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end().to_string();
        if h.is_empty() {
            break;
        }
        headers.push(h);
    }
    let len: usize = headers
        .iter()
        .filter_map(|h| h.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    log.lock().unwrap().push(request_line.clone());

    let mut up = TcpStream::connect(upstream)?;
    let mut req = format!("{request_line}\r\n");
    for h in &headers {
        let name = h.split(':').next().unwrap_or("").trim();
        if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("host") {
            continue;
        }
        req.push_str(&format!("{h}\r\n"));
    }
    req.push_str(&format!("Host: {upstream}\r\nConnection: close\r\n\r\n"));
    up.write_all(req.as_bytes())?;
    up.write_all(&body)?;
    let mut raw = Vec::new();
    up.read_to_end(&mut raw)?;
    if request_line.starts_with("HEAD ") && request_line.contains("/manifests/") {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|p| p + 4)
            .unwrap_or(raw.len());
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let kept: String = head
            .split_inclusive("\r\n")
            .filter(|l| !l.to_ascii_lowercase().starts_with("docker-content-digest:"))
            .collect();
        let mut out = kept.into_bytes();
        out.extend_from_slice(&raw[split..]);
        raw = out;
    }
    client.write_all(&raw)?;
    let _ = client.shutdown(Shutdown::Write);
    Ok(())
}

/// Run `git` in `dir` with an isolated configuration; panics with stderr on failure.
pub fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=Fixture",
            "-c",
            "user.email=fixture@example.com",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .unwrap_or_else(|e| panic!("git: {e} (apt-get install git)"));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
