//! Drift: a released version whose tag moved is reported (opt-in `--check-drift`), recorded
//! as `drift` in the index, and its pin (digest, pull) never changes.

mod support;

use support::*;

#[test]
fn moved_tag_is_drift_and_pin_stays() {
    let reg = RegistryProc::start(Auth::None);
    let host = reg.addr();
    let first = push_image(&host, "acme/d", Some("1"), &Img::new("d1"));
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    cat.listing(&Listing::new("d", &host, "acme/d", "1").release("new", "released"));
    cat.apply(&[]);
    let pinned = cat.version("d", "1.0.0");
    assert_eq!(pinned["digest"], first.digest.as_str());

    // Somebody pushes another image under the released tag.
    let moved = push_image(&host, "acme/d", Some("1"), &Img::new("d2"));
    assert_ne!(moved.digest, first.digest);

    // Without the flag: no request at all, no change.
    let plan = cat.plan(&[]);
    assert_eq!(plan["verifyStats"]["requests"], 0);
    assert_eq!(plan["changed"], false);

    let plan = cat.plan(&["--check-drift"]);
    let drift: Vec<&serde_json::Value> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "drift")
        .collect();
    assert_eq!(drift.len(), 1, "{plan:#}");
    let msg = drift[0]["message"].as_str().unwrap();
    assert!(
        msg.contains(&moved.digest) && msg.contains("pin unchanged"),
        "{msg}"
    );

    let o = cat.apply(&["--check-drift"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let head: Vec<&str> = stdout.lines().take(3).collect();
    assert_eq!(
        head,
        vec![
            "1 change(s) in 1 image(s):".to_string(),
            format!(
                "  d@1.0.0: drift: tag {host}/acme/d:1 now points at {}, pinned {} (pin unchanged)",
                moved.digest, first.digest
            ),
            // The newest released version is re-resolved: manifest GET, config GET, 2 HEADs.
            "Verification: 1 reference(s) verified, 0 failed; 4 request(s), 0 retr(ies)"
                .to_string(),
        ],
        "{stdout}"
    );
    assert!(
        stdout.ends_with(&format!(
            "Wrote {}.\n",
            cat.root.join("index.json").display()
        )),
        "{stdout}"
    );
    let v = cat.version("d", "1.0.0");
    assert_eq!(v["status"], "released");
    assert_eq!(v["digest"], first.digest.as_str(), "pin unchanged");
    assert_eq!(v["pull"], pinned["pull"]);
    assert_eq!(v["drift"]["digest"], moved.digest.as_str());
    assert_eq!(v["updatedAt"], pinned["updatedAt"]);
    // Channels keep pulling the pinned digest.
    let idx = cat.index();
    assert_eq!(
        idx["images"]["d"]["channels"]["latest"]["pull"],
        pinned["pull"]
    );

    // Idempotent while the tag stays moved.
    let before = cat.index_text();
    cat.apply(&["--check-drift"]);
    assert_eq!(cat.index_text(), before);

    // The tag is moved back: drift is cleared.
    let back = push_image(&host, "acme/d", Some("1"), &Img::new("d1"));
    assert_eq!(back.digest, first.digest);
    cat.apply(&["--check-drift"]);
    let v = cat.version("d", "1.0.0");
    assert!(v.get("drift").is_none(), "{v:#}");
    assert_eq!(v, pinned);
}

#[test]
fn drift_check_failure_changes_nothing() {
    let reg = RegistryProc::start(Auth::None);
    let host = reg.addr();
    push_image(&host, "acme/g", Some("1"), &Img::new("g"));
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    cat.listing(&Listing::new("g", &host, "acme/g", "1").release("new", "released"));
    cat.apply(&[]);
    let before = cat.index_text();
    // Delete the tag: the drift check fails, the released version is untouched.
    let r = http(
        "GET",
        &host,
        "/v2/acme/g/manifests/1",
        &[("Accept", OCI_MANIFEST)],
        b"",
    )
    .unwrap();
    let digest = r.header("docker-content-digest").unwrap().to_string();
    let d = http(
        "DELETE",
        &host,
        &format!("/v2/acme/g/manifests/{digest}"),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(d.status, 202);
    let plan = cat.plan(&["--check-drift"]);
    assert_eq!(verification(&plan, "g")["result"], "failed");
    assert_eq!(plan["changed"], false);
    cat.apply(&["--check-drift"]);
    assert_eq!(cat.index_text(), before);
}
