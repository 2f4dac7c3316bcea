//! A fault-injecting proxy in front of a registry: per request, pass, answer with a status,
//! drop, truncate, delay or corrupt; counts requests, logs request lines and the highest
//! number of requests in flight.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::read_request;

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
    /// Forward, then send `f(raw answer)` instead of the answer (status line, headers, body):
    /// an intermediary that rewrites what the registry said (see `support::served`).
    Rewrite(fn(Vec<u8>) -> Vec<u8>),
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
    // The request stops counting as in flight just before its answer is written: once the
    // client has the answer it may send the next request, and counting until this thread
    // gets round to it would measure one request too many.
    let done = std::cell::Cell::new(false);
    let release = || {
        if !done.replace(true) {
            track(-1);
        }
    };
    let r = forward(
        &mut client,
        request_line,
        headers,
        body,
        upstream,
        requests,
        log,
        fault,
        &release,
    );
    release();
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
    answered: &dyn Fn(),
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
        Fault::Pass | Fault::Truncate | Fault::Corrupt | Fault::Rewrite(_) => {}
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
    if let Fault::Rewrite(rewrite) = f {
        raw = rewrite(raw);
    }
    answered();
    client.write_all(&raw)?;
    let _ = client.shutdown(Shutdown::Write);
    Ok(())
}
