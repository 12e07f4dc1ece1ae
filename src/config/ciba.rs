//! Login from phone number (CIBA) for merchant systems (`CIBA_*`): off unless `CIBA_API_KEYS` is
//! set.

use super::reader::Reader;
use crate::secret::Secret;
use crate::util::NonEmpty;
use std::fmt;

/// One merchant-system credential: the name appears in logs, the key never does.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub name: String,
    pub key: Secret,
}

#[derive(Clone)]
pub struct CibaConfig {
    /// `CIBA_API_KEYS`: `name:key` pairs; several for rotation.
    pub api_keys: NonEmpty<ApiKey>,
    /// `CIBA_SCOPES`: the scopes a start may ask for (and asks for by default); `openid` always.
    pub scopes: Vec<String>,
    /// HMAC keys of the poll handle, derived from `SESSION_SECRET` for this purpose only. The
    /// first signs; all verify.
    pub handle_keys: NonEmpty<[u8; 32]>,
    /// `CIBA_LOGIN_TO_WEBPAGE`: a start may ask for `"flow": "login_to_webpage"`, and the
    /// callback takes a `code` without `state` as the end of such a login.
    pub login_to_webpage: bool,
    /// `CIBA_LANDING_PAGE`: where the phone's browser lands, logged in, after such a login.
    pub landing_page: crate::return_to::SafeReturnPath,
}

impl fmt::Debug for CibaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CibaConfig")
            .field("api_keys", &self.api_keys.iter().map(|k| k.name.as_str()).collect::<Vec<_>>())
            .field("scopes", &self.scopes)
            .field("handle_keys", &"[redacted]")
            .field("login_to_webpage", &self.login_to_webpage)
            .field("landing_page", &self.landing_page)
            .finish()
    }
}

pub const DEFAULT_SCOPES: &str = "openid name phoneNumber";

/// `deployment` binds the handle keys to this deployment, as the session keys are.
pub fn parse(r: &mut Reader, deployment: &str) -> Option<CibaConfig> {
    let scopes_raw = r.opt("CIBA_SCOPES");
    let login_to_webpage = r.flag("CIBA_LOGIN_TO_WEBPAGE", false);
    let landing_raw = r.opt("CIBA_LANDING_PAGE");
    let landing_page = match landing_raw.as_deref().map(crate::return_to::SafeReturnPath::parse) {
        None => crate::return_to::SafeReturnPath::parse("/"),
        Some(Some(p)) => Some(p),
        Some(None) => {
            r.problem("CIBA_LANDING_PAGE", "must be a path on this site, such as /account/");
            None
        }
    };
    if r.opt("CIBA_API_KEYS").is_none() {
        if login_to_webpage {
            r.problem("CIBA_LOGIN_TO_WEBPAGE", "needs CIBA_API_KEYS (login from phone number is off without it)");
        }
        return None;
    }
    let mut keys = Vec::new();
    let mut bad = false;
    for pair in r.list("CIBA_API_KEYS") {
        match pair.split_once(':') {
            Some((name, key))
                if (1..=32).contains(&name.len())
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
                    && (32..=128).contains(&key.len())
                    && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    && !keys.iter().any(|k: &ApiKey| k.name == name) =>
            {
                keys.push(ApiKey { name: name.to_string(), key: Secret::new(key) })
            }
            _ => bad = true,
        }
    }
    let api_keys = match NonEmpty::from_vec(keys) {
        Some(k) if !bad => Some(k),
        _ => {
            r.problem(
                "CIBA_API_KEYS",
                "must be comma-separated name:key pairs with unique names of a-z 0-9 - _ (up to 32) and keys of 32 to 128 characters of A-Z a-z 0-9 - _ (generate one with: openssl rand -hex 32)",
            );
            None
        }
    };
    let mut scopes = vec!["openid".to_string()];
    for s in scopes_raw.as_deref().unwrap_or(DEFAULT_SCOPES).split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()) {
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') || s.len() > 64 {
            r.problem("CIBA_SCOPES", "must be a list of scope names such as 'openid name phoneNumber'");
            return None;
        }
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    let secrets = r.list("SESSION_SECRET");
    let handle_keys = NonEmpty::from_vec(secrets.iter().map(|s| super::session::derive_key(s, "ciba-handle", deployment)).collect());
    // A missing SESSION_SECRET is reported by the session section.
    Some(CibaConfig { api_keys: api_keys?, scopes, handle_keys: handle_keys?, login_to_webpage, landing_page: landing_page? })
}

#[cfg(test)]
mod tests {
    use crate::config::tests::parse;

    const K1: &str = "till-1:0123456789abcdef0123456789abcdef";

    #[test]
    fn off_unless_keys_are_set() {
        assert!(parse(&[]).unwrap().ciba.is_none());
        let c = parse(&[("CIBA_API_KEYS", &format!("{K1}, till-2:{}", "x".repeat(40)))]).unwrap();
        let ciba = c.ciba.unwrap();
        let names: Vec<&str> = ciba.api_keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["till-1", "till-2"]);
        assert_eq!(ciba.scopes, ["openid", "name", "phoneNumber"]);
        assert!(!format!("{ciba:?}").contains("0123456789abcdef"), "keys never in Debug");
    }

    #[test]
    fn bad_keys_and_scopes_are_reported_without_values() {
        for bad in ["till-1", "till-1:short", "Till:0123456789abcdef0123456789abcdef", &format!("{K1},{K1}"), ":0123456789abcdef0123456789abcdef"] {
            let e = parse(&[("CIBA_API_KEYS", bad)]).unwrap_err();
            assert_eq!(e.0.len(), 1, "{bad}");
            assert_eq!(e.0[0].var, "CIBA_API_KEYS");
            assert!(!e.to_string().contains("0123456789abcdef0123"));
        }
        let e = parse(&[("CIBA_API_KEYS", K1), ("CIBA_SCOPES", "openid na<me")]).unwrap_err();
        assert_eq!(e.0[0].var, "CIBA_SCOPES");
        let c = parse(&[("CIBA_API_KEYS", K1), ("CIBA_SCOPES", "email,openid")]).unwrap();
        assert_eq!(c.ciba.unwrap().scopes, ["openid", "email"]);
    }

    #[test]
    fn the_redirect_uri_may_not_sit_under_the_ciba_routes() {
        let e = parse(&[("VIPPS_REDIRECT_URI", "https://shop.example/auth/ciba/poll")]).unwrap_err();
        assert_eq!(e.0[0].var, "VIPPS_REDIRECT_URI");
    }

    #[test]
    fn login_to_webpage_settings() {
        let c = parse(&[("CIBA_API_KEYS", K1)]).unwrap().ciba.unwrap();
        assert!(!c.login_to_webpage);
        assert_eq!(c.landing_page.as_str(), "/");
        let c = parse(&[("CIBA_API_KEYS", K1), ("CIBA_LOGIN_TO_WEBPAGE", "true"), ("CIBA_LANDING_PAGE", "/account/")]).unwrap().ciba.unwrap();
        assert!(c.login_to_webpage);
        assert_eq!(c.landing_page.as_str(), "/account/");
        for bad in ["https://evil.example/", "//evil.example", "account"] {
            let e = parse(&[("CIBA_API_KEYS", K1), ("CIBA_LANDING_PAGE", bad)]).unwrap_err();
            assert_eq!(e.0[0].var, "CIBA_LANDING_PAGE", "{bad}");
        }
        assert_eq!(parse(&[("CIBA_LOGIN_TO_WEBPAGE", "true")]).unwrap_err().0[0].var, "CIBA_LOGIN_TO_WEBPAGE");
    }

    #[test]
    fn handle_keys_differ_from_session_keys() {
        let c = parse(&[("CIBA_API_KEYS", K1)]).unwrap();
        assert_ne!(c.ciba.unwrap().handle_keys.first(), c.session.keys.session.first());
    }
}
