//! Clients, the config file, and the settings that `POST /_sim/config` can change at run time.
//! Everything is validated once, before the server starts, and every problem is reported at once.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::faults::Fault;
use crate::modes::Mode;
use crate::users::{default_users, User};
use crate::webhook::WebhookUrl;

/// How a client authenticates at the token endpoint. Vipps enables exactly one per sales unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
}

impl AuthMethod {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client_secret_basic" => Some(AuthMethod::ClientSecretBasic),
            "client_secret_post" => Some(AuthMethod::ClientSecretPost),
            _ => None,
        }
    }
}

/// A client secret: redacted in `Debug`, compared in constant time.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// Constant-time comparison. Both sides are hashed first so that the length does not leak.
    pub fn matches(&self, presented: &str) -> bool {
        let a = Sha256::digest(self.0.as_bytes());
        let b = Sha256::digest(presented.as_bytes());
        a.ct_eq(&b).into()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    pub client_id: String,
    pub client_secret: Secret,
    pub redirect_uris: Vec<String>,
    #[serde(default = "default_auth_method")]
    pub token_endpoint_auth_method: AuthMethod,
}

fn default_auth_method() -> AuthMethod {
    AuthMethod::ClientSecretBasic
}

impl Client {
    /// Exact, byte-for-byte comparison, as Vipps does: no normalisation of case, trailing `/`,
    /// query or percent-encoding.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|registered| registered == uri)
    }
}

pub fn default_client() -> Client {
    Client {
        client_id: "demo-client".into(),
        client_secret: Secret::new("demo-secret"),
        redirect_uris: vec![
            "http://localhost:8787/auth/callback".into(),
            "http://127.0.0.1:8787/auth/callback".into(),
        ],
        token_endpoint_auth_method: AuthMethod::ClientSecretBasic,
    }
}

/// The `--config` file: each array, when present, replaces the defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub clients: Option<Vec<Client>>,
    pub users: Option<Vec<User>>,
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Settings that may change while the server runs (`POST /_sim/config`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// `Cache-Control: public, max-age=N` on discovery.
    pub discovery_max_age: u64,
    /// `Cache-Control: public, max-age=N` on the JWKS; no header at all when `None`.
    pub jwks_max_age: Option<u64>,
    /// Lifetime of an authorization code, seconds.
    pub code_ttl: u64,
    /// Lifetime of an access token, seconds; also the token response's `expires_in`.
    pub access_token_ttl: u64,
    /// `exp - iat` of ID tokens, seconds.
    pub id_token_ttl: u64,
    /// Hostile behaviour to simulate (see `modes.rs`); `None` = behave like Vipps.
    pub mode: Option<Mode>,
    /// A network fault on one endpoint (see `faults.rs`); `None` = no fault.
    pub fault: Option<Fault>,
    /// Seconds added to the system clock (lets tests expire codes and tokens without sleeping).
    pub clock_offset: i64,
    /// Where `POST /_sim/revoke-consent` delivers the `CONSENT_REVOKED` webhook (`http://` only).
    pub consent_webhook_url: Option<String>,
    /// The `interval` a CIBA start answers with (seconds between polls; Vipps: 5).
    pub ciba_interval: u64,
    /// How the ID token of a `login_to_webpage` code misbehaves (see
    /// `endpoints::ciba::REDIRECT_FAULTS`); `None` = as Vipps: ES256 with `auth_req_id`.
    pub ciba_redirect_fault: Option<String>,
    /// The next authorize requests redirect back with this error instead of a login.
    pub authorize_error: Option<AuthorizeError>,
}

/// `{"error": "temporarily_unavailable", "times": 1}`: the next `times` authorize requests (of a
/// known client, with a registered redirect URI and a valid state) redirect back with `error`.
/// Any code of `[a-z_]` works, documented or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthorizeError {
    pub error: String,
    pub times: u64,
}

impl AuthorizeError {
    pub fn parse(v: &Value) -> Result<AuthorizeError, Vec<String>> {
        let Some(o) = v.as_object() else {
            return Err(vec!["`authorize_error` must be an object or null".into()]);
        };
        let mut problems = Vec::new();
        let error = o.get("error").and_then(Value::as_str).unwrap_or("");
        if error.is_empty() || error.len() > 64 || !error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            problems.push("`authorize_error.error` must be 1 to 64 characters of a-z and _".to_string());
        }
        let times = match o.get("times") {
            None => 1,
            Some(t) => match t.as_u64() {
                Some(n @ 1..=100) => n,
                _ => {
                    problems.push("`authorize_error.times` must be a whole number from 1 to 100".into());
                    1
                }
            },
        };
        for k in o.keys() {
            if k != "error" && k != "times" {
                problems.push(format!("unknown authorize_error field `{k}`"));
            }
        }
        if problems.is_empty() {
            Ok(AuthorizeError { error: error.to_string(), times })
        } else {
            Err(problems)
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            discovery_max_age: 3600,
            jwks_max_age: None,
            code_ttl: 120,
            access_token_ttl: 600,
            id_token_ttl: 3600,
            mode: None,
            fault: None,
            ciba_interval: 5,
            ciba_redirect_fault: None,
            clock_offset: 0,
            consent_webhook_url: None,
            authorize_error: None,
        }
    }
}

impl Settings {
    pub fn to_json(&self) -> Value {
        json!(self)
    }

    /// Applies a JSON object of changes. All-or-nothing: on any problem nothing changes and every
    /// problem is returned.
    pub fn apply_patch(&mut self, patch: &Value) -> Result<(), Vec<String>> {
        let Some(object) = patch.as_object() else {
            return Err(vec!["the body must be a JSON object".into()]);
        };
        let mut next = self.clone();
        let mut problems = Vec::new();
        for (key, value) in object {
            let ok = match key.as_str() {
                "discovery_max_age" => value.as_u64().map(|v| next.discovery_max_age = v).is_some(),
                "code_ttl" => value.as_u64().map(|v| next.code_ttl = v).is_some(),
                "access_token_ttl" => value.as_u64().map(|v| next.access_token_ttl = v).is_some(),
                "id_token_ttl" => value.as_u64().map(|v| next.id_token_ttl = v).is_some(),
                "clock_offset" => value.as_i64().map(|v| next.clock_offset = v).is_some(),
                "ciba_redirect_fault" => match value {
                    Value::Null => {
                        next.ciba_redirect_fault = None;
                        true
                    }
                    Value::String(s) => {
                        if crate::endpoints::ciba::REDIRECT_FAULTS.contains(&s.as_str()) {
                            next.ciba_redirect_fault = Some(s.clone());
                        } else {
                            problems.push(format!("unknown ciba_redirect_fault `{s}` (one of {:?})", crate::endpoints::ciba::REDIRECT_FAULTS));
                        }
                        true
                    }
                    _ => false,
                },
                "ciba_interval" => value.as_u64().filter(|v| (1..=60).contains(v)).map(|v| next.ciba_interval = v).is_some(),
                "jwks_max_age" => match value {
                    Value::Null => {
                        next.jwks_max_age = None;
                        true
                    }
                    v => v.as_u64().map(|v| next.jwks_max_age = Some(v)).is_some(),
                },
                "mode" => match value {
                    Value::Null => {
                        next.mode = None;
                        true
                    }
                    Value::String(s) => {
                        match Mode::parse(s) {
                            Some(m) => next.mode = Some(m),
                            None => problems
                                .push(format!("unknown mode `{s}` (GET /_sim/modes lists them)")),
                        }
                        true
                    }
                    _ => false,
                },
                "consent_webhook_url" => match value {
                    Value::Null => {
                        next.consent_webhook_url = None;
                        true
                    }
                    Value::String(s) => {
                        match WebhookUrl::parse(s) {
                            Ok(_) => next.consent_webhook_url = Some(s.clone()),
                            Err(e) => problems.push(format!("consent_webhook_url: {e}")),
                        }
                        true
                    }
                    _ => false,
                },
                "authorize_error" => {
                    match value {
                        Value::Null => next.authorize_error = None,
                        v => match AuthorizeError::parse(v) {
                            Ok(e) => next.authorize_error = Some(e),
                            Err(p) => problems.extend(p),
                        },
                    }
                    true
                }
                "fault" => {
                    match value {
                        Value::Null => next.fault = None,
                        v => match Fault::parse(v) {
                            Ok(f) => next.fault = Some(f),
                            Err(p) => problems.extend(p),
                        },
                    }
                    true
                }
                _ => {
                    problems.push(format!("unknown setting `{key}`"));
                    continue;
                }
            };
            if !ok {
                problems.push(format!("`{key}` has the wrong type"));
            }
        }
        if problems.is_empty() {
            *self = next;
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// Everything the simulator needs besides the key and the bound address.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub clients: Vec<Client>,
    pub users: Vec<User>,
    pub settings: Settings,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            clients: vec![default_client()],
            users: default_users(),
            settings: Settings::default(),
        }
    }
}

impl SimConfig {
    /// Every problem with the clients and users, at once.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.clients.is_empty() {
            problems.push("at least one client is needed".to_string());
        }
        let mut ids = HashSet::new();
        for c in &self.clients {
            if c.client_id.is_empty() {
                problems.push("a client has an empty client_id".into());
            }
            if !ids.insert(c.client_id.as_str()) {
                problems.push(format!("client `{}` is defined twice", c.client_id));
            }
            if c.client_secret.is_empty() {
                problems.push(format!(
                    "client `{}` has an empty client_secret",
                    c.client_id
                ));
            }
            if c.redirect_uris.is_empty() {
                problems.push(format!("client `{}` has no redirect_uris", c.client_id));
            }
            for uri in &c.redirect_uris {
                if !uri.contains(':')
                    || uri.contains('#')
                    || !uri.bytes().all(|b| b.is_ascii_graphic())
                {
                    problems.push(format!(
                        "client `{}`: redirect URI `{uri}` must be absolute, printable ASCII, without a fragment",
                        c.client_id
                    ));
                }
            }
        }
        if self.users.is_empty() {
            problems.push("at least one user is needed".to_string());
        }
        let mut subs = HashSet::new();
        for u in &self.users {
            if u.sub.is_empty() {
                problems.push("a user has an empty sub".into());
            }
            if !subs.insert(u.sub.as_str()) {
                problems.push(format!("user sub `{}` is defined twice", u.sub));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_compares_and_redacts() {
        let s = Secret::new("demo-secret");
        assert!(s.matches("demo-secret"));
        assert!(!s.matches("demo-secret "));
        assert!(!s.matches(""));
        assert_eq!(format!("{s:?}"), "[redacted]");
    }

    #[test]
    fn redirect_uri_match_is_exact() {
        let c = default_client();
        assert!(c.has_redirect_uri("http://localhost:8787/auth/callback"));
        for near_miss in [
            "http://localhost:8787/auth/callback/",
            "http://LOCALHOST:8787/auth/callback",
            "http://localhost:8787/auth/Callback",
            "http://localhost:8787/auth/callback?x=1",
            "http://localhost:8787/auth%2Fcallback",
            "http://localhost:8787/auth/callback#",
            "http://localhost:8787/auth/callback ",
            "https://localhost:8787/auth/callback",
        ] {
            assert!(!c.has_redirect_uri(near_miss), "{near_miss}");
        }
    }

    #[test]
    fn patch_is_all_or_nothing() {
        let mut s = Settings::default();
        s.apply_patch(
            &json!({"discovery_max_age": 2, "jwks_max_age": 5, "mode": "aud-string",
                              "fault": {"endpoint": "jwks", "kind": "html"}}),
        )
        .unwrap();
        assert_eq!(
            (s.discovery_max_age, s.jwks_max_age, s.mode),
            (2, Some(5), Some(Mode::AudString))
        );
        assert_eq!(
            s.to_json()["fault"],
            json!({"endpoint": "jwks", "kind": "html"})
        );
        assert_eq!(s.to_json()["mode"], "aud-string");
        s.apply_patch(&json!({"jwks_max_age": null, "mode": null, "fault": null}))
            .unwrap();
        assert_eq!((s.jwks_max_age, s.mode, s.fault), (None, None, None));
        // Unknown modes and bad faults change nothing.
        let before = s.clone();
        assert_eq!(
            s.apply_patch(&json!({"mode": "x", "code_ttl": 1}))
                .unwrap_err()
                .len(),
            1
        );
        assert!(s.apply_patch(&json!({"mode": 1})).is_err());
        assert!(s
            .apply_patch(&json!({"fault": {"endpoint": "x", "kind": "y"}, "code_ttl": 1}))
            .is_err());
        assert_eq!(s, before);
        let before = s.clone();
        let err = s
            .apply_patch(&json!({"discovery_max_age": 9, "bogus": 1, "code_ttl": "x"}))
            .unwrap_err();
        assert_eq!(err.len(), 2);
        assert_eq!(s, before);
        assert!(s.apply_patch(&json!([1])).is_err());
    }

    #[test]
    fn config_file_shape() {
        let f: ConfigFile = serde_json::from_value(json!({
            "clients": [{"client_id": "a", "client_secret": "b", "redirect_uris": ["https://x/cb"],
                         "token_endpoint_auth_method": "client_secret_post"}],
            "users": [{"sub": "u1", "name": "N", "address": null, "other_addresses": []}]
        }))
        .unwrap();
        let clients = f.clients.unwrap();
        assert_eq!(
            clients[0].token_endpoint_auth_method,
            AuthMethod::ClientSecretPost
        );
        let cfg = SimConfig {
            clients,
            users: f.users.unwrap(),
            settings: Settings::default(),
        };
        assert!(cfg.problems().is_empty());
        assert!(serde_json::from_value::<ConfigFile>(json!({"client": []})).is_err());
    }

    #[test]
    fn problems_are_all_reported() {
        let mut cfg = SimConfig::default();
        cfg.clients.push(default_client());
        cfg.clients[0].redirect_uris.push("/relative".into());
        cfg.users.push(cfg.users[0].clone());
        assert_eq!(cfg.problems().len(), 3);
    }
}
