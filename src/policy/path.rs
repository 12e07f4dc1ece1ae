//! The one canonical form of a request path. Every gate rule is decided on it, and it is the
//! exact path the backend receives, so an origin cannot read a path differently from the gate.
//!
//! A path either has exactly one meaning for every common server, or it is refused (`400
//! request.path_refused`). Refused: percent-encoded `/`, `\`, `.`, `;` in any case; `%25`
//! before two hex digits (a double encoding); control characters raw or encoded (C0, DEL, C1);
//! malformed escapes (`%zz`, a cut-off `%2`, IIS `%u2215`); escapes that are not UTF-8
//! (overlong forms too); Unicode look-alikes of `/`, `\` and `.` that some servers map by
//! "best fit"; raw `\` or `;`; dot segments; empty segments (`//`); a segment ending in `.` or a
//! space (Windows drops them); paths over [`MAX_PATH`] bytes.
//!
//! Canonicalised: escapes of unreserved characters (RFC 3986 §2.3: `%61` -> `a`) are decoded,
//! other escapes get upper-case hex (§6.2.2.1), and characters the URL parser left raw but that
//! are not path characters (`|`, `^`, `[`, `]`, non-ASCII) are percent-encoded.

/// Longest canonical path accepted, in bytes.
pub const MAX_PATH: usize = 4096;

/// Why a path was refused. Shown to operators in the log line, never to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRefusal {
    NotAbsolute,
    TooLong,
    /// `%` not followed by two hex digits.
    MalformedEscape,
    /// An escape of `/`, `\`, `.`, `;` or `%XX`: origins decode it into a separator.
    EncodedDelimiter,
    ControlCharacter,
    /// Escapes that do not decode to UTF-8.
    InvalidUtf8,
    /// A Unicode character servers may map to `/`, `\` or `.`.
    LookAlike,
    /// A raw `\` or `;` (path parameters).
    Delimiter,
    DotSegment,
    EmptySegment,
    /// A segment ending in `.` or a space.
    TrailingDotOrSpace,
}

impl PathRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            PathRefusal::NotAbsolute => "not absolute",
            PathRefusal::TooLong => "too long",
            PathRefusal::MalformedEscape => "malformed percent-escape",
            PathRefusal::EncodedDelimiter => "encoded separator, dot, ';' or '%'",
            PathRefusal::ControlCharacter => "control character",
            PathRefusal::InvalidUtf8 => "escapes are not UTF-8",
            PathRefusal::LookAlike => "look-alike of '/', '\\' or '.'",
            PathRefusal::Delimiter => "raw '\\' or ';'",
            PathRefusal::DotSegment => "dot segment",
            PathRefusal::EmptySegment => "empty segment",
            PathRefusal::TrailingDotOrSpace => "segment ends in '.' or space",
        }
    }
}

/// A path in canonical form. Only [`CanonicalPath::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalPath(String);

impl CanonicalPath {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The canonical form of `raw` (a URL path as received, percent-encoded), or why it has none.
    pub fn parse(raw: &str) -> Result<CanonicalPath, PathRefusal> {
        let bytes = raw.as_bytes();
        if bytes.first() != Some(&b'/') {
            return Err(PathRefusal::NotAbsolute);
        }
        if bytes.len() > MAX_PATH * 3 {
            return Err(PathRefusal::TooLong);
        }
        let mut out = String::with_capacity(bytes.len());
        // The decoded bytes of the current run of non-ASCII (escaped or raw), checked as UTF-8
        // when the run ends.
        let mut run: Vec<u8> = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let (byte, escaped) = if b == b'%' {
                let hi = bytes.get(i + 1).copied().and_then(hex);
                let lo = bytes.get(i + 2).copied().and_then(hex);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(PathRefusal::MalformedEscape);
                };
                i += 3;
                (hi << 4 | lo, true)
            } else {
                i += 1;
                (b, false)
            };
            if byte >= 0x80 {
                run.push(byte);
                continue;
            }
            flush_run(&mut run, &mut out)?;
            match byte {
                0x00..=0x1f | 0x7f => return Err(PathRefusal::ControlCharacter),
                b'/' | b'\\' | b'.' | b';' if escaped => return Err(PathRefusal::EncodedDelimiter),
                b'\\' | b';' => return Err(PathRefusal::Delimiter),
                b'%' => out.push_str("%25"),
                b if is_unreserved(b) || (!escaped && is_path_char(b)) => out.push(b as char),
                b => push_escaped(&mut out, b),
            }
        }
        flush_run(&mut run, &mut out)?;
        // `%25` is a literal percent sign, but `%252F` (also spelt `%25%32%46`) is a second
        // layer of encoding that a server decoding twice reads as `/`.
        if out.match_indices("%25").any(|(at, _)| {
            let b = out.as_bytes();
            b.get(at + 3).copied().and_then(hex).is_some() && b.get(at + 4).copied().and_then(hex).is_some()
        }) {
            return Err(PathRefusal::EncodedDelimiter);
        }
        if out.len() > MAX_PATH {
            return Err(PathRefusal::TooLong);
        }
        check_segments(&out)?;
        Ok(CanonicalPath(out))
    }

    /// Whether a configured prefix or exact path matches, ASCII case-insensitively (for rules
    /// that protect: a case-insensitive origin must not serve `/PRIVATE/` past `/private/*`).
    pub fn starts_with_ignore_case(&self, prefix: &str) -> bool {
        self.0.len() >= prefix.len() && self.0.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    }
}

impl std::fmt::Display for CanonicalPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// RFC 3986 §2.3.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Characters a path may carry raw (RFC 3986 `pchar` and `/`), besides unreserved and `%`.
fn is_path_char(b: u8) -> bool {
    matches!(b, b'/' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'=' | b':' | b'@')
}

fn push_escaped(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[(b >> 4) as usize] as char);
    out.push(HEX[(b & 15) as usize] as char);
}

/// Characters that some servers fold to `/`, `\` or `.` ("best fit" code pages, NFKC).
const LOOK_ALIKES: [char; 12] = [
    '\u{2215}', // division slash
    '\u{2216}', // set minus
    '\u{2044}', // fraction slash
    '\u{29F8}', // big solidus
    '\u{29F9}', // big reverse solidus
    '\u{FF0F}', // fullwidth solidus
    '\u{FF3C}', // fullwidth reverse solidus
    '\u{FE68}', // small reverse solidus
    '\u{FF0E}', // fullwidth full stop
    '\u{FE52}', // small full stop
    '\u{2024}', // one dot leader
    '\u{3002}', // ideographic full stop
];

/// Ends a run of non-ASCII bytes: valid UTF-8, no C1 controls or look-alikes, written escaped.
fn flush_run(run: &mut Vec<u8>, out: &mut String) -> Result<(), PathRefusal> {
    if run.is_empty() {
        return Ok(());
    }
    let s = std::str::from_utf8(run).map_err(|_| PathRefusal::InvalidUtf8)?;
    for c in s.chars() {
        if ('\u{80}'..='\u{9f}').contains(&c) {
            return Err(PathRefusal::ControlCharacter);
        }
        if LOOK_ALIKES.contains(&c) || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}') {
            return Err(PathRefusal::LookAlike);
        }
    }
    for &b in run.iter() {
        push_escaped(out, b);
    }
    run.clear();
    Ok(())
}

fn check_segments(path: &str) -> Result<(), PathRefusal> {
    // The first segment is the empty one before the leading `/`; the last may be empty (a
    // trailing slash).
    let segments: Vec<&str> = path[1..].split('/').collect();
    let last = segments.len() - 1;
    for (n, seg) in segments.iter().enumerate() {
        match *seg {
            "" if n == last => {}
            "" => return Err(PathRefusal::EmptySegment),
            "." | ".." => return Err(PathRefusal::DotSegment),
            s if s.ends_with('.') || s.ends_with("%20") => return Err(PathRefusal::TrailingDotOrSpace),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "path_tests.rs"]
pub(crate) mod tests;
