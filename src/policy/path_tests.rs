//! The canonical path, one rule at a time, and the attack corpus (`tests/data/path-attacks.txt`)
//! through the URL parser (the WHATWG rules workerd applies too), the canonicaliser and the
//! router: every spelling is refused or decided as protected, never public.

use super::*;
use crate::config::tests::parse as config;
use crate::router::{self as gate, Route};

fn canon(raw: &str) -> Result<String, PathRefusal> {
    CanonicalPath::parse(raw).map(|p| p.as_str().to_string())
}

#[test]
fn plain_paths_stay_as_they_are() {
    for p in ["/", "/index.html", "/assets/site.css", "/private/", "/a/b/c", "/~user/x", "/a-b_c.d/e", "/q:1@x/!$&'()*+,=", "/file.tar.gz", "/.well-known/x"] {
        assert_eq!(canon(p).as_deref(), Ok(p), "{p}");
    }
}

#[test]
fn unreserved_escapes_are_decoded_and_the_rest_upper_cased() {
    assert_eq!(canon("/%70rivate/%7Euser").as_deref(), Ok("/private/~user"));
    assert_eq!(canon("/a%2bb%3fc%23d%20e").as_deref(), Ok("/a%2Bb%3Fc%23d%20e"));
    assert_eq!(canon("/s%c3%b8k").as_deref(), Ok("/s%C3%B8k"));
    assert_eq!(canon("/100%25").as_deref(), Ok("/100%25"));
    assert_eq!(canon("/a|b^c[d]").as_deref(), Ok("/a%7Cb%5Ec%5Bd%5D"));
    // Canonical is a fixed point.
    for p in ["/%70rivate/%7Euser", "/a%2bb%3fc", "/s%c3%b8k", "/a|b"] {
        let once = canon(p).unwrap();
        assert_eq!(canon(&once).as_deref(), Ok(once.as_str()), "{p}");
    }
}

#[test]
fn each_refusal_has_its_reason() {
    let cases: &[(&str, PathRefusal)] = &[
        ("x", PathRefusal::NotAbsolute),
        ("", PathRefusal::NotAbsolute),
        ("/a%2Fb", PathRefusal::EncodedDelimiter),
        ("/a%2fb", PathRefusal::EncodedDelimiter),
        ("/a%5Cb", PathRefusal::EncodedDelimiter),
        ("/a/%2e%2e/b", PathRefusal::EncodedDelimiter),
        ("/a%3Bb", PathRefusal::EncodedDelimiter),
        ("/a%252Fb", PathRefusal::EncodedDelimiter),
        ("/a%zz", PathRefusal::MalformedEscape),
        ("/a%2", PathRefusal::MalformedEscape),
        ("/a%", PathRefusal::MalformedEscape),
        ("/a%u002e", PathRefusal::MalformedEscape),
        ("/a%00", PathRefusal::ControlCharacter),
        ("/a%0a", PathRefusal::ControlCharacter),
        ("/a%7F", PathRefusal::ControlCharacter),
        ("/a%C2%85", PathRefusal::ControlCharacter),
        ("/a\u{1}b", PathRefusal::ControlCharacter),
        ("/a%C0%AE", PathRefusal::InvalidUtf8),
        ("/a%ff", PathRefusal::InvalidUtf8),
        ("/a%E2%88", PathRefusal::InvalidUtf8),
        ("/a%E2%88%95b", PathRefusal::LookAlike),
        ("/a%EF%BC%8Fb", PathRefusal::LookAlike),
        ("/a%EF%BC%8E", PathRefusal::LookAlike),
        ("/a\\b", PathRefusal::Delimiter),
        ("/a;b", PathRefusal::Delimiter),
        ("/a/../b", PathRefusal::DotSegment),
        ("/a/./b", PathRefusal::DotSegment),
        ("/a/..", PathRefusal::DotSegment),
        ("//a", PathRefusal::EmptySegment),
        ("/a//b", PathRefusal::EmptySegment),
        ("/a./b", PathRefusal::TrailingDotOrSpace),
        ("/a/b.", PathRefusal::TrailingDotOrSpace),
        ("/a%20/b", PathRefusal::TrailingDotOrSpace),
    ];
    for (raw, why) in cases {
        assert_eq!(canon(raw), Err(*why), "{raw}");
    }
    assert_eq!(canon(&format!("/{}", "a".repeat(MAX_PATH))), Err(PathRefusal::TooLong));
    assert_eq!(canon(&format!("/{}", "%41".repeat(MAX_PATH * 2))), Err(PathRefusal::TooLong));
}

/// How a naive origin reads a path: every escape decoded (`%2F` too), `\` as `/`, empty
/// segments dropped, dot segments resolved, ASCII case folded (case-insensitive file systems).
fn naive_origin_view(path: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy().replace('\\', "/");
    let mut out: Vec<&str> = Vec::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/")).to_ascii_lowercase()
}

/// The request-targets of the corpus, comments and blank lines skipped.
pub(crate) fn corpus() -> Vec<&'static str> {
    include_str!("../../tests/data/path-attacks.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn the_attack_corpus_is_refused_or_protected() {
    let c = config(&[("PUBLIC_PATHS", "/, /assets/*")]).unwrap();
    let vectors = corpus();
    assert!(vectors.len() >= 40, "the corpus has {} vectors", vectors.len());
    for target in vectors {
        // What workerd hands the Worker: the WHATWG-parsed URL (it may resolve some dot
        // segments itself, and turns `\` into `/`).
        let Ok(url) = url::Url::parse(&format!("https://site.example{target}")) else {
            continue;
        };
        match CanonicalPath::parse(url.path()) {
            Err(_) => {}
            Ok(p) => {
                // Decided public only where every reading of the path is the public file itself.
                let route = gate::route(&c, &p);
                let view = naive_origin_view(p.as_str());
                assert!(
                    route == Route::Protected || view.starts_with("/assets/"),
                    "{target} -> {p} (an origin reads {view}) was decided {route:?}"
                );
                // And an origin reads exactly the path decided on: decoding it resolves nothing.
                let plain = percent_encoding::percent_decode_str(p.as_str()).decode_utf8_lossy().to_ascii_lowercase();
                assert_eq!(view.trim_end_matches('/'), plain.trim_end_matches('/'), "{target} -> {p}");
            }
        }
    }
}

#[test]
fn narrowed_protection_is_not_bypassed_by_spelling() {
    // Everything public except /private/*: spellings of /private/ must still be protected.
    let c = config(&[("PROTECTED_PATHS", "/private/*")]).unwrap();
    for target in ["/%70rivate/index.html", "/PRIVATE/index.html", "/Private/", "/%50RIVATE/x"] {
        let url = url::Url::parse(&format!("https://site.example{target}")).unwrap();
        let p = CanonicalPath::parse(url.path()).unwrap();
        assert_eq!(gate::route(&c, &p), Route::Protected, "{target}");
    }
    for target in corpus() {
        let Ok(url) = url::Url::parse(&format!("https://site.example{target}")) else {
            continue;
        };
        if let Ok(p) = CanonicalPath::parse(url.path()) {
            // Whatever an origin could read as /private/... is protected.
            if naive_origin_view(p.as_str()).starts_with("/private") {
                assert_eq!(gate::route(&c, &p), Route::Protected, "{target} -> {p}");
            }
        }
    }
}
