//! Identity to the origin, in workerd: an origin behind `BACKEND=<url>` receives the user's
//! `sub`, the configured claim headers and a signed identity assertion it can verify with the
//! Worker's JWKS; a forged assertion from a client never reaches it; rotation publishes both
//! keys. Rows go to CONFORMANCE.md (suite "10-identity").

mod common;
use common::origin::NaiveOrigin;
use common::table::Table;
use common::*;
use jwt_compact::alg::Rsa;
use jwt_compact::{AlgorithmExt, UntrustedToken};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::Value;

fn pem() -> String {
    let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
    // One line, newlines written as \n, as secret stores keep PEM.
    key.to_pkcs8_pem(LineEnding::LF).unwrap().replace('\n', "\\n")
}

#[test]
fn the_origin_gets_a_verifiable_assertion_and_claim_headers() {
    let origin = NaiveOrigin::start();
    let (k1, k2) = (pem(), pem());
    let keys = format!("{k2}{k1}");
    let w = Worker::start(
        "identity",
        &[
            ("BACKEND", &origin.base()),
            ("PUBLIC_PATHS", "/, /assets/*"),
            ("IDENTITY_HEADERS", "email,name"),
            ("IDENTITY_ASSERTION_KEYS", &keys),
        ],
        &[],
    );
    let mut rows = Table::new("10-identity");
    let mut b = Browser::new();
    let sub = login(&mut b, &w, "/");
    let jwks: Value = serde_json::from_str(&b.get_json(&w.url("/auth/jwks.json")).body).unwrap();
    let published = jwks["keys"].as_array().map(Vec::len).unwrap_or(0);
    rows.row("JWKS at /auth/jwks.json during a rotation", "2 public keys", &format!("{published} keys"), published == 2);
    let no_private = jwks["keys"].as_array().unwrap().iter().all(|k| k.get("d").is_none());
    rows.row("JWKS holds no private part", "no d/p/q", if no_private { "none" } else { "private parts" }, no_private);

    origin.clear();
    // A client forges an assertion and an email header: both are dropped.
    let r = b.get_with(&w.url("/private/index.html?x=1"), &[("Vipps-Login-Assertion", "forged.jwt.value"), ("Vipps_Login_Email", "attacker@evil.example")]);
    let got = origin.requests();
    let seen = got.first().cloned();
    rows.row("protected page with a session", "forwarded once", &format!("{} {} request(s)", r.status, got.len()), got.len() == 1);
    let Some(seen) = seen else { return };
    let assertions = seen.headers_named("vipps-login-assertion");
    rows.row("client-sent assertion", "never reaches the origin", &format!("{} assertion header(s)", assertions.len()),
        assertions.len() == 1 && assertions[0] != "forged.jwt.value");
    let emails = seen.headers_named("vipps-login-email");
    rows.row("claim header email", "one, the user's", &format!("{emails:?}"), emails.len() == 1 && !emails[0].contains("attacker"));
    let names = seen.headers_named("vipps-login-name");
    rows.row("claim header name (non-ASCII)", "percent-encoded UTF-8", &format!("{names:?}"), names.len() == 1 && names[0].is_ascii());

    // Verified as an origin would: select the key by kid from the JWKS, check RS256, aud, iss.
    let token = assertions.first().copied().unwrap_or_default();
    let verdict = (|| -> Result<String, String> {
        let untrusted = UntrustedToken::new(token).map_err(|e| e.to_string())?;
        let kid = untrusted.header().key_id.clone().ok_or("no kid")?;
        let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).ok_or("kid not in JWKS")?;
        let jwk: jwt_compact::jwk::JsonWebKey<'_> = serde_json::from_value(jwk.clone()).map_err(|e| e.to_string())?;
        let key = rsa::RsaPublicKey::try_from(&jwk).map_err(|e| e.to_string())?;
        let t = Rsa::rs256().validator::<Value>(&key).validate(&untrusted).map_err(|e| e.to_string())?;
        let c = &t.claims().custom;
        let ok = c["sub"] == sub.as_str() && c["aud"] == origin.base().trim_end_matches('/') && c["iss"] == w.base.as_str();
        if ok { Ok(format!("sub, aud {}, iss {}", c["aud"], c["iss"])) } else { Err(format!("claims {c}")) }
    })();
    rows.row("assertion verifies with the JWKS (RS256, kid, aud = origin, iss = Worker)", "valid", &format!("{verdict:?}"), verdict.is_ok());

    // Without a session on a public page: no identity headers at all.
    origin.clear();
    let mut anon = Browser::new();
    let _ = anon.get_with(&w.url("/assets/site.css"), &[("Vipps-Login-Assertion", "forged")]);
    let leaked = origin.requests().iter().flat_map(|r| r.headers.clone()).filter(|(k, _)| k.to_ascii_lowercase().starts_with("vipps-login-")).count();
    rows.row("public page without a session", "no vipps-login-* header", &format!("{leaked} header(s)"), leaked == 0);
}
