//! Listings follow pagination (README, "Promotion policies": "tag and catalog listings follow
//! `Link` pagination and fall back to smaller pages when a registry caps them"), against the
//! real registry: its `/v2/_catalog` capped at 50 entries per page (`catalog.maxentries`),
//! and tag listings paged by a front that caps them at 10 (`support::paging`).

mod support;

use support::paging::{Paging, PagingProxy};
use support::*;

/// 13 repositories (two catalog pages of 10), one of them with 12 tags (two tag pages of
/// 10): a policy over `dev/**` sees every tag of every repository, which takes the page-size
/// fallback (1000 and 100 refused, 10 accepted) and the `Link` of each listing. With `Link`
/// ignored it would see 10 repositories and 10 tags of `dev/many`; without the fallback the
/// first listing fails.
#[test]
fn catalog_and_tag_listings_fall_back_to_smaller_pages_and_follow_link() {
    let reg = RegistryProc::start_with(Auth::None, "catalog:\n  maxentries: 50\n");
    let mut want = Vec::new();
    for t in 0..12 {
        let tag = format!("t{t:02}");
        // Distinct images: a policy promotes a digest once.
        push_image(&reg.addr(), "dev/many", Some(&tag), &Img::new(&tag));
        want.push((format!("dev/many:{tag}"), format!("qa/all:{tag}")));
    }
    for r in 0..12 {
        let repo = format!("dev/r{r:02}");
        let tag = format!("r{r:02}");
        push_image(&reg.addr(), &repo, Some(&tag), &Img::new(&tag));
        want.push((format!("{repo}:{tag}"), format!("qa/all:{tag}")));
    }
    let proxy = PagingProxy::start(
        reg.addr(),
        Paging {
            caps: [("dev/many".to_string(), 10)].into(),
            ..Paging::default()
        },
    );
    let host = proxy.addr();
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    std::fs::create_dir_all(cat.root.join("policies")).unwrap();
    std::fs::write(
        cat.root.join("policies/all.yaml"),
        format!(
            "name: all\nsource: {{ registry: \"{host}\", repository: \"dev/**\" }}\ntarget: {{ registry: \"{host}\", repository: qa/all, tag: \"%n\" }}\n"
        ),
    )
    .unwrap();

    let plan = cat.plan(&[]);
    let mut got: Vec<(String, String)> = plan["promotions"]["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let strip = |k: &str| {
                p[k].as_str()
                    .unwrap()
                    .strip_prefix(&format!("{host}/"))
                    .unwrap()
                    .to_string()
            };
            (strip("source"), strip("target"))
        })
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{plan:#}");

    // The catalog: 1000 and 100 refused by the registry, pages of 10 linked.
    assert_eq!(
        proxy.requests("/v2/_catalog"),
        vec![
            "GET /v2/_catalog?n=1000",
            "GET /v2/_catalog?n=100",
            "GET /v2/_catalog?n=10",
            "GET /v2/_catalog?last=dev%2Fr08&n=10",
        ]
    );
    // The tags of dev/many: the same fallback, then the second page through its Link.
    assert_eq!(
        proxy.requests("/v2/dev/many/tags/list"),
        vec![
            "GET /v2/dev/many/tags/list?n=1000",
            "GET /v2/dev/many/tags/list?n=100",
            "GET /v2/dev/many/tags/list?n=10",
            "GET /v2/dev/many/tags/list?n=10&last=t09",
        ]
    );
    // A listing the registry does not cap is one request.
    assert_eq!(
        proxy.requests("/v2/dev/r00/tags/list"),
        vec!["GET /v2/dev/r00/tags/list?n=1000"]
    );
}

/// The fallback stops at pages of 10 (a registry that refuses even that is reported, not
/// crawled one entry at a time), and a `Link` back to the same page ends the walk.
#[test]
fn pages_of_ten_at_least_and_a_link_to_the_same_page_ends_the_walk() {
    let reg = RegistryProc::start(Auth::None);
    for t in 0..3 {
        for repo in ["dev/tiny", "dev/loop"] {
            let tag = format!("{}{t}", &repo[4..]);
            push_image(&reg.addr(), repo, Some(&tag), &Img::new(&tag));
        }
    }
    let proxy = PagingProxy::start(
        reg.addr(),
        Paging {
            caps: [("dev/tiny".to_string(), 5)].into(),
            self_link: vec!["dev/loop".to_string()],
        },
    );
    let host = proxy.addr();
    let cat = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    std::fs::create_dir_all(cat.root.join("policies")).unwrap();
    for name in ["tiny", "loop"] {
        std::fs::write(
            cat.root.join(format!("policies/{name}.yaml")),
            format!(
                "name: {name}\nsource: {{ registry: \"{host}\", repository: dev/{name} }}\ntarget: {{ registry: \"{host}\", repository: qa/{name}, tag: \"%n\" }}\n"
            ),
        )
        .unwrap();
    }
    let plan = cat.plan(&[]);
    let pending: Vec<&str> = plan["promotions"]["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["source"].as_str().unwrap())
        .collect();
    let src = |t: &str| format!("{host}/dev/loop:{t}");
    assert_eq!(
        pending,
        vec![src("loop0"), src("loop1"), src("loop2")],
        "{plan:#}"
    );
    assert_eq!(
        proxy.requests("/v2/dev/loop/tags/list"),
        vec!["GET /v2/dev/loop/tags/list?n=1000"]
    );
    assert_eq!(
        proxy.requests("/v2/dev/tiny/tags/list"),
        vec![
            "GET /v2/dev/tiny/tags/list?n=1000",
            "GET /v2/dev/tiny/tags/list?n=100",
            "GET /v2/dev/tiny/tags/list?n=10",
        ]
    );
    let problems: Vec<(&str, &str)> = plan["promotions"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["policy"].as_str().unwrap(),
                p["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(problems.len(), 1, "{plan:#}");
    assert_eq!(problems[0].0, "tiny");
    assert_eq!(
        problems[0].1,
        format!(
            "listing tags of {host}/dev/tiny: dev/tiny: HTTP 400 (PAGINATION_NUMBER_INVALID: invalid number of results requested) after 1 attempt(s)"
        )
    );
}
