//! Supply-chain artefacts against the real registry (`docker-registry` 2.8: no OCI 1.1
//! referrers API, so berth reads the referrers tag schema and cosign's tags): signatures made
//! by openssl in exactly the formats cosign writes (simple signing `.sig`, Sigstore bundle
//! v0.3 referrer), SPDX SBOMs and SARIF reports attached as referrers.
//!
//! - A policy requiring a signature, an SBOM and a clean report promotes the signed images
//!   with their artefacts (which still verify at the target) and rejects an unsigned and a
//!   critical-vulnerable one, naming the failed criterion in the plan.
//! - A listing requiring a signature is `check-failed` once the signature is removed, and
//!   `testing` again once the image is signed again; index.json records the key fingerprints,
//!   SBOM and vulnerability counts; referrers are looked up only for such listings.
//! - Bad keys are validation errors E0601/E0602 at the key's position; an empty
//!   `vulnerabilities` criterion is E0603.

mod support;

use support::cosign::*;
use support::*;

fn policy(cat: &Catalogue, file: &str, yaml: &str) {
    let dir = cat.root.join("policies");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), yaml).unwrap();
}

/// A listing with `verify: { signature: { key } }`.
fn signed_listing(cat: &Catalogue, code: &str, host: &str, repo: &str, tag: &str, key: &str) {
    cat.listing(&Listing::new(code, host, repo, tag));
    let p = cat.root.join(format!("images/{code}.yaml"));
    let mut y = std::fs::read_to_string(&p).unwrap();
    y.push_str(&format!("verify:\n  signature:\n    key: {key}\n"));
    std::fs::write(p, y).unwrap();
}

fn tags(addr: &str, repo: &str) -> Vec<String> {
    let r = http("GET", addr, &format!("/v2/{repo}/tags/list"), &[], b"").unwrap();
    if r.status != 200 {
        return Vec::new();
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let mut t: Vec<String> = v["tags"]
        .as_array()
        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    t.sort();
    t
}

/// The digests a tag-schema index lists.
fn listed(addr: &str, repo: &str, image: &str) -> Vec<String> {
    let r = http(
        "GET",
        addr,
        &format!("/v2/{repo}/manifests/sha256-{}", &image[7..]),
        &[("Accept", OCI_INDEX)],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 200, "no referrers index for {image} in {repo}");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let mut d: Vec<String> = v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["digest"].as_str().unwrap().to_string())
        .collect();
    d.sort();
    d
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn signed_images_are_promoted_with_their_artefacts_unsigned_and_critical_ones_are_not() {
    let reg = RegistryProc::start(Auth::None);
    let addr = reg.addr();
    let key = KeyPair::generate();
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&addr]));
    key.install(&cat.root, "keys/team.pub");

    // 1: cosign ≤ 2 signature, SBOM, a report with 2 high (allowed: ≤ 3).
    let one = push_image(&addr, "dev/app", Some("1-signed"), &Img::new("one")).digest;
    let one_sig = push_cosign_sig(&addr, "dev/app", &one, &format!("{addr}/dev/app"), &key);
    let one_sbom = push_sbom(&addr, "dev/app", &one);
    let one_report = push_sarif(&addr, "dev/app", &one, 0, 2);
    // 2: no signature.
    let two = push_image(&addr, "dev/app", Some("2-unsigned"), &Img::new("two")).digest;
    push_sbom(&addr, "dev/app", &two);
    push_sarif(&addr, "dev/app", &two, 0, 0);
    // 3: signed (bundle), but one critical vulnerability.
    let three = push_image(&addr, "dev/app", Some("3-critical"), &Img::new("three")).digest;
    push_bundle(&addr, "dev/app", &three, &key);
    push_sbom(&addr, "dev/app", &three);
    push_sarif(&addr, "dev/app", &three, 1, 0);
    // 4: cosign 3 bundle signature, SBOM, clean report.
    let four = push_image(&addr, "dev/app", Some("4-bundle"), &Img::new("four")).digest;
    let four_bundle = push_bundle(&addr, "dev/app", &four, &key);
    let four_sbom = push_sbom(&addr, "dev/app", &four);
    let four_report = push_sarif(&addr, "dev/app", &four, 0, 0);
    policy(
        &cat,
        "signed-to-qa.yaml",
        &format!(
            r#"name: signed-to-qa
source: {{ registry: "{addr}", repository: dev/app }}
criteria:
  - signature: {{ key: keys/team.pub }}
  - sbom: present
  - vulnerabilities: {{ critical: 0, high: 3 }}
target: {{ registry: "{addr}", repository: qa/app, tag: "%n" }}
"#
        ),
    );

    let plan = cat.plan(&[]);
    let pending: Vec<&str> = plan["promotions"]["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["source"].as_str().unwrap())
        .collect();
    assert_eq!(
        pending,
        vec![
            format!("{addr}/dev/app:1-signed"),
            format!("{addr}/dev/app:4-bundle")
        ]
    );
    let rejected: Vec<(String, String)> = plan["promotions"]["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["source"].as_str().unwrap().to_string(),
                r["criterion"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let short = &key.fingerprint[..19];
    assert_eq!(
        rejected,
        vec![
            (
                format!("{addr}/dev/app:2-unsigned"),
                format!(
                    "signature keys/team.pub: no valid signature by keys/team.pub ({short}…): no signature is attached to {two}"
                )
            ),
            (
                format!("{addr}/dev/app:3-critical"),
                "vulnerabilities: 1 critical > 0".to_string()
            ),
        ],
        "{:#}",
        plan["promotions"]
    );
    // The artefact tags in dev/app are never candidates.
    assert_eq!(plan["promotions"]["notMatching"], 2);
    let shown = cat.berth(&["plan"]);
    let out = String::from_utf8_lossy(&shown.stdout);
    assert!(
        out.contains(&format!(
            "  rejected: signed-to-qa {addr}/dev/app:3-critical ({}): vulnerabilities: 1 critical > 0\n",
            &three[..19]
        )),
        "{out}"
    );

    cat.apply(&[]);
    // At the target: both images, the cosign tag (same digest), and a referrers index
    // listing every referrer; nothing of the rejected ones.
    let qa_tags = tags(&addr, "qa/app");
    assert_eq!(
        qa_tags,
        sorted(vec![
            "1-signed".into(),
            "4-bundle".into(),
            format!("sha256-{}", &one[7..]),
            format!("sha256-{}.sig", &one[7..]),
            format!("sha256-{}", &four[7..]),
        ])
    );
    assert_eq!(
        tag_digest_of(&addr, "qa/app", &format!("sha256-{}.sig", &one[7..])),
        Some(one_sig.clone())
    );
    assert_eq!(
        listed(&addr, "qa/app", &one),
        sorted(vec![one_sbom.clone(), one_report.clone()])
    );
    assert_eq!(
        listed(&addr, "qa/app", &four),
        sorted(vec![
            four_bundle.clone(),
            four_sbom.clone(),
            four_report.clone()
        ])
    );
    // Recorded with the promotion.
    let idx = cat.index();
    let recs = idx["promotions"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    let arts = |i: usize| -> Vec<(String, String, Option<String>)> {
        recs[i]["artefacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["digest"].as_str().unwrap().to_string(),
                    a["kind"].as_str().unwrap().to_string(),
                    a["tag"].as_str().map(str::to_string),
                )
            })
            .collect()
    };
    let mut want_one = vec![
        (
            one_sig.clone(),
            "signature".to_string(),
            Some(format!("sha256-{}.sig", &one[7..])),
        ),
        (one_sbom.clone(), "sbom".to_string(), None),
        (one_report.clone(), "scan-report".to_string(), None),
    ];
    want_one.sort();
    assert_eq!(arts(0), want_one);
    assert_eq!(recs[1]["source"], format!("{addr}/dev/app:4-bundle"));
    assert_eq!(arts(1).len(), 3);

    // A rerun promotes nothing again and changes nothing.
    let before = cat.index_text();
    let o = cat.apply(&[]);
    assert_eq!(cat.index_text(), before, "{}", text(&o));
    assert_eq!(tags(&addr, "qa/app"), qa_tags);

    // At the target the signatures still verify (docker-reference is ignored): listings of
    // the promoted images requiring the key pass and record what is attached.
    signed_listing(&cat, "qa-one", &addr, "qa/app", "1-signed", "keys/team.pub");
    signed_listing(
        &cat,
        "qa-four",
        &addr,
        "qa/app",
        "4-bundle",
        "keys/team.pub",
    );
    cat.apply(&[]);
    for (code, high) in [("qa-one", 2), ("qa-four", 0)] {
        let v = cat.version(code, "1.0.0");
        assert_eq!(v["status"], "testing", "{v:#}");
        assert_eq!(
            v["supplyChain"],
            serde_json::json!({"sbom": true, "signatureKeys": [key.fingerprint],
                "vulnerabilities": {"critical": 0, "high": high, "low": 0, "medium": 0}}),
            "{code}"
        );
    }
}

#[test]
fn a_listing_requiring_a_signature_fails_verification_when_the_signature_is_removed() {
    let reg = RegistryProc::start(Auth::None);
    let addr = reg.addr();
    let key = KeyPair::generate();
    let other = KeyPair::generate();
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&addr]));
    key.install(&cat.root, "keys/team.pub");
    other.install(&cat.root, "keys/other.pub");
    let img = push_image(&addr, "team/app", Some("1.0"), &Img::new("app")).digest;
    let bundle = push_bundle(&addr, "team/app", &img, &key);
    push_sbom(&addr, "team/app", &img);
    signed_listing(&cat, "app", &addr, "team/app", "1.0", "keys/team.pub");
    // An image without `verify:`: its referrers are never looked up.
    push_image(&addr, "team/plain", Some("1.0"), &Img::new("plain"));
    cat.listing(&Listing::new("plain", &addr, "team/plain", "1.0"));

    let plan = cat.plan(&[]);
    assert_eq!(plan["verifyStats"]["referrerLookups"], 1, "{plan:#}");
    cat.apply(&[]);
    let v = cat.version("app", "1.0.0");
    assert_eq!(v["status"], "testing", "{v:#}");
    assert_eq!(
        v["supplyChain"],
        serde_json::json!({"sbom": true, "signatureKeys": [key.fingerprint]})
    );
    assert_eq!(cat.version("plain", "1.0.0").get("supplyChain"), None);

    // The signature removed (the referrers index deleted, as `cosign clean` does): the next
    // run re-verifies the testing tag and the version fails its check, with the reason.
    let idx_digest = tag_digest_of(&addr, "team/app", &format!("sha256-{}", &img[7..])).unwrap();
    delete_manifest(&addr, "team/app", &idx_digest);
    delete_manifest(&addr, "team/app", &bundle);
    cat.apply(&[]);
    let v = cat.version("app", "1.0.0");
    assert_eq!(v["status"], "check-failed", "{v:#}");
    assert_eq!(
        v["verification"]["reason"],
        format!(
            "signature: no valid signature by keys/team.pub ({}…): no signature is attached to {img}",
            &key.fingerprint[..19]
        )
    );
    assert_eq!(v.get("supplyChain"), None);

    // Signed again, by another key: still failing, and saying so.
    push_cosign_sig(&addr, "team/app", &img, &format!("{addr}/team/app"), &other);
    cat.apply(&[]);
    let v = cat.version("app", "1.0.0");
    assert_eq!(v["status"], "check-failed");
    assert!(
        v["verification"]["reason"]
            .as_str()
            .unwrap()
            .ends_with("the signature does not verify with keys/team.pub"),
        "{v:#}"
    );
    // Signed by the required key (cosign ≤ 2 format): testing again, recorded.
    let tag = format!("sha256-{}.sig", &img[7..]);
    let old = tag_digest_of(&addr, "team/app", &tag).unwrap();
    delete_manifest(&addr, "team/app", &old);
    push_cosign_sig(&addr, "team/app", &img, &format!("{addr}/team/app"), &key);
    cat.apply(&[]);
    let v = cat.version("app", "1.0.0");
    assert_eq!(v["status"], "testing", "{v:#}");
    assert_eq!(
        v["supplyChain"],
        serde_json::json!({"sbom": false, "signatureKeys": [key.fingerprint]})
    );
}

#[test]
fn bad_keys_and_empty_limits_are_validation_errors_at_their_position() {
    let cat = Catalogue::new("");
    let key = KeyPair::generate();
    signed_listing(
        &cat,
        "gone",
        "reg.example",
        "team/gone",
        "1",
        "keys/missing.pub",
    );
    signed_listing(
        &cat,
        "outside",
        "reg.example",
        "team/out",
        "1",
        "../team.pub",
    );
    std::fs::create_dir_all(cat.root.join("keys")).unwrap();
    std::fs::copy(&key.private, cat.root.join("keys/private.pem")).unwrap();
    policy(
        &cat,
        "p.yaml",
        "name: p\nsource: { registry: reg.example, repository: dev/app }\ncriteria:\n  - signature: { key: keys/private.pem }\n  - vulnerabilities: {}\ntarget: { registry: reg.example, repository: qa/app, tag: \"%n\" }\n",
    );
    let o = cat.berth(&["validate"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().filter(|l| l.contains(": error[")).collect();
    assert_eq!(
        lines,
        vec![
            "images/gone.yaml:14:10: error[E0601]: key file `keys/missing.pub` cannot be read: No such file or directory (os error 2)",
            "images/outside.yaml:14:10: error[E0601]: key path `../team.pub` leaves the catalogue",
            "policies/p.yaml:4:23: error[E0602]: `keys/private.pem` holds a private key; a catalogue holds only public keys",
            "policies/p.yaml:5:22: error[E0603]: vulnerabilities criterion sets no limit",
        ],
        "{out}"
    );
}
