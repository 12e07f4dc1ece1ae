//! Randomness from the OS, and the UUID formatting the simulator's identifiers use.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// The OS random source failed (practically never happens; surfaces as HTTP 500).
#[derive(Debug)]
pub struct RandomError;

impl std::fmt::Display for RandomError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the operating system's random source failed")
    }
}

pub fn bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).map_err(|_| RandomError)?;
    Ok(buf)
}

/// 32 random bytes, base64url without padding (43 characters).
pub fn token() -> Result<String, RandomError> {
    Ok(URL_SAFE_NO_PAD.encode(bytes::<32>()?))
}

/// An opaque credential shaped like Ory Hydra's: `<43 chars>.<43 chars>`, all URL-safe.
pub fn hydra_style_token() -> Result<String, RandomError> {
    Ok(format!("{}.{}", token()?, token()?))
}

/// A random UUID version 4.
pub fn uuid_v4() -> Result<String, RandomError> {
    Ok(uuid_v4_from(bytes::<16>()?))
}

/// Formats 16 bytes as a version-4 UUID (RFC 9562 §5.4), overwriting the version and variant bits.
pub fn uuid_v4_from(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let u = uuid_v4_from([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let r = uuid_v4().unwrap();
        assert_eq!(r.len(), 36);
        assert_eq!(&r[14..15], "4");
    }

    #[test]
    fn tokens_are_url_safe() {
        let t = hydra_style_token().unwrap();
        assert_eq!(t.len(), 87);
        assert!(t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
    }
}
