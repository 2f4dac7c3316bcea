//! Pull verification against a real distribution registry (anonymous): facts recorded,
//! failures isolated per version, levels, and zero requests for unchanged versions.

mod support;

use support::*;

fn anon() -> (RegistryProc, Catalogue) {
    let reg = RegistryProc::start(Auth::None);
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&reg.addr()]));
    (reg, cat)
}

#[test]
fn apply_records_digest_platforms_labels_size_end_to_end() {
    let (reg, cat) = anon();
    let host = reg.addr();
    let single = push_image(
        &host,
        "acme/single",
        Some("1.0"),
        &Img::new("s").label("org.opencontainers.image.vendor", "acme"),
    );
    let (idx_digest, idx_size, _) = push_index(
        &host,
        "acme/multi",
        "2.0",
        &[
            Img::new("m1").label("team", "infra"),
            Img::new("m2").platform("linux", "arm64", Some("v8")),
        ],
    );
    cat.listing(&Listing::new("single", &host, "acme/single", "1.0"));
    cat.listing(&Listing::new("multi", &host, "acme/multi", "2.0"));
    let out = cat.apply(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("2 reference(s) verified, 0 failed"),
        "{stdout}"
    );

    let s = cat.version("single", "1.0.0");
    assert_eq!(s["status"], "testing");
    assert_eq!(s["digest"], single.digest.as_str());
    assert_eq!(
        s["pull"],
        format!("{host}/acme/single@{}", single.digest).as_str()
    );
    assert_eq!(s["platforms"], serde_json::json!(["linux/amd64"]));
    assert_eq!(
        s["configLabels"],
        serde_json::json!({"org.opencontainers.image.vendor": "acme"})
    );
    assert_eq!(s["size"], single.size);
    assert_eq!(s["verification"]["state"], "passed");
    assert_eq!(s["verification"]["level"], "blobs");

    let m = cat.version("multi", "1.0.0");
    assert_eq!(m["digest"], idx_digest.as_str());
    assert_eq!(
        m["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64/v8"])
    );
    assert_eq!(m["configLabels"], serde_json::json!({"team": "infra"}));
    assert_eq!(m["size"], idx_size);
}

#[test]
fn missing_tag_fails_only_that_version() {
    let (reg, cat) = anon();
    let host = reg.addr();
    push_image(&host, "acme/ok", Some("1"), &Img::new("ok"));
    cat.listing(&Listing::new("good", &host, "acme/ok", "1"));
    cat.listing(&Listing::new("bad", &host, "acme/ok", "does-not-exist"));
    cat.apply(&[]);
    let bad = cat.version("bad", "1.0.0");
    assert_eq!(bad["status"], "check-failed");
    let reason = bad["verification"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("manifest unknown") && reason.contains("404"),
        "{reason}"
    );
    assert!(bad["digest"].is_null());
    let good = cat.version("good", "1.0.0");
    assert_eq!(good["status"], "testing");
    assert_eq!(good["verification"]["state"], "passed");
}

#[test]
fn missing_blob_fails_at_blobs_level_but_not_manifest_level() {
    let (reg, cat) = anon();
    let host = reg.addr();
    let p = push_image(&host, "acme/holey", Some("1"), &Img::new("h"));
    std::fs::remove_file(reg.blob_path(&p.layers[1])).unwrap();
    cat.listing(&Listing::new("holey", &host, "acme/holey", "1"));

    let plan = cat.plan(&["--verify", "manifest"]);
    let v = verification(&plan, "holey");
    assert_eq!(v["result"], "passed", "{plan:#}");
    assert_eq!(v["digest"], p.digest.as_str());

    let plan = cat.plan(&[]);
    let v = verification(&plan, "holey");
    assert_eq!(v["result"], "failed", "{plan:#}");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains("missing blob") && reason.contains(&p.layers[1]),
        "{reason}"
    );
}

#[test]
fn full_level_detects_corrupted_blob() {
    let (reg, cat) = anon();
    let host = reg.addr();
    let p = push_image(&host, "acme/rot", Some("1"), &Img::new("r"));
    let path = reg.blob_path(&p.layers[0]);
    let len = std::fs::read(&path).unwrap().len();
    std::fs::write(&path, vec![b'X'; len]).unwrap();
    cat.listing(&Listing::new("rot", &host, "acme/rot", "1"));

    let plan = cat.plan(&["--verify", "blobs"]);
    assert_eq!(verification(&plan, "rot")["result"], "passed", "{plan:#}");
    let plan = cat.plan(&["--verify", "full"]);
    let v = verification(&plan, "rot");
    assert_eq!(v["result"], "failed", "{plan:#}");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains("digest mismatch") && reason.contains(&p.layers[0]),
        "{reason}"
    );
    // full downloads every blob: manifest GET, config GET (read whole), and one GET per
    // layer instead of a HEAD; the corrupted one is not asked for again.
    assert_eq!(plan["verifyStats"]["requests"], 4, "{plan:#}");
    assert_eq!(plan["verifyStats"]["retries"], 0, "{plan:#}");
}

#[test]
fn unchanged_released_versions_make_zero_requests() {
    let reg = RegistryProc::start(Auth::None);
    let proxy = FaultProxy::start(reg.addr(), std::sync::Arc::new(|_, _| Fault::Pass));
    let host = proxy.addr();
    push_image(&reg.addr(), "acme/rel", Some("1"), &Img::new("rel"));
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    cat.listing(&Listing::new("rel", &host, "acme/rel", "1").release("new", "released"));
    cat.apply(&[]);
    assert_eq!(cat.version("rel", "1.0.0")["status"], "released");
    // Released directly: verified once through the proxy (manifest GET, config GET, two
    // layer HEADs).
    let used = proxy.count();
    assert_eq!(used, 4, "verification went through the proxy");
    let before = cat.index_text();

    let plan = cat.plan(&[]);
    assert_eq!(plan["verifyStats"]["requests"], 0, "{plan:#}");
    assert_eq!(plan["changed"], false);
    let out = cat.apply(&[]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "No changes. The index is up to date.\n\n\
             index.json:1:1: warning[E0503]: index.json is checked for content only: the edit check starts with berth's first commit of it\n  \
             hint: berth's commits carry a `Berth-Index-Sha256` trailer; a shallow clone may not reach them (actions/checkout: `fetch-depth: 0`)\n\
             0 error(s), 1 warning(s)\n\
             {} unchanged.\n",
            cat.root.join("index.json").display()
        )
    );
    assert_eq!(proxy.count(), used, "no request reached the registry");
    assert_eq!(cat.index_text(), before);
}

#[test]
fn plan_reports_request_counts() {
    let (reg, cat) = anon();
    let host = reg.addr();
    push_image(&host, "acme/c", Some("1"), &Img::new("c"));
    cat.listing(&Listing::new("c", &host, "acme/c", "1"));
    let o = cat.berth(&["plan"]);
    let s = String::from_utf8_lossy(&o.stdout);
    // manifest GET + config GET + 2 layer HEADs.
    assert!(
        s.contains("1 reference(s) verified, 0 failed; 4 request(s), 0 retr(ies)"),
        "{}",
        text(&o)
    );
}

#[test]
fn shared_blobs_are_checked_once_per_run() {
    let (reg, cat) = anon();
    let host = reg.addr();
    let mut a = Img::new("shared").label("n", "a");
    let mut b = Img::new("shared").label("n", "b");
    a.layers = vec![b"base-layer".to_vec(), b"app-layer".to_vec()];
    b.layers = a.layers.clone();
    let pa = push_image(&host, "acme/s", Some("a"), &a);
    let pb = push_image(&host, "acme/s", Some("b"), &b);
    assert_eq!(pa.layers, pb.layers);
    assert_ne!(pa.digest, pb.digest);
    cat.listing(&Listing::new("sa", &host, "acme/s", "a"));
    cat.listing(&Listing::new("sb", &host, "acme/s", "b"));
    let plan = cat.plan(&[]);
    // 2 × (manifest GET + config GET) + 2 layer HEADs shared by both images.
    assert_eq!(plan["verifyStats"]["requests"], 6, "{plan:#}");
    assert_eq!(verification(&plan, "sa")["result"], "passed");
    assert_eq!(verification(&plan, "sb")["result"], "passed");
}

/// `--offline` asks nothing: every distinct reference is `Skipped` and counted (here on
/// loopback ports nothing listens on, so a request would fail, never reach anything).
#[test]
fn offline_verification_asks_nothing_and_counts_the_references() {
    use berth::lifecycle::{VerifyOutcome, VerifyRequest};
    use berth::verify::{Level, verify_all};
    let req = |code: &str, reference: &str| VerifyRequest {
        code: code.into(),
        version: "1.0.0".into(),
        reference: reference.into(),
        credential: None,
        known_digest: None,
        supply: None,
    };
    let a = format!("127.0.0.1:{}/acme/a:1", free_port());
    let b = format!("127.0.0.1:{}/acme/b:1", free_port());
    let requests = vec![req("a", &a), req("b", &b), req("b", &b)];
    let config = berth::model::Config::default();
    let (out, stats) = verify_all(
        &requests,
        true,
        Level::Blobs,
        &config,
        std::path::Path::new("."),
        &berth::model::progress::Silent,
    )
    .unwrap();
    assert_eq!(
        out,
        [(a, VerifyOutcome::Skipped), (b, VerifyOutcome::Skipped)].into()
    );
    assert_eq!((stats.references, stats.requests, stats.retries), (2, 0, 0));
}

/// An image config is read whole (berth needs its labels) up to 16 MiB; a larger one is
/// refused without being downloaded.
#[test]
fn image_configs_are_read_up_to_16_mib() {
    let (reg, cat) = anon();
    let host = reg.addr();
    let big = push_image(
        &host,
        "acme/big",
        Some("1"),
        &Img::new("big").label("blob", &"x".repeat(2 * 1024 * 1024)),
    );
    let huge = push_image(
        &host,
        "acme/huge",
        Some("1"),
        &Img::new("huge").label("blob", &"x".repeat(16 * 1024 * 1024)),
    );
    // A config of exactly 16 MiB: the label grows it byte for byte.
    let config_len = |p: &Pushed| std::fs::metadata(reg.blob_path(&p.config)).unwrap().len();
    let base = config_len(&big) - 2 * 1024 * 1024;
    let exact = push_image(
        &host,
        "acme/exact",
        Some("1"),
        &Img::new("big").label("blob", &"x".repeat((16 * 1024 * 1024 - base) as usize)),
    );
    assert_eq!(config_len(&exact), 16 * 1024 * 1024);
    cat.listing(&Listing::new("big", &host, "acme/big", "1"));
    cat.listing(&Listing::new("exact", &host, "acme/exact", "1"));
    cat.listing(&Listing::new("huge", &host, "acme/huge", "1"));
    let plan = cat.plan(&["--verify", "manifest"]);
    assert_eq!(verification(&plan, "big")["result"], "passed", "{plan:#}");
    assert_eq!(verification(&plan, "big")["digest"], big.digest.as_str());
    assert_eq!(verification(&plan, "exact")["result"], "passed", "{plan:#}");
    let v = verification(&plan, "huge");
    assert_eq!(v["result"], "failed", "{plan:#}");
    let size = std::fs::metadata(reg.blob_path(&huge.config))
        .unwrap()
        .len();
    assert_eq!(
        v["reason"],
        format!(
            "blob {} is {size} bytes, more than the 16777216 bytes berth reads whole",
            huge.config
        )
        .as_str()
    );
    // big, exact: manifest and config GETs; huge: its manifest only, the config is never
    // asked for.
    assert_eq!(plan["verifyStats"]["requests"], 5, "{plan:#}");
}
