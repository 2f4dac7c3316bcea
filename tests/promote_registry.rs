//! Promotion against real distribution registries (`docker-registry`, anonymous): the MSR
//! scenario, idempotent reruns, multi-arch copies, overwrite protection, two registries and
//! cross-repository mounts (observed through a counting proxy in front of the registry).

mod support;

use std::sync::Arc;

use support::*;

const ACCEPT: &str =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";

/// Digest a tag points at (None when absent), read with plain HTTP.
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

fn policy(cat: &Catalogue, file: &str, yaml: &str) {
    let dir = cat.root.join("policies");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), yaml).unwrap();
}

fn promotions(cat: &Catalogue) -> Vec<serde_json::Value> {
    cat.index()["promotions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn msr_policy(src_host: &str, dst_host: &str) -> String {
    format!(
        r#"name: website-to-qa
source: {{ registry: "{src_host}", repository: dev/website }}
criteria:
  - tag: {{ endsWith: "-stable" }}
  - label: {{ name: org.opencontainers.image.vendor, equals: acme }}
  - platform: linux/amd64
target:
  registry: "{dst_host}"
  repository: qa/website
  tag: "%n-%Y%m%d%H%M%S"
"#
    )
}

#[test]
fn msr_scenario_mounts_and_idempotent_rerun() {
    let reg = RegistryProc::start(Auth::None);
    let proxy = FaultProxy::start(reg.addr(), Arc::new(|_, _| Fault::Pass));
    let host = proxy.addr();
    let acme = |s: &str| Img::new(s).label("org.opencontainers.image.vendor", "acme");
    let a = push_image(&reg.addr(), "dev/website", Some("1.0-stable"), &acme("a"));
    let b = push_image(&reg.addr(), "dev/website", Some("1.1-stable"), &acme("b"));
    push_image(&reg.addr(), "dev/website", Some("1.2-beta"), &acme("c"));
    push_image(
        &reg.addr(),
        "dev/website",
        Some("2.0-stable"),
        &Img::new("d").label("org.opencontainers.image.vendor", "other"),
    );
    push_image(
        &reg.addr(),
        "dev/website",
        Some("3.0-stable"),
        &acme("e").platform("linux", "arm64", None),
    );
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    policy(&cat, "website-to-qa.yaml", &msr_policy(&host, &host));

    // plan shows exactly the two promotions and copies nothing.
    let plan = cat.plan(&[]);
    let pending = plan["promotions"]["pending"].as_array().unwrap();
    let got: Vec<(&str, &str)> = pending
        .iter()
        .map(|p| (p["source"].as_str().unwrap(), p["target"].as_str().unwrap()))
        .collect();
    let want_a = format!("{host}/qa/website:1.0-stable-20261120100000");
    let want_b = format!("{host}/qa/website:1.1-stable-20261120100000");
    assert_eq!(
        got,
        vec![
            (
                format!("{host}/dev/website:1.0-stable").as_str(),
                want_a.as_str()
            ),
            (
                format!("{host}/dev/website:1.1-stable").as_str(),
                want_b.as_str()
            ),
        ]
    );
    assert!(
        tags(&reg.addr(), "qa/website").is_empty(),
        "plan must not copy"
    );
    // 1.2-beta fails the tag criterion, so its manifest is never requested.
    let log = proxy.log.lock().unwrap().clone();
    assert!(
        !log.iter().any(|l| l.contains("manifests/1.2-beta")),
        "{log:#?}"
    );

    let before = proxy.log.lock().unwrap().len();
    let out = cat.apply(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        // Each promotion counts once: made by this apply, so done and no longer pending.
        stdout.contains("Promotions: 0 pending, 2 done, 0 problem(s)"),
        "{stdout}"
    );
    assert_eq!(
        tags(&reg.addr(), "qa/website"),
        vec!["1.0-stable-20261120100000", "1.1-stable-20261120100000"]
    );
    assert_eq!(
        tag_digest(&reg.addr(), "qa/website", "1.0-stable-20261120100000"),
        Some(a.digest.clone())
    );
    assert_eq!(
        tag_digest(&reg.addr(), "qa/website", "1.1-stable-20261120100000"),
        Some(b.digest.clone())
    );
    // Same registry: blobs were mounted, never uploaded.
    let log: Vec<String> = proxy.log.lock().unwrap()[before..].to_vec();
    assert!(
        log.iter()
            .any(|l| l.starts_with("POST") && l.contains("mount=")),
        "{log:#?}"
    );
    assert!(
        !log.iter()
            .any(|l| l.starts_with("PUT") && l.contains("/blobs/uploads/")),
        "{log:#?}"
    );
    assert!(!log.iter().any(|l| l.starts_with("PATCH")), "{log:#?}");

    let recs = promotions(&cat);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["policy"], "website-to-qa");
    assert_eq!(recs[0]["sourceDigest"], a.digest.as_str());
    assert_eq!(recs[0]["target"], want_a.as_str());
    assert_eq!(recs[0]["promotedAt"], "2026-11-20T10:00:00Z");
    assert_eq!(recs[0]["initiatedBy"], "policy");

    // An hour later: nothing pending, nothing pushed, nothing recorded twice.
    let mut cat = cat;
    cat.env("BERTH_NOW", "2026-11-20T11:00:00Z");
    let index_before = cat.index_text();
    let before = proxy.log.lock().unwrap().len();
    let out = cat.apply(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        stdout.contains("none pending (2 already promoted"),
        "{stdout}"
    );
    assert_eq!(cat.index_text(), index_before);
    let log: Vec<String> = proxy.log.lock().unwrap()[before..].to_vec();
    assert!(
        !log.iter()
            .any(|l| l.starts_with("PUT") || l.starts_with("POST")),
        "{log:#?}"
    );
    assert_eq!(tags(&reg.addr(), "qa/website").len(), 2);
}

#[test]
fn multi_arch_index_across_two_registries() {
    let src = RegistryProc::start(Auth::None);
    let dst = RegistryProc::start(Auth::None);
    let (idx, _, children) = push_index(
        &src.addr(),
        "team/app",
        "v1.4.2",
        &[
            Img::new("amd").label("vendor", "acme"),
            Img::new("arm")
                .platform("linux", "arm64", Some("v8"))
                .label("vendor", "acme"),
        ],
    );
    push_image(
        &src.addr(),
        "team/app",
        Some("v0.9.0"),
        &Img::new("old").label("vendor", "acme"),
    );
    push_image(
        &src.addr(),
        "team/other",
        Some("v2.0.0"),
        &Img::new("o").label("vendor", "acme"),
    );
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&src.addr(), &dst.addr()]));
    policy(
        &cat,
        "mirror.yaml",
        &format!(
            r#"name: mirror
source: {{ registry: "{}", repository: "team/**" }}
criteria:
  - tag: {{ semver: ">=1.0, <2" }}
  - platform: linux/arm64
target: {{ registry: "{}", repository: mirror/app, tag: "{{{{ version.major }}}}.{{{{ version.minor }}}}" }}
"#,
            src.addr(),
            dst.addr()
        ),
    );
    let out = cat.apply(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    // One promotion counts once: made by this apply, so done and no longer pending.
    assert!(stdout.contains("Promotions: 0 pending, 1 done"), "{stdout}");
    assert_eq!(tags(&dst.addr(), "mirror/app"), vec!["1.4"]);
    assert_eq!(
        tag_digest(&dst.addr(), "mirror/app", "1.4"),
        Some(idx.clone())
    );
    // Every child manifest and every blob is on the target registry, byte-identical.
    for c in &children {
        assert_eq!(
            tag_digest(&dst.addr(), "mirror/app", &c.digest),
            Some(c.digest.clone())
        );
        for blob in std::iter::once(&c.config).chain(&c.layers) {
            let data = std::fs::read(dst.blob_path(blob)).unwrap();
            assert_eq!(&sha256(&data), blob);
        }
    }
    assert!(stdout.contains("0 blob(s) mounted"), "{stdout}");
    let recs = promotions(&cat);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["source"], format!("{}/team/app:v1.4.2", src.addr()));
}

#[test]
fn overwrite_protection_then_overwrite_true() {
    let reg = RegistryProc::start(Auth::None);
    let host = reg.addr();
    let src = push_image(&host, "dev/api", Some("7.0"), &Img::new("new"));
    let old = push_image(&host, "qa/api", Some("current"), &Img::new("old"));
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    let yaml = |ow: bool| {
        format!(
            "name: api\nsource: {{ registry: \"{host}\", repository: dev/api }}\ncriteria:\n  - tag: {{ equals: \"7.0\" }}\ntarget: {{ registry: \"{host}\", repository: qa/api, tag: current }}\noverwrite: {ow}\n"
        )
    };
    policy(&cat, "api.yaml", &yaml(false));
    let out = cat.berth(&["apply"]);
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("already points at"), "{stdout}");
    assert!(stdout.contains("overwrite: true"), "{stdout}");
    assert_eq!(
        tag_digest(&host, "qa/api", "current"),
        Some(old.digest.clone())
    );
    assert!(promotions(&cat).is_empty());

    policy(&cat, "api.yaml", &yaml(true));
    let plan = cat.plan(&[]);
    assert_eq!(plan["promotions"]["pending"][0]["action"], "overwrite");
    assert_eq!(
        plan["promotions"]["pending"][0]["previousDigest"],
        old.digest.as_str()
    );
    cat.apply(&[]);
    assert_eq!(
        tag_digest(&host, "qa/api", "current"),
        Some(src.digest.clone())
    );
    assert_eq!(promotions(&cat).len(), 1);
}

#[test]
fn manual_promote_records_and_refuses_to_move_tags() {
    let reg = RegistryProc::start(Auth::None);
    let host = reg.addr();
    let a = push_image(&host, "dev/tool", Some("1"), &Img::new("t1"));
    push_image(&host, "dev/tool", Some("2"), &Img::new("t2"));
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    let out = cat.berth(&[
        "promote",
        &format!("{host}/dev/tool:1"),
        &format!("{host}/prod/tool:stable"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        tag_digest(&host, "prod/tool", "stable"),
        Some(a.digest.clone())
    );
    let recs = promotions(&cat);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["initiatedBy"], "manual");
    assert_eq!(recs[0]["policy"], serde_json::Value::Null);
    // Another digest onto the same tag is refused and not recorded.
    let out = cat.berth(&[
        "promote",
        &format!("{host}/dev/tool:2"),
        &format!("{host}/prod/tool:stable"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("already points at"), "{}", text(&out));
    assert_eq!(tag_digest(&host, "prod/tool", "stable"), Some(a.digest));
    assert_eq!(promotions(&cat).len(), 1);
}

/// Policies are evaluated only online and on a catalogue without errors; the plan says why
/// not (nothing pending, nothing asked of the registry).
#[test]
fn policies_are_not_evaluated_offline_or_with_catalogue_errors() {
    let reg = RegistryProc::start(Auth::None);
    let proxy = FaultProxy::start(reg.addr(), Arc::new(|_, _| Fault::Pass));
    let host = proxy.addr();
    push_image(
        &reg.addr(),
        "dev/website",
        Some("1.0-stable"),
        &Img::new("a"),
    );
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    policy(&cat, "website-to-qa.yaml", &msr_policy(&host, &host));
    let plan = cat.plan(&["--offline"]);
    assert_eq!(
        plan["promotions"],
        serde_json::json!({
            "skipped": "offline: promotion policies not evaluated",
            "pending": [], "done": [], "problems": [], "rejected": [],
            "alreadyPromoted": 0, "notMatching": 0,
            "copy": plan["promotions"]["copy"].clone(),
        })
    );
    // A listing with an error: the plan fails, and says the policies were not evaluated.
    cat.listing(&Listing::new("bad", &host, "dev/website", "latest"));
    let o = cat.berth(&["plan", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        plan["promotions"]["skipped"],
        "catalogue has errors: promotion policies not evaluated"
    );
    assert_eq!(plan["promotions"]["pending"], serde_json::json!([]));
    assert_eq!(proxy.count(), 0, "nothing asked of the registry");
}

/// Two promotions of one run that render the same target are fine when they copy the same
/// digest (two policies agreeing), and a problem when the digests differ (the first, in
/// sorted order, wins; the target is never raced for).
#[test]
fn one_target_per_run_unless_the_digest_is_the_same() {
    let reg = RegistryProc::start(Auth::None);
    let host = reg.addr();
    let a = push_image(&host, "dev/api", Some("1.0"), &Img::new("a"));
    push_image(&host, "dev/api", Some("2.0"), &Img::new("b"));
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    let yaml = |name: &str, tag: &str| {
        format!(
            "name: {name}\nsource: {{ registry: \"{host}\", repository: dev/api }}\ncriteria:\n  - tag: {{ equals: \"{tag}\" }}\ntarget: {{ registry: \"{host}\", repository: qa/api, tag: current }}\n"
        )
    };
    policy(&cat, "a.yaml", &yaml("first", "1.0"));
    policy(&cat, "b.yaml", &yaml("second", "1.0"));
    let plan = cat.plan(&[]);
    let pending: Vec<(&str, &str)> = plan["promotions"]["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["policy"].as_str().unwrap(),
                p["sourceDigest"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pending,
        vec![("first", a.digest.as_str()), ("second", a.digest.as_str())]
    );
    assert_eq!(plan["promotions"]["problems"], serde_json::json!([]));

    policy(&cat, "b.yaml", &yaml("second", "2.0"));
    let plan = cat.plan(&[]);
    let pending: Vec<&str> = plan["promotions"]["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["policy"].as_str().unwrap())
        .collect();
    assert_eq!(pending, vec!["first"]);
    assert_eq!(
        plan["promotions"]["problems"][0]["message"],
        format!(
            "renders target {host}/qa/api:current which another promotion of this run already uses; make the tag template unique per image (add %n or {{{{ tag }}}})"
        )
        .as_str()
    );
    assert_eq!(plan["promotions"]["problems"][0]["policy"], "second");
}

/// A tag template that reads `labels` (or `created`) reads the image's config even when no
/// criterion needs the manifest.
#[test]
fn a_template_reading_labels_gets_them_without_label_criteria() {
    let reg = RegistryProc::start(Auth::None);
    let host = reg.addr();
    push_image(
        &host,
        "dev/tool",
        Some("main"),
        &Img::new("t").label("version", "4.2"),
    );
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    policy(
        &cat,
        "tool.yaml",
        &format!(
            "name: tool\nsource: {{ registry: \"{host}\", repository: dev/tool }}\ntarget: {{ registry: \"{host}\", repository: qa/tool, tag: \"v{{{{ labels.version }}}}\" }}\n"
        ),
    );
    let plan = cat.plan(&[]);
    assert_eq!(
        plan["promotions"]["problems"],
        serde_json::json!([]),
        "{plan:#}"
    );
    assert_eq!(
        plan["promotions"]["pending"][0]["target"],
        format!("{host}/qa/tool:v4.2").as_str()
    );
}
