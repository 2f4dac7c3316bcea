//! A token issuer for the registry's `auth.token`: RS256 JWTs signed with openssl, the
//! certificate in `x5c`; it answers only requests with the expected Basic credentials.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;

use super::http::read_request;
use super::tools::need;

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
