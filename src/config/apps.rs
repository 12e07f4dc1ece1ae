//! Logins that start in or return to an app (`LOGIN_FLOWS`, `APP_URIS`, `APP_SESSION_TTL`): off
//! unless `LOGIN_FLOWS` names them. Each needs the KV namespace (`VIPPS_CACHE`), which then
//! also holds the login transactions of these flows (keyed by their short `state`).

use super::reader::Reader;

/// A `requested_flow` (or a companion flag) an operator may allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// `automatic_return_from_vipps_app`: the browser flow, returning possibly in another browser.
    AutomaticReturn,
    /// `app_to_app_v2`: a native app, consent in the Vipps app, straight to the redirect URI.
    AppToAppV2,
    /// `app_to_app` with `app_callback_uri` (deprecated by Vipps, still served).
    AppToApp,
    /// `final_redirect_is_app=true` may be asked for by an app.
    FinalRedirectIsApp,
}

impl Flow {
    pub const ALL: [Flow; 4] = [Flow::AutomaticReturn, Flow::AppToAppV2, Flow::AppToApp, Flow::FinalRedirectIsApp];

    /// The name in `LOGIN_FLOWS`.
    pub fn name(self) -> &'static str {
        match self {
            Flow::AutomaticReturn => "automatic_return",
            Flow::AppToAppV2 => "app_to_app_v2",
            Flow::AppToApp => "app_to_app",
            Flow::FinalRedirectIsApp => "final_redirect_is_app",
        }
    }

    pub fn from_name(name: &str) -> Option<Flow> {
        Flow::ALL.into_iter().find(|f| f.name() == name)
    }
}

#[derive(Debug, Clone, Default)]
pub struct AppsConfig {
    /// `LOGIN_FLOWS`: the flows a login request may ask for.
    pub flows: Vec<Flow>,
    /// `APP_URIS`: the exact URIs an app may name (where its hand-off code goes, and the
    /// legacy `app_callback_uri`). Compared byte for byte, as Vipps compares its URIs.
    pub app_uris: Vec<String>,
    /// `APP_SESSION_TTL`: seconds a bearer session lives (it cannot slide: the app logs in again).
    pub bearer_ttl: u64,
    /// `STORED_LOGINS_PER_MINUTE`: logins kept in KV (automatic return, apps) an isolate starts
    /// per minute; anyone can start one, and each is a KV write (1,000 a day on the free plan).
    /// `0`: no bound.
    pub stored_per_minute: u32,
}

impl AppsConfig {
    pub fn allows(&self, flow: Flow) -> bool {
        self.flows.contains(&flow)
    }
    /// Whether native apps may log in (and bearer sessions are accepted).
    pub fn apps_enabled(&self) -> bool {
        self.allows(Flow::AppToAppV2) || self.allows(Flow::AppToApp)
    }
    /// An app URI exactly as configured.
    pub fn app_uri(&self, given: &str) -> Option<&str> {
        self.app_uris.iter().find(|u| u.as_str() == given).map(String::as_str)
    }
}

/// Whether `raw` is usable as an app URI: absolute, no fragment, https (http only on
/// loopback) or a custom scheme with a path (Vipps refuses a bare `myapp://`).
fn app_uri_ok(raw: &str) -> bool {
    let Ok(u) = url::Url::parse(raw) else { return false };
    if raw.contains('#') || raw.len() > 500 {
        return false;
    }
    match u.scheme() {
        "https" => true,
        "http" => super::is_loopback_host(&u),
        "javascript" | "data" | "file" | "blob" | "about" | "vbscript" => false,
        _ => {
            let path = u.path().trim_start_matches('/');
            !path.is_empty() || u.host_str().is_some_and(|h| !h.is_empty()) && u.path().len() > 1
        }
    }
}

pub fn parse(r: &mut Reader, session_ttl: u64) -> AppsConfig {
    let mut flows = Vec::new();
    for name in r.list("LOGIN_FLOWS") {
        match Flow::from_name(&name) {
            Some(f) if !flows.contains(&f) => flows.push(f),
            Some(_) => {}
            None => r.problem("LOGIN_FLOWS", "must list only automatic_return, app_to_app_v2, app_to_app, final_redirect_is_app"),
        }
    }
    let app_uris = r.list("APP_URIS");
    let config = AppsConfig { flows, app_uris, bearer_ttl: 0, stored_per_minute: 0 };
    if config.apps_enabled() && config.app_uris.is_empty() {
        r.problem("APP_URIS", "is required with app_to_app_v2 or app_to_app in LOGIN_FLOWS: the exact URIs your app registered");
    }
    if config.allows(Flow::FinalRedirectIsApp) && !config.apps_enabled() {
        r.problem("LOGIN_FLOWS", "final_redirect_is_app is for app logins: add app_to_app_v2 or app_to_app");
    }
    if !config.app_uris.is_empty() && !config.apps_enabled() {
        r.problem("APP_URIS", "is used only by app logins: add app_to_app_v2 or app_to_app to LOGIN_FLOWS");
    }
    if config.app_uris.iter().any(|u| !app_uri_ok(u)) {
        r.problem("APP_URIS", "each must be an absolute URI without '#': https (http only on localhost), or an app scheme with a path such as myapp://login");
    }
    let bearer_ttl = r.number("APP_SESSION_TTL", session_ttl.min(86_400), 60, 31 * 86_400);
    let stored_per_minute = r.number("STORED_LOGINS_PER_MINUTE", 60, 0, 100_000) as u32;
    AppsConfig { bearer_ttl, stored_per_minute, ..config }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::parse;
    use super::Flow;

    #[test]
    fn off_by_default_and_validated() {
        let c = parse(&[]).unwrap();
        assert!(c.apps.flows.is_empty() && !c.apps.apps_enabled());
        let c = parse(&[("LOGIN_FLOWS", "automatic_return")]).unwrap();
        assert!(c.apps.allows(Flow::AutomaticReturn) && !c.apps.apps_enabled());
        let c = parse(&[("LOGIN_FLOWS", "app_to_app_v2, final_redirect_is_app"), ("APP_URIS", "myapp://login/done, https://app.example/done")]).unwrap();
        assert!(c.apps.apps_enabled() && c.apps.allows(Flow::FinalRedirectIsApp));
        assert_eq!(c.apps.app_uri("myapp://login/done"), Some("myapp://login/done"));
        assert_eq!(c.apps.app_uri("myapp://login/done/"), None, "exact match only");
        assert_eq!(c.apps.app_uri("MYAPP://login/done"), None);
        for (vars, var) in [
            (vec![("LOGIN_FLOWS", "app_to_app_v2")], "APP_URIS"),
            (vec![("LOGIN_FLOWS", "silent")], "LOGIN_FLOWS"),
            (vec![("LOGIN_FLOWS", "final_redirect_is_app")], "LOGIN_FLOWS"),
            (vec![("APP_URIS", "myapp://x/y")], "APP_URIS"),
            (vec![("LOGIN_FLOWS", "app_to_app"), ("APP_URIS", "myapp://")], "APP_URIS"),
            (vec![("LOGIN_FLOWS", "app_to_app"), ("APP_URIS", "javascript:alert(1)")], "APP_URIS"),
            (vec![("LOGIN_FLOWS", "app_to_app"), ("APP_URIS", "http://app.example/x")], "APP_URIS"),
            (vec![("LOGIN_FLOWS", "app_to_app"), ("APP_URIS", "https://app.example/x#f")], "APP_URIS"),
            (vec![("LOGIN_FLOWS", "app_to_app"), ("APP_URIS", "myapp://x/y"), ("APP_SESSION_TTL", "10")], "APP_SESSION_TTL"),
        ] {
            let e = parse(&vars).unwrap_err();
            assert!(e.0.iter().any(|p| p.var == var), "{vars:?}: {e}");
        }
    }
}
