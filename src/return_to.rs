//! `return_to`: where a user lands after login. Only a same-origin path is accepted, so the
//! login endpoint can never be turned into an open redirect.

use std::fmt;

/// Longest return path we keep. Longer ones fall back to `/` (the login still works).
pub const MAX_LEN: usize = 1024;

/// A path (with optional query) on this site. Constructed only by [`SafeReturnPath::parse`].
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
    /// tabs and newlines from URLs, turning `/\t/evil` into `//evil`), and encoded forms of
    /// the same tricks (`/%2F/evil`, `/%5Cevil`).
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
        let out = crate::util::path_and_query(&joined).to_string();
        if out.starts_with("//") || out.len() > MAX_LEN {
            return None;
        }
        Some(SafeReturnPath(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_paths() {
        for ok in ["/", "/private", "/a/b?x=1&y=%20z", "/page#frag"] {
            assert!(SafeReturnPath::parse(ok).is_some(), "{ok}");
        }
        assert_eq!(SafeReturnPath::parse("/a/../b").unwrap().as_str(), "/b");
        assert_eq!(SafeReturnPath::parse("/page#frag").unwrap().as_str(), "/page");
    }

    #[test]
    fn refuses_the_open_redirect_corpus() {
        // One attack per line; blank lines and lines starting with '#' are skipped.
        // Lines are written with escapes (\t \n \r \x00) so the file stays printable.
        let corpus = include_str!("../tests/data/open-redirects.txt");
        let mut n = 0;
        for line in corpus.lines() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let attack = line
                .replace("\\t", "\t")
                .replace("\\n", "\n")
                .replace("\\r", "\r")
                .replace("\\x00", "\0");
            assert_eq!(SafeReturnPath::parse(&attack), None, "accepted {line:?}");
            n += 1;
        }
        assert!(n >= 30, "corpus too small: {n}");
    }

    #[test]
    fn refuses_overlong() {
        let long = format!("/{}", "a".repeat(MAX_LEN));
        assert_eq!(SafeReturnPath::parse(&long), None);
    }
}
