//! Login variants beyond the plain browser flow, each off unless configured: the silent
//! attempt (`SILENT_LOGIN`), per-request markets (`VIPPS_MARKETS`), the registration entry point
//! (`REGISTER_SCOPE`), paths that need in-app confirmation, `step_up` or a recent
//! authentication (`STEP_UP_RULES`), and one automatic retry after `temporarily_unavailable`
//! (`RETRY_TEMPORARILY_UNAVAILABLE`).

use super::reader::Reader;
use super::GateConfig;
use crate::oidc::options::{Market, SilentRequest};
use crate::policy::rules::PathPattern;
use crate::policy::step_up::{Requirement, StepUpRule, StepUpRules};

#[derive(Debug, Clone, Default)]
pub struct LoginOptionsConfig {
    /// How a silent attempt is asked for; `None`: `?silent=1` never reaches Vipps.
    pub silent: Option<SilentRequest>,
    /// How long (seconds) `/auth/session` reports a failed silent attempt.
    pub silent_backoff: u64,
    /// Markets a login may ask for with `?market=`.
    pub markets: Vec<Market>,
    /// The scopes of `/auth/register` (`openid` first); `None`: no registration route.
    pub register_scope: Option<String>,
    pub step_up: StepUpRules,
    pub retry_unavailable: bool,
}

const RULES: &str = "STEP_UP_RULES";

pub fn parse(r: &mut Reader, gate: &GateConfig) -> LoginOptionsConfig {
    let silent = match r.opt("SILENT_LOGIN").as_deref() {
        None | Some("off") => None,
        Some("no_dialog") => Some(SilentRequest::NoDialog),
        Some("prompt_none") => Some(SilentRequest::PromptNone),
        Some("login_hint") => Some(SilentRequest::LoginHint),
        Some(_) => {
            r.problem(
                "SILENT_LOGIN",
                "must be 'off', 'no_dialog' (requested_flow=no_dialog), 'prompt_none' (prompt=none) or 'login_hint' (login_hint=unsolicited:nodialog)",
            );
            None
        }
    };
    let silent_backoff = r.number("SILENT_LOGIN_BACKOFF", 3600, 0, 86_400);
    let mut markets = Vec::new();
    for m in r.list("VIPPS_MARKETS") {
        match Market::parse(&m) {
            Some(m) if !markets.contains(&m) => markets.push(m),
            Some(_) => {}
            None => r.problem("VIPPS_MARKETS", "each entry must be one of NO, DK, FI, SE"),
        }
    }
    let register_scope = r.opt("REGISTER_SCOPE").map(|raw| {
        let mut scopes: Vec<&str> = vec!["openid"];
        for s in raw.split_whitespace() {
            if !s.chars().all(|c| c.is_ascii_alphanumeric() || "_-:.".contains(c)) {
                r.problem("REGISTER_SCOPE", "must be space-separated scope names (letters, digits, _-:.)");
            } else if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        scopes.join(" ")
    });
    let step_up = parse_rules(r, gate);
    let retry_unavailable = r.flag("RETRY_TEMPORARILY_UNAVAILABLE", false);
    LoginOptionsConfig { silent, silent_backoff, markets, register_scope, step_up, retry_unavailable }
}

/// `PATH = app_auth, step_up, max_age=300`, one rule per line (or `;`), `#` comments.
fn parse_rules(r: &mut Reader, gate: &GateConfig) -> StepUpRules {
    let Some(raw) = r.opt(RULES) else { return StepUpRules::default() };
    let mut rules = Vec::new();
    let lines = raw.split(['\n', ';']).map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
    for (n, line) in lines.enumerate().map(|(i, l)| (i + 1, l)) {
        let Some((pattern, items)) = line.split_once('=') else {
            r.problem(RULES, format!("rule {n} is not 'PATH = REQUIREMENTS' (like /bank/* = app_auth, max_age=300)"));
            continue;
        };
        let Some(pattern) = PathPattern::parse(pattern.trim()) else {
            r.problem(RULES, format!("rule {n}: the path must be a plain path starting with '/' (a trailing '*' makes a prefix)"));
            continue;
        };
        if gate.public_paths.iter().any(|p| matches!((p, &pattern), (PathPattern::Exact(a), PathPattern::Exact(b)) if a == b)
            || matches!((p, &pattern), (PathPattern::Prefix(a), PathPattern::Exact(b) | PathPattern::Prefix(b)) if b.starts_with(a.as_str())))
        {
            r.problem(RULES, format!("rule {n}: every path it names is public (PUBLIC_PATHS wins), so it would never apply"));
        }
        let mut req = Requirement::default();
        let mut any = false;
        for (m, item) in items.split(',').map(str::trim).filter(|s| !s.is_empty()).enumerate() {
            any = true;
            match item.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                None if item == "app_auth" => req.app_auth = true,
                None if item == "step_up" => req.step_up = true,
                Some(("max_age", v)) => match v.parse::<u64>() {
                    Ok(s) if (1..=31_536_000).contains(&s) => req.max_age = Some(s),
                    _ => r.problem(RULES, format!("rule {n}, entry {}: max_age must be seconds from 1 to 31536000", m + 1)),
                },
                _ => r.problem(RULES, format!("rule {n}, entry {}: must be app_auth, step_up or max_age=SECONDS", m + 1)),
            }
        }
        if !any {
            r.problem(RULES, format!("rule {n} asks for nothing: list app_auth, step_up or max_age=SECONDS"));
        }
        rules.push(StepUpRule { pattern, requirement: req });
    }
    StepUpRules::new(rules)
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{parse, problems};
    use crate::oidc::options::{Market, SilentRequest};
    use crate::policy::path::CanonicalPath;
    use crate::policy::step_up::Requirement;


    #[test]
    fn everything_is_off_by_default() {
        let c = parse(&[]).unwrap();
        let o = &c.login_options;
        assert!(o.silent.is_none() && o.markets.is_empty() && o.register_scope.is_none() && o.step_up.is_empty() && !o.retry_unavailable);
    }

    #[test]
    fn each_setting_parses() {
        let c = parse(&[
            ("SILENT_LOGIN", "prompt_none"),
            ("VIPPS_MARKETS", "DK, FI NO,DK"),
            ("REGISTER_SCOPE", "name customFlow openid address"),
            ("STEP_UP_RULES", "# bank\n/bank/* = app_auth, max_age=300 ; /profile = step_up"),
            ("RETRY_TEMPORARILY_UNAVAILABLE", "true"),
        ])
        .unwrap();
        let o = &c.login_options;
        assert_eq!(o.silent, Some(SilentRequest::PromptNone));
        assert_eq!(o.markets, [Market::DK, Market::FI, Market::NO]);
        assert_eq!(o.register_scope.as_deref(), Some("openid name customFlow address"));
        let p = |s: &str| CanonicalPath::parse(s).unwrap();
        assert_eq!(o.step_up.requirement(&p("/bank/x")), Requirement { app_auth: true, step_up: false, max_age: Some(300) });
        assert_eq!(o.step_up.requirement(&p("/PROFILE")), Requirement { step_up: true, ..Default::default() });
        assert!(o.retry_unavailable);
        assert_eq!(parse(&[("SILENT_LOGIN", "no_dialog")]).unwrap().login_options.silent, Some(SilentRequest::NoDialog));
        assert_eq!(parse(&[("SILENT_LOGIN", "login_hint")]).unwrap().login_options.silent, Some(SilentRequest::LoginHint));
    }

    #[test]
    fn every_problem_is_reported() {
        let found = problems(&[
            ("SILENT_LOGIN", "yes"),
            ("VIPPS_MARKETS", "NO, US"),
            ("REGISTER_SCOPE", "openid na<me"),
            ("STEP_UP_RULES", "/a/* = app_auth, mfa\nno-equals\n/b = max_age=0\n/c = \nrel = step_up"),
            ("RETRY_TEMPORARILY_UNAVAILABLE", "1"),
        ]);
        for want in [
            "SILENT_LOGIN: must be",
            "VIPPS_MARKETS: each entry",
            "REGISTER_SCOPE: must be",
            "STEP_UP_RULES: rule 1, entry 2",
            "STEP_UP_RULES: rule 2 is not",
            "STEP_UP_RULES: rule 3, entry 1: max_age",
            "STEP_UP_RULES: rule 4 asks for nothing",
            "STEP_UP_RULES: rule 5: the path",
            "RETRY_TEMPORARILY_UNAVAILABLE: must be",
        ] {
            assert!(found.iter().any(|f| f.starts_with(want)), "missing {want:?} in {found:#?}");
        }
        assert!(problems(&[("PUBLIC_PATHS", "/pub/*"), ("STEP_UP_RULES", "/pub/x = app_auth")]).iter().any(|p| p.contains("public")));
    }
}
