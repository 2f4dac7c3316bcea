//! A registry front that pages tag listings the way many registries do (the distribution
//! registry 2.8 pages only `/v2/_catalog`; GHCR, Harbor, ECR and distribution 3 page tags
//! too): for a repository with a cap, `GET /v2/<repo>/tags/list?n=N[&last=L]` is answered
//! with 400 `PAGINATION_NUMBER_INVALID` when N is above the cap, else with at most N tags
//! sorted after L and `Link: <…>; rel="next"` while more follow. A repository marked
//! `self_link` answers with all its tags and a `Link` back to the same page (a broken
//! registry). The tags are those of the real registry behind it; every other request is
//! forwarded unchanged. Request lines are logged in order.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::{http, read_request};

pub struct PagingProxy {
    pub port: u16,
    /// Request lines seen, in order (`GET /v2/_catalog?n=1000 HTTP/1.1`).
    pub log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

/// How the front pages each repository's tags: `caps` (repository → largest page),
/// `self_link` (repositories whose `Link` points back at the page); the others are answered
/// whole, without `Link`.
#[derive(Clone, Debug, Default)]
pub struct Paging {
    pub caps: std::collections::BTreeMap<String, usize>,
    pub self_link: Vec<String>,
}

impl PagingProxy {
    /// Front `upstream` (`127.0.0.1:PORT`), paging tags as `paging` says.
    pub fn start(upstream: String, paging: Paging) -> Self {
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
                            let (log, upstream, paging) =
                                (log.clone(), upstream.clone(), paging.clone());
                            std::thread::spawn(move || {
                                let _ = serve(s, &upstream, &paging, &log);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            });
        }
        PagingProxy { port, log, stop }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The logged request lines whose path starts with `prefix`, without ` HTTP/1.1`.
    pub fn requests(&self, prefix: &str) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| l.strip_suffix(" HTTP/1.1"))
            .filter(|l| l.split(' ').nth(1).is_some_and(|p| p.starts_with(prefix)))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for PagingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(
    mut client: TcpStream,
    upstream: &str,
    paging: &Paging,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let (request_line, headers, body) = read_request(&mut client)?;
    log.lock().unwrap().push(request_line.clone());
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if method == "GET"
        && let Some(repo) = path
            .strip_prefix("/v2/")
            .and_then(|p| p.strip_suffix("/tags/list"))
    {
        let answer = tags_page(upstream, repo, target, query, paging);
        client.write_all(&answer)?;
        let _ = client.shutdown(Shutdown::Write);
        return Ok(());
    }
    // Anything else: forwarded as is (one request per connection, like the fault proxy).
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
    client.write_all(&raw)?;
    let _ = client.shutdown(Shutdown::Write);
    Ok(())
}

/// The raw HTTP answer to a tag listing of `repo` (`target`: path and query, `query`:
/// `n=…&last=…`).
fn tags_page(upstream: &str, repo: &str, target: &str, query: &str, paging: &Paging) -> Vec<u8> {
    let cap = paging.caps.get(repo).copied().unwrap_or(usize::MAX);
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let n: Option<usize> = param("n").and_then(|v| v.parse().ok());
    if n.is_some_and(|n| n > cap) {
        let body = format!(
            r#"{{"errors":[{{"code":"PAGINATION_NUMBER_INVALID","message":"invalid number of results requested","detail":{{"n":{}}}}}]}}"#,
            n.unwrap()
        );
        return answer(400, &[], &body);
    }
    let r = http("GET", upstream, &format!("/v2/{repo}/tags/list"), &[], b"").unwrap();
    if r.status != 200 {
        return answer(r.status, &[], &String::from_utf8_lossy(&r.body));
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let mut tags: Vec<String> = v["tags"]
        .as_array()
        .map(|a| a.iter().map(|t| t.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    tags.sort();
    if let Some(last) = param("last") {
        tags.retain(|t| *t > last);
    }
    if paging.self_link.iter().any(|r| r == repo) {
        let body = serde_json::json!({ "name": repo, "tags": tags }).to_string();
        return answer(200, &[format!("Link: <{target}>; rel=\"next\"")], &body);
    }
    let n = n.unwrap_or(tags.len()).min(cap);
    let more = tags.len() > n;
    tags.truncate(n);
    let mut headers = Vec::new();
    if more && let Some(last) = tags.last() {
        headers.push(format!(
            "Link: </v2/{repo}/tags/list?n={n}&last={last}>; rel=\"next\""
        ));
    }
    let body = serde_json::json!({ "name": repo, "tags": tags }).to_string();
    answer(200, &headers, &body)
}

fn answer(status: u16, headers: &[String], body: &str) -> Vec<u8> {
    let mut s = format!(
        "HTTP/1.1 {status} Paged\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for h in headers {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.push_str(body);
    s.into_bytes()
}
