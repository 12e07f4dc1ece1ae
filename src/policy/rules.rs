//! Path rules: the patterns `PUBLIC_PATHS` and `PROTECTED_PATHS` are made of, matched against
//! canonical paths only.

use super::path::CanonicalPath;

/// A configured path: exact (`/about`) or prefix (`/assets/*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPattern {
    Exact(String),
    Prefix(String),
}

impl PathPattern {
    /// A configured pattern, in the canonical form request paths are matched in (so `/søk/*`
    /// matches `/s%C3%B8k/x`). `None` for a pattern that is not a path, or that no canonical
    /// request path could match.
    pub fn parse(s: &str) -> Option<PathPattern> {
        match s.strip_suffix('*') {
            Some(prefix) if !prefix.contains('*') => {
                // Canonicalised with a stand-in last character, so `/file.*` is a valid prefix.
                let c = CanonicalPath::parse(&format!("{prefix}x")).ok()?;
                Some(PathPattern::Prefix(c.as_str().strip_suffix('x')?.to_string()))
            }
            Some(_) => None,
            None if !s.contains('*') => Some(PathPattern::Exact(CanonicalPath::parse(s).ok()?.as_str().to_string())),
            None => None,
        }
    }
    /// Exact, case-sensitive: for rules that make a path public.
    pub fn matches(&self, path: &CanonicalPath) -> bool {
        match self {
            PathPattern::Exact(p) => path.as_str() == p,
            PathPattern::Prefix(p) => path.as_str().starts_with(p.as_str()),
        }
    }
    /// ASCII case-insensitive: for rules that protect, so a case-insensitive origin cannot serve
    /// `/PRIVATE/x` past `/private/*`.
    pub fn matches_ignoring_case(&self, path: &CanonicalPath) -> bool {
        match self {
            PathPattern::Exact(p) => path.as_str().eq_ignore_ascii_case(p),
            PathPattern::Prefix(p) => path.starts_with_ignore_case(p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(PathPattern::parse("/a/*"), Some(PathPattern::Prefix("/a/".into())));
        assert_eq!(PathPattern::parse("/a"), Some(PathPattern::Exact("/a".into())));
        assert_eq!(PathPattern::parse("a"), None);
        assert_eq!(PathPattern::parse("/a*/b"), None);
        assert_eq!(PathPattern::parse("/file.*"), Some(PathPattern::Prefix("/file.".into())));
        assert_eq!(PathPattern::parse("/søk/*"), Some(PathPattern::Prefix("/s%C3%B8k/".into())));
        assert_eq!(PathPattern::parse("/%7euser/*"), Some(PathPattern::Prefix("/~user/".into())));
        assert_eq!(PathPattern::parse("/a/../b"), None);
        assert_eq!(PathPattern::parse("/a%2Fb"), None);
    }
}
