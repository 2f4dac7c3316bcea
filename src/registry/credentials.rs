//! Registry credentials: from berth.yaml names to [`Credential`]s.
//!
//! Input: the credential name a listing gives (`image.credential`), berth.yaml
//! `credentials`, the process environment and the docker config directory (`DOCKER_CONFIG`,
//! else `~/.docker`). Output: a [`Credential`] or a user-facing reason why none could be had.
//!
//! Sources, in order: `usernameEnv`/`passwordEnv`; then, with `dockerConfig: true`, the docker
//! config's `credHelpers[host]`, `credsStore`, and `auths[host]` (docker's own precedence).
//! Invariant: secrets only ever travel inside [`Secret`]; no error message quotes one (helper
//! output is parsed, never echoed).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine;

use crate::model::Config;
use crate::model::span::Sp;
use crate::registry::{Credential, Secret};

/// The credential called `name` (a listing's `image.credential`) for `host`.
pub fn resolve(name: Option<&str>, config: &Config, host: &str) -> Result<Credential, String> {
    let Some(name) = name else {
        return Ok(Credential::Anonymous);
    };
    let Some(c) = config.credentials.get(name) else {
        return Err(format!("credential `{name}` is not defined in berth.yaml"));
    };
    let c = &c.value;
    if c.username_env.is_some() || c.password_env.is_some() {
        let get = |var: &Option<Sp<String>>, what: &str| -> Result<String, String> {
            let var = var
                .as_ref()
                .map(|v| v.value.as_str())
                .ok_or_else(|| format!("credential `{name}` has no {what}Env"))?;
            match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(v),
                _ => Err(format!(
                    "credential `{name}`: environment variable `{var}` is not set"
                )),
            }
        };
        let from_env = get(&c.username_env, "username")
            .and_then(|u| get(&c.password_env, "password").map(|p| (u, p)));
        match from_env {
            Ok((username, password)) => {
                return Ok(Credential::Basic {
                    username,
                    password: Secret::new(password),
                });
            }
            Err(e) if !c.docker_config => return Err(e),
            Err(_) => {}
        }
    }
    if c.docker_config {
        return match docker_config_credential(host)? {
            Some(cred) => Ok(cred),
            None => Err(format!(
                "credential `{name}`: no entry for {host} in {}",
                docker_config_dir().join("config.json").display()
            )),
        };
    }
    Err(format!(
        "credential `{name}` names no source (usernameEnv/passwordEnv or dockerConfig: true)"
    ))
}

/// `$DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_config_dir() -> PathBuf {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".docker"),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// Keys under which docker may have stored `host`.
fn keys_for(host: &str) -> Vec<String> {
    let mut keys = vec![
        host.to_string(),
        format!("https://{host}"),
        format!("http://{host}"),
        format!("https://{host}/v1/"),
        format!("https://{host}/v2/"),
    ];
    if host == crate::model::reference::DOCKER_HUB {
        keys.insert(0, "https://index.docker.io/v1/".to_string());
        keys.push("index.docker.io".to_string());
        keys.push("registry-1.docker.io".to_string());
    }
    keys
}

/// Credential for `host` from the docker config; `Ok(None)` when it has none.
pub fn docker_config_credential(host: &str) -> Result<Option<Credential>, String> {
    let path = docker_config_dir().join("config.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let cfg: DockerConfig = serde_json::from_str(&text)
        // serde_json errors quote no input, only the position.
        .map_err(|e| format!("cannot parse {}: {e}", path.display()))?;
    let keys = keys_for(host);
    if let Some(helper) = keys.iter().find_map(|k| cfg.cred_helpers.get(k)) {
        return helper_get(helper, host);
    }
    if let Some(store) = &cfg.creds_store
        && let Some(c) = helper_get(store, host)?
    {
        return Ok(Some(c));
    }
    let Some(entry) = keys.iter().find_map(|k| cfg.auths.get(k)) else {
        return Ok(None);
    };
    if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
        return Ok(Some(Credential::Basic {
            username: u.clone(),
            password: Secret::new(p.clone()),
        }));
    }
    if let Some(a) = &entry.auth {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(a.trim())
            .map_err(|_| format!("auths entry for {host} in {} is not base64", path.display()))?;
        let raw =
            String::from_utf8(raw).map_err(|_| format!("auths entry for {host} is not UTF-8"))?;
        let (u, p) = raw
            .split_once(':')
            .ok_or_else(|| format!("auths entry for {host} is not `user:password`"))?;
        return Ok(Some(Credential::Basic {
            username: u.to_string(),
            password: Secret::new(p),
        }));
    }
    Ok(None)
}

/// Run `docker-credential-<helper> get` for `host`. "Not found" answers are `Ok(None)`.
fn helper_get(helper: &str, host: &str) -> Result<Option<Credential>, String> {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run credential helper {program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // The helper may exit without reading; a broken pipe then is not our error.
        let _ = stdin.write_all(host.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("credential helper {program} failed: {e}"))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase()
            + &String::from_utf8_lossy(&out.stderr).to_ascii_lowercase();
        if msg.contains("not found") {
            return Ok(None);
        }
        // The helper's output is not echoed: it could hold anything.
        return Err(format!(
            "credential helper {program} failed ({})",
            out.status
        ));
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct HelperAnswer {
        username: Option<String>,
        secret: Option<String>,
    }
    let ans: HelperAnswer = serde_json::from_slice(&out.stdout)
        .map_err(|_| format!("credential helper {program} answered with unreadable JSON"))?;
    match (ans.username, ans.secret) {
        (Some(u), Some(s)) if !s.is_empty() => Ok(Some(Credential::Basic {
            username: u,
            password: Secret::new(s),
        })),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_keys() {
        let k = keys_for("docker.io");
        assert_eq!(k[0], "https://index.docker.io/v1/");
        assert!(keys_for("127.0.0.1:5000").contains(&"http://127.0.0.1:5000".to_string()));
    }

    #[test]
    fn anonymous_without_name() {
        assert_eq!(
            resolve(None, &Config::default(), "x"),
            Ok(Credential::Anonymous)
        );
        assert!(
            resolve(Some("nope"), &Config::default(), "x")
                .unwrap_err()
                .contains("not defined")
        );
    }
}
