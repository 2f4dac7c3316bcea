//! Authentication: credentials ([`Credential`], [`Secret`]) and the answer to a registry's
//! `WWW-Authenticate` challenge — HTTP Basic, or a Bearer token fetched from the challenge's
//! realm for the request's scope (`repository:NAME:pull`), cached per scope.
//!
//! Challenges are parsed with the `http-auth` crate (the parser oci-client uses): it reads
//! the RFC 7235 grammar — several challenges in one header, quoted strings with escapes,
//! commas inside quoted values (`scope="repository:a:pull,push"`) — which a regex does not.
//! Input: the challenge of a 401. Output: an `Authorization` header value for a scope.
//! Invariant: secrets stay inside [`Secret`] (`Debug` prints `***`); errors say which side
//! refused, never what was sent.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine;
use reqwest::StatusCode;
use tokio::sync::Mutex;

use super::errors::RegistryError;
use super::transport::Endpoint;

/// A secret string: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself, for building an Authorization header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How to authenticate to a registry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Credential {
    #[default]
    Anonymous,
    /// User name and password (or a token used as password). Sent as HTTP Basic to a
    /// Basic-auth registry, or to the token service of a Bearer-auth registry.
    Basic { username: String, password: Secret },
}

/// What a registry answered when it wanted authentication.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Scheme {
    /// Not learned yet: try anonymously.
    Unknown,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// The scheme of `WWW-Authenticate` values (one header may list several challenges, and a
/// registry may send several headers): Bearer with a realm when offered, else Basic.
pub(super) fn parse_challenge(header: &str) -> Option<Scheme> {
    let challenges = http_auth::parse_challenges(header).ok()?;
    let mut basic = false;
    for c in &challenges {
        if c.scheme.eq_ignore_ascii_case("bearer") {
            let param = |name: &str| {
                c.params
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_unescaped())
            };
            if let Some(realm) = param("realm") {
                return Some(Scheme::Bearer {
                    realm,
                    service: param("service"),
                });
            }
        } else if c.scheme.eq_ignore_ascii_case("basic") {
            basic = true;
        }
    }
    basic.then_some(Scheme::Basic)
}

pub(super) fn basic(username: &str, password: &Secret) -> String {
    let raw = format!("{username}:{}", password.expose());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

pub(super) fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

pub(super) fn push_scope(repository: &str) -> String {
    format!("repository:{repository}:pull,push")
}

/// What a client knows about authenticating to one registry: its credential, the scheme the
/// registry's last challenge asked for, and Bearer tokens by scope. Clones share the scheme
/// and the tokens.
#[derive(Clone, Debug)]
pub(super) struct Authenticator {
    credential: Credential,
    scheme: Arc<Mutex<Scheme>>,
    /// Bearer tokens by scope (`repository:NAME:pull`).
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

impl Authenticator {
    pub(super) fn new(credential: Credential) -> Self {
        Authenticator {
            credential,
            scheme: Arc::new(Mutex::new(Scheme::Unknown)),
            tokens: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A 401 answered a request for `scope` sent with `sent` (an Authorization header, or
    /// none): learn the scheme from its `challenges`. Returns whether to send the request once
    /// more (first with credentials after an anonymous try; with a new token after a stale
    /// one); `false` when the credentials themselves were refused or the challenge is
    /// unreadable.
    pub(super) async fn challenged(&self, challenges: &str, sent: bool, scope: &str) -> bool {
        let Some(s) = parse_challenge(challenges) else {
            return false;
        };
        let bearer = matches!(s, Scheme::Bearer { .. });
        *self.scheme.lock().await = s;
        match (sent, bearer) {
            // Anonymous first try: now authenticate.
            (false, _) => true,
            // A token can be stale: drop it and fetch a new one once.
            (true, true) => {
                self.tokens.lock().await.remove(scope);
                true
            }
            // Basic credentials were rejected.
            (true, false) => false,
        }
    }

    /// The error once the registry still says 401.
    pub(super) fn refused(&self) -> RegistryError {
        RegistryError::Unauthorized {
            detail: match self.credential {
                Credential::Anonymous => {
                    ": the registry requires credentials and none are configured".into()
                }
                Credential::Basic { .. } => ": the registry rejected the credentials".into(),
            },
        }
    }

    /// Authorization header for `scope` under the learned scheme, fetching a token from
    /// `endpoint`'s token service if needed.
    pub(super) async fn authorization(
        &self,
        endpoint: &Endpoint,
        scope: &str,
    ) -> Result<Option<String>, RegistryError> {
        let scheme = self.scheme.lock().await.clone();
        match scheme {
            Scheme::Unknown => Ok(None),
            Scheme::Basic => match &self.credential {
                Credential::Anonymous => Err(RegistryError::Unauthorized {
                    detail: ": the registry requires credentials and none are configured".into(),
                }),
                Credential::Basic { username, password } => Ok(Some(basic(username, password))),
            },
            Scheme::Bearer { realm, service } => {
                if let Some(t) = self.tokens.lock().await.get(scope) {
                    return Ok(Some(format!("Bearer {t}")));
                }
                let token = self
                    .fetch_token(endpoint, &realm, service.as_deref(), scope)
                    .await?;
                self.tokens
                    .lock()
                    .await
                    .insert(scope.to_string(), token.clone());
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    async fn fetch_token(
        &self,
        endpoint: &Endpoint,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<String, RegistryError> {
        let mut url = reqwest::Url::parse(realm).map_err(|_| RegistryError::Unauthorized {
            detail: format!(": token realm `{realm}` is not a URL"),
        })?;
        // Secrets travel only over TLS: a plain-http token service of a registry not marked
        // `insecure` never gets the credentials (the anonymous request carries none).
        if url.scheme() == "http"
            && !endpoint.limits().insecure
            && matches!(self.credential, Credential::Basic { .. })
        {
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            let shown = format!(
                "http://{}{port}{}",
                url.host_str().unwrap_or(""),
                url.path()
            );
            return Err(RegistryError::Unauthorized {
                detail: format!(
                    ": the token service {shown} is plain http: credentials were withheld (mark the registry `insecure: true` in berth.yaml to allow plain http)"
                ),
            });
        }
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            q.append_pair("scope", scope);
        }
        let cred = self.credential.clone();
        let resp = endpoint
            .execute("token request", &|c| {
                let rb = c.get(url.clone());
                match &cred {
                    Credential::Anonymous => rb,
                    Credential::Basic { username, password } => {
                        rb.header(reqwest::header::AUTHORIZATION, basic(username, password))
                    }
                }
            })
            .await?;
        match resp.status {
            StatusCode::OK => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(RegistryError::Unauthorized {
                    detail: format!(
                        ": the token service rejected the {}",
                        match self.credential {
                            Credential::Anonymous => "anonymous request",
                            Credential::Basic { .. } => "credentials",
                        }
                    ),
                });
            }
            s => {
                return Err(RegistryError::Status {
                    what: "token request".into(),
                    status: s.as_u16(),
                    detail: String::new(),
                    attempts: 1,
                });
            }
        }
        #[derive(serde::Deserialize)]
        struct Tok {
            token: Option<String>,
            access_token: Option<String>,
        }
        let t: Tok =
            serde_json::from_slice(&resp.body).map_err(|_| RegistryError::Unauthorized {
                detail: ": the token service answered with an unreadable token".into(),
            })?;
        t.token
            .or(t.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| RegistryError::Unauthorized {
                detail: ": the token service answered without a token".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        assert_eq!(
            parse_challenge("Basic realm=\"Registry\""),
            Some(Scheme::Basic)
        );
        assert_eq!(
            parse_challenge(
                "Bearer realm=\"http://127.0.0.1:1/token\",service=\"reg\",scope=\"repository:a/b:pull,push\""
            ),
            Some(Scheme::Bearer {
                realm: "http://127.0.0.1:1/token".into(),
                service: Some("reg".into())
            })
        );
        assert_eq!(parse_challenge("Bearer service=\"x\""), None);
        assert_eq!(parse_challenge("Negotiate"), None);
        // Several challenges in one value: Bearer wins over Basic, in either order; quoted
        // escapes are undone.
        assert_eq!(
            parse_challenge(
                "Basic realm=\"r\", Bearer realm=\"https://auth.test/t\\\"x\", service=reg"
            ),
            Some(Scheme::Bearer {
                realm: "https://auth.test/t\"x".into(),
                service: Some("reg".into())
            })
        );
        assert_eq!(
            parse_challenge("Negotiate, Basic realm=\"r\""),
            Some(Scheme::Basic)
        );
        assert_eq!(parse_challenge("Bearer realm=\"unterminated"), None);
    }

    #[test]
    fn secrets_are_not_printed() {
        let c = Credential::Basic {
            username: "bot".into(),
            password: Secret::new("hunter2"),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(
            basic("bot", &Secret::new("pw")),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("bot:pw")
            )
        );
    }
}
