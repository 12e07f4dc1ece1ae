//! Paths that need a stronger or more recent login than "logged in with Vipps"
//! (`STEP_UP_RULES`): in-app confirmation (`acr` `urn:vipps:acr:app_auth`), a login made with
//! `step_up` (the user authenticated rather than being remembered in the browser), and a maximum
//! age of the authentication (`auth_time`).
//!
//! Decided on the canonical path, ASCII case-insensitively like every rule that protects. Every
//! matching rule applies: the requirements add up (the shortest maximum age wins), so adding a
//! rule never weakens a path.

use super::path::CanonicalPath;
use super::rules::PathPattern;
use crate::session::Session;

/// What a path asks of a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requirement {
    pub app_auth: bool,
    pub step_up: bool,
    pub max_age: Option<u64>,
}

impl Requirement {
    pub fn is_none(&self) -> bool {
        *self == Requirement::default()
    }

    /// Both requirements at once.
    pub fn and(self, other: Requirement) -> Requirement {
        Requirement {
            app_auth: self.app_auth || other.app_auth,
            step_up: self.step_up || other.step_up,
            max_age: match (self.max_age, other.max_age) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }

    /// Why `session` does not meet this requirement at `now`, if it does not.
    pub fn unmet_by(&self, session: &Session, now: u64) -> Option<&'static str> {
        if self.app_auth && session.acr() != Some(crate::oidc::options::APP_AUTH) {
            return Some("the session has no in-app confirmation");
        }
        if self.step_up && !session.stepped_up() {
            return Some("the session was not made with step_up");
        }
        match self.max_age {
            Some(max) if now.saturating_sub(session.auth_time()) > max => Some("the authentication is older than the path allows"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUpRule {
    pub pattern: PathPattern,
    pub requirement: Requirement,
}

/// The configured rules, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepUpRules(Vec<StepUpRule>);

impl StepUpRules {
    pub fn new(rules: Vec<StepUpRule>) -> StepUpRules {
        StepUpRules(rules)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Whether any rule names this path (such a path needs a login).
    pub fn applies(&self, path: &CanonicalPath) -> bool {
        self.0.iter().any(|r| r.pattern.matches_ignoring_case(path))
    }
    /// Everything the matching rules ask for together.
    pub fn requirement(&self, path: &CanonicalPath) -> Requirement {
        self.0
            .iter()
            .filter(|r| r.pattern.matches_ignoring_case(path))
            .fold(Requirement::default(), |acc, r| acc.and(r.requirement))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(p: &str, r: Requirement) -> StepUpRule {
        StepUpRule { pattern: PathPattern::parse(p).unwrap(), requirement: r }
    }

    #[test]
    fn matching_rules_add_up() {
        let rules = StepUpRules::new(vec![
            rule("/bank/*", Requirement { app_auth: true, ..Default::default() }),
            rule("/bank/transfer", Requirement { max_age: Some(300), ..Default::default() }),
            rule("/BANK/*", Requirement { max_age: Some(600), step_up: true, ..Default::default() }),
        ]);
        let p = |s: &str| CanonicalPath::parse(s).unwrap();
        assert_eq!(rules.requirement(&p("/bank/transfer")), Requirement { app_auth: true, step_up: true, max_age: Some(300) });
        assert_eq!(rules.requirement(&p("/Bank/x")), Requirement { app_auth: true, step_up: true, max_age: Some(600) });
        assert!(rules.requirement(&p("/other")).is_none());
        assert!(rules.applies(&p("/bAnK/x")) && !rules.applies(&p("/bankx")));
    }
}
