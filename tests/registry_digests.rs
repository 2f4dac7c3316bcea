//! "A recorded digest is one the registry serves" (issue 9), end to end with the berth binary
//! through the fault proxy in front of the real registry: an intermediary that rewrites the
//! manifest of a tag and drops `Docker-Content-Digest` (the digest of the bytes received is
//! then pulled by digest: a 404 is a verification failure, never a recorded digest), a
//! header that disagrees with the body, and the price of the check (one extra request, only
//! when the header is missing). Promotion follows the same rule.

mod support;

use std::sync::Arc;

use support::*;

const ACCEPT: &str =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";

/// The manifest bytes a tag serves, read from the registry itself.
fn manifest_bytes(addr: &str, repo: &str, reference: &str) -> (u16, Vec<u8>) {
    let r = http(
        "GET",
        addr,
        &format!("/v2/{repo}/manifests/{reference}"),
        &[("Accept", ACCEPT)],
        b"",
    )
    .unwrap();
    (r.status, r.body)
}

/// A registry with `acme/app:1`, a proxy that answers `GET`/`HEAD` of the tag `1` through
/// `rewrite` (everything else passes), and a catalogue listing `app` through the proxy.
fn setup(rewrite: fn(Vec<u8>) -> Vec<u8>) -> (RegistryProc, FaultProxy, Catalogue, Pushed) {
    let reg = RegistryProc::start(Auth::None);
    let pushed = push_image(&reg.addr(), "acme/app", Some("1"), &Img::new("app"));
    let proxy = FaultProxy::start(
        reg.addr(),
        Arc::new(move |_, line: &str| {
            if line.contains("/v2/acme/app/manifests/1 ") {
                Fault::Rewrite(rewrite)
            } else {
                Fault::Pass
            }
        }),
    );
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&proxy.addr()]));
    cat.listing(&Listing::new("app", &proxy.addr(), "acme/app", "1"));
    (reg, proxy, cat, pushed)
}

fn requests_for(proxy: &FaultProxy, needle: &str) -> usize {
    proxy
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(needle))
        .count()
}

#[test]
fn rewritten_manifest_without_digest_header_is_check_failed_never_recorded() {
    let (reg, proxy, cat, pushed) = setup(served::reformat_and_drop_digest);
    let (_, original) = manifest_bytes(&reg.addr(), "acme/app", "1");
    assert_eq!(sha256(&original), pushed.digest);
    let received = sha256(&served::reformatted(&original));
    // The reproduction: the registry does not serve the digest of the rewritten bytes.
    assert_eq!(manifest_bytes(&reg.addr(), "acme/app", &received).0, 404);
    let reason = format!(
        "manifest acme/app:1: no Docker-Content-Digest, and the registry does not serve the \
         sha256 of the bytes received ({received}): manifest unknown (404)"
    );

    let plan = cat.plan(&[]);
    let v = verification(&plan, "app");
    assert_eq!(v["result"], "failed", "{plan:#}");
    assert_eq!(v["reason"], reason.as_str());
    // The check is one GET by that digest, after the GET by tag.
    assert_eq!(plan["verifyStats"]["requests"], 2, "{plan:#}");
    assert_eq!(
        requests_for(&proxy, &format!("GET /v2/acme/app/manifests/{received} ")),
        1
    );

    let out = cat.apply(&[]);
    let v = cat.version("app", "1.0.0");
    assert_eq!(v["status"], "check-failed", "{}", text(&out));
    assert_eq!(v["verification"]["reason"], reason.as_str());
    assert!(v["digest"].is_null(), "{v:#}");
    assert!(v["pull"].is_null(), "{v:#}");
    // The digest appears only in the reason, never as a recorded digest or pull reference.
    let index = cat.index_text();
    assert!(
        !index.contains(&format!("\"digest\": \"{received}\"")),
        "{index}"
    );
    assert!(!index.contains(&format!("@{received}")), "{index}");
}

#[test]
fn digest_header_that_disagrees_with_the_body_is_check_failed() {
    let (_reg, proxy, cat, pushed) = setup(served::wrong_digest);
    let out = cat.apply(&[]);
    let v = cat.version("app", "1.0.0");
    assert_eq!(v["status"], "check-failed", "{}", text(&out));
    assert_eq!(
        v["verification"]["reason"],
        format!(
            "manifest acme/app:1: Docker-Content-Digest {} is not the sha256 of the bytes \
             received ({})",
            served::unrelated_digest(),
            pushed.digest
        )
        .as_str()
    );
    assert!(v["digest"].is_null(), "{v:#}");
    // Nothing else was asked: the first answer already failed.
    assert_eq!(proxy.count(), 1, "{:?}", proxy.log.lock().unwrap());
}

#[test]
fn missing_digest_header_costs_exactly_one_request() {
    let (_reg, proxy, cat, pushed) = setup(served::drop_digest);
    let plan = cat.plan(&[]);
    let v = verification(&plan, "app");
    assert_eq!(v["result"], "passed", "{plan:#}");
    assert_eq!(v["digest"], pushed.digest.as_str());
    // manifest GET + config GET + 2 layer HEADs (see registry_verify.rs) + 1 GET by digest.
    assert_eq!(plan["verifyStats"]["requests"], 5, "{plan:#}");
    assert_eq!(
        requests_for(
            &proxy,
            &format!("GET /v2/acme/app/manifests/{} ", pushed.digest)
        ),
        1
    );

    cat.apply(&[]);
    let v = cat.version("app", "1.0.0");
    assert_eq!(v["status"], "testing");
    assert_eq!(v["digest"], pushed.digest.as_str());
}

#[test]
fn digest_header_present_costs_no_extra_request() {
    let (_reg, proxy, cat, pushed) = setup(|raw| raw);
    let plan = cat.plan(&[]);
    assert_eq!(verification(&plan, "app")["digest"], pushed.digest.as_str());
    assert_eq!(plan["verifyStats"]["requests"], 4, "{plan:#}");
    assert_eq!(
        requests_for(&proxy, &format!("/v2/acme/app/manifests/{}", pushed.digest)),
        0
    );
}

#[test]
fn manual_promotion_of_a_rewritten_manifest_records_nothing() {
    let (reg, proxy, cat, _) = setup(served::reformat_and_drop_digest);
    let (_, original) = manifest_bytes(&reg.addr(), "acme/app", "1");
    let received = sha256(&served::reformatted(&original));
    let host = proxy.addr();
    let out = cat.berth(&[
        "promote",
        &format!("{host}/acme/app:1"),
        &format!("{host}/prod/app:1"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let reason = format!(
        "manifest acme/app:1: no Docker-Content-Digest, and the registry does not serve the \
         sha256 of the bytes received ({received}): manifest unknown (404)"
    );
    assert!(text(&out).contains(&reason), "{}", text(&out));
    assert_eq!(manifest_bytes(&reg.addr(), "prod/app", "1").0, 404);
    // Nothing recorded: no index was written.
    assert!(!cat.root.join("index.json").exists());
}

#[test]
fn manual_promotion_without_digest_header_records_the_served_digest() {
    let (reg, _proxy, cat, pushed) = setup(served::drop_digest);
    let host = reg.addr();
    let proxied = _proxy.addr();
    let out = cat.berth(&[
        "promote",
        &format!("{proxied}/acme/app:1"),
        &format!("{proxied}/prod/app:1"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (status, body) = manifest_bytes(&host, "prod/app", "1");
    assert_eq!((status, sha256(&body)), (200, pushed.digest.clone()));
    let recs = cat.index()["promotions"].clone();
    assert_eq!(recs[0]["sourceDigest"], pushed.digest.as_str(), "{recs:#}");
}
