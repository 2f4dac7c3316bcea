//! Retries, limits and failure isolation, proven with a fault-injecting proxy in front of the
//! real registry: 5xx bursts, 429 with Retry-After, dropped and truncated responses, slow
//! responses past the timeout, concurrency and rate limits, and a persistently failing image
//! that ends as check-failed while the index stays whole and correct.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::*;

/// A registry with `n` images `acme/img<i>:1`, a proxy applying `fault`, and a catalogue
/// listing every image through the proxy.
fn setup(
    n: usize,
    fault: Arc<FaultFn>,
    extra_yaml: &str,
) -> (RegistryProc, FaultProxy, Catalogue, Vec<Pushed>) {
    let reg = RegistryProc::start(Auth::None);
    let pushed: Vec<Pushed> = (0..n)
        .map(|i| {
            push_image(
                &reg.addr(),
                &format!("acme/img{i}"),
                Some("1"),
                &Img::new(&format!("f{i}")),
            )
        })
        .collect();
    let proxy = FaultProxy::start(reg.addr(), fault);
    let host = proxy.addr();
    let yaml = format!("registries:\n  \"{host}\":\n    insecure: true\n{extra_yaml}");
    let cat = Catalogue::new(&yaml);
    for i in 0..n {
        cat.listing(&Listing::new(
            &format!("img{i}"),
            &host,
            &format!("acme/img{i}"),
            "1",
        ));
    }
    (reg, proxy, cat, pushed)
}

fn assert_all_passed(cat: &Catalogue, pushed: &[Pushed]) {
    for (i, p) in pushed.iter().enumerate() {
        let v = cat.version(&format!("img{i}"), "1.0.0");
        assert_eq!(v["verification"]["state"], "passed", "img{i}: {v:#}");
        assert_eq!(v["digest"], p.digest.as_str(), "img{i}");
        assert_eq!(v["size"], p.size, "img{i}");
    }
}

fn stats(o: &std::process::Output) -> (u64, u64) {
    let s = String::from_utf8_lossy(&o.stdout);
    let line = s
        .lines()
        .find(|l| l.starts_with("Verification:"))
        .unwrap_or_else(|| panic!("{}", text(o)));
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().unwrap())
        .collect();
    // "N reference(s) verified, F failed; R request(s), T retr(ies)"
    (nums[2], nums[3])
}

#[test]
fn burst_of_5xx_is_retried() {
    let (_r, proxy, cat, pushed) = setup(
        3,
        Arc::new(|n, _: &str| {
            if n <= 3 {
                Fault::Status(503, None)
            } else if n == 5 {
                Fault::Status(502, None)
            } else {
                Fault::Pass
            }
        }),
        "",
    );
    let o = cat.apply(&[]);
    assert_all_passed(&cat, &pushed);
    // Four faulted answers, each retried once; 3 images × (manifest GET, config GET, two
    // layer HEADs) passed.
    let (requests, retries) = stats(&o);
    assert_eq!((requests, retries), (3 * 4 + 4, 4), "{}", text(&o));
    assert_eq!(requests as usize, proxy.count(), "every request is counted");
}

#[test]
fn too_many_requests_honours_retry_after() {
    let (_r, _p, cat, pushed) = setup(
        1,
        Arc::new(|n, _: &str| {
            if n == 1 {
                Fault::Status(429, Some(1))
            } else {
                Fault::Pass
            }
        }),
        "",
    );
    let t = Instant::now();
    let o = cat.apply(&[]);
    // Backoff is 20 ms in tests: only Retry-After explains a wait of a second.
    assert!(
        t.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        t.elapsed()
    );
    assert_all_passed(&cat, &pushed);
    assert_eq!(stats(&o).1, 1);
}

#[test]
fn dropped_and_truncated_responses_are_retried() {
    // The first attempt at every request is dropped or truncated (alternating); retries pass.
    let seen = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let (_r, _p, cat, pushed) = setup(
        4,
        Arc::new(move |n, line: &str| {
            if !seen.lock().unwrap().insert(line.to_string()) {
                Fault::Pass
            } else if n % 2 == 0 {
                Fault::Drop
            } else {
                Fault::Truncate
            }
        }),
        "",
    );
    let o = cat.apply(&["--verify", "full"]);
    assert_all_passed(&cat, &pushed);
    // 4 images × (manifest GET, config GET, two layer GETs): every first attempt failed and
    // was retried exactly once.
    assert_eq!(stats(&o), (2 * 16, 16), "{}", text(&o));
}

#[test]
fn slow_responses_time_out_and_are_retried() {
    let (_r, _p, mut cat, pushed) = setup(
        2,
        Arc::new(|n, _: &str| {
            if n <= 2 {
                Fault::Delay(Duration::from_millis(2500))
            } else {
                Fault::Pass
            }
        }),
        "",
    );
    cat.env("BERTH_REGISTRY_TIMEOUT_MS", "400");
    let t = Instant::now();
    let o = cat.apply(&[]);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "timeouts cut the slow requests short"
    );
    assert_all_passed(&cat, &pushed);
    // The two delayed requests timed out and were retried once each.
    assert_eq!(stats(&o), (2 * 4 + 2, 2), "{}", text(&o));
}

#[test]
fn persistent_failure_marks_only_that_version_and_index_stays_whole() {
    let (_r, proxy, mut cat, pushed) = setup(
        3,
        Arc::new(|_, line: &str| {
            if line.contains("/acme/img1/") {
                Fault::Status(503, Some(0))
            } else {
                Fault::Pass
            }
        }),
        "",
    );
    cat.env("BERTH_REGISTRY_MAX_ATTEMPTS", "3");
    let o = cat.apply(&[]);
    let bad = cat.version("img1", "1.0.0");
    assert_eq!(bad["status"], "check-failed");
    let reason = bad["verification"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("HTTP 503") && reason.contains("after 3 attempt(s)"),
        "{reason}"
    );
    for i in [0, 2] {
        let v = cat.version(&format!("img{i}"), "1.0.0");
        assert_eq!(v["status"], "testing");
        assert_eq!(v["digest"], pushed[i].digest.as_str());
    }
    // Bounded: exactly 3 attempts at img1's manifest.
    let hits = proxy
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("/acme/img1/"))
        .count();
    assert_eq!(hits, 3, "{}", text(&o));
    // The index on disk is complete, canonical JSON, equal to what a re-plan computes while
    // the fault persists.
    let text_before = cat.index_text();
    assert!(text_before.ends_with("}\n"));
    let plan = cat.plan(&[]);
    assert_eq!(plan["changed"], false, "{plan:#}");
    assert_eq!(cat.index_text(), text_before);
}

#[test]
fn check_failed_is_rechecked_and_recovers() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let broken = Arc::new(AtomicBool::new(true));
    let b = broken.clone();
    let (_r, _p, mut cat, pushed) = setup(
        1,
        Arc::new(move |_, _: &str| {
            if b.load(Ordering::SeqCst) {
                Fault::Status(500, None)
            } else {
                Fault::Pass
            }
        }),
        "",
    );
    cat.env("BERTH_REGISTRY_MAX_ATTEMPTS", "2");
    cat.apply(&[]);
    assert_eq!(cat.version("img0", "1.0.0")["status"], "check-failed");
    broken.store(false, Ordering::SeqCst);
    cat.apply(&[]);
    assert_all_passed(&cat, &pushed);
    assert_eq!(cat.version("img0", "1.0.0")["status"], "testing");
}

#[test]
fn concurrency_limit_is_respected() {
    let (_r, proxy, cat, pushed) = setup(
        8,
        Arc::new(|_, _: &str| Fault::Delay(Duration::from_millis(30))),
        "",
    );
    // Rewrite berth.yaml with maxConcurrency 2.
    let host = proxy.addr();
    std::fs::write(
        cat.root.join("berth.yaml"),
        format!("registries:\n  \"{host}\":\n    insecure: true\n    maxConcurrency: 2\n"),
    )
    .unwrap();
    cat.apply(&[]);
    assert_all_passed(&cat, &pushed);
    // 8 images × 4 requests of 30 ms each: the limit is reached, never passed.
    let max = proxy.max_inflight.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(max, 2, "max in flight");
}

#[test]
fn default_concurrency_runs_requests_in_parallel_and_rate_limit_paces_them() {
    let (_r, proxy, cat, _) = setup(
        8,
        Arc::new(|_, _: &str| Fault::Delay(Duration::from_millis(50))),
        "",
    );
    cat.apply(&[]);
    assert!(
        proxy.max_inflight.load(std::sync::atomic::Ordering::SeqCst) > 2,
        "verification runs concurrently by default"
    );

    // 10 requests/second: 8 images × 4 requests take at least ~3 s.
    let (_r2, proxy2, cat2, pushed2) = setup(8, Arc::new(|_, _: &str| Fault::Pass), "");
    let host = proxy2.addr();
    std::fs::write(
        cat2.root.join("berth.yaml"),
        format!("registries:\n  \"{host}\":\n    insecure: true\n    requestsPerSecond: 10\n"),
    )
    .unwrap();
    let t = Instant::now();
    cat2.apply(&[]);
    let took = t.elapsed();
    assert_all_passed(&cat2, &pushed2);
    let n = proxy2.count();
    assert_eq!(n, 32);
    // Paced at 100 ms, not slower: 31 steps take about 3.1 s (the bound leaves room for a
    // loaded machine, not for a pace of a second).
    assert!(
        took >= Duration::from_millis(100 * (n as u64 - 1) - 50)
            && took < Duration::from_millis(100 * (n as u64 - 1) + 4000),
        "{n} requests in {took:?}"
    );
}

/// `requestsPerSecond` must be positive to limit anything (validation refuses others, E0301);
/// the library reads a zero or negative rate as no limit rather than dividing by it.
#[test]
fn a_rate_that_is_not_positive_is_no_limit() {
    use berth::model::RegistryConfig;
    use berth::registry::Limits;
    for rps in [0.0, -1.0] {
        let cfg = RegistryConfig {
            requests_per_second: Some(rps.into()),
            ..RegistryConfig::default()
        };
        assert_eq!(
            Limits::for_host(Some(&cfg)).requests_per_second,
            None,
            "{rps}"
        );
    }
    let cfg = RegistryConfig {
        requests_per_second: Some(0.5.into()),
        ..RegistryConfig::default()
    };
    assert_eq!(Limits::for_host(Some(&cfg)).requests_per_second, Some(0.5));
}

/// A failure that is not an HTTP status is recorded with its whole cause chain (what reqwest
/// and hyper said), so the reason says why: here a connection closed before any answer.
#[test]
fn a_transport_failure_is_recorded_with_its_cause() {
    let (_r, proxy, mut cat, _) = setup(
        1,
        Arc::new(|_, line: &str| {
            if line.starts_with("GET /v2/acme/img0/manifests/") {
                Fault::Drop
            } else {
                Fault::Pass
            }
        }),
        "",
    );
    cat.env("BERTH_REGISTRY_MAX_ATTEMPTS", "2");
    cat.apply(&[]);
    let v = cat.version("img0", "1.0.0");
    assert_eq!(v["status"], "check-failed");
    assert_eq!(
        v["verification"]["reason"],
        format!(
            "GET manifest acme/img0:1: error sending request for url (http://{}/v2/acme/img0/manifests/1): client error (SendRequest): connection closed before message completed after 2 attempt(s)",
            proxy.addr()
        )
        .as_str()
    );
}
