//! What the templates show, computed from the index: one [`Card`] per image for the home
//! page, one [`ImagePage`] per image. Every string here is plain text (the templates escape
//! it) except [`ImagePage::description_html`], which comes out of [`Markdown`] already safe.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{ChannelEntry, ImageEntry, PromotionRecord, QaStatus, Status, VersionEntry};
use crate::report::site::markdown::Markdown;
use crate::report::site::supply::{Mark, SupplyRow};
use crate::report::site::text::{human_size, time_text};

/// A status mark: `kind` picks the colour (`ok`, `testing`, `warn`, `bad`, `muted`), `text`
/// says it (colour is never the only signal), `detail` explains it (a reason) when known.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Badge {
    pub kind: &'static str,
    pub text: String,
    pub detail: Option<String>,
}

impl Badge {
    fn new(kind: &'static str, text: impl Into<String>) -> Self {
        Badge {
            kind,
            text: text.into(),
            detail: None,
        }
    }
    fn detail(mut self, detail: Option<&str>) -> Self {
        self.detail = detail.filter(|d| !d.is_empty()).map(str::to_string);
        self
    }
}

/// The label of a testing version: who can pull it.
pub fn testing_label(debug_project: Option<&str>) -> String {
    match debug_project {
        Some(p) => format!("testing (debug project {p})"),
        None => "testing (no debug project)".to_string(),
    }
}

/// The badge of a version's lifecycle status.
fn status_badge(v: &VersionEntry, debug_project: Option<&str>) -> Badge {
    match v.status {
        Status::Released => Badge::new("ok", "released"),
        Status::Testing => Badge::new("testing", testing_label(debug_project)),
        Status::CheckFailed => {
            Badge::new("bad", "check failed").detail(v.verification.reason.as_deref())
        }
        Status::Cancelled => Badge::new("muted", "cancelled"),
        Status::Delisted => Badge::new("muted", "delisted"),
    }
}

/// A home-page card.
#[derive(Debug, Serialize)]
pub struct Card {
    pub code: String,
    pub name: String,
    pub summary: String,
    pub publisher: String,
    pub category: Option<String>,
    pub agent_scope: Vec<String>,
    pub labels: Vec<String>,
    /// The `latest` channel's version, else the newest version; with its status.
    pub latest: Option<(String, Badge)>,
    /// Compact supply-chain marks of that version (empty without a `supplyChain` record).
    pub supply: Vec<Mark>,
    /// Lower-case text the search box matches.
    pub search: String,
    /// JSON arrays for the filters (read by site.js).
    pub labels_json: String,
    pub scope_json: String,
}

/// One value of a filter and how many images have it.
#[derive(Debug, Serialize)]
pub struct FilterValue {
    pub value: String,
    pub count: usize,
}

/// The values each home-page filter offers, sorted.
#[derive(Debug, Default, Serialize)]
pub struct Filters {
    pub labels: Vec<FilterValue>,
    pub categories: Vec<FilterValue>,
    pub scopes: Vec<FilterValue>,
    pub publishers: Vec<FilterValue>,
}

/// A row of the channel table.
#[derive(Debug, Serialize)]
pub struct ChannelRow {
    pub name: String,
    pub version: String,
    pub pull: String,
    pub badges: Vec<Badge>,
}

/// A row of the versions table.
#[derive(Debug, Serialize)]
pub struct VersionRow {
    pub version: String,
    pub badges: Vec<Badge>,
    pub release_type: &'static str,
    pub notes: Option<String>,
    pub platforms: Vec<String>,
    pub size: Option<String>,
    pub size_bytes: Option<u64>,
    pub recorded_at: String,
    pub recorded_text: String,
    /// Pinned pull reference, else the tag reference (then `pinned` is false).
    pub pull: String,
    pub pinned: bool,
}

/// The Dockerfile line of an image page.
#[derive(Debug, Serialize)]
pub struct DockerfileView {
    pub path: String,
    pub sha256: Option<String>,
    /// The file's text, shown on the page, when it could be read from the catalogue.
    pub text: Option<String>,
    /// The file in the catalogue no longer has the recorded sha256.
    pub changed: bool,
}

/// Everything an image page shows.
#[derive(Debug, Serialize)]
pub struct ImagePage {
    pub code: String,
    pub name: String,
    pub summary: String,
    pub publisher: String,
    pub category: Option<String>,
    pub agent_scope: Vec<String>,
    pub labels: Vec<String>,
    pub debug_project: Option<String>,
    pub description_html: Option<String>,
    pub channels: Vec<ChannelRow>,
    /// Channels the debug project sees differently (testing versions), labelled as such.
    pub testing_channels: Vec<ChannelRow>,
    pub versions: Vec<VersionRow>,
    pub dockerfile: Option<DockerfileView>,
    /// `berth resolve` command lines for the channels.
    pub resolve: Vec<String>,
    /// Supply-chain rows, newest version first: only versions with a `supplyChain` record or
    /// a recorded promotion of their digest.
    pub supply: Vec<SupplyRow>,
}

/// The card of one image.
pub fn card(img: &ImageEntry) -> Card {
    let latest_version = match img.channels.get("latest") {
        Some(ch) => img.versions.iter().rev().find(|v| v.version == ch.version),
        None => img.versions.last(),
    };
    let supply = latest_version
        .and_then(|v| v.supply_chain.as_ref())
        .map(super::supply::card_marks)
        .unwrap_or_default();
    let latest = match img.channels.get("latest") {
        Some(ch) => Some((ch.version.clone(), Badge::new("ok", "released"))),
        None => img.versions.last().map(|v| {
            (
                v.version.clone(),
                status_badge(v, img.debug_project.as_deref()),
            )
        }),
    };
    let mut search = vec![
        img.code.as_str(),
        img.name.as_str(),
        img.summary.as_str(),
        img.publisher.as_str(),
    ];
    search.extend(img.category.as_deref());
    search.extend(img.labels.iter().map(String::as_str));
    search.extend(img.agent_scope.iter().map(String::as_str));
    Card {
        code: img.code.clone(),
        name: img.name.clone(),
        summary: img.summary.clone(),
        publisher: img.publisher.clone(),
        category: img.category.clone(),
        agent_scope: img.agent_scope.clone(),
        labels: img.labels.clone(),
        latest,
        supply,
        search: search.join(" ").to_lowercase(),
        labels_json: serde_json::to_string(&img.labels).expect("strings serialize"),
        scope_json: serde_json::to_string(&img.agent_scope).expect("strings serialize"),
    }
}

/// The filter values over all images (the fields the cards show).
pub fn filters(images: &[&ImageEntry]) -> Filters {
    fn count<'a>(values: impl Iterator<Item = &'a String>) -> Vec<FilterValue> {
        let mut m: BTreeMap<&str, usize> = BTreeMap::new();
        for v in values {
            *m.entry(v.as_str()).or_default() += 1;
        }
        m.into_iter()
            .map(|(value, count)| FilterValue {
                value: value.to_string(),
                count,
            })
            .collect()
    }
    Filters {
        // An image counts once per value even if a listing repeats a label.
        labels: count(images.iter().flat_map(|i| dedup(&i.labels))),
        categories: count(images.iter().filter_map(|i| i.category.as_ref())),
        scopes: count(images.iter().flat_map(|i| dedup(&i.agent_scope))),
        publishers: count(images.iter().map(|i| &i.publisher)),
    }
}

fn dedup(values: &[String]) -> Vec<&String> {
    let mut out: Vec<&String> = Vec::with_capacity(values.len());
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Inputs of an image page that do not come from the index entry itself.
pub struct PageContext<'a> {
    pub markdown: &'a Markdown,
    /// `--index` value for the `berth resolve` lines (the published index.json URL).
    pub index_url: Option<&'a str>,
    pub dockerfile: Option<DockerfileView>,
    /// The index's promotions by source digest ([`super::supply::promotions_by_digest`]).
    pub promotions: &'a BTreeMap<&'a str, Vec<&'a PromotionRecord>>,
}

/// The page of one image.
pub fn image_page(img: &ImageEntry, ctx: PageContext<'_>) -> ImagePage {
    let debug = img.debug_project.as_deref();
    // Which delisted versions a channel falls back to.
    let mut fallbacks: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, ch) in &img.channels {
        if ch.deprecated {
            fallbacks
                .entry(ch.version.as_str())
                .or_default()
                .push(name.as_str());
        }
    }
    let by_version: BTreeMap<&str, &VersionEntry> = img
        .versions
        .iter()
        .map(|v| (v.version.as_str(), v))
        .collect();

    let channels: Vec<ChannelRow> = channel_order(&img.channels)
        .into_iter()
        .map(|(name, ch)| channel_row(name, ch, None))
        .collect();
    let testing_channels: Vec<ChannelRow> = channel_order(&img.testing_channels)
        .into_iter()
        .filter(|(name, ch)| img.channels.get(*name) != Some(*ch))
        .map(|(name, ch)| {
            let testing = by_version
                .get(ch.version.as_str())
                .is_some_and(|v| v.status == Status::Testing);
            channel_row(name, ch, testing.then(|| testing_label(debug)))
        })
        .collect();

    let versions = img
        .versions
        .iter()
        .rev()
        .map(|v| {
            let mut badges = vec![status_badge(v, debug)];
            if let Some(chs) = fallbacks.get(v.version.as_str()) {
                badges.push(Badge::new(
                    "warn",
                    format!("deprecated fallback of {}", chs.join(", ")),
                ));
            }
            if let Some(qa) = &v.qa {
                badges.push(match qa.status {
                    QaStatus::Failed => Badge::new("bad", "QA failed").detail(qa.reason.as_deref()),
                    QaStatus::Passed => Badge::new("ok", "QA passed").detail(qa.reason.as_deref()),
                });
            }
            if let Some(d) = &v.drift {
                badges.push(Badge::new("warn", "tag moved").detail(Some(&format!(
                    "the tag now points at {}; the pin stays",
                    d.digest
                ))));
            }
            VersionRow {
                version: v.version.clone(),
                badges,
                release_type: v.release_type.as_str(),
                notes: v.notes.clone().filter(|n| !n.is_empty()),
                platforms: v.platforms.clone(),
                size: v.size.map(human_size),
                size_bytes: v.size,
                recorded_at: v.recorded_at.clone(),
                recorded_text: time_text(&v.recorded_at),
                pinned: v.pull.is_some(),
                pull: v.pull.clone().unwrap_or_else(|| v.reference.clone()),
            }
        })
        .collect();

    let supply = super::supply::rows(img, ctx.promotions);

    let index_flag = ctx
        .index_url
        .map(|u| format!("--index {u} "))
        .unwrap_or_default();
    let resolve = channels
        .iter()
        .map(|c| format!("berth resolve {index_flag}{}@{}", img.code, c.name))
        .collect();

    ImagePage {
        code: img.code.clone(),
        name: img.name.clone(),
        summary: img.summary.clone(),
        publisher: img.publisher.clone(),
        category: img.category.clone(),
        agent_scope: img.agent_scope.clone(),
        labels: img.labels.clone(),
        debug_project: img.debug_project.clone(),
        description_html: img
            .description
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .map(|d| ctx.markdown.to_html(d)),
        channels,
        testing_channels,
        versions,
        dockerfile: ctx.dockerfile,
        resolve,
        supply,
    }
}

/// `latest` first, then `M.latest` by major, newest first; anything else after, by name.
fn channel_order(
    channels: &crate::model::vec_map::VecMap<String, ChannelEntry>,
) -> Vec<(&str, &ChannelEntry)> {
    let mut v: Vec<(&str, &ChannelEntry)> = channels.iter().map(|(k, c)| (k.as_str(), c)).collect();
    let key = |name: &str| -> (u8, std::cmp::Reverse<u64>, String) {
        if name == "latest" {
            return (0, std::cmp::Reverse(0), String::new());
        }
        match name
            .strip_suffix(".latest")
            .and_then(|m| m.parse::<u64>().ok())
        {
            Some(m) => (1, std::cmp::Reverse(m), String::new()),
            None => (2, std::cmp::Reverse(0), name.to_string()),
        }
    };
    v.sort_by_cached_key(|(name, _)| key(name));
    v
}

fn channel_row(name: &str, ch: &ChannelEntry, testing: Option<String>) -> ChannelRow {
    let mut badges = Vec::new();
    if let Some(label) = testing {
        badges.push(Badge::new("testing", label));
    }
    if ch.deprecated {
        badges.push(Badge::new("warn", "deprecated: delisted"));
    }
    if !ch.pull.contains("@sha256:") {
        badges.push(Badge::new("warn", "not pinned by digest"));
    }
    ChannelRow {
        name: name.to_string(),
        version: ch.version.clone(),
        pull: ch.pull.clone(),
        badges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(v: &str, status: Status) -> VersionEntry {
        VersionEntry {
            catalogue_commit: None,
            config_labels: Default::default(),
            digest: Some(format!("sha256:{v}")),
            drift: None,
            attempts: Vec::new(),
            supply_chain: None,
            release_refused: None,
            notes: None,
            platforms: vec!["linux/amd64".into()],
            pull: Some(format!("r.example/x@sha256:{v}")),
            qa: None,
            recorded_at: "2026-01-02T03:04:05Z".into(),
            reference: format!("r.example/x:{v}"),
            release_type: crate::model::ReleaseType::Fix,
            size: Some(2048),
            status,
            updated_at: "2026-01-02T03:04:05Z".into(),
            verification: crate::model::VerificationEntry {
                level: Some("blobs".into()),
                reason: None,
                state: crate::model::VerifyState::Passed,
            },
            version: v.into(),
        }
    }

    fn texts(badges: &[Badge]) -> Vec<String> {
        badges
            .iter()
            .map(|b| match &b.detail {
                Some(d) => format!("{}:{} ({d})", b.kind, b.text),
                None => format!("{}:{}", b.kind, b.text),
            })
            .collect()
    }

    #[test]
    fn every_status_and_mark_has_its_badge() {
        let mut released = version("1.0.0", Status::Released);
        released.drift = Some(crate::model::DriftEntry {
            digest: "sha256:moved".into(),
        });
        released.qa = Some(crate::model::QaEntry {
            reason: Some("run 7 passed".into()),
            status: QaStatus::Passed,
        });
        let mut delisted = version("0.9.0", Status::Delisted);
        delisted.qa = Some(crate::model::QaEntry {
            reason: Some("run 3 failed".into()),
            status: QaStatus::Failed,
        });
        let cancelled = version("1.0.1", Status::Cancelled);
        let mut failed = version("1.0.2", Status::CheckFailed);
        failed.verification.reason = Some("manifest unknown".into());
        failed.pull = None;
        let testing = version("1.1.0", Status::Testing);
        let mut img = ImageEntry {
            code: "x".into(),
            name: "X".into(),
            debug_project: Some("x-debug".into()),
            versions: vec![delisted, released, cancelled, failed, testing],
            ..Default::default()
        };
        img.channels.insert(
            "0.latest".into(),
            ChannelEntry {
                deprecated: true,
                pull: "r.example/x@sha256:0.9.0".into(),
                version: "0.9.0".into(),
            },
        );
        img.channels.insert(
            "1.latest".into(),
            ChannelEntry {
                deprecated: false,
                pull: "r.example/x:1.0.0".into(),
                version: "1.0.0".into(),
            },
        );
        img.testing_channels = img.channels.clone();
        img.testing_channels.insert(
            "1.latest".into(),
            ChannelEntry {
                deprecated: false,
                pull: "r.example/x@sha256:1.1.0".into(),
                version: "1.1.0".into(),
            },
        );
        let md = Markdown::new();
        let page = image_page(
            &img,
            PageContext {
                markdown: &md,
                index_url: Some("https://s.example/index.json"),
                dockerfile: None,
                promotions: &BTreeMap::new(),
            },
        );
        let rows: Vec<(String, Vec<String>, String, bool)> = page
            .versions
            .iter()
            .map(|v| {
                (
                    v.version.clone(),
                    texts(&v.badges),
                    v.pull.clone(),
                    v.pinned,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (
                    "1.1.0".to_string(),
                    vec!["testing:testing (debug project x-debug)".to_string()],
                    "r.example/x@sha256:1.1.0".to_string(),
                    true
                ),
                (
                    "1.0.2".into(),
                    vec!["bad:check failed (manifest unknown)".into()],
                    "r.example/x:1.0.2".into(),
                    false
                ),
                (
                    "1.0.1".into(),
                    vec!["muted:cancelled".into()],
                    "r.example/x@sha256:1.0.1".into(),
                    true
                ),
                (
                    "1.0.0".into(),
                    vec![
                        "ok:released".into(),
                        "ok:QA passed (run 7 passed)".into(),
                        "warn:tag moved (the tag now points at sha256:moved; the pin stays)".into()
                    ],
                    "r.example/x@sha256:1.0.0".into(),
                    true
                ),
                (
                    "0.9.0".into(),
                    vec![
                        "muted:delisted".into(),
                        "warn:deprecated fallback of 0.latest".into(),
                        "bad:QA failed (run 3 failed)".into()
                    ],
                    "r.example/x@sha256:0.9.0".into(),
                    true
                ),
            ]
        );
        let channels: Vec<(String, String, Vec<String>)> = page
            .channels
            .iter()
            .chain(&page.testing_channels)
            .map(|c| (c.name.clone(), c.version.clone(), texts(&c.badges)))
            .collect();
        assert_eq!(
            channels,
            [
                (
                    "1.latest".to_string(),
                    "1.0.0".to_string(),
                    vec!["warn:not pinned by digest".to_string()]
                ),
                (
                    "0.latest".into(),
                    "0.9.0".into(),
                    vec!["warn:deprecated: delisted".into()]
                ),
                // Only where the debug project sees something else, and labelled so.
                (
                    "1.latest".into(),
                    "1.1.0".into(),
                    vec!["testing:testing (debug project x-debug)".into()]
                ),
            ]
        );
        assert_eq!(
            page.resolve,
            [
                "berth resolve --index https://s.example/index.json x@1.latest",
                "berth resolve --index https://s.example/index.json x@0.latest"
            ]
        );
        // The card: no `latest` channel, so the newest version and its status.
        let c = card(&img);
        assert_eq!(
            c.latest.map(|(v, b)| (v, texts(&[b]))),
            Some((
                "1.1.0".to_string(),
                vec!["testing:testing (debug project x-debug)".to_string()]
            ))
        );
        assert_eq!(page.versions[0].size.as_deref(), Some("2.0 KiB"));
        assert_eq!(page.versions[0].recorded_text, "2026-01-02 03:04 UTC");
    }

    #[test]
    fn channels_latest_first_then_majors_newest_first() {
        let ch = |v: &str| ChannelEntry {
            deprecated: false,
            pull: format!("r@sha256:{v}"),
            version: v.into(),
        };
        let m: BTreeMap<String, ChannelEntry> = [
            ("1.latest", "1.0.0"),
            ("10.latest", "10.0.0"),
            ("2.latest", "2.0.0"),
            ("latest", "10.0.0"),
            ("odd", "1.0.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), ch(v)))
        .collect();
        let m: crate::model::vec_map::VecMap<String, ChannelEntry> = m.into();
        let names: Vec<&str> = channel_order(&m).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["latest", "10.latest", "2.latest", "1.latest", "odd"]
        );
    }
}
