//! Secrets as types: redacted `Debug`, no `Display`, compared in constant time.

use std::fmt;

/// A secret string (client secret, tokens, authorization codes, PKCE verifiers).
/// `Debug` prints `[redacted]`, so a secret cannot reach a log line by accident. There is no
/// `PartialEq`: secrets are compared only with [`crate::util::ct_eq`], in constant time.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret value. Call sites that need it are the only ones that see it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(s.expose(), "hunter2");
    }
}
