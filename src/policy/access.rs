//! Who may see a path once logged in (`ACCESS_RULES`): a rule is a path pattern and an
//! allow-list of verified email addresses, email domains, phone numbers and `sub`s.
//!
//! Decided on the canonical path ([`super::path`]), matching ASCII case-insensitively like the
//! rules that protect (a case-insensitive origin must not serve `/ADMIN/` past `/admin/*`).
//! A request must pass **every** rule whose pattern matches it, so adding a rule never widens
//! access and the order of rules does not matter.
//!
//! What counts as a match, from the session's claims (userinfo, OIDC Core §5.1):
//! - an email only when `email_verified` is JSON `true` and the address has exactly one `@`
//!   with something on both sides; compared ASCII case-insensitively;
//! - a domain is the part after that one `@`, compared exactly (lower-cased): never a suffix,
//!   so `evil-example.com` and `sub.example.com` are not `example.com`;
//! - a phone number compared normalised (digits only, without `+` or `00`), as Vipps gives it
//!   (`4712345678`); when `phone_number_verified` is present it must be `true`;
//! - a `sub` compared exactly.

use super::path::CanonicalPath;
use super::rules::PathPattern;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::fmt;

/// Claims a rule reads: kept in the session whenever a rule needs them.
pub const EMAIL_CLAIMS: [&str; 2] = ["email", "email_verified"];
pub const PHONE_CLAIMS: [&str; 2] = ["phone_number", "phone_number_verified"];

/// The shortest and longest phone number accepted, in digits with the country code (E.164
/// allows 15; a Norwegian number without its `47` has 8, and would never match).
const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 9..=15;
/// Longest `sub` accepted in a rule (as for the consent webhook).
const MAX_SUB: usize = 255;

/// One entry of an allow-list, as configured.
#[derive(Clone, PartialEq, Eq)]
pub enum Entry {
    /// A whole address, lower-cased.
    Email(String),
    /// The part after `@`, lower-cased.
    Domain(String),
    /// Digits with the country code.
    Phone(String),
    Sub(String),
}

/// Why an entry was refused. Names the kind of mistake, never the value (personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryProblem {
    UnknownKind,
    Email,
    Domain,
    Phone,
    Sub,
}

impl EntryProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryProblem::UnknownKind => "must be email:, domain:, phone: or sub: followed by a value",
            EntryProblem::Email => "is not one email address (exactly one '@', ASCII, no spaces or wildcards)",
            EntryProblem::Domain => {
                "is not a domain name (ASCII letters, digits, '-' and '.', like example.com; no '@', wildcard or trailing dot; write an IDN in punycode)"
            }
            EntryProblem::Phone => "is not a phone number with its country code (9 to 15 digits, like +4712345678)",
            EntryProblem::Sub => "is not a sub (1 to 255 visible ASCII characters)",
        }
    }
}

impl Entry {
    /// `email:kari@example.no`, `domain:example.no`, `phone:+47 123 45 678` or `sub:...`.
    pub fn parse(item: &str) -> Result<Entry, EntryProblem> {
        let (kind, value) = item.split_once(':').ok_or(EntryProblem::UnknownKind)?;
        match kind.to_ascii_lowercase().as_str() {
            "email" => email_parts(value).map(|_| Entry::Email(value.to_ascii_lowercase())).ok_or(EntryProblem::Email),
            "domain" => is_domain(value).then(|| Entry::Domain(value.to_ascii_lowercase())).ok_or(EntryProblem::Domain),
            "phone" => normalise_phone(value).map(Entry::Phone).ok_or(EntryProblem::Phone),
            "sub" => (!value.is_empty() && value.len() <= MAX_SUB && value.bytes().all(|b| b.is_ascii_graphic()))
                .then(|| Entry::Sub(value.to_string()))
                .ok_or(EntryProblem::Sub),
            _ => Err(EntryProblem::UnknownKind),
        }
    }
}

impl fmt::Debug for Entry {
    // Personal data: the kind only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Entry::Email(_) => "Email",
            Entry::Domain(_) => "Domain",
            Entry::Phone(_) => "Phone",
            Entry::Sub(_) => "Sub",
        };
        write!(f, "{kind}([redacted])")
    }
}

/// `(local, domain)` of an address with exactly one `@`, both sides non-empty, visible ASCII
/// only (no spaces, controls, commas or wildcards).
fn email_parts(s: &str) -> Option<(&str, &str)> {
    let (local, domain) = s.split_once('@')?;
    let visible = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'@' | b',' | b'*'));
    (visible(local) && visible(domain)).then_some((local, domain))
}

/// A DNS name as configured: labels of letters, digits and `-`, not starting or ending with
/// `-`, at most 63 bytes each, 253 in all; at least two labels; no trailing dot.
fn is_domain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').count() >= 2
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Digits with the country code: spaces, `-`, `.`, `(` and `)` dropped, a leading `+` or
/// `00` dropped; 9 to 15 digits remain, or `None`.
pub fn normalise_phone(s: &str) -> Option<String> {
    let compact: String = s.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let digits = compact.strip_prefix('+').or_else(|| compact.strip_prefix("00")).unwrap_or(&compact);
    (PHONE_DIGITS.contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.to_string())
}

/// Who may pass one rule. Sets, so a long list costs no more per request than a short one.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    emails: HashSet<String>,
    domains: HashSet<String>,
    phones: HashSet<String>,
    subs: HashSet<String>,
}

impl fmt::Debug for AllowList {
    // Personal data: counts only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AllowList {{ emails: {}, domains: {}, phones: {}, subs: {} }}",
            self.emails.len(),
            self.domains.len(),
            self.phones.len(),
            self.subs.len()
        )
    }
}

impl AllowList {
    pub fn new(entries: impl IntoIterator<Item = Entry>) -> AllowList {
        let mut a = AllowList::default();
        for e in entries {
            match e {
                Entry::Email(v) => a.emails.insert(v),
                Entry::Domain(v) => a.domains.insert(v),
                Entry::Phone(v) => a.phones.insert(v),
                Entry::Sub(v) => a.subs.insert(v),
            };
        }
        a
    }

    fn reads_email(&self) -> bool {
        !self.emails.is_empty() || !self.domains.is_empty()
    }

    fn reads_phone(&self) -> bool {
        !self.phones.is_empty()
    }

    fn admits(&self, who: &Identity) -> bool {
        if self.subs.contains(who.sub) {
            return true;
        }
        if let Some((email, domain)) = &who.email {
            if self.emails.contains(email) || self.domains.contains(domain) {
                return true;
            }
        }
        who.phone.as_ref().is_some_and(|p| self.phones.contains(p))
    }
}

/// What the rules compare, read once from a session's claims.
struct Identity<'a> {
    sub: &'a str,
    /// A verified address (lower-cased) and its domain.
    email: Option<(String, String)>,
    phone: Option<String>,
}

impl<'a> Identity<'a> {
    fn new(sub: &'a str, claims: &Map<String, Value>) -> Identity<'a> {
        let email = match (claims.get("email"), claims.get("email_verified")) {
            (Some(Value::String(e)), Some(Value::Bool(true))) => {
                email_parts(e).map(|(_, domain)| (e.to_ascii_lowercase(), domain.to_ascii_lowercase()))
            }
            _ => None,
        };
        let phone_verified = !matches!(claims.get("phone_number_verified"), Some(v) if v != &Value::Bool(true));
        let phone = match claims.get("phone_number") {
            Some(Value::String(p)) if phone_verified => normalise_phone(p),
            _ => None,
        };
        Identity { sub, email, phone }
    }
}

/// One `ACCESS_RULES` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRule {
    pub pattern: PathPattern,
    pub allow: AllowList,
}

/// Every rule, in configured order (numbered from 1 in log lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRules(Vec<AccessRule>);

impl AccessRules {
    pub fn new(rules: Vec<AccessRule>) -> AccessRules {
        AccessRules(rules)
    }

    /// Whether some rule names this path: it then needs a login, whatever `PROTECTED_PATHS` says.
    pub fn applies(&self, path: &CanonicalPath) -> bool {
        self.0.iter().any(|r| r.pattern.matches_ignoring_case(path))
    }

    /// Passes when every rule that matches the path admits the user; otherwise the number
    /// (from 1) of the first rule that does not, for the log line.
    pub fn decide(&self, path: &CanonicalPath, sub: &str, claims: &Map<String, Value>) -> Result<(), usize> {
        let mut who = None;
        for (i, rule) in self.0.iter().enumerate() {
            if rule.pattern.matches_ignoring_case(path) && !rule.allow.admits(who.get_or_insert_with(|| Identity::new(sub, claims))) {
                return Err(i + 1);
            }
        }
        Ok(())
    }

    /// The claims the rules read, which the session must keep.
    pub fn claims_needed(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.reads_email() {
            out.extend(EMAIL_CLAIMS);
        }
        if self.reads_phone() {
            out.extend(PHONE_CLAIMS);
        }
        out
    }

    /// Whether some rule lists email addresses or domains (needs the `email` scope).
    pub fn reads_email(&self) -> bool {
        self.0.iter().any(|r| r.allow.reads_email())
    }

    /// Whether some rule lists phone numbers (needs the `phoneNumber` scope).
    pub fn reads_phone(&self) -> bool {
        self.0.iter().any(|r| r.allow.reads_phone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(spec: &[(&str, &[&str])]) -> AccessRules {
        AccessRules::new(
            spec.iter()
                .map(|(p, items)| AccessRule {
                    pattern: PathPattern::parse(p).unwrap(),
                    allow: AllowList::new(items.iter().map(|i| Entry::parse(i).unwrap())),
                })
                .collect(),
        )
    }

    fn path(p: &str) -> CanonicalPath {
        CanonicalPath::parse(p).unwrap()
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn email(e: &str) -> Map<String, Value> {
        claims(json!({"email": e, "email_verified": true}))
    }

    #[test]
    fn entries_parse_and_normalise() {
        assert_eq!(Entry::parse("email:Kari@Example.NO"), Ok(Entry::Email("kari@example.no".into())));
        assert_eq!(Entry::parse("EMAIL:kari@example.no"), Ok(Entry::Email("kari@example.no".into())));
        assert_eq!(Entry::parse("domain:Example.NO"), Ok(Entry::Domain("example.no".into())));
        assert_eq!(Entry::parse("phone:+47 123 45 678"), Ok(Entry::Phone("4712345678".into())));
        assert_eq!(Entry::parse("phone:0047-12345678"), Ok(Entry::Phone("4712345678".into())));
        assert_eq!(Entry::parse("phone:4712345678"), Ok(Entry::Phone("4712345678".into())));
        assert_eq!(Entry::parse("sub:c06c4afe-d9e1"), Ok(Entry::Sub("c06c4afe-d9e1".into())));
    }

    #[test]
    fn each_bad_entry_has_its_problem() {
        let cases: &[(&str, EntryProblem)] = &[
            ("kari@example.no", EntryProblem::UnknownKind),
            ("mail:kari@example.no", EntryProblem::UnknownKind),
            ("", EntryProblem::UnknownKind),
            ("email:", EntryProblem::Email),
            ("email:kari", EntryProblem::Email),
            ("email:a@b@example.no", EntryProblem::Email),
            ("email:@example.no", EntryProblem::Email),
            ("email:kari@", EntryProblem::Email),
            ("email:*@example.no", EntryProblem::Email),
            ("email:kåri@example.no", EntryProblem::Email),
            ("email:ka ri@example.no", EntryProblem::Email),
            ("domain:", EntryProblem::Domain),
            ("domain:example", EntryProblem::Domain),
            ("domain:*.example.no", EntryProblem::Domain),
            ("domain:@example.no", EntryProblem::Domain),
            ("domain:example.no.", EntryProblem::Domain),
            ("domain:.example.no", EntryProblem::Domain),
            ("domain:ex_ample.no", EntryProblem::Domain),
            ("domain:-example.no", EntryProblem::Domain),
            ("domain:blåbær.no", EntryProblem::Domain),
            ("phone:12345678", EntryProblem::Phone),
            ("phone:+47 1234 5678 9012 3456", EntryProblem::Phone),
            ("phone:+47abc45678", EntryProblem::Phone),
            ("phone:", EntryProblem::Phone),
            ("sub:", EntryProblem::Sub),
            ("sub:a b", EntryProblem::Sub),
        ];
        for (item, why) in cases {
            assert_eq!(Entry::parse(item), Err(*why), "{item}");
        }
        assert_eq!(Entry::parse(&format!("sub:{}", "a".repeat(256))), Err(EntryProblem::Sub));
    }

    #[test]
    fn a_domain_matches_exactly_never_as_a_suffix() {
        let r = rules(&[("/staff/*", &["domain:example.com"])]);
        let p = path("/staff/x");
        assert_eq!(r.decide(&p, "s", &email("kari@example.com")), Ok(()));
        assert_eq!(r.decide(&p, "s", &email("Kari@EXAMPLE.com")), Ok(()));
        for refused in [
            "kari@evil-example.com",
            "kari@sub.example.com",
            "kari@example.com.evil.net",
            "kari@example.co",
            "kari@example.com.",
            "kari@xexample.com",
            "example.com@evil.net",
            "kari@evil.net@example.com",
            "kari@example.com@evil.net",
            "kari@@example.com",
            "@example.com",
            "kari@example.com ",
            " kari@example.com",
            "kari@example.com\n",
            "kari",
            "",
        ] {
            assert_eq!(r.decide(&p, "s", &email(refused)), Err(1), "{refused:?}");
        }
    }

    #[test]
    fn an_email_must_be_verified() {
        let r = rules(&[("/a/*", &["email:kari@example.com", "domain:example.org"])]);
        let p = path("/a/x");
        assert_eq!(r.decide(&p, "s", &email("kari@example.com")), Ok(()));
        assert_eq!(r.decide(&p, "s", &email("KARI@example.com")), Ok(()));
        for unverified in [json!(false), json!("true"), json!(1), Value::Null] {
            let c = claims(json!({"email": "kari@example.com", "email_verified": unverified}));
            assert_eq!(r.decide(&p, "s", &c), Err(1), "{unverified}");
            let c = claims(json!({"email": "ola@example.org", "email_verified": unverified}));
            assert_eq!(r.decide(&p, "s", &c), Err(1), "{unverified}");
        }
        assert_eq!(r.decide(&p, "s", &claims(json!({"email": "kari@example.com"}))), Err(1), "no email_verified at all");
        assert_eq!(r.decide(&p, "s", &claims(json!({"email": ["kari@example.com"], "email_verified": true}))), Err(1));
        assert_eq!(r.decide(&p, "s", &email("ola@example.com")), Err(1), "another address on the same domain");
    }

    #[test]
    fn phone_numbers_compare_normalised() {
        let r = rules(&[("/a/*", &["phone:+47 12 34 56 78"])]);
        let p = path("/a/x");
        for ok in ["4712345678", "+4712345678", "004712345678", "+47 123 45 678"] {
            assert_eq!(r.decide(&p, "s", &claims(json!({"phone_number": ok}))), Ok(()), "{ok}");
        }
        assert_eq!(r.decide(&p, "s", &claims(json!({"phone_number": "4712345678", "phone_number_verified": true}))), Ok(()));
        for refused in [json!({"phone_number": "12345678"}), json!({"phone_number": "4712345679"}), json!({"phone_number": 4712345678u64}),
            json!({"phone_number": "4712345678", "phone_number_verified": false}), json!({"phone_number": "47123456780"}), json!({})]
        {
            assert_eq!(r.decide(&p, "s", &claims(refused.clone())), Err(1), "{refused}");
        }
    }

    #[test]
    fn subs_compare_exactly() {
        let r = rules(&[("/a/*", &["sub:Abc-1"])]);
        let p = path("/a/x");
        assert_eq!(r.decide(&p, "Abc-1", &Map::new()), Ok(()));
        for refused in ["abc-1", "Abc-1 ", "Abc-", "Abc-12"] {
            assert_eq!(r.decide(&p, refused, &Map::new()), Err(1), "{refused}");
        }
    }

    #[test]
    fn every_matching_rule_must_admit_and_paths_match_ignoring_case() {
        let r = rules(&[("/staff/*", &["domain:example.com"]), ("/staff/pay/*", &["email:boss@example.com"]), ("/other", &["sub:x"])]);
        let boss = email("boss@example.com");
        let kari = email("kari@example.com");
        assert_eq!(r.decide(&path("/staff/x"), "s", &kari), Ok(()));
        assert_eq!(r.decide(&path("/staff/pay/x"), "s", &kari), Err(2));
        assert_eq!(r.decide(&path("/STAFF/PAY/x"), "s", &kari), Err(2));
        assert_eq!(r.decide(&path("/%53taff/Pay/x"), "s", &kari), Err(2));
        assert_eq!(r.decide(&path("/staff/pay/x"), "s", &boss), Ok(()));
        assert_eq!(r.decide(&path("/Other"), "s", &boss), Err(3));
        assert_eq!(r.decide(&path("/other/x"), "s", &boss), Ok(()), "an exact rule names one path");
        assert_eq!(r.decide(&path("/public"), "s", &Map::new()), Ok(()), "no rule, no restriction");
        assert!(r.applies(&path("/STAFF/x")) && !r.applies(&path("/staffing")));
    }

    #[test]
    fn the_claims_rules_read() {
        assert!(rules(&[("/a", &["sub:x"])]).claims_needed().is_empty());
        assert_eq!(rules(&[("/a", &["domain:example.com"])]).claims_needed(), EMAIL_CLAIMS.to_vec());
        let both = rules(&[("/a", &["email:a@example.com"]), ("/b", &["phone:4712345678"])]);
        assert_eq!(both.claims_needed(), [EMAIL_CLAIMS, PHONE_CLAIMS].concat());
        assert!(both.reads_email() && both.reads_phone());
    }

    #[test]
    fn debug_never_prints_the_lists() {
        let r = rules(&[("/a", &["email:kari@example.com", "phone:4712345678", "sub:secret-sub", "domain:example.org"])]);
        let d = format!("{r:?} {:?}", Entry::parse("email:kari@example.com"));
        for pii in ["kari", "4712345678", "secret-sub", "example.org"] {
            assert!(!d.contains(pii), "{d}");
        }
    }
}
