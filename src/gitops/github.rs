//! GitHub: the pull request's plan comment, kept as one comment updated in place, and where
//! the repository root is (annotation paths are relative to it).
//!
//! Input: the REST API base URL (`$GITHUB_API_URL`), `owner/repo`, the pull request number, a
//! token and the comment body. Output: which comment was created or updated.
//! Invariants:
//! - One sticky comment: the comments of the pull request are listed (all pages) and the
//!   newest one that starts with [`MARKER`] is PATCHed; only when there is none (or none this
//!   token may edit: 403/404) is a new one POSTed.
//! - The token travels only in the `Authorization` header: never in a URL or a body, never in
//!   an error message. Redirects are not followed (a redirect would carry the header away).

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

/// The hidden first line that marks berth's plan comment.
pub const MARKER: &str = "<!-- berth-plan -->";

/// Comments listed per page (GitHub's maximum).
const PER_PAGE: usize = 100;
/// Stop listing after this many pages (10,000 comments).
const MAX_PAGES: usize = 100;

/// Where the comment goes.
#[derive(Clone, Debug)]
pub struct PullRequest {
    /// REST API base, e.g. `https://api.github.com` (no trailing slash needed).
    pub api_url: String,
    /// `owner/repo`.
    pub repository: String,
    pub number: u64,
}

/// What [`upsert_plan_comment`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommentOutcome {
    Created { id: u64 },
    Updated { id: u64 },
}

#[derive(Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
}

/// Create or update the pull request's plan comment. `body` is the markdown after the marker.
pub fn upsert_plan_comment(
    pr: &PullRequest,
    token: &str,
    body: &str,
) -> anyhow::Result<CommentOutcome> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(upsert(pr, token, body));
    result.map_err(|e| anyhow::anyhow!(scrub(&e.to_string(), token)))
}

async fn upsert(pr: &PullRequest, token: &str, body: &str) -> anyhow::Result<CommentOutcome> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let api = pr.api_url.trim_end_matches('/');
    let repo = &pr.repository;
    let auth = format!("Bearer {token}");
    let request = |method: reqwest::Method, url: String| {
        http.request(method, url)
            .header(reqwest::header::AUTHORIZATION, auth.as_str())
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
    };
    let full = format!("{MARKER}\n{body}");
    let payload = serde_json::json!({ "body": full });

    let mut marked = Vec::new();
    for page in 1..=MAX_PAGES {
        let url = format!(
            "{api}/repos/{repo}/issues/{}/comments?per_page={PER_PAGE}&page={page}",
            pr.number
        );
        let resp = request(reqwest::Method::GET, url).send().await?;
        let status = resp.status();
        if !status.is_success() {
            anyhow::bail!(
                "listing the comments of pull request #{} failed: {status}",
                pr.number
            );
        }
        let comments: Vec<Comment> = resp.json().await?;
        let n = comments.len();
        marked.extend(
            comments
                .into_iter()
                .filter(|c| c.body.as_deref().is_some_and(|b| b.starts_with(MARKER)))
                .map(|c| c.id),
        );
        if n < PER_PAGE {
            break;
        }
    }
    // Newest first: comments are listed oldest first.
    for id in marked.into_iter().rev() {
        let url = format!("{api}/repos/{repo}/issues/comments/{id}");
        let resp = request(reqwest::Method::PATCH, url)
            .json(&payload)
            .send()
            .await?;
        match resp.status() {
            s if s.is_success() => return Ok(CommentOutcome::Updated { id }),
            // Someone else's comment carrying the marker: not ours to edit.
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => continue,
            s => anyhow::bail!("updating comment {id} failed: {s}"),
        }
    }
    let url = format!("{api}/repos/{repo}/issues/{}/comments", pr.number);
    let resp = request(reqwest::Method::POST, url)
        .json(&payload)
        .send()
        .await?;
    let status = resp.status();
    if !status.is_success() {
        anyhow::bail!(
            "commenting on pull request #{} failed: {status} (the token needs `pull-requests: write`)",
            pr.number
        );
    }
    let created: Comment = resp.json().await?;
    Ok(CommentOutcome::Created { id: created.id })
}

fn scrub(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_string()
    } else {
        text.replace(token, "***")
    }
}

/// The root of the git work tree holding `path`, if any.
pub fn worktree_root(path: &Path) -> Option<PathBuf> {
    let repo = git2::Repository::discover(path).ok()?;
    repo.workdir().map(Path::to_path_buf)
}
