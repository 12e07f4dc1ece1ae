//! Hostile modes: ways the simulated provider misbehaves, in the spirit of the OpenID Foundation's
//! relying-party certification tests. One mode at a time is set with `POST /_sim/config
//! {"mode": NAME}` and listed by `GET /_sim/modes`. Each mode is implemented where its effect
//! lies: the ID token (`id_token.rs`), the JWKS and discovery (`endpoints/discovery.rs`), the
//! token response (`endpoints/token.rs`), userinfo and the authorization response.

use serde::{Serialize, Serializer};
use serde_json::{json, Value};

/// What a correct relying party does when the provider is in a mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The login must fail.
    Reject,
    /// The login must succeed.
    Accept,
    /// Either outcome is fine, as long as the relying party neither hangs nor crashes.
    Either,
}

impl Expect {
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Reject => "reject",
            Expect::Accept => "accept",
            Expect::Either => "either",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    // ---- must reject ----
    InvalidIss,
    MissingSub,
    InvalidAud,
    MissingAud,
    MissingIat,
    IdTokenSigNone,
    AlgNoneUppercase,
    InvalidSigRs256,
    AlgHs256PublicKey,
    AlgPs256,
    NonceInvalid,
    MissingNonce,
    ExpiredExp,
    MissingExp,
    NbfFuture,
    IatFarPast,
    ClaimsWrongTypes,
    SecondaryAudNoAzp,
    KidAbsentMultipleJwks,
    UserinfoInvalidSub,
    DiscoveryIssuerMismatch,
    DiscoveryForeignHost,
    DiscoveryHttpEndpoint,
    JwksHostileOnly,
    IssParamWrong,
    AcrWrong,
    AcrMissing,
    AuthTimeOld,
    // ---- must accept ----
    KidAbsentSingleJwks,
    SigningKeyRotation,
    SigningKeyRotationJustBeforeSigning,
    JwksHostilePlusReal,
    JwksManyKeys,
    AudString,
    TokenTypeUppercase,
    ExpiresInMissing,
    IssParamCorrect,
}

/// The issuer hostile modes claim to be.
pub const EVIL_ISSUER: &str = "https://evil.example/access-management-1.0/access/";
/// The RFC 9207 `iss` that `iss-param-wrong` sends.
pub const EVIL_ISS_PARAM: &str = "https://evil.example/";
/// The `sub` that `userinfo-invalid-sub` returns from userinfo.
pub const FOREIGN_SUB: &str = "00000000-0000-0000-0000-000000000000";
/// The `userinfo_endpoint` that `discovery-http-endpoint` advertises.
pub const HTTP_USERINFO_ENDPOINT: &str = "http://api.vipps.example/vipps-userinfo-api/userinfo";
/// The `acr` that `acr-wrong` puts in the ID token instead of the one asked for.
pub const WRONG_ACR: &str = "urn:vipps:acr:login";
/// The `acr` of in-app confirmation.
pub const APP_AUTH: &str = "urn:vipps:acr:app_auth";
/// The `nonce` that `nonce-invalid` puts in the ID token.
pub const WRONG_NONCE: &str = "wrong-nonce-value";

use Expect::{Accept, Either, Reject};

/// Every mode: name, expectation, description. `GET /_sim/modes` lists them in this order.
#[rustfmt::skip]
const TABLE: &[(Mode, &str, Expect, &str)] = &[
    (Mode::InvalidIss, "invalid-iss", Reject,
     "ID token iss is https://evil.example/access-management-1.0/access/"),
    (Mode::MissingSub, "missing-sub", Reject, "ID token has no sub claim"),
    (Mode::InvalidAud, "invalid-aud", Reject, "ID token aud is [\"someone-else\"]"),
    (Mode::MissingAud, "missing-aud", Reject, "ID token has no aud claim"),
    (Mode::MissingIat, "missing-iat", Reject, "ID token has no iat claim"),
    (Mode::IdTokenSigNone, "idtoken-sig-none", Reject,
     "ID token header alg \"none\" (kid kept) and an empty signature"),
    (Mode::AlgNoneUppercase, "alg-none-uppercase", Reject,
     "ID token header alg \"NONE\" (kid kept) and an empty signature"),
    (Mode::InvalidSigRs256, "invalid-sig-rs256", Reject,
     "RS256 header and kid as normal, but the last signature byte has its bits flipped"),
    (Mode::AlgHs256PublicKey, "alg-hs256-public-key", Reject,
     "header alg HS256 with the real kid; signature = HMAC-SHA256 keyed with the public key's SPKI DER (algorithm confusion)"),
    (Mode::AlgPs256, "alg-ps256", Reject,
     "signed with the real key, but RSASSA-PSS SHA-256 and header alg PS256 (discovery only allows RS256)"),
    (Mode::NonceInvalid, "nonce-invalid", Reject, "ID token nonce is \"wrong-nonce-value\""),
    (Mode::MissingNonce, "missing-nonce", Reject, "ID token has no nonce claim"),
    (Mode::ExpiredExp, "expired-exp", Reject, "ID token iat = now-3700, exp = now-3600"),
    (Mode::MissingExp, "missing-exp", Reject, "ID token has no exp claim"),
    (Mode::NbfFuture, "nbf-future", Reject, "ID token nbf = now+3600"),
    (Mode::IatFarPast, "iat-far-past", Reject, "ID token iat = now-86400, exp = now+3600"),
    (Mode::ClaimsWrongTypes, "claims-wrong-types", Reject, "ID token sub is the number 12345"),
    (Mode::SecondaryAudNoAzp, "secondary-aud-no-azp", Reject,
     "ID token aud = [client_id, \"another-client\"] and no azp"),
    (Mode::KidAbsentMultipleJwks, "kid-absent-multiple-jwks", Reject,
     "ID token header has no kid; the JWKS has two RSA signing keys (the real one first, then another)"),
    (Mode::UserinfoInvalidSub, "userinfo-invalid-sub", Reject,
     "userinfo sub is 00000000-0000-0000-0000-000000000000, not the ID token's"),
    (Mode::DiscoveryIssuerMismatch, "discovery-issuer-mismatch", Reject,
     "discovery issuer is https://evil.example/access-management-1.0/access/ (endpoints unchanged)"),
    (Mode::DiscoveryForeignHost, "discovery-foreign-host", Reject,
     "discovery token_endpoint is on another host (http://127.0.0.2:<same port>/...)"),
    (Mode::DiscoveryHttpEndpoint, "discovery-http-endpoint", Reject,
     "discovery userinfo_endpoint is http://api.vipps.example/vipps-userinfo-api/userinfo (plain http, not loopback)"),
    (Mode::JwksHostileOnly, "jwks-hostile-only", Reject,
     "the JWKS has only keys to ignore (oct with the real kid, the real key with use enc, with alg HS256, with private parts); the ID token is normal"),
    (Mode::IssParamWrong, "iss-param-wrong", Reject,
     "the authorization response carries RFC 9207 iss=https://evil.example/"),
    (Mode::AcrWrong, "acr-wrong", Reject,
     "when acr_values asked for in-app confirmation, the ID token's acr is urn:vipps:acr:login (not the one asked)"),
    (Mode::AcrMissing, "acr-missing", Reject,
     "the ID token has no acr even when acr_values asked for one (a sales unit without in-app confirmation)"),
    (Mode::AuthTimeOld, "auth-time-old", Reject,
     "ID token auth_time = now-86400 (a relying party that asks for a recent login must refuse it)"),
    (Mode::KidAbsentSingleJwks, "kid-absent-single-jwks", Accept,
     "ID token header has no kid; the JWKS has one usable RSA signing key after an oct, an EC and an RSA enc key"),
    (Mode::SigningKeyRotation, "signing-key-rotation", Accept,
     "entering the mode creates a new key; the JWKS publishes it first, then the old one; ID tokens are signed with it"),
    (Mode::SigningKeyRotationJustBeforeSigning, "signing-key-rotation-just-before-signing", Accept,
     "like signing-key-rotation, but the new key is created and published when the first ID token is signed"),
    (Mode::JwksHostilePlusReal, "jwks-hostile-plus-real", Accept,
     "the JWKS has the hostile keys (with other kids), 40 oct keys, then the real key last"),
    (Mode::JwksManyKeys, "jwks-many-keys", Either,
     "the JWKS has 5000 oct keys, then the real key; the RP may refuse or accept, but must not hang or crash"),
    (Mode::AudString, "aud-string", Accept, "ID token aud is the string client_id, not an array"),
    (Mode::TokenTypeUppercase, "token-type-uppercase", Accept, "token response token_type is \"BEARER\""),
    (Mode::ExpiresInMissing, "expires-in-missing", Accept, "token response has no expires_in"),
    (Mode::IssParamCorrect, "iss-param-correct", Accept,
     "the authorization response carries RFC 9207 iss=<the real issuer>"),
];

impl Mode {
    pub fn parse(name: &str) -> Option<Mode> {
        TABLE.iter().find(|e| e.1 == name).map(|e| e.0)
    }

    fn entry(self) -> &'static (Mode, &'static str, Expect, &'static str) {
        // Every variant has a row (checked by a test); the first row is only a fallback.
        TABLE.iter().find(|e| e.0 == self).unwrap_or(&TABLE[0])
    }

    pub fn name(self) -> &'static str {
        self.entry().1
    }

    pub fn expect(self) -> Expect {
        self.entry().2
    }

    pub fn description(self) -> &'static str {
        self.entry().3
    }

    /// Every mode, in the order of `GET /_sim/modes`.
    pub fn all() -> impl Iterator<Item = Mode> {
        TABLE.iter().map(|e| e.0)
    }

    /// Whether ID tokens are signed with a rotated key in this mode.
    pub fn rotates_key(self) -> bool {
        matches!(
            self,
            Mode::SigningKeyRotation | Mode::SigningKeyRotationJustBeforeSigning
        )
    }
}

impl Serialize for Mode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// `GET /_sim/modes`: `[{"name", "description", "expect"}]`.
pub fn list_json() -> Value {
    Value::Array(
        Mode::all()
            .map(|m| {
                json!({"name": m.name(), "description": m.description(), "expect": m.expect().as_str()})
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_is_complete_and_names_are_unique() {
        let names: HashSet<&str> = TABLE.iter().map(|e| e.1).collect();
        assert_eq!(names.len(), TABLE.len());
        assert_eq!(TABLE.len(), 37);
        for m in Mode::all() {
            assert_eq!(Mode::parse(m.name()), Some(m));
            assert_eq!(TABLE.iter().filter(|e| e.0 == m).count(), 1, "{m:?}");
        }
        assert_eq!(Mode::parse("INVALID-ISS"), None);
        assert_eq!(Mode::parse(""), None);
        let list = list_json();
        assert_eq!(list.as_array().unwrap().len(), 37);
        assert_eq!(list[0]["name"], "invalid-iss");
        assert_eq!(
            serde_json::to_value(Mode::JwksManyKeys).unwrap(),
            "jwks-many-keys"
        );
        assert_eq!(Mode::JwksManyKeys.expect(), Expect::Either);
    }
}
