//! What the gate protects: the auth routes' prefix, public, protected and API paths.

use super::reader::Reader;
use crate::policy::path::CanonicalPath;
use crate::policy::rules::PathPattern;

#[derive(Debug, Clone)]
pub struct GateConfig {
    /// Where the login, session and logout routes live (`AUTH_PATH_PREFIX`), canonical, no
    /// trailing `/`.
    pub auth_prefix: String,
    pub public_paths: Vec<PathPattern>,
    pub protected_paths: Vec<PathPattern>,
    /// Gated paths answered as an API (`API_PATHS`): refusals are always JSON, never a redirect.
    pub api_paths: Vec<PathPattern>,
}

impl GateConfig {
    pub fn login_path(&self) -> String {
        format!("{}/login", self.auth_prefix)
    }
}

fn paths(r: &mut Reader, var: &'static str, default: &str) -> Vec<PathPattern> {
    let raw = r.opt(var).unwrap_or_else(|| default.to_string());
    let mut out = Vec::new();
    for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match PathPattern::parse(item) {
            Some(p) => out.push(p),
            None => r.problem(
                var,
                "each entry must be a plain path starting with '/' (a trailing '*' makes a prefix; no dot or empty segments, no encoded '/')",
            ),
        }
    }
    out
}

pub fn parse(r: &mut Reader) -> GateConfig {
    let auth_prefix = {
        let p = r.opt("AUTH_PATH_PREFIX").unwrap_or_else(|| "/auth".into());
        let p = p.trim_end_matches('/').to_string();
        if !p.starts_with('/') || p.len() < 2 || p.contains(['?', '#', '*']) || CanonicalPath::parse(&p).ok().is_none_or(|c| c.as_str() != p) {
            r.problem("AUTH_PATH_PREFIX", "must be a path like /auth");
        }
        p
    };
    GateConfig {
        auth_prefix,
        public_paths: paths(r, "PUBLIC_PATHS", ""),
        protected_paths: paths(r, "PROTECTED_PATHS", "/*"),
        api_paths: paths(r, "API_PATHS", ""),
    }
}
