//! `return_to`: where a user lands after login. A same-origin path, or an absolute URL whose
//! origin is exactly one of the configured front ends (`CORS_ORIGINS`); nothing else, so the
//! login endpoint can never be turned into an open redirect.

use crate::policy::cors::FrontEndOrigins;
use std::fmt;

/// Longest return path we keep. Longer ones fall back to `/` (the login still works).
pub const MAX_LEN: usize = 1024;

/// A path (with optional query) on this site, or such a path on a configured front end's origin
/// (then with its fragment, which single-page apps route by). Constructed only by
/// [`SafeReturnPath::parse`] and [`SafeReturnPath::parse_for`].
#[derive(Clone, PartialEq, Eq)]
pub struct SafeReturnPath(String);

impl fmt::Debug for SafeReturnPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SafeReturnPath({:?})", self.0)
    }
}

impl SafeReturnPath {
    pub fn root() -> Self {
        SafeReturnPath("/".into())
    }

    /// Accepts `/path?query` only. Refuses absolute and scheme-relative URLs (`//evil`,
    /// `/\evil`), backslashes anywhere, control characters and whitespace (browsers strip
    /// tabs and newlines from URLs, turning `/\t/evil` into `//evil`), encoded forms of
    /// the same tricks (`/%2F/evil`, `/%5Cevil`), and paths the gate would refuse anyway
    /// (encoded look-alikes of `/` and `.`, double encodings, `;`: see
    /// [`crate::policy::path`]).
    pub fn parse(raw: &str) -> Option<SafeReturnPath> {
        if raw.is_empty() || raw.len() > MAX_LEN {
            return None;
        }
        let bytes = raw.as_bytes();
        if bytes[0] != b'/' {
            return None;
        }
        if !bytes.iter().all(|&b| (0x21..=0x7e).contains(&b)) || raw.contains('\\') {
            return None;
        }
        // Check the decoded form too: some servers and frameworks decode before routing.
        let decoded: Vec<u8> = percent_encoding::percent_decode_str(raw).collect();
        if decoded.len() >= 2 && (decoded[1] == b'/' || decoded[1] == b'\\') {
            return None;
        }
        if decoded.iter().any(|&b| b < 0x20 || b == 0x7f || b == b'\\') {
            return None;
        }
        // Resolve against a placeholder origin: the result must stay on it.
        let base = url::Url::parse("https://return-to.invalid/").ok()?;
        let joined = base.join(raw).ok()?;
        if joined.origin() != base.origin() {
            return None;
        }
        // One meaning for every server, as for request paths: the landing page is a page the
        // gate can serve, never `400 request.path_refused`.
        crate::policy::path::CanonicalPath::parse(joined.path()).ok()?;
        let out = crate::util::path_and_query(&joined).to_string();
        if out.starts_with("//") || out.len() > MAX_LEN {
            return None;
        }
        Some(SafeReturnPath(out))
    }

    /// As [`SafeReturnPath::parse`], or an absolute URL that starts with one of `front_ends`
    /// exactly as configured (lower case, as browsers serialise origins) followed by the end,
    /// `/`, `?` or `#`: so no userinfo (`https://app.example@evil`), no other port or host
    /// (`https://app.example.evil`), no other case or scheme. What follows must pass as a
    /// same-origin path, and a URL parser must agree on the origin.
    pub fn parse_for(raw: &str, front_ends: &FrontEndOrigins) -> Option<SafeReturnPath> {
        if raw.starts_with('/') {
            return SafeReturnPath::parse(raw);
        }
        if raw.len() > MAX_LEN || !raw.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return None;
        }
        let (origin, rest) = front_ends.iter().find_map(|o| {
            let rest = raw.strip_prefix(o).filter(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))?;
            Some((o, rest))
        })?;
        let (path_and_query, fragment) = match rest.split_once('#') {
            Some((p, f)) => (p, Some(f)),
            None => (rest, None),
        };
        let path = match path_and_query {
            "" => SafeReturnPath::root(),
            p if p.starts_with('?') => SafeReturnPath::parse(&format!("/{p}"))?,
            p => SafeReturnPath::parse(p)?,
        };
        // The fragment never leaves the browser, but it is part of what we redirect to: the same
        // characters as the path, decoded too.
        if let Some(f) = fragment {
            let decoded: Vec<u8> = percent_encoding::percent_decode_str(f).collect();
            if f.contains('\\') || decoded.iter().any(|&b| b < 0x20 || b == 0x7f || b == b'\\') {
                return None;
            }
        }
        let out = match fragment {
            Some(f) => format!("{origin}{}#{f}", path.0),
            None => format!("{origin}{}", path.0),
        };
        let parsed = url::Url::parse(&out).ok()?;
        (parsed.origin().ascii_serialization() == origin && out.len() <= MAX_LEN).then_some(SafeReturnPath(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same page with `name=value` added to its query (before a fragment). `name` and
    /// `value` are the caller's constants (`[a-z_]`), so the result stays safe; a result over
    /// [`MAX_LEN`] keeps the page as it is.
    pub fn with_query_param(&self, name: &str, value: &str) -> SafeReturnPath {
        let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if !plain(name) || !plain(value) {
            return self.clone();
        }
        let (before, fragment) = match self.0.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (self.0.as_str(), None),
        };
        let sep = if before.contains('?') { '&' } else { '?' };
        let mut out = format!("{before}{sep}{name}={value}");
        if let Some(f) = fragment {
            out.push('#');
            out.push_str(f);
        }
        if out.len() > MAX_LEN {
            return self.clone();
        }
        SafeReturnPath(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_goes_into_the_query_before_the_fragment() {
        let p = |s: &str| SafeReturnPath::parse(s).unwrap();
        assert_eq!(p("/a").with_query_param("vipps_login", "login_required").as_str(), "/a?vipps_login=login_required");
        assert_eq!(p("/a?b=1").with_query_param("vipps_login", "x").as_str(), "/a?b=1&vipps_login=x");
        assert_eq!(p("/a").with_query_param("Bad", "x").as_str(), "/a");
        let long = p(&format!("/{}", "x".repeat(MAX_LEN - 2)));
        assert_eq!(long.with_query_param("vipps_login", "x"), long);
        let origins = FrontEndOrigins::parse(["https://app.example"]).0;
        let front = SafeReturnPath::parse_for("https://app.example/#/inbox", &origins).unwrap();
        assert_eq!(front.with_query_param("vipps_login", "x").as_str(), "https://app.example/?vipps_login=x#/inbox");
    }

    #[test]
    fn accepts_plain_paths() {
        for ok in ["/", "/private", "/a/b?x=1&y=%20z", "/page#frag"] {
            assert!(SafeReturnPath::parse(ok).is_some(), "{ok}");
        }
        assert_eq!(SafeReturnPath::parse("/a/../b").unwrap().as_str(), "/b");
        assert_eq!(SafeReturnPath::parse("/page#frag").unwrap().as_str(), "/page");
    }

    /// The front ends the corpus is written for (tests/data/open-redirects.txt says so too).
    fn front_ends() -> FrontEndOrigins {
        FrontEndOrigins::parse(["https://app.example.com", "http://localhost:5173"]).0
    }

    /// Lines are written with escapes (\t \n \r \x00) so the file stays printable.
    fn unescape(line: &str) -> String {
        line.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r").replace("\\x00", "\0")
    }

    /// The corpus: (input, `Some(exact result)` for `ok` lines, `None` for refusals).
    fn corpus() -> Vec<(String, Option<String>)> {
        include_str!("../tests/data/open-redirects.txt")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| match l.strip_prefix("ok ").and_then(|rest| rest.split_once(" -> ")) {
                Some((input, want)) => (unescape(input), Some(want.to_string())),
                None => (unescape(l), None),
            })
            .collect()
    }

    #[test]
    fn refuses_the_open_redirect_corpus() {
        let corpus = corpus();
        let refused = corpus.iter().filter(|(_, want)| want.is_none()).count();
        assert!(refused >= 60, "corpus too small: {refused}");
        let fe = front_ends();
        for (input, want) in &corpus {
            let got = SafeReturnPath::parse_for(input, &fe).map(|p| p.0);
            assert_eq!(got.as_ref(), want.as_ref(), "with front ends: {input:?}");
            // Without front ends only paths pass, and `parse` agrees with `parse_for`.
            let path_only = want.as_ref().filter(|w| w.starts_with('/'));
            assert_eq!(SafeReturnPath::parse_for(input, &FrontEndOrigins::default()).map(|p| p.0).as_ref(), path_only, "{input:?}");
            assert_eq!(SafeReturnPath::parse(input).map(|p| p.0).as_ref(), path_only, "{input:?}");
            // An accepted result is a fixed point: parsed again, it is itself.
            if let Some(w) = want {
                assert_eq!(SafeReturnPath::parse_for(w, &fe).map(|p| p.0).as_deref(), Some(w.as_str()), "{w:?}");
            }
        }
    }

    #[test]
    fn refuses_overlong() {
        let long = format!("/{}", "a".repeat(MAX_LEN));
        assert_eq!(SafeReturnPath::parse(&long), None);
    }
}
