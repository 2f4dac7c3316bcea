//! What is released is what was tested (DESIGN "Integrity of the state of record"), against
//! the real registry: a tag re-pushed while its version is `testing` is re-resolved by every
//! plan/apply (one HEAD), re-verified and recorded; a release whose tag moved in the run that
//! would release it is refused (E0401) while the new digest is recorded as `testing`; a
//! re-released cancelled version keeps the cancelled attempt in its history.

mod support;

use std::sync::Arc;

use support::integrity::git;
use support::*;

/// `sha256:` and the first 12 hex digits, then `…` (how change lines show digests).
fn short(d: &str) -> String {
    format!("{}…", &d[..19])
}

fn changes_of_kind<'p>(plan: &'p serde_json::Value, kind: &str) -> Vec<&'p serde_json::Value> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .collect()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The index validates against the checked-in schema.
fn assert_schema_valid(idx: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schema/index.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(idx).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{idx:#}");
}

#[test]
fn repushed_testing_tag_is_reverified_and_recorded() {
    let reg = RegistryProc::start(Auth::None);
    let upstream = reg.addr();
    // Every request goes through a logging proxy, so the test sees what berth asked.
    let proxy = FaultProxy::start(upstream.clone(), Arc::new(|_, _| Fault::Pass));
    let host = proxy.addr();
    let a = push_image(&upstream, "acme/t", Some("1"), &Img::new("t-a"));
    push_image(&upstream, "acme/rel", Some("1"), &Img::new("rel"));
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    cat.listing(&Listing::new("t", &host, "acme/t", "1").release("new", "testing"));
    cat.listing(&Listing::new("rel", &host, "acme/rel", "1").release("new", "released"));
    cat.apply(&[]);
    let recorded = cat.version("t", "1.0.0");
    assert_eq!(recorded["status"], "testing");
    assert_eq!(recorded["digest"], a.digest.as_str());
    let released = cat.version("rel", "1.0.0");

    // Nothing moved: one HEAD for the testing tag, zero requests for the released version.
    let seen = proxy.count();
    let plan = cat.plan(&[]);
    assert_eq!(plan["changed"], false, "{plan:#}");
    assert_eq!(plan["verifyStats"]["requests"], 1, "{plan:#}");
    let log = proxy.log.lock().unwrap()[seen..].to_vec();
    assert_eq!(log, ["HEAD /v2/acme/t/manifests/1 HTTP/1.1"]);
    assert_eq!(verification(&plan, "t")["result"], "unchanged");

    // The tag is re-pushed while 1.0.0 is testing.
    let b = push_image(&upstream, "acme/t", Some("1"), &Img::new("t-b"));
    assert_ne!(a.digest, b.digest);
    let plan = cat.plan(&[]);
    let repushed = changes_of_kind(&plan, "re-pushed");
    assert_eq!(repushed.len(), 1, "{plan:#}");
    assert_eq!(repushed[0]["code"], "t");
    assert_eq!(repushed[0]["version"], "1.0.0");
    let line = format!("re-pushed: {} → {}", short(&a.digest), short(&b.digest));
    assert_eq!(repushed[0]["message"], line.as_str());
    assert_eq!(plan["changed"], true);
    assert_eq!(verification(&plan, "t")["result"], "passed");
    assert_eq!(verification(&plan, "t")["digest"], b.digest.as_str());
    for (format, want) in [
        ("text", format!("  t@1.0.0: {line}\n")),
        ("markdown", format!("| `t` | 1.0.0 | {line} |\n")),
    ] {
        let o = cat.berth(&["plan", "--format", format]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(stdout(&o).contains(&want), "{format}: {}", text(&o));
    }

    let o = cat.apply(&[]);
    assert!(stdout(&o).contains(&line), "{}", text(&o));
    let v = cat.version("t", "1.0.0");
    assert_eq!(v["status"], "testing");
    assert_eq!(v["digest"], b.digest.as_str());
    assert_eq!(v["pull"], format!("{host}/acme/t@{}", b.digest).as_str());
    assert_eq!(v["verification"]["state"], "passed");
    assert_eq!(v["recordedAt"], recorded["recordedAt"]);
    // The debug project pulls what the index says.
    let idx = cat.index();
    assert_eq!(
        idx["images"]["t"]["testingChannels"]["latest"]["pull"],
        format!("{host}/acme/t@{}", b.digest).as_str()
    );
    assert_eq!(cat.version("rel", "1.0.0"), released);
    assert_schema_valid(&idx);

    // Settled: a no-op run is byte-identical and costs one HEAD.
    let before = cat.index_text();
    let plan = cat.plan(&[]);
    assert_eq!(plan["changed"], false, "{plan:#}");
    assert_eq!(plan["verifyStats"]["requests"], 1);
    cat.apply(&[]);
    assert_eq!(cat.index_text(), before);

    // Offline nothing can be re-resolved: the recorded digest stays, no change is reported.
    push_image(&upstream, "acme/t", Some("1"), &Img::new("t-c"));
    let plan = cat.plan(&["--offline"]);
    assert_eq!(plan["changed"], false, "{plan:#}");
    assert_eq!(plan["verifyStats"]["requests"], 0);
    cat.apply(&["--offline", "--skip-verify"]);
    assert_eq!(cat.index_text(), before);
}

#[test]
fn deleted_testing_tag_becomes_check_failed_and_offline_keeps_it_failed() {
    let reg = RegistryProc::start(Auth::None);
    let host = reg.addr();
    let a = push_image(&host, "acme/gone", Some("1"), &Img::new("gone"));
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    cat.listing(&Listing::new("gone", &host, "acme/gone", "1").release("new", "testing"));
    cat.apply(&[]);
    let d = http(
        "DELETE",
        &host,
        &format!("/v2/acme/gone/manifests/{}", a.digest),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(d.status, 202);
    let o = cat.apply(&[]);
    assert!(
        stdout(&o).contains("gone@1.0.0: testing → check-failed"),
        "{}",
        text(&o)
    );
    let v = cat.version("gone", "1.0.0");
    assert_eq!(v["status"], "check-failed");
    assert!(v["digest"].is_null(), "{v:#}");
    // Offline: a failed check is never turned back into testing.
    let before = cat.index_text();
    cat.apply(&["--offline", "--skip-verify"]);
    assert_eq!(cat.index_text(), before);
    // Pushed again: the next online run re-verifies it.
    let again = push_image(&host, "acme/gone", Some("1"), &Img::new("gone-2"));
    cat.apply(&[]);
    let v = cat.version("gone", "1.0.0");
    assert_eq!(v["status"], "testing");
    assert_eq!(v["digest"], again.digest.as_str());
}

#[test]
fn release_of_a_moved_tag_is_refused_and_the_new_digest_recorded() {
    let reg = RegistryProc::start(Auth::None);
    let host = reg.addr();
    let a = push_image(&host, "acme/r", Some("2"), &Img::new("r-a"));
    push_image(&host, "acme/other", Some("1"), &Img::new("other"));
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    cat.listing(&Listing::new("r", &host, "acme/r", "2").release("new", "testing"));
    cat.apply(&[]);
    assert_eq!(cat.version("r", "1.0.0")["digest"], a.digest.as_str());
    git(&cat.root, &["init", "-q"]);
    git(&cat.root, &["add", "-A"]);
    git(&cat.root, &["commit", "-q", "-m", "catalogue"]);

    // The tag moves, and in the same run the listing releases it; another image is added.
    let b = push_image(&host, "acme/r", Some("2"), &Img::new("r-b"));
    cat.listing(&Listing::new("r", &host, "acme/r", "2").release("new", "released"));
    cat.listing(&Listing::new("other", &host, "acme/other", "1").release("new", "testing"));

    let o = cat.berth(&["plan", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // The index was never committed by berth here, so E0503 (checked for content only) is
    // the one warning besides the refusal.
    let diags: Vec<&serde_json::Value> = plan["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] != "E0503")
        .collect();
    assert_eq!(diags.len(), 1, "{plan:#}");
    let d = diags[0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "E0401");
    assert_eq!(d["file"], "images/r.yaml");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(11), Some(10))
    );
    let msg = d["message"].as_str().unwrap();
    assert!(
        msg.contains(&a.digest) && msg.contains(&b.digest),
        "both digests named: {msg}"
    );
    assert_eq!(
        d["hint"],
        "release again after testing it: set stage: testing, test the new digest, then release"
    );
    let o = cat.berth(&["plan", "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stdout(&o).contains(
            "**1 error(s)** — refused releases stay testing; apply records everything else."
        ),
        "{}",
        text(&o)
    );
    assert!(
        stdout(&o).contains("| error | E0401 | `images/r.yaml:11:10` |"),
        "{}",
        text(&o)
    );
    // Other images are planned as usual.
    assert!(
        changes_of_kind(&plan, "new-image")
            .iter()
            .any(|c| c["code"] == "other"),
        "{plan:#}"
    );

    let o = cat.berth(&["apply", "--commit"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = stdout(&o);
    assert!(out.contains("E0401"), "{out}");
    assert!(
        out.contains("Refused releases stay testing; everything else is applied."),
        "{out}"
    );
    assert!(out.contains("Committed "), "{out}");
    // The index written is the index committed.
    assert_eq!(
        git(&cat.root, &["show", "HEAD:index.json"]),
        cat.index_text()
    );
    assert_eq!(git(&cat.root, &["status", "--porcelain", "index.json"]), "");
    assert!(
        out.contains(&format!(
            "r@1.0.0: re-pushed: {} → {}",
            short(&a.digest),
            short(&b.digest)
        )),
        "{out}"
    );
    assert!(!out.contains("testing → released"), "{out}");
    // The index is written: r stays testing with the new digest, the other image proceeds.
    let v = cat.version("r", "1.0.0");
    assert_eq!(v["status"], "testing", "{v:#}");
    assert_eq!(v["digest"], b.digest.as_str());
    assert_eq!(v["releaseRefused"]["testedDigest"], a.digest.as_str());
    assert_eq!(v["releaseRefused"]["tagDigest"], b.digest.as_str());
    assert_eq!(cat.version("other", "1.0.0")["status"], "testing");
    let idx = cat.index();
    assert!(idx["images"]["r"]["channels"].get("latest").is_none());
    assert_schema_valid(&idx);

    // The listing still says released: refused again (nothing was tested in between), and
    // the index does not change.
    let before = cat.index_text();
    let o = cat.berth(&["apply", "--commit"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stdout(&o).contains("E0401"), "{}", text(&o));
    assert!(stdout(&o).contains("Nothing to commit."), "{}", text(&o));
    assert_eq!(cat.index_text(), before);
    let o = cat.berth(&["validate"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stdout(&o).contains("E0401"), "{}", text(&o));

    // Back to testing (the refusal is acknowledged), then released: B is pinned.
    cat.listing(&Listing::new("r", &host, "acme/r", "2").release("new", "testing"));
    cat.apply(&[]);
    let v = cat.version("r", "1.0.0");
    assert!(v.get("releaseRefused").is_none(), "{v:#}");
    assert_eq!(v["status"], "testing");
    cat.listing(&Listing::new("r", &host, "acme/r", "2").release("new", "released"));
    cat.apply(&[]);
    let v = cat.version("r", "1.0.0");
    assert_eq!(v["status"], "released");
    assert_eq!(v["digest"], b.digest.as_str());
    assert_eq!(v["pull"], format!("{host}/acme/r@{}", b.digest).as_str());
}

#[test]
fn release_of_an_unmoved_tag_pins_the_tested_digest() {
    let reg = RegistryProc::start(Auth::None);
    let host = reg.addr();
    let a = push_image(&host, "acme/ok", Some("1"), &Img::new("ok"));
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    cat.listing(&Listing::new("ok", &host, "acme/ok", "1").release("new", "testing"));
    cat.apply(&[]);
    cat.listing(&Listing::new("ok", &host, "acme/ok", "1").release("new", "released"));
    let o = cat.apply(&[]);
    assert!(
        stdout(&o).contains("ok@1.0.0: testing → released"),
        "{}",
        text(&o)
    );
    let v = cat.version("ok", "1.0.0");
    assert_eq!(v["status"], "released");
    assert_eq!(v["digest"], a.digest.as_str());
    // Released and unchanged: zero requests from now on.
    let plan = cat.plan(&[]);
    assert_eq!(plan["verifyStats"]["requests"], 0, "{plan:#}");
    assert_eq!(plan["changed"], false);
}

#[test]
fn re_release_keeps_the_cancelled_attempt() {
    let reg = RegistryProc::start(Auth::None);
    let host = reg.addr();
    push_image(&host, "acme/c", Some("1"), &Img::new("c1"));
    let first = push_image(&host, "acme/c", Some("2"), &Img::new("c2"));
    let again = push_image(&host, "acme/c", Some("3"), &Img::new("c3"));
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    cat.listing(&Listing::new("c", &host, "acme/c", "1").release("new", "released"));
    cat.apply(&[]);
    cat.listing(&Listing::new("c", &host, "acme/c", "2").release("feature", "testing"));
    cat.apply(&[]);
    cat.listing(&Listing::new("c", &host, "acme/c", "2").release("feature", "cancelled"));
    cat.apply(&[]);
    let cancelled = cat.version("c", "1.1.0");
    assert_eq!(cancelled["status"], "cancelled");

    cat.listing(&Listing::new("c", &host, "acme/c", "3").release("re-release", "testing"));
    let o = cat.apply(&[]);
    assert!(stdout(&o).contains("re-release 1.1.0"), "{}", text(&o));
    let v = cat.version("c", "1.1.0");
    assert_eq!(v["status"], "testing");
    assert_eq!(v["digest"], again.digest.as_str());
    assert_eq!(v["reference"], format!("{host}/acme/c:3").as_str());
    assert_eq!(
        v["attempts"],
        serde_json::json!([{
            "reference": format!("{host}/acme/c:2"),
            "digest": first.digest,
            "releaseType": "feature",
            "recordedAt": cancelled["recordedAt"],
            "updatedAt": cancelled["updatedAt"],
        }]),
        "{v:#}"
    );
    assert_schema_valid(&cat.index());
    // No-op run: byte-identical.
    let before = cat.index_text();
    cat.apply(&[]);
    assert_eq!(cat.index_text(), before);
    // Released: the history stays.
    cat.listing(&Listing::new("c", &host, "acme/c", "3").release("re-release", "released"));
    cat.apply(&[]);
    let v = cat.version("c", "1.1.0");
    assert_eq!(v["status"], "released");
    assert_eq!(v["attempts"][0]["digest"], first.digest.as_str());
}

#[test]
fn without_a_digest_header_the_testing_tag_is_vouched_for_by_digest() {
    let reg = RegistryProc::start(Auth::None);
    let upstream = reg.addr();
    let proxy = support::integrity::DigestlessHeadProxy::start(upstream.clone());
    let host = proxy.addr();
    let a = push_image(&upstream, "acme/h", Some("1"), &Img::new("h-a"));
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    cat.listing(&Listing::new("h", &host, "acme/h", "1").release("new", "testing"));
    cat.apply(&[]);
    let before = cat.index_text();

    // The HEAD names no digest: the tag's manifest is read (this proxy drops the header only
    // from HEAD answers, so the GET's header vouches for the bytes; without one berth would
    // pull by digest too, see tests/registry_digests.rs); it is the recorded digest, so
    // nothing changes and nothing more is asked.
    let seen = proxy.count();
    let plan = cat.plan(&[]);
    assert_eq!(plan["changed"], false, "{plan:#}");
    assert_eq!(verification(&plan, "h")["result"], "unchanged");
    assert_eq!(verification(&plan, "h")["digest"], a.digest.as_str());
    let log = proxy.seen_since(seen);
    assert_eq!(
        log,
        vec![
            "HEAD /v2/acme/h/manifests/1 HTTP/1.1".to_string(),
            "GET /v2/acme/h/manifests/1 HTTP/1.1".to_string(),
        ]
    );
    assert_eq!(plan["verifyStats"]["requests"], log.len() as u64);
    cat.apply(&[]);
    assert_eq!(cat.index_text(), before);

    // A re-push is still found.
    let b = push_image(&upstream, "acme/h", Some("1"), &Img::new("h-b"));
    let o = cat.apply(&[]);
    assert!(
        stdout(&o).contains(&format!(
            "h@1.0.0: re-pushed: {} → {}",
            short(&a.digest),
            short(&b.digest)
        )),
        "{}",
        text(&o)
    );
    assert_eq!(cat.version("h", "1.0.0")["digest"], b.digest.as_str());
}
