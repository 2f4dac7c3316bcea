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
