//! Checks of `berth.yaml`.
//!
//! Input: the loaded [`crate::model::Config`] (with spans on values and on the
//! `registries.<host>` / `credentials.<name>` keys). Output: diagnostics pushed into the
//! caller's collector: E0302 for an index path outside the catalogue, E0109 for a registry key
//! that is not a host, E0301 for unusable settings (zero concurrency, a non-positive rate, a
//! credential without exactly one source, an environment variable name that is not one).
//!
//! Invariant: a value that may be a secret pasted by mistake (`passwordEnv: hunter2`) is never
//! echoed in a message; findings about a key point at the key, findings about a setting at
//! its value.

use std::path::PathBuf;
use std::sync::LazyLock;

use regex::Regex;

use crate::catalogue::load::{CONFIG_FILE, Catalogue};
use crate::catalogue::validate::normalize_relative;
use crate::model::diag::{Code, Diagnostic, Diagnostics};
use crate::model::reference;

static ENV_NAME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*$").unwrap());

pub(super) fn check_config(cat: &Catalogue, d: &mut Diagnostics) {
    let file = cat
        .config_path
        .clone()
        .unwrap_or_else(|| PathBuf::from(CONFIG_FILE));
    let cfg = &cat.config;
    if let Some(index) = &cfg.index {
        match normalize_relative(&index.value) {
            Ok(_) => {}
            Err(why) => d.push(
                Diagnostic::error(
                    Code::IndexPathEscapes,
                    &file,
                    index.pos,
                    format!("index path `{}` {why}", index.value),
                )
                .with_hint("use a path inside the catalogue, e.g. `index.json`"),
            ),
        }
    }
    for (host, reg) in &cfg.registries {
        if !reference::valid_registry(host) {
            d.push(
                Diagnostic::error(
                    Code::InvalidRegistry,
                    &file,
                    host.pos,
                    format!("registry key `{}` is not a valid registry host", host.value),
                )
                .with_hint("write the host only, e.g. `reg.example.com` or `localhost:5000` (no scheme, no path)"),
            );
        }
        if let Some(n) = &reg.max_concurrency
            && n.value == 0
        {
            d.push(
                Diagnostic::error(
                    Code::InvalidConfig,
                    &file,
                    n.pos,
                    format!(
                        "registries.{}.maxConcurrency must be at least 1",
                        host.value
                    ),
                )
                .with_hint("remove the setting to use the default"),
            );
        }
        if let Some(rps) = &reg.requests_per_second
            && !(rps.value.is_finite() && rps.value > 0.0)
        {
            d.push(
                Diagnostic::error(
                    Code::InvalidConfig,
                    &file,
                    rps.pos,
                    format!(
                        "registries.{}.requestsPerSecond must be a positive number, got {}",
                        host.value, rps.value
                    ),
                )
                .with_hint("remove the setting for no rate limit"),
            );
        }
    }
    for (name, cred) in &cfg.credentials {
        let user = cred.username_env.as_ref();
        let pass = cred.password_env.as_ref();
        let env_pair = user.is_some() || pass.is_some();
        let problem = match (user, pass, cred.docker_config) {
            (Some(_), Some(_), false) | (None, None, true) => None,
            (_, _, true) => Some("sets both dockerConfig and usernameEnv/passwordEnv"),
            (Some(_), None, false) => Some("has usernameEnv but no passwordEnv"),
            (None, Some(_), false) => Some("has passwordEnv but no usernameEnv"),
            (None, None, false) => Some("has no source"),
        };
        if let Some(problem) = problem {
            d.push(
                Diagnostic::error(
                    Code::InvalidConfig,
                    &file,
                    name.pos,
                    format!("credential `{}` {problem}", name.value),
                )
                .with_hint("give both usernameEnv and passwordEnv (environment variable names), or dockerConfig: true"),
            );
        } else if env_pair {
            for (field, var) in [("usernameEnv", user), ("passwordEnv", pass)] {
                if let Some(var) = var
                    && !ENV_NAME_RE.is_match(var)
                {
                    d.push(
                        Diagnostic::error(
                            Code::InvalidConfig,
                            &file,
                            var.pos,
                            // The value is not echoed: it may be a secret pasted by mistake.
                            format!(
                                "credential `{}`: {field} is not an environment variable name",
                                name.value
                            ),
                        )
                        .with_hint("name the variable that holds the secret (e.g. REGISTRY_TOKEN), never the secret itself"),
                    );
                }
            }
        }
    }
}
