//! "Secrets travel only over TLS: a git token is never sent to an `http://` remote, registry
//! credentials never to a registry reached over plain http unless berth.yaml marks it
//! `insecure: true`."
//!
//! Real parts only, all on 127.0.0.1: `git http-backend` behind a Python HTTP(S) server that
//! demands Basic auth and logs every Authorization header it receives; the real registry
//! (htpasswd, and token auth behind TLS with a plain-http token service); a TCP wiretap that
//! records every byte berth sends. TLS uses a test CA trusted through `SSL_CERT_FILE`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use support::secrets::{GitHttpServer, TlsCert, TlsRegistry, Wiretap};
use support::*;

const TOKEN: &str = "ghs_TlsOnlyToken0123456789abcdef";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// What the git server sees when the token is offered.
fn token_header() -> String {
    format!("Basic {}", b64(&format!("x-access-token:{TOKEN}")))
}

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .output()
        .expect("git is installed (apt-get install git)");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// A bare `srv/catalogue.git` holding a one-listing catalogue, and a clone `work` of it.
struct Repo {
    tmp: tempfile::TempDir,
}

impl Repo {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let srv = tmp.path().join("srv");
        std::fs::create_dir_all(&srv).unwrap();
        git(
            &srv,
            &["init", "-q", "--bare", "-b", "main", "catalogue.git"],
        );
        let bare = srv.join("catalogue.git");
        git(tmp.path(), &["clone", "-q", bare.to_str().unwrap(), "work"]);
        let work = tmp.path().join("work");
        std::fs::create_dir_all(work.join("images")).unwrap();
        std::fs::write(work.join("berth.yaml"), "index: index.json\n").unwrap();
        std::fs::write(
            work.join("images/app.yaml"),
            "code: app\nname: App\nsummary: s\npublisher: p\nimage:\n  registry: reg.example.com\n  repository: acme/app\n  tag: \"1.0\"\nrelease:\n  type: new\n  stage: testing\n",
        )
        .unwrap();
        git(&work, &["add", "."]);
        git(&work, &["commit", "-q", "-m", "catalogue"]);
        git(&work, &["push", "-q", "origin", "main"]);
        Repo { tmp }
    }
    fn srv(&self) -> PathBuf {
        self.tmp.path().join("srv")
    }
    fn work(&self) -> PathBuf {
        self.tmp.path().join("work")
    }
    fn remote_main(&self) -> String {
        git(&self.srv().join("catalogue.git"), &["rev-parse", "main"])
    }
    fn set_origin(&self, url: &str) {
        git(&self.work(), &["remote", "set-url", "origin", url]);
    }
    /// `berth apply --push` with the token in BERTH_GIT_TOKEN (and the test CA trusted).
    fn apply_push(&self, ca: Option<&Path>) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
        c.args([
            "apply",
            "--offline",
            "--skip-verify",
            "--push",
            "--catalogue",
        ])
        .arg(self.work())
        .env("BERTH_NOW", "2026-11-26T12:00:00Z")
        .env("HOME", self.tmp.path())
        .env("BERTH_GIT_TOKEN", TOKEN)
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_ACTIONS");
        if let Some(ca) = ca {
            c.env("SSL_CERT_FILE", ca);
        }
        c.output().unwrap()
    }
}

#[test]
fn git_token_is_withheld_from_a_plain_http_remote_that_asks_for_it() {
    let repo = Repo::new();
    let before = repo.remote_main();
    let server = GitHttpServer::start(&repo.srv(), Some(&format!("x-access-token:{TOKEN}")), None);
    repo.set_origin(&server.url("catalogue.git"));
    let o = repo.apply_push(None);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    let url = server.url("catalogue.git");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        stderr.lines().last().unwrap_or_default(),
        format!(
            "error: git push failed: {url} asks for credentials, but it is plain http: the git token was withheld (use an https or ssh remote)"
        ),
        "{out}"
    );
    assert!(!out.contains(TOKEN), "{out}");
    let requests = server.requests();
    assert!(!requests.is_empty(), "berth never reached the server");
    for r in &requests {
        assert_eq!(r.authorization, None, "credentials over plain http: {r:?}");
    }
    assert_eq!(repo.remote_main(), before, "nothing may be pushed");
}

#[test]
fn a_plain_http_remote_that_does_not_ask_gets_the_push_and_no_token() {
    let repo = Repo::new();
    let server = GitHttpServer::start(&repo.srv(), None, None);
    repo.set_origin(&server.url("catalogue.git"));
    let o = repo.apply_push(None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        repo.remote_main(),
        git(&repo.work(), &["rev-parse", "HEAD"])
    );
    let requests = server.requests();
    assert!(
        requests.iter().any(|r| r.method == "POST"),
        "no push request: {requests:?}"
    );
    for r in &requests {
        assert_eq!(r.authorization, None, "credentials over plain http: {r:?}");
    }
}

#[test]
fn git_token_is_sent_to_an_https_remote() {
    let cert = TlsCert::for_loopback();
    let repo = Repo::new();
    let server = GitHttpServer::start(
        &repo.srv(),
        Some(&format!("x-access-token:{TOKEN}")),
        Some(&cert),
    );
    repo.set_origin(&server.url("catalogue.git"));
    let o = repo.apply_push(Some(&cert.ca));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains(TOKEN));
    assert_eq!(
        repo.remote_main(),
        git(&repo.work(), &["rev-parse", "HEAD"])
    );
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.authorization.as_deref() == Some(token_header().as_str())),
        "the token never arrived over https: {requests:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Registries.

const USER: &str = "robot";
const PASSWORD: &str = "tls-0nly-Pa55w0rd-plugh";

fn cred_yaml(registries: &str) -> String {
    format!(
        "{registries}credentials:\n  bot:\n    usernameEnv: REG_USER\n    passwordEnv: REG_PASS\n"
    )
}

fn catalogue(berth_yaml: &str, host: &str, ca: Option<&Path>) -> Catalogue {
    let mut cat = Catalogue::new(berth_yaml);
    cat.env("REG_USER", USER);
    cat.env("REG_PASS", PASSWORD);
    if let Some(ca) = ca {
        cat.env("SSL_CERT_FILE", ca.to_str().unwrap());
    }
    cat.listing(&Listing::new("app", host, "acme/app", "1").cred("bot"));
    cat
}

/// `acme/app:1` pushed into a fresh registry storage (over plain http, anonymously); the
/// returned dir holds `storage/` for the registry under test.
fn seeded_storage() -> (tempfile::TempDir, Pushed) {
    let anon = RegistryProc::start(Auth::None);
    let p = push_image(&anon.addr(), "acme/app", Some("1"), &Img::new("tls"));
    (anon.stop(), p)
}

fn htpasswd_yaml(dir: &Path) -> String {
    need("htpasswd", "apache2-utils");
    let out = Command::new("htpasswd")
        .args(["-Bbn", USER, PASSWORD])
        .output()
        .unwrap();
    assert!(out.status.success());
    let file = dir.join("htpasswd");
    std::fs::write(&file, &out.stdout).unwrap();
    format!(
        "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
        file.display()
    )
}

#[test]
fn registry_credentials_go_to_a_plain_http_registry_only_when_it_is_marked_insecure() {
    let (dir, p) = seeded_storage();
    let reg = RegistryProc::start_in(
        dir,
        Auth::Htpasswd {
            user: USER.into(),
            password: PASSWORD.into(),
        },
    );
    let basic = format!(
        "authorization: Basic {}",
        b64(&format!("{USER}:{PASSWORD}"))
    );

    // Not marked insecure: berth speaks TLS to it, which fails; nothing readable was sent.
    let tap = Wiretap::start(reg.addr());
    let host = tap.addr();
    let cat = catalogue(&cred_yaml(""), &host, None);
    let plan = cat.plan(&[]);
    let v = verification(&plan, "app");
    assert_eq!(v["result"], "failed", "{plan:#}");
    assert!(!tap.sent().is_empty(), "berth never connected");
    assert!(
        !tap.saw("authorization"),
        "an Authorization header went out"
    );
    assert!(!tap.saw(PASSWORD));
    assert!(!tap.saw(&b64(&format!("{USER}:{PASSWORD}"))));
    assert!(!tap.saw("GET /v2/"), "plain http was spoken");

    // Marked insecure: plain http is the user's explicit choice, and the wiretap would see
    // the credentials (so the first half could not pass by a blind tap).
    let tap = Wiretap::start(reg.addr());
    let host = tap.addr();
    let cat = catalogue(&cred_yaml(&Catalogue::insecure_yaml(&[&host])), &host, None);
    let plan = cat.plan(&[]);
    let v = verification(&plan, "app");
    assert_eq!(v["result"], "passed", "{plan:#}");
    assert_eq!(v["digest"], p.digest.as_str());
    assert!(tap.saw(&basic), "the wiretap did not see the credentials");
}

#[test]
fn registry_credentials_go_to_a_registry_over_tls() {
    let cert = TlsCert::for_loopback();
    let (dir, p) = seeded_storage();
    let reg = TlsRegistry::start(
        &dir.path().join("storage"),
        &cert,
        &htpasswd_yaml(dir.path()),
    );
    let tap = Wiretap::start(reg.addr());
    let host = tap.addr();
    let cat = catalogue(&cred_yaml(""), &host, Some(&cert.ca));
    let plan = cat.plan(&[]);
    let v = verification(&plan, "app");
    assert_eq!(v["result"], "passed", "{plan:#}");
    assert_eq!(v["digest"], p.digest.as_str());
    // Encrypted on the wire.
    assert!(!tap.sent().is_empty());
    assert!(!tap.saw("authorization"));
    assert!(!tap.saw(&b64(&format!("{USER}:{PASSWORD}"))));
}

#[test]
fn registry_credentials_never_go_to_a_plain_http_token_service_of_a_tls_registry() {
    let cert = TlsCert::for_loopback();
    let issuer = TokenIssuer::start(USER, PASSWORD);
    let (dir, _) = seeded_storage();
    // The registry is reached over https, but its challenge names an http:// token realm.
    let auth = format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
        issuer.port,
        TokenIssuer::SERVICE,
        TokenIssuer::ISSUER,
        issuer.cert_pem.display()
    );
    let reg = TlsRegistry::start(&dir.path().join("storage"), &cert, &auth);
    let host = reg.addr();
    let cat = catalogue(&cred_yaml(""), &host, Some(&cert.ca));
    let plan = cat.plan(&[]);
    let v = verification(&plan, "app");
    assert_eq!(v["result"], "failed", "{plan:#}");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!(
            "the token service http://127.0.0.1:{}/token is plain http: credentials were withheld",
            issuer.port
        )),
        "{reason}"
    );
    assert_eq!(
        issuer.requests.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the token service was asked with the credentials over plain http"
    );
}

/// Holds "secrets never in logs/output" where the transport names the remote: a remote URL
/// that carries the token in its path (some hosts hand out such URLs) is printed with the
/// token replaced by `***`.
#[test]
fn a_token_inside_the_remote_url_is_never_printed() {
    let repo = Repo::new();
    let srv = repo.srv();
    std::fs::create_dir_all(srv.join(TOKEN)).unwrap();
    std::fs::rename(
        srv.join("catalogue.git"),
        srv.join(TOKEN).join("catalogue.git"),
    )
    .unwrap();
    let server = GitHttpServer::start(&srv, Some(&format!("x-access-token:{TOKEN}")), None);
    let url = server.url(&format!("{TOKEN}/catalogue.git"));
    repo.set_origin(&url);
    let o = repo.apply_push(None);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .last()
            .unwrap_or_default(),
        format!(
            "error: git push failed: {} asks for credentials, but it is plain http: the git token was withheld (use an https or ssh remote)",
            url.replace(TOKEN, "***")
        ),
        "{out}"
    );
    assert!(!out.contains(TOKEN), "{out}");
}

/// A token the https remote refuses is offered a bounded number of times (libgit2 asks again
/// after every refusal), then the push fails saying so; nothing is pushed, nothing leaks.
#[test]
fn a_refused_token_fails_the_push_after_a_bounded_number_of_tries() {
    let cert = TlsCert::for_loopback();
    let repo = Repo::new();
    let before = repo.remote_main();
    let server = GitHttpServer::start(
        &repo.srv(),
        Some("x-access-token:another-token"),
        Some(&cert),
    );
    let url = server.url("catalogue.git");
    repo.set_origin(&url);
    let o = repo.apply_push(Some(&cert.ca));
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .last()
            .unwrap_or_default(),
        format!("error: git push failed: authentication to {url} failed: credentials rejected"),
        "{out}"
    );
    assert!(!out.contains(TOKEN), "{out}");
    let offered = server
        .requests()
        .iter()
        .filter(|r| r.authorization.as_deref() == Some(token_header().as_str()))
        .count();
    assert_eq!(offered, 3, "{:?}", server.requests());
    assert_eq!(repo.remote_main(), before, "nothing may be pushed");
}
