//! One module per OpenID Connect step. Each exposes pure functions: build the request, process
//! the response. I/O happens in [`crate::app`], between them.

pub mod authorize;
pub mod ciba;
pub mod callback;
pub mod discovery;
#[cfg(any(test, feature = "testkit"))]
pub mod es256;
pub mod id_token;
pub mod jwks;
pub mod options;
pub mod token;
pub mod doc_cache;
pub mod freshness;
pub mod userinfo;

use crate::config::Config;
use crate::http::InboundResponse;

/// Headers Vipps asks every integration to send (VIPPS-NOTES.md, "Recommended headers").
pub fn system_headers(config: &Config) -> Vec<(String, String)> {
    vec![
        ("vipps-system-name".into(), config.vipps.system_name.clone()),
        ("vipps-system-version".into(), env!("CARGO_PKG_VERSION").into()),
        ("vipps-system-plugin-name".into(), "vipps-edge-login".into()),
        ("vipps-system-plugin-version".into(), env!("CARGO_PKG_VERSION").into()),
    ]
}

/// Parses a JSON body, refusing non-JSON content (an HTML error page from a proxy, say).
pub fn json_body<T: serde::de::DeserializeOwned>(resp: &InboundResponse) -> Option<T> {
    let ct = resp.header("content-type").unwrap_or("application/json").to_ascii_lowercase();
    if !(ct.contains("json")) {
        return None;
    }
    serde_json::from_slice(&resp.body).ok()
}

/// A short, log-safe rendering of an upstream error code (`invalid_grant`): only
/// `[a-z0-9_]`, at most 40 chars, so upstream text cannot inject into logs.
pub fn safe_code(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(40)
        .collect::<String>()
        .to_ascii_lowercase()
}
