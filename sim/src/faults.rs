//! Network faults: one endpoint (or all four) answers slowly, with an error status, with HTML, with a
//! huge body, with a redirect, or not at all. Set with `POST /_sim/config {"fault": {...}}`.

use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

use crate::http::Response;
use crate::stats::Endpoint;

/// The size of the `huge` and `huge-chunked` bodies: 5 MiB.
pub const HUGE_SIZE: usize = 5 * 1024 * 1024;
/// The longest `slow` delay accepted, in milliseconds.
pub const MAX_SLOW_MS: u64 = 600_000;
/// Where `redirect` points (on the simulator itself; requests there are counted as `elsewhere`).
pub const ELSEWHERE_PATH: &str = "/elsewhere";
/// How long `close` keeps the connection open where the socket cannot be closed (not Linux).
pub const CLOSE_FALLBACK_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultEndpoint {
    Discovery,
    Jwks,
    Token,
    Userinfo,
    /// Every back-channel endpoint above at once.
    All,
}

impl FaultEndpoint {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "discovery" => Some(FaultEndpoint::Discovery),
            "jwks" => Some(FaultEndpoint::Jwks),
            "token" => Some(FaultEndpoint::Token),
            "userinfo" => Some(FaultEndpoint::Userinfo),
            "all" => Some(FaultEndpoint::All),
            _ => None,
        }
    }

    pub fn matches(self, e: Endpoint) -> bool {
        matches!(
            (self, e),
            (FaultEndpoint::All, Endpoint::Discovery | Endpoint::Jwks | Endpoint::Token | Endpoint::Userinfo)
                | (FaultEndpoint::Discovery, Endpoint::Discovery)
                | (FaultEndpoint::Jwks, Endpoint::Jwks)
                | (FaultEndpoint::Token, Endpoint::Token)
                | (FaultEndpoint::Userinfo, Endpoint::Userinfo)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FaultKind {
    /// Sleep `ms` milliseconds, then answer normally.
    Slow { ms: u64 },
    /// Answer this status (400-599) with a small JSON body.
    Status { status: u16 },
    /// 200 with an HTML error page.
    Html,
    /// 200 `application/json`, 5 MiB, with `Content-Length`.
    Huge,
    /// The same 5 MiB, chunked, without `Content-Length`.
    HugeChunked,
    /// 302 to `BASE/elsewhere`.
    Redirect,
    /// Read the request, then close the connection without answering.
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fault {
    pub endpoint: FaultEndpoint,
    #[serde(flatten)]
    pub kind: FaultKind,
}

impl Fault {
    /// Parses `{"endpoint": "...", "kind": "...", ...}`; every problem is reported.
    pub fn parse(value: &Value) -> Result<Fault, Vec<String>> {
        let Some(object) = value.as_object() else {
            return Err(vec!["`fault` must be an object or null".into()]);
        };
        let mut problems = Vec::new();
        let endpoint = match object.get("endpoint").and_then(Value::as_str) {
            Some(s) => FaultEndpoint::parse(s),
            None => None,
        };
        if endpoint.is_none() {
            problems.push(
                "`fault.endpoint` must be one of discovery, jwks, token, userinfo, all".to_string(),
            );
        }
        let kind_name = object.get("kind").and_then(Value::as_str).unwrap_or("");
        let mut allowed = vec!["endpoint", "kind"];
        let kind = match kind_name {
            "slow" => {
                allowed.push("ms");
                match object.get("ms").and_then(Value::as_u64) {
                    Some(ms) if ms <= MAX_SLOW_MS => Some(FaultKind::Slow { ms }),
                    _ => {
                        problems.push(format!(
                            "`fault.ms` must be a whole number of milliseconds up to {MAX_SLOW_MS}"
                        ));
                        None
                    }
                }
            }
            "status" => {
                allowed.push("status");
                match object.get("status").and_then(Value::as_u64) {
                    Some(s @ 400..=599) => Some(FaultKind::Status { status: s as u16 }),
                    _ => {
                        problems.push("`fault.status` must be a number from 400 to 599".into());
                        None
                    }
                }
            }
            "html" => Some(FaultKind::Html),
            "huge" => Some(FaultKind::Huge),
            "huge-chunked" => Some(FaultKind::HugeChunked),
            "redirect" => Some(FaultKind::Redirect),
            "close" => Some(FaultKind::Close),
            _ => {
                problems.push(
                    "`fault.kind` must be one of slow, status, html, huge, huge-chunked, redirect, close"
                        .into(),
                );
                None
            }
        };
        for key in object.keys() {
            if !allowed.contains(&key.as_str()) {
                problems.push(format!("unknown fault field `{key}`"));
            }
        }
        match (endpoint, kind) {
            (Some(endpoint), Some(kind)) if problems.is_empty() => Ok(Fault { endpoint, kind }),
            _ => Err(problems),
        }
    }

    /// Acts out the fault for a request to its endpoint on the simulator at `base`
    /// (`http://127.0.0.1:PORT`). `None` means: now answer normally (after `slow` has slept in
    /// this worker thread).
    pub fn apply(&self, base: &str) -> Option<Response> {
        match self.kind {
            FaultKind::Slow { ms } => {
                std::thread::sleep(Duration::from_millis(ms));
                None
            }
            FaultKind::Status { status } => Some(
                Response::json(
                    status,
                    &json!({
                        "error": "server_error",
                        "error_description": format!("Simulated HTTP {status} (vipps-sim fault)"),
                    }),
                )
                .with_header("Cache-Control", "no-store"),
            ),
            FaultKind::Html => Some(Response::html(200, error_page())),
            FaultKind::Huge => Some(Response::new(200, "application/json", huge_body())),
            FaultKind::HugeChunked => {
                Some(Response::new(200, "application/json", huge_body()).chunked())
            }
            FaultKind::Redirect => Some(Response::redirect(&format!("{base}{ELSEWHERE_PATH}"))),
            FaultKind::Close => Some(Response::close()),
        }
    }
}

/// What a proxy or a maintenance page in front of the provider might send.
fn error_page() -> String {
    "<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>\n\
     <body><h1>Service Unavailable</h1><p>The service is temporarily unavailable. \
     Please try again later.</p><!-- vipps-sim fault: html --></body></html>\n"
        .to_string()
}

/// Exactly [`HUGE_SIZE`] bytes of valid JSON: a short object whose `padding` string fills the rest.
pub fn huge_body() -> Vec<u8> {
    let prefix = br#"{"vipps_sim_fault":"huge","padding":""#;
    let suffix = br#""}"#;
    let mut body = Vec::with_capacity(HUGE_SIZE);
    body.extend_from_slice(prefix);
    body.resize(HUGE_SIZE - suffix.len(), b'a');
    body.extend_from_slice(suffix);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_show() {
        let f = Fault::parse(&json!({"endpoint": "jwks", "kind": "slow", "ms": 250})).unwrap();
        assert_eq!(
            f,
            Fault {
                endpoint: FaultEndpoint::Jwks,
                kind: FaultKind::Slow { ms: 250 }
            }
        );
        assert_eq!(
            serde_json::to_value(f).unwrap(),
            json!({"endpoint": "jwks", "kind": "slow", "ms": 250})
        );
        let f =
            Fault::parse(&json!({"endpoint": "token", "kind": "status", "status": 503})).unwrap();
        assert_eq!(
            serde_json::to_value(f).unwrap(),
            json!({"endpoint": "token", "kind": "status", "status": 503})
        );
        for kind in ["html", "huge", "huge-chunked", "redirect", "close"] {
            let v = json!({"endpoint": "userinfo", "kind": kind});
            let f = Fault::parse(&v).unwrap();
            assert_eq!(serde_json::to_value(f).unwrap(), v);
        }
        for bad in [
            json!({"endpoint": "authorize", "kind": "html"}),
            json!({"kind": "html"}),
            json!({"endpoint": "jwks"}),
            json!({"endpoint": "jwks", "kind": "explode"}),
            json!({"endpoint": "jwks", "kind": "slow"}),
            json!({"endpoint": "jwks", "kind": "slow", "ms": -1}),
            json!({"endpoint": "jwks", "kind": "slow", "ms": MAX_SLOW_MS + 1}),
            json!({"endpoint": "jwks", "kind": "status", "status": 200}),
            json!({"endpoint": "jwks", "kind": "status", "status": "500"}),
            json!({"endpoint": "jwks", "kind": "html", "ms": 5}),
            json!({"endpoint": "jwks", "kind": "html", "extra": true}),
            json!("jwks"),
        ] {
            assert!(Fault::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn huge_body_is_5_mib_of_json() {
        let body = huge_body();
        assert_eq!(body.len(), 5 * 1024 * 1024);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["vipps_sim_fault"], "huge");
    }
}
