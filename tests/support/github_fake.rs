//! Stand-ins for GitHub on 127.0.0.1: a tiny HTTP/1.1 server that records every request and
//! answers through a handler; on top of it a release host (fixed files, 404 for the rest) and
//! the two REST endpoints of issue comments (list/create, update) with their state.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            content_type: "application/octet-stream",
            body: body.into(),
        }
    }
    pub fn json(status: u16, v: &serde_json::Value) -> Self {
        Response {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(v).unwrap(),
        }
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// The server: one connection at a time, `Connection: close`. Stopped on drop.
pub struct FakeHttp {
    pub addr: String,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeHttp {
    pub fn start(handler: Arc<Handler>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (reqs, stopped) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                if let Some(req) = read_request(&conn) {
                    reqs.lock().unwrap().push(req.clone());
                    let resp = handler(&req);
                    let head = format!(
                        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        resp.status,
                        resp.content_type,
                        resp.body.len()
                    );
                    let _ = conn.write_all(head.as_bytes());
                    if req.method != "HEAD" {
                        let _ = conn.write_all(&resp.body);
                    }
                    let _ = conn.flush();
                }
            }
        });
        FakeHttp {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.requests.lock().unwrap().clear();
    }
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_request(conn: &TcpStream) -> Option<Request> {
    let mut r = BufReader::new(conn);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

/// A release host serving `files` (path → bytes); anything else is 404.
pub fn release_host(files: BTreeMap<String, Vec<u8>>) -> FakeHttp {
    FakeHttp::start(Arc::new(move |req: &Request| {
        match files.get(&req.target) {
            Some(b) if req.method == "GET" => Response::new(200, b.clone()),
            _ => Response::new(404, "Not Found"),
        }
    }))
}

/// The issue-comment endpoints of one repository: `GET`/`POST
/// /repos/{repo}/issues/{n}/comments` and `PATCH /repos/{repo}/issues/comments/{id}`, with
/// the comments kept in memory (ids from 1001).
pub struct FakeApi {
    pub http: FakeHttp,
    pub comments: Arc<Mutex<Vec<(u64, String)>>>,
}

impl FakeApi {
    pub fn start(repo: &str) -> Self {
        let comments: Arc<Mutex<Vec<(u64, String)>>> = Arc::new(Mutex::new(Vec::new()));
        let state = comments.clone();
        let repo = repo.to_string();
        let http = FakeHttp::start(Arc::new(move |req: &Request| {
            let path = req.target.split('?').next().unwrap_or("");
            let rest = match path.strip_prefix(&format!("/repos/{repo}/issues/")) {
                Some(r) => r,
                None => return Response::new(404, "Not Found"),
            };
            let mut c = state.lock().unwrap();
            let body_of = |req: &Request| -> String {
                let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
                v["body"].as_str().unwrap_or_default().to_string()
            };
            let item = |id: u64, body: &str| {
                serde_json::json!({
                    "id": id,
                    "body": body,
                    "user": {"login": "github-actions[bot]", "type": "Bot"}
                })
            };
            if let Some(id) = rest.strip_prefix("comments/") {
                let id: u64 = id.parse().unwrap_or(0);
                if req.method != "PATCH" {
                    return Response::new(404, "Not Found");
                }
                return match c.iter_mut().find(|(i, _)| *i == id) {
                    Some(entry) => {
                        entry.1 = body_of(req);
                        Response::json(200, &item(id, &entry.1))
                    }
                    None => Response::new(404, "Not Found"),
                };
            }
            if rest.ends_with("/comments") {
                match req.method.as_str() {
                    "GET" => {
                        let page: usize = req
                            .target
                            .split("page=")
                            .last()
                            .and_then(|p| p.parse().ok())
                            .unwrap_or(1);
                        let list: Vec<_> = if page == 1 {
                            c.iter().map(|(i, b)| item(*i, b)).collect()
                        } else {
                            Vec::new()
                        };
                        return Response::json(200, &serde_json::Value::Array(list));
                    }
                    "POST" => {
                        let id = 1001 + c.len() as u64;
                        let body = body_of(req);
                        c.push((id, body.clone()));
                        return Response::json(201, &item(id, &body));
                    }
                    _ => {}
                }
            }
            Response::new(404, "Not Found")
        }));
        FakeApi { http, comments }
    }
}
