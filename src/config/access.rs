//! Who may see which paths once logged in (`ACCESS_RULES`).
//!
//! One rule per line (or separated by `;`; `#` starts a comment line): a path pattern, `=`,
//! then entries separated by commas, each `email:`, `domain:`, `phone:` or `sub:` and a value:
//!
//! ```text
//! /admin/* = email:kari@example.no, sub:c06c4afe-d9e1-4c5d-939a-177d752a0944
//! /staff/* = domain:example.no, phone:+47 123 45 678
//! ```
//!
//! Problems name the rule and entry by number, never a value: the lists are personal data.

use super::reader::Reader;
use super::GateConfig;
use crate::policy::access::{AccessRule, AccessRules, AllowList, Entry};
use crate::policy::rules::PathPattern;

const VAR: &str = "ACCESS_RULES";

pub fn parse(r: &mut Reader, gate: &GateConfig) -> AccessRules {
    let Some(raw) = r.opt(VAR) else {
        return AccessRules::default();
    };
    let mut rules = Vec::new();
    let lines = raw.split(['\n', ';']).map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
    for (n, line) in lines.enumerate().map(|(i, l)| (i + 1, l)) {
        let Some((pattern, items)) = line.split_once('=') else {
            r.problem(VAR, format!("rule {n} is not 'PATH = ENTRIES' (like /admin/* = domain:example.com)"));
            continue;
        };
        let pattern = match PathPattern::parse(pattern.trim()) {
            Some(p) => p,
            None => {
                r.problem(
                    VAR,
                    format!("rule {n}: the path must be a plain path starting with '/' (a trailing '*' makes a prefix; no dot or empty segments, no encoded '/')"),
                );
                continue;
            }
        };
        if gate.public_paths.iter().any(|public| covers(public, &pattern)) {
            r.problem(VAR, format!("rule {n}: every path it names is public (PUBLIC_PATHS wins), so it would never apply"));
        }
        let items: Vec<&str> = items.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if items.is_empty() {
            r.problem(VAR, format!("rule {n} admits nobody: list at least one email:, domain:, phone: or sub: entry"));
        }
        let mut entries = Vec::new();
        for (m, item) in items.into_iter().enumerate() {
            match Entry::parse(item) {
                Ok(e) => entries.push(e),
                Err(why) => r.problem(VAR, format!("rule {n}, entry {}: {}", m + 1, why.as_str())),
            }
        }
        rules.push(AccessRule { pattern, allow: AllowList::new(entries) });
    }
    AccessRules::new(rules)
}

/// Whether every path `rule` matches is also matched by the public pattern `public` (public
/// matching is exact, case included, so only the rule as written is compared).
fn covers(public: &PathPattern, rule: &PathPattern) -> bool {
    match (public, rule) {
        (PathPattern::Exact(p), PathPattern::Exact(r)) => p == r,
        (PathPattern::Prefix(p), PathPattern::Exact(r) | PathPattern::Prefix(r)) => r.starts_with(p.as_str()),
        (PathPattern::Exact(_), PathPattern::Prefix(_)) => false,
    }
}

/// The rules read claims that only come with their scope: refuse a configuration in which
/// they never could match.
pub fn check_scope(r: &mut Reader, rules: &AccessRules, scope: &str) {
    let has = |s: &str| scope.split(' ').any(|x| x == s);
    if rules.reads_email() && !has("email") {
        r.problem(VAR, "email and domain entries need the 'email' scope: add it to VIPPS_SCOPE");
    }
    if rules.reads_phone() && !(has("phoneNumber") || has("phone")) {
        r.problem(VAR, "phone entries need the 'phoneNumber' scope: add it to VIPPS_SCOPE");
    }
}

/// Puts the claims the rules read first in the session's claims (when not listed already), so
/// they are the last to be dropped should the cookie grow too large.
pub fn keep_claims(rules: &AccessRules, claims: &mut Vec<String>) {
    let missing: Vec<String> =
        rules.claims_needed().into_iter().filter(|c| !claims.iter().any(|have| have == c)).map(str::to_string).collect();
    claims.splice(0..0, missing);
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{parse, problems};


    #[test]
    fn rules_in_lines_or_semicolons_with_comments() {
        let c = parse(&[(
            "ACCESS_RULES",
            "# staff only\n/staff/* = domain:example.no, phone:+4712345678\n\n /admin/* =email:kari@example.no,sub:abc ; /x = sub:y",
        ), ("VIPPS_SCOPE", "openid email phoneNumber")])
        .unwrap();
        let p = |s: &str| crate::policy::path::CanonicalPath::parse(s).unwrap();
        assert!(c.access.applies(&p("/staff/a")) && c.access.applies(&p("/ADMIN/")) && c.access.applies(&p("/x")));
        assert!(!c.access.applies(&p("/xy")));
    }

    #[test]
    fn every_problem_is_reported_by_number_never_by_value() {
        let found = problems(&[
            ("ACCESS_RULES", "/a/* = email:kari@example.no@evil.example\nno-equals-sign\nrelative/* = sub:x\n/b = \n/c = domain:*.secret-domain.no, mail:x, phone:9876\n/d = sub:ok, domain:example.no"),
            ("VIPPS_SCOPE", "openid"),
        ]);
        let want = [
            "ACCESS_RULES: rule 1, entry 1: is not one email address",
            "ACCESS_RULES: rule 2 is not 'PATH = ENTRIES'",
            "ACCESS_RULES: rule 3: the path must be a plain path",
            "ACCESS_RULES: rule 4 admits nobody",
            "ACCESS_RULES: rule 5, entry 1: is not a domain name",
            "ACCESS_RULES: rule 5, entry 2: must be email:, domain:, phone: or sub:",
            "ACCESS_RULES: rule 5, entry 3: is not a phone number",
            "ACCESS_RULES: email and domain entries need the 'email' scope",
        ];
        for w in want {
            assert!(found.iter().any(|f| f.starts_with(w)), "missing {w:?} in {found:#?}");
        }
        assert_eq!(found.len(), want.len(), "{found:#?}");
        let text = found.join("\n");
        for value in ["kari", "evil.example", "secret-domain", "9876"] {
            assert!(!text.contains(value), "{value} in {text}");
        }
    }

    #[test]
    fn scopes_the_rules_need() {
        let phone = [("ACCESS_RULES", "/a/* = phone:4712345678")];
        assert!(problems(&phone).iter().any(|p| p.contains("'phoneNumber' scope")));
        assert!(parse(&[phone[0], ("VIPPS_SCOPE", "openid phoneNumber")]).is_ok());
        assert!(parse(&[phone[0], ("VIPPS_SCOPE", "openid phone")]).is_ok(), "the standard OIDC scope, for other providers");
        assert!(parse(&[("ACCESS_RULES", "/a/* = domain:example.no")]).is_ok(), "email is in the default scope");
        assert!(parse(&[("ACCESS_RULES", "/a/* = sub:x"), ("VIPPS_SCOPE", "openid")]).is_ok(), "sub needs no scope");
    }

    #[test]
    fn a_rule_that_public_paths_hide_entirely_is_refused() {
        for (public, rule) in [("/assets/*", "/assets/secret/*"), ("/assets/*", "/assets/x"), ("/about", "/about"), ("/*", "/a")] {
            let found = problems(&[("PUBLIC_PATHS", public), ("ACCESS_RULES", &format!("{rule} = sub:x"))]);
            assert!(found.iter().any(|p| p.contains("rule 1: every path it names is public")), "{public} {rule}: {found:?}");
        }
        // Partly public is allowed (public wins on its paths); case differs, so not hidden.
        for (public, rule) in [("/, /assets/*", "/*"), ("/about", "/about/*"), ("/assets/*", "/ASSETS/x"), ("/docs/intro", "/docs/*")] {
            assert!(parse(&[("PUBLIC_PATHS", public), ("ACCESS_RULES", &format!("{rule} = sub:x"))]).is_ok(), "{public} {rule}");
        }
    }

    #[test]
    fn the_session_keeps_the_claims_rules_read_first() {
        let c = parse(&[("ACCESS_RULES", "/a/* = phone:4712345678"), ("VIPPS_SCOPE", "openid name phoneNumber"), ("SESSION_CLAIMS", "name")]).unwrap();
        assert_eq!(c.session.claims, ["phone_number", "phone_number_verified", "name"]);
        let c = parse(&[("ACCESS_RULES", "/a/* = domain:example.no")]).unwrap();
        assert_eq!(c.session.claims, ["name", "given_name", "family_name", "email", "email_verified"], "already kept: unchanged");
        let c = parse(&[("ACCESS_RULES", "/a/* = domain:example.no"), ("SESSION_CLAIMS", "name,email")]).unwrap();
        assert_eq!(c.session.claims, ["email_verified", "name", "email"]);
        let c = parse(&[("ACCESS_RULES", "/a/* = sub:x"), ("SESSION_CLAIMS", "name")]).unwrap();
        assert_eq!(c.session.claims, ["name"]);
    }
}
