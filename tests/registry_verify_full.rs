//! `--verify full` against the real registry: every blob is downloaded streamed — sha256 and
//! size computed while reading, so memory stays bounded whatever the layer size (peak RSS
//! measured around an in-process verification of a 64 MiB layer) — and a blob whose bytes or
//! length differ from its descriptor fails (corrupted in place, truncated, extended).
//!
//! The tests of this binary hold one lock: the memory test measures the whole process.

mod support;

use std::sync::{Arc, Mutex};

use berth::model::reference::ImageRef;
use berth::registry::{Credential, Endpoint, Limits, Live, Registry, Stats};
use berth::verify::{Level, verify_one};
use support::memory::{peak_growth_mib, pseudo_random, reset_peak_kb};
use support::*;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn full_verification_streams_a_large_layer_in_bounded_memory() {
    let _serial = serial();
    let reg = RegistryProc::start(Auth::None);
    const BIG: usize = 64 * 1024 * 1024;
    let mut img = Img::new("big");
    img.layers.push(pseudo_random(BIG, 0xfeed));
    let pushed = push_image(&reg.addr(), "acme/big", Some("1"), &img);
    drop(img);

    let stats = Arc::new(Stats::default());
    let limits = Limits {
        insecure: true,
        ..Limits::default()
    };
    let ep = Endpoint::new(&reg.addr(), limits, stats.clone()).unwrap();
    let client = Live::with_client(Registry::new(ep, Credential::Anonymous));
    let image = ImageRef::new(Some(&reg.addr()), "acme/big", "1");
    let rt = runtime();
    let before = reset_peak_kb();
    let facts = rt
        .block_on(verify_one(&client, &image, Level::Full))
        .unwrap();
    let growth = peak_growth_mib(before);
    assert!(
        growth < 16,
        "verifying a 64 MiB layer raised peak RSS by {growth} MiB (must stay bounded)"
    );
    assert_eq!(facts.digest, pushed.digest);
    assert_eq!(facts.size, Some(pushed.size));
    // Manifest GET, config GET (read whole: berth needs its labels; digest and size checked
    // there), one streamed GET per layer.
    assert_eq!(stats.requests(), 2 + 3);
}

#[test]
fn full_level_fails_blobs_that_are_truncated_extended_or_corrupted() {
    let _serial = serial();
    let reg = RegistryProc::start(Auth::None);
    let host = reg.addr();
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    let mut layers = Vec::new();
    type Change = fn(&mut Vec<u8>);
    let changes: [(&str, Change); 3] = [
        ("short", |b: &mut Vec<u8>| b.truncate(b.len() / 2)),
        ("long", |b: &mut Vec<u8>| {
            b.extend_from_slice(b"trailing bytes")
        }),
        ("flipped", |b: &mut Vec<u8>| {
            let mid = b.len() / 2;
            b[mid] ^= 0xff;
        }),
    ];
    for (code, change) in changes {
        let repo = format!("acme/{code}");
        let p = push_image(&host, &repo, Some("1"), &Img::new(code));
        let path = reg.blob_path(&p.layers[1]);
        let mut bytes = std::fs::read(&path).unwrap();
        let declared = bytes.len();
        change(&mut bytes);
        std::fs::write(&path, &bytes).unwrap();
        cat.listing(&Listing::new(code, &host, &repo, "1"));
        layers.push((code, p.layers[1].clone(), declared, bytes.len()));
    }

    let plan = cat.plan(&["--verify", "full"]);
    for (code, digest, declared, served) in &layers {
        let v = verification(&plan, code);
        assert_eq!(v["result"], "failed", "{code}: {plan:#}");
        let want = if declared == served {
            format!("digest mismatch for blob {digest}: expected {digest}, got ")
        } else {
            format!(
                "size mismatch for blob {digest}: manifest says {declared} bytes, registry has {served}"
            )
        };
        let reason = v["reason"].as_str().unwrap();
        assert!(reason.starts_with(&want), "{code}: {reason}");
    }
    // The same versions recorded as check-failed with that reason.
    cat.apply(&["--verify", "full"]);
    for (code, ..) in &layers {
        let v = cat.version(code, "1.0.0");
        assert_eq!(v["status"], "check-failed", "{code}: {v:#}");
        assert!(v["digest"].is_null(), "{code}: {v:#}");
    }
}

/// The answer's `Content-Length` header, changed by `f` (or removed when `f` gives `None`).
fn with_content_length(raw: Vec<u8>, f: fn(u64) -> Option<u64>) -> Vec<u8> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 2;
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut found = false;
    let head: String = head
        .split_inclusive("\r\n")
        .filter_map(|line| match line.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("content-length") => {
                found = true;
                f(v.trim().parse().unwrap()).map(|n| format!("{k}: {n}\r\n"))
            }
            _ => Some(line.to_string()),
        })
        .collect();
    assert!(
        found,
        "the registry answered without Content-Length: {head}"
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(&raw[split..]);
    out
}

/// Holds "a `Content-Length` other than the declared size fails before any byte is read":
/// the registry announces 7 bytes more than the descriptor and then sends the real blob.
/// Refused at once as a size mismatch (one GET, no restart); without that check the
/// download would wait for the missing bytes and restart on the broken body, attempt after
/// attempt, and fail as a transport error.
#[test]
fn an_announced_length_other_than_the_descriptor_fails_before_reading() {
    let _serial = serial();
    let reg = RegistryProc::start(Auth::None);
    let p = push_image(&reg.addr(), "acme/lie", Some("1"), &Img::new("lie"));
    let layer = p.layers[1].clone();
    let size = std::fs::read(reg.blob_path(&layer)).unwrap().len();
    let target = format!("GET /v2/acme/lie/blobs/{layer} ");
    let proxy = FaultProxy::start(
        reg.addr(),
        Arc::new(move |_, line: &str| {
            if line.starts_with(&target) {
                Fault::Rewrite(|raw| with_content_length(raw, |n| Some(n + 7)))
            } else {
                Fault::Pass
            }
        }),
    );
    let host = proxy.addr();
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    cat.listing(&Listing::new("lie", &host, "acme/lie", "1"));
    let plan = cat.plan(&["--verify", "full"]);
    let v = verification(&plan, "lie");
    assert_eq!(v["result"], "failed", "{plan:#}");
    assert_eq!(
        v["reason"],
        format!(
            "size mismatch for blob {layer}: manifest says {size} bytes, registry has {}",
            size + 7
        )
        .as_str()
    );
    let gets = proxy
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with(&format!("GET /v2/acme/lie/blobs/{layer} ")))
        .count();
    assert_eq!(gets, 1, "a size mismatch is never retried");
}

/// Holds "sha256 and length computed while reading": when the registry announces no length
/// (body until the connection closes), the stream itself finds a short blob (at its end) and
/// a long one (at the first piece past the declared size, not at the end of the body).
#[test]
fn without_an_announced_length_the_stream_checks_the_size() {
    let _serial = serial();
    let reg = RegistryProc::start(Auth::None);
    let mut cases = Vec::new();
    type Change = fn(&mut Vec<u8>);
    let changes: [(&str, Change); 2] = [
        ("short", |b: &mut Vec<u8>| b.truncate(b.len() / 2)),
        // Far more than one network read: the download stops long before its end.
        ("long", |b: &mut Vec<u8>| {
            b.extend_from_slice(&[b'x'; 4 * 1024 * 1024])
        }),
    ];
    for (code, change) in changes {
        let repo = format!("acme/{code}");
        let p = push_image(&reg.addr(), &repo, Some("1"), &Img::new(code));
        let path = reg.blob_path(&p.layers[1]);
        let mut bytes = std::fs::read(&path).unwrap();
        let declared = bytes.len();
        change(&mut bytes);
        std::fs::write(&path, &bytes).unwrap();
        cases.push((code, p.layers[1].clone(), declared, bytes.len()));
    }
    let proxy = FaultProxy::start(
        reg.addr(),
        Arc::new(|_, line: &str| {
            if line.starts_with("GET ") && line.contains("/blobs/") {
                Fault::Rewrite(|raw| with_content_length(raw, |_| None))
            } else {
                Fault::Pass
            }
        }),
    );
    let host = proxy.addr();
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    for (code, ..) in &cases {
        cat.listing(&Listing::new(code, &host, &format!("acme/{code}"), "1"));
    }
    let plan = cat.plan(&["--verify", "full"]);
    for (code, digest, declared, served) in &cases {
        let v = verification(&plan, code);
        assert_eq!(v["result"], "failed", "{code}: {plan:#}");
        let reason = v["reason"].as_str().unwrap();
        let prefix = format!(
            "size mismatch for blob {digest}: manifest says {declared} bytes, registry has "
        );
        let seen: usize = reason
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{code}: {reason}"))
            .parse()
            .unwrap();
        if served < declared {
            assert_eq!(seen, *served, "{code}: the whole short body was read");
        } else {
            assert!(seen > *declared && seen < *served, "{code}: {reason}");
        }
    }
}

/// A blob body that breaks mid-way is downloaded again, at most `BERTH_REGISTRY_MAX_ATTEMPTS`
/// times in all, then the version fails with the transport error.
#[test]
fn a_broken_blob_body_is_restarted_a_bounded_number_of_times() {
    let _serial = serial();
    let reg = RegistryProc::start(Auth::None);
    let p = push_image(&reg.addr(), "acme/cut", Some("1"), &Img::new("cut"));
    let layer = p.layers[1].clone();
    let target = format!("GET /v2/acme/cut/blobs/{layer} ");
    let proxy = FaultProxy::start(
        reg.addr(),
        Arc::new(move |_, line: &str| {
            if line.starts_with(&target) {
                Fault::Truncate
            } else {
                Fault::Pass
            }
        }),
    );
    let host = proxy.addr();
    let mut cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    cat.env("BERTH_REGISTRY_MAX_ATTEMPTS", "3");
    cat.listing(&Listing::new("cut", &host, "acme/cut", "1"));
    let plan = cat.plan(&["--verify", "full"]);
    let v = verification(&plan, "cut");
    assert_eq!(v["result"], "failed", "{plan:#}");
    let gets = proxy
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with(&format!("GET /v2/acme/cut/blobs/{layer} ")))
        .count();
    assert_eq!(gets, 3, "{plan:#}");
    assert_eq!(plan["verifyStats"]["retries"], 2, "{plan:#}");
    // The reason counts the downloads made, not the last one alone.
    assert_eq!(
        v["reason"],
        format!(
            "GET blob {layer}: error decoding response body: request or response body error: error reading a body from connection: end of file before message length reached after 3 attempt(s)"
        )
        .as_str()
    );
}
