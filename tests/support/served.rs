//! Rewriters for [`super::Fault::Rewrite`]: an intermediary between berth and the registry that
//! changes what the registry said about a manifest (its bytes, its `Docker-Content-Digest`).
//! Each takes the raw HTTP/1.1 answer (status line, headers, body) and returns the one the
//! client gets, with `Content-Length` matching the new body.

/// A raw answer split into its head lines and body.
struct Raw {
    status_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn split(raw: &[u8]) -> Raw {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer with a header end");
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    assert!(
        !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding")),
        "rewriters expect a Content-Length answer: {headers:?}"
    );
    Raw {
        status_line,
        headers,
        body: raw[end + 4..].to_vec(),
    }
}

/// The answer again; `Content-Length` is recomputed when the body was replaced (a HEAD answer
/// keeps its own: it has no body but announces the GET's length).
fn join(r: Raw, body_replaced: bool) -> Vec<u8> {
    let mut out = format!("{}\r\n", r.status_line);
    for (k, v) in &r.headers {
        if !(body_replaced && k.eq_ignore_ascii_case("content-length")) {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if body_replaced {
        out.push_str(&format!("Content-Length: {}\r\n", r.body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&r.body);
    bytes
}

fn without_digest_header(r: &mut Raw) {
    r.headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("docker-content-digest"));
}

/// The same manifest re-serialized (pretty-printed JSON: same meaning, other bytes, so another
/// sha256), as a JSON-rewriting intermediary would send it.
pub fn reformatted(body: &[u8]) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_slice(body).expect("a JSON manifest");
    serde_json::to_vec_pretty(&v).unwrap()
}

/// A digest no registry in the tests serves.
pub fn unrelated_digest() -> String {
    super::sha256(b"an unrelated manifest")
}

/// Manifest bytes re-serialized and `Docker-Content-Digest` dropped (a HEAD answer only
/// loses the header).
pub fn reformat_and_drop_digest(raw: Vec<u8>) -> Vec<u8> {
    let mut r = split(&raw);
    without_digest_header(&mut r);
    if r.body.is_empty() {
        return join(r, false);
    }
    r.body = reformatted(&r.body);
    join(r, true)
}

/// `Docker-Content-Digest` dropped; the bytes unchanged.
pub fn drop_digest(raw: Vec<u8>) -> Vec<u8> {
    let mut r = split(&raw);
    without_digest_header(&mut r);
    join(r, false)
}

/// `Docker-Content-Digest` replaced by [`unrelated_digest`]; the bytes unchanged.
pub fn wrong_digest(raw: Vec<u8>) -> Vec<u8> {
    let mut r = split(&raw);
    without_digest_header(&mut r);
    r.headers
        .push(("Docker-Content-Digest".into(), unrelated_digest()));
    join(r, false)
}
