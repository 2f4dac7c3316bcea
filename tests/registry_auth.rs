//! Authentication against real registries: htpasswd basic auth, token auth with a test
//! token issuer, credentials from berth.yaml env vars and from docker config (`auths`,
//! `credsStore`, `credHelpers`), and secrets never leaking into output or the index.

mod support;

use std::os::unix::fs::PermissionsExt;

use base64::Engine;
use support::*;

const USER: &str = "robot";
const PASSWORD: &str = "s3cr3t-Pa55w0rd-xyzzy";

/// A registry with `auth`, seeded anonymously with `acme/app:1` first.
fn seeded(auth: impl FnOnce() -> Auth) -> (RegistryProc, Pushed) {
    let anon = RegistryProc::start(Auth::None);
    let p = push_image(&anon.addr(), "acme/app", Some("1"), &Img::new("auth"));
    let dir = anon.stop();
    (RegistryProc::start_in(dir, auth()), p)
}

fn htpasswd() -> Auth {
    Auth::Htpasswd {
        user: USER.into(),
        password: PASSWORD.into(),
    }
}

fn env_cred_yaml(host: &str) -> String {
    format!(
        "{}credentials:\n  bot:\n    usernameEnv: REG_USER\n    passwordEnv: REG_PASS\n",
        Catalogue::insecure_yaml(&[host])
    )
}

fn docker_cred_yaml(host: &str) -> String {
    format!(
        "{}credentials:\n  bot:\n    dockerConfig: true\n",
        Catalogue::insecure_yaml(&[host])
    )
}

fn assert_no_secret(cat: &Catalogue, outputs: &[&std::process::Output], secret: &str) {
    for o in outputs {
        let t = text(o);
        assert!(!t.contains(secret), "secret leaked into output:\n{t}");
    }
    assert!(
        !cat.index_text().contains(secret),
        "secret leaked into index.json"
    );
}

#[test]
fn basic_auth_with_env_credentials() {
    let (reg, p) = seeded(htpasswd);
    let host = reg.addr();
    let mut cat = Catalogue::new(&env_cred_yaml(&host));
    cat.env("REG_USER", USER);
    cat.env("REG_PASS", PASSWORD);
    cat.listing(&Listing::new("app", &host, "acme/app", "1").cred("bot"));
    let o = cat.apply(&["-vv"]);
    let v = cat.version("app", "1.0.0");
    assert_eq!(v["verification"]["state"], "passed", "{}", text(&o));
    assert_eq!(v["digest"], p.digest.as_str());
    assert_no_secret(&cat, &[&o], PASSWORD);
}

#[test]
fn basic_auth_wrong_password_is_check_failed_unauthorized() {
    let (reg, _) = seeded(htpasswd);
    let host = reg.addr();
    let mut cat = Catalogue::new(&env_cred_yaml(&host));
    cat.env("REG_USER", USER);
    cat.env("REG_PASS", "wrong-password-123");
    cat.listing(&Listing::new("app", &host, "acme/app", "1").cred("bot"));
    // An anonymous listing on the same registry fails too, with its own reason (outcomes are
    // per reference, so it names another tag).
    cat.listing(&Listing::new("anon", &host, "acme/app", "other"));
    let o = cat.apply(&["-vv"]);
    let v = cat.version("app", "1.0.0");
    assert_eq!(v["status"], "check-failed");
    let reason = v["verification"]["reason"].as_str().unwrap();
    assert!(reason.contains("unauthorized"), "{reason}");
    assert!(reason.contains("rejected the credentials"), "{reason}");
    let a = cat.version("anon", "1.0.0");
    assert!(
        a["verification"]["reason"]
            .as_str()
            .unwrap()
            .contains("none are configured")
    );
    assert_no_secret(&cat, &[&o], "wrong-password-123");
}

#[test]
fn missing_env_var_is_check_failed_with_its_name() {
    let (reg, _) = seeded(htpasswd);
    let host = reg.addr();
    let cat = Catalogue::new(&env_cred_yaml(&host));
    cat.listing(&Listing::new("app", &host, "acme/app", "1").cred("bot"));
    cat.apply(&[]);
    let v = cat.version("app", "1.0.0");
    assert_eq!(v["status"], "check-failed");
    assert!(
        v["verification"]["reason"]
            .as_str()
            .unwrap()
            .contains("`REG_USER` is not set")
    );
}

#[test]
fn token_auth_with_issuer() {
    let issuer = TokenIssuer::start(USER, PASSWORD);
    let (reg, p) = seeded(|| Auth::Token(issuer.clone()));
    let host = reg.addr();
    let mut cat = Catalogue::new(&env_cred_yaml(&host));
    cat.env("REG_USER", USER);
    cat.env("REG_PASS", PASSWORD);
    cat.listing(&Listing::new("app", &host, "acme/app", "1").cred("bot"));
    let plan = cat.plan(&[]);
    let v = verification(&plan, "app");
    assert_eq!(v["result"], "passed", "{plan:#}");
    assert_eq!(v["digest"], p.digest.as_str());
    // One token for the repository, reused for every request.
    assert_eq!(issuer.requests.load(std::sync::atomic::Ordering::SeqCst), 1);
    let o = cat.apply(&["-vv"]);
    assert_no_secret(&cat, &[&o], PASSWORD);

    // Wrong password: the token service refuses; check-failed, unauthorized.
    let mut bad = Catalogue::new(&env_cred_yaml(&host));
    bad.env("REG_USER", USER);
    bad.env("REG_PASS", "nope-nope");
    bad.listing(&Listing::new("app", &host, "acme/app", "1").cred("bot"));
    let plan = bad.plan(&[]);
    let v = verification(&plan, "app");
    assert_eq!(v["result"], "failed");
    assert!(
        v["reason"].as_str().unwrap().contains("unauthorized"),
        "{v}"
    );
}

fn write_docker_config(cat: &mut Catalogue, json: &serde_json::Value) -> std::path::PathBuf {
    let dir = cat.tmp.path().join("docker");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), serde_json::to_vec(json).unwrap()).unwrap();
    cat.env("DOCKER_CONFIG", &dir.display().to_string());
    dir
}

/// A `docker-credential-<name>` helper answering for `host` only; logs its calls.
fn helper(cat: &mut Catalogue, name: &str, host: &str) -> std::path::PathBuf {
    let bin = cat.tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = cat.tmp.path().join(format!("{name}.log"));
    let script = format!(
        "#!/bin/sh\nread server\necho \"$1 $server\" >> '{}'\nif [ \"$1\" = get ] && [ \"$server\" = '{host}' ]; then\n  printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$server\"\n  exit 0\nfi\necho 'credentials not found in native keychain'\nexit 1\n",
        log.display()
    );
    let path = bin.join(format!("docker-credential-{name}"));
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let old = std::env::var("PATH").unwrap_or_default();
    cat.env("PATH", &format!("{}:{old}", bin.display()));
    log
}

#[test]
fn docker_config_auths() {
    let (reg, p) = seeded(htpasswd);
    let host = reg.addr();
    let mut cat = Catalogue::new(&docker_cred_yaml(&host));
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    write_docker_config(
        &mut cat,
        &serde_json::json!({ "auths": { format!("http://{host}"): { "auth": auth } } }),
    );
    cat.listing(&Listing::new("app", &host, "acme/app", "1").cred("bot"));
    let o = cat.apply(&["-vv"]);
    let v = cat.version("app", "1.0.0");
    assert_eq!(v["verification"]["state"], "passed", "{}", text(&o));
    assert_eq!(v["digest"], p.digest.as_str());
    assert_no_secret(&cat, &[&o], PASSWORD);
    assert_no_secret(&cat, &[&o], &auth);
}

#[test]
fn docker_config_creds_store() {
    let (reg, _) = seeded(htpasswd);
    let host = reg.addr();
    let mut cat = Catalogue::new(&docker_cred_yaml(&host));
    let log = helper(&mut cat, "berthstore", &host);
    write_docker_config(&mut cat, &serde_json::json!({ "credsStore": "berthstore" }));
    cat.listing(&Listing::new("app", &host, "acme/app", "1").cred("bot"));
    let o = cat.apply(&["-vv"]);
    assert_eq!(
        cat.version("app", "1.0.0")["verification"]["state"],
        "passed",
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(log).unwrap().trim(),
        format!("get {host}")
    );
    assert_no_secret(&cat, &[&o], PASSWORD);
}

#[test]
fn docker_config_cred_helpers_win_over_store() {
    let (reg, _) = seeded(htpasswd);
    let host = reg.addr();
    let mut cat = Catalogue::new(&docker_cred_yaml(&host));
    let helper_log = helper(&mut cat, "berthhelper", &host);
    // The store answers nothing useful; the per-host helper must be the one asked.
    let store_log = helper(&mut cat, "berthstore", "other.example:1");
    write_docker_config(
        &mut cat,
        &serde_json::json!({ "credsStore": "berthstore", "credHelpers": { host.clone(): "berthhelper" } }),
    );
    cat.listing(&Listing::new("app", &host, "acme/app", "1").cred("bot"));
    let o = cat.apply(&["-vv"]);
    assert_eq!(
        cat.version("app", "1.0.0")["verification"]["state"],
        "passed",
        "{}",
        text(&o)
    );
    assert!(std::fs::read_to_string(helper_log).unwrap().contains("get"));
    assert!(!store_log.exists(), "credsStore was not consulted");
    assert_no_secret(&cat, &[&o], PASSWORD);
}

#[test]
fn docker_config_without_entry_is_check_failed() {
    let (reg, _) = seeded(htpasswd);
    let host = reg.addr();
    let mut cat = Catalogue::new(&docker_cred_yaml(&host));
    write_docker_config(&mut cat, &serde_json::json!({ "auths": {} }));
    cat.listing(&Listing::new("app", &host, "acme/app", "1").cred("bot"));
    cat.apply(&[]);
    let v = cat.version("app", "1.0.0");
    assert_eq!(v["status"], "check-failed");
    assert!(
        v["verification"]["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("no entry for {host}"))
    );
}
