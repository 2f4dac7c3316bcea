//! Streamed blob copy between two real distribution registries (`docker-registry`):
//! a 64 MiB layer is promoted across registries and copied in-process with bounded memory
//! (peak RSS measured around the library call), and a source that serves corrupted bytes or
//! a descriptor with a wrong size never leaves a blob or a tag on the target.
//!
//! The tests of this binary hold one lock: the memory test measures the whole process.

mod support;

use std::sync::{Arc, Mutex};

use berth::registry::{
    self, Credential, Endpoint, Limits, RegistryError, Stats, UPLOAD_CHUNK, copy_blob_streamed,
};
use support::memory::{peak_growth_mib, pseudo_random, reset_peak_kb};
use support::*;

static SERIAL: Mutex<()> = Mutex::new(());

const ACCEPT: &str =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn tag_digest(addr: &str, repo: &str, tag: &str) -> Option<String> {
    let r = http(
        "GET",
        addr,
        &format!("/v2/{repo}/manifests/{tag}"),
        &[("Accept", ACCEPT)],
        b"",
    )
    .unwrap();
    (r.status == 200).then(|| sha256(&r.body))
}

fn head_blob(addr: &str, repo: &str, digest: &str) -> u16 {
    http(
        "HEAD",
        addr,
        &format!("/v2/{repo}/blobs/{digest}"),
        &[],
        b"",
    )
    .unwrap()
    .status
}

fn client(addr: &str, stats: &Arc<Stats>) -> registry::Registry {
    let limits = Limits {
        insecure: true,
        ..Limits::default()
    };
    let ep = Endpoint::new(addr, limits, stats.clone()).unwrap();
    registry::Registry::new(ep, Credential::Anonymous)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn policy(cat: &Catalogue, src: &str, repo: &str, dst: &str) {
    let dir = cat.root.join("policies");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("across.yaml"),
        format!(
            r#"name: across
source: {{ registry: "{src}", repository: {repo} }}
criteria:
  - tag: {{ equals: "1.0.0" }}
target: {{ registry: "{dst}", repository: prod/app, tag: "1.0.0" }}
"#
        ),
    )
    .unwrap();
}

#[test]
fn large_layer_streams_across_registries_in_bounded_memory() {
    let _serial = serial();
    let src = RegistryProc::start(Auth::None);
    let dst = RegistryProc::start(Auth::None);
    const BIG: usize = 64 * 1024 * 1024;
    let big = pseudo_random(BIG, 0x5eed);
    let big_digest = sha256(&big);
    let mut img = Img::new("big");
    img.layers.push(big);
    let pushed = push_image(&src.addr(), "team/app", Some("1.0.0"), &img);
    drop(img);
    assert_eq!(pushed.layers[2], big_digest);

    // In-process copy of the big blob, peak RSS measured around it alone: reset the high
    // water mark (Linux `clear_refs` 5) after seeding freed its 64 MiB.
    let before = reset_peak_kb();
    let stats = Arc::new(Stats::default());
    let (from, to) = (client(&src.addr(), &stats), client(&dst.addr(), &stats));
    runtime()
        .block_on(copy_blob_streamed(
            &from,
            "team/app",
            &to,
            "probe/app",
            &big_digest,
            BIG as u64,
        ))
        .unwrap();
    let growth_mib = peak_growth_mib(before);
    // Said on every run (README quotes it): `cargo test --test promote_stream -- --nocapture`.
    eprintln!("streamed copy of a 64 MiB blob: peak RSS growth {growth_mib} MiB");
    assert!(
        growth_mib < 48,
        "copying a 64 MiB blob raised peak RSS by {growth_mib} MiB (must stay bounded)"
    );
    // GET, POST, one PATCH per chunk, PUT.
    let chunks = BIG.div_ceil(UPLOAD_CHUNK) as u64;
    assert_eq!(
        stats.requests(),
        3 + chunks,
        "requests of the streamed copy"
    );
    assert_eq!(head_blob(&dst.addr(), "probe/app", &big_digest), 200);
    assert_eq!(
        sha256(&std::fs::read(dst.blob_path(&big_digest)).unwrap()),
        big_digest
    );

    // The same image promoted across registries by `berth apply`.
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&src.addr(), &dst.addr()]));
    policy(&cat, &src.addr(), "team/app", &dst.addr());
    let out = cat.apply(&[]);
    let stdout = text(&out);
    assert_eq!(
        tag_digest(&dst.addr(), "prod/app", "1.0.0"),
        Some(pushed.digest.clone()),
        "{stdout}"
    );
    for blob in std::iter::once(&pushed.config).chain(&pushed.layers) {
        assert_eq!(head_blob(&dst.addr(), "prod/app", blob), 200, "{blob}");
        assert_eq!(&sha256(&std::fs::read(dst.blob_path(blob)).unwrap()), blob);
    }
}

#[test]
fn corrupted_blob_is_never_committed_and_nothing_is_tagged() {
    let _serial = serial();
    let src = RegistryProc::start(Auth::None);
    let dst = RegistryProc::start(Auth::None);
    // Three chunks and a bit: corruption in the middle is only detectable after chunks were
    // already sent to the target.
    let size = 3 * UPLOAD_CHUNK + 12345;
    let mut img = Img::new("bad");
    img.layers.push(pseudo_random(size, 7));
    let pushed = push_image(&src.addr(), "team/app", Some("1.0.0"), &img);
    drop(img);
    let layer = pushed.layers[2].clone();
    let corrupt = layer.clone();
    let proxy = FaultProxy::start(
        src.addr(),
        Arc::new(move |_, line: &str| {
            if line.starts_with("GET ") && line.contains(&corrupt) {
                Fault::Corrupt
            } else {
                Fault::Pass
            }
        }),
    );

    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&proxy.addr(), &dst.addr()]));
    policy(&cat, &proxy.addr(), "team/app", &dst.addr());
    let out = cat.berth(&["apply"]);
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("digest"), "{stdout}");
    assert!(stdout.contains(&layer), "{stdout}");
    assert_eq!(head_blob(&dst.addr(), "prod/app", &layer), 404, "{stdout}");
    assert_eq!(tag_digest(&dst.addr(), "prod/app", "1.0.0"), None);
    assert!(
        !dst.blob_path(&layer).exists(),
        "corrupted blob stored on the target"
    );
    // A corrupted download is not retried as if it were a transport failure.
    let gets = proxy
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("GET ") && l.contains(&layer))
        .count();
    assert_eq!(gets, 1, "{:?}", proxy.log.lock().unwrap());

    // The library call reports the mismatch as such.
    let stats = Arc::new(Stats::default());
    let (from, to) = (client(&proxy.addr(), &stats), client(&dst.addr(), &stats));
    let err = runtime()
        .block_on(copy_blob_streamed(
            &from,
            "team/app",
            &to,
            "probe/app",
            &layer,
            size as u64,
        ))
        .unwrap_err();
    assert!(
        matches!(&err, RegistryError::DigestMismatch { expected, .. } if *expected == layer),
        "{err}"
    );
    assert_eq!(head_blob(&dst.addr(), "probe/app", &layer), 404);
}

#[test]
fn wrong_descriptor_size_is_never_committed() {
    let _serial = serial();
    let src = RegistryProc::start(Auth::None);
    let dst = RegistryProc::start(Auth::None);
    let data = pseudo_random(UPLOAD_CHUNK + 100, 9);
    let digest = push_blob(&src.addr(), "team/app", &data);
    let stats = Arc::new(Stats::default());
    let (from, to) = (client(&src.addr(), &stats), client(&dst.addr(), &stats));
    let rt = runtime();
    for claimed in [data.len() as u64 - 1, data.len() as u64 + 1] {
        let err = rt
            .block_on(copy_blob_streamed(
                &from,
                "team/app",
                &to,
                "probe/app",
                &digest,
                claimed,
            ))
            .unwrap_err();
        assert!(
            matches!(
                &err,
                RegistryError::SizeMismatch { expected, actual, .. }
                    if *expected == claimed && *actual != claimed
            ),
            "{err}"
        );
        assert_eq!(head_blob(&dst.addr(), "probe/app", &digest), 404);
    }
    // The right size copies.
    rt.block_on(copy_blob_streamed(
        &from,
        "team/app",
        &to,
        "probe/app",
        &digest,
        data.len() as u64,
    ))
    .unwrap();
    assert_eq!(head_blob(&dst.addr(), "probe/app", &digest), 200);
}
