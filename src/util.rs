//! Small encoding helpers shared by the protocol modules.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use subtle::ConstantTimeEq;

fn hmac(key: &[u8], parts: &[&[u8]]) -> hmac::Hmac<sha2::Sha256> {
    use hmac::{Hmac, Mac};
    // HMAC takes keys of any length (RFC 2104 §2: longer ones are hashed), so this never fails;
    // the empty-key fallback only satisfies the type.
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new(&Default::default()));
    for p in parts {
        mac.update(p);
    }
    mac
}

/// HMAC-SHA256 over the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::Mac;
    hmac(key, parts).finalize().into_bytes().into()
}

/// Whether `tag` is the HMAC-SHA256 of `parts` (constant time).
pub fn hmac_sha256_verify(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    use hmac::Mac;
    hmac(key, parts).verify_slice(tag).is_ok()
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// `/path?query` of a URL (no fragment), as it appears in a request line or a Location.
pub fn path_and_query(url: &url::Url) -> &str {
    &url[url::Position::BeforePath..url::Position::AfterQuery]
}

/// base64url without padding (RFC 4648 §5), as JOSE and PKCE use it.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; `None` on any malformed input.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s.as_bytes()).ok()
}

/// Lower-case hex (MACs in headers).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Standard base64 with padding (HTTP Basic authentication).
pub fn b64_std(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Constant-time equality for secrets and MACs. Length is not secret.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Escapes text for an HTML text node or a double-quoted attribute.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `application/x-www-form-urlencoded` serialisation of key/value pairs.
pub fn form_encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}

/// Percent-encodes one component the way `application/x-www-form-urlencoded` does
/// (RFC 6749 §2.3.1 asks for exactly this before HTTP Basic encoding of client credentials).
pub fn form_urlencode_component(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64url_round_trip_and_rejects_garbage() {
        let bytes = [0u8, 255, 62, 63, 1, 2, 3];
        assert_eq!(b64url_decode(&b64url(&bytes)).unwrap(), bytes);
        assert!(b64url_decode("a+b/").is_none());
        assert!(b64url_decode("abc=").is_none());
    }

    #[test]
    fn hmac_matches_rfc4231() {
        // Test case 2: short key.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"])),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: 131-byte key, hashed first.
        assert_eq!(
            hex(&hmac_sha256(&[0xaa; 131], &[b"Test Using Larger Than Block-Size Key - Hash Key First"])),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn ct_eq_compares_bytes() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
    }

    #[test]
    fn html_escape_escapes_all_specials() {
        assert_eq!(html_escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn form_component_encoding_per_rfc6749_2_3_1() {
        assert_eq!(form_urlencode_component("a b+c:%@="), "a+b%2Bc%3A%25%40%3D");
    }
}

/// A list with at least one element: signing keys and webhook secrets, where "none" would
/// leave nothing to sign with. The first signs; all verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonEmpty<T> {
    first: T,
    rest: Vec<T>,
}

impl<T> NonEmpty<T> {
    pub fn from_vec(v: Vec<T>) -> Option<Self> {
        let mut it = v.into_iter();
        let first = it.next()?;
        Some(NonEmpty { first, rest: it.collect() })
    }
    pub fn first(&self) -> &T {
        &self.first
    }
    pub fn get(&self, i: usize) -> Option<&T> {
        match i {
            0 => Some(&self.first),
            n => self.rest.get(n - 1),
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        std::iter::once(&self.first).chain(self.rest.iter())
    }
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        1 + self.rest.len()
    }
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> NonEmpty<U> {
        NonEmpty { first: f(self.first), rest: self.rest.into_iter().map(f).collect() }
    }
}
