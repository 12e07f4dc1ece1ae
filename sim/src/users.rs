//! Test users and the userinfo claims each scope releases.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default)]
    pub street_address: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub country: String,
    /// Computed as `street\npostal region\ncountry` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// `home`, `work` or `other`.
    #[serde(default = "default_address_type")]
    pub address_type: String,
}

fn default_address_type() -> String {
    "home".to_string()
}

fn default_true() -> bool {
    true
}

impl Address {
    fn new(street: &str, postal: &str, region: &str, address_type: &str) -> Self {
        Address {
            street_address: street.to_string(),
            postal_code: postal.to_string(),
            region: region.to_string(),
            country: "NO".to_string(),
            formatted: None,
            address_type: address_type.to_string(),
        }
    }

    fn to_claim(&self) -> Value {
        let formatted = self.formatted.clone().unwrap_or_else(|| {
            format!(
                "{}\n{} {}\n{}",
                self.street_address, self.postal_code, self.region, self.country
            )
        });
        json!({
            "street_address": self.street_address,
            "postal_code": self.postal_code,
            "region": self.region,
            "country": self.country,
            "formatted": formatted,
            "address_type": self.address_type,
        })
    }

    /// What Vipps returns for a user without an address: the object, with every field empty.
    fn empty_claim() -> Value {
        json!({
            "street_address": "",
            "postal_code": "",
            "region": "",
            "country": "",
            "formatted": "",
            "address_type": "",
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub sub: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub family_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub email_verified: bool,
    /// Digits with the country code and no `+`, e.g. `4791234567`.
    #[serde(default)]
    pub phone_number: String,
    #[serde(default = "default_true")]
    pub phone_number_verified: bool,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub birthdate: String,
    /// 11 digits.
    #[serde(default)]
    pub nin: String,
    #[serde(default)]
    pub address: Option<Address>,
    #[serde(default)]
    pub other_addresses: Vec<Address>,
}

impl User {
    /// The userinfo response body for this user: `sub` and `sid` always, the rest by scope.
    pub fn userinfo_claims(&self, scopes: &[String], sid: &str) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("sub".into(), json!(self.sub));
        claims.insert("sid".into(), json!(sid));
        for scope in scopes {
            match scope.as_str() {
                "name" => {
                    claims.insert("name".into(), json!(self.name));
                    claims.insert("given_name".into(), json!(self.given_name));
                    claims.insert("family_name".into(), json!(self.family_name));
                }
                "email" => {
                    claims.insert("email".into(), json!(self.email));
                    claims.insert("email_verified".into(), json!(self.email_verified));
                }
                "phoneNumber" => {
                    claims.insert("phone_number".into(), json!(self.phone_number));
                    claims.insert(
                        "phone_number_verified".into(),
                        json!(self.phone_number_verified),
                    );
                }
                "address" => {
                    let home = self
                        .address
                        .as_ref()
                        .map(Address::to_claim)
                        .unwrap_or_else(Address::empty_claim);
                    let others: Vec<Value> =
                        self.other_addresses.iter().map(Address::to_claim).collect();
                    claims.insert("address".into(), home);
                    claims.insert("other_addresses".into(), Value::Array(others));
                }
                "birthDate" => {
                    claims.insert("birthdate".into(), json!(self.birthdate));
                }
                "nin" => {
                    claims.insert("nin".into(), json!(self.nin));
                }
                _ => {}
            }
        }
        claims
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (H. Hinnant's civil-from-days).
pub fn rfc3339(t: u64) -> String {
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// The `delegatedConsents` object of userinfo (integrate-from-website.txt's example), every
/// consent accepted at `now`.
pub fn consents_object(now: u64) -> Value {
    let consent = |id: &str, required: bool, text: &str| {
        json!({"id": id, "accepted": true, "required": required, "textDisplayedToUser": text})
    };
    json!({
        "language": "EN",
        "heading": "Give consent",
        "termsDescription": "By confirming, you accept the merchant's terms of membership. They are responsible for processing the consents. You can withdraw them at any time on their website.",
        "confirmConsentButtonText": "Confirm",
        "links": {
            "termsLinkText": "Read the terms of use.",
            "termsLinkUrl": "http://vippsmobilepay.com/legal/terms-and-conditions",
            "privacyStatementLinkText": "Read the privacy policy.",
            "privacyStatementLinkUrl": "https://vippsmobilepay.com/privacy-notice"
        },
        "timeOfConsent": rfc3339(now),
        "consents": [
            consent("email", true, "Receive offers via email"),
            consent("sms", false, "Receive offers via SMS"),
            consent("digital", false, "I would like to receive digital marketing"),
            consent("personal", false, "Get customized offers"),
        ]
    })
}

/// Four synthetic Norwegian users. NINs are synthetic (month + 80) with valid check digits.
pub fn default_users() -> Vec<User> {
    vec![
        User {
            sub: "6f1c1a52-3c3e-4d5b-9a51-2b8e0f4c7d11".into(),
            name: "Kari Nordmann".into(),
            given_name: "Kari".into(),
            family_name: "Nordmann".into(),
            email: "kari.nordmann@example.com".into(),
            email_verified: true,
            phone_number: "4791234567".into(),
            phone_number_verified: true,
            birthdate: "1985-03-14".into(),
            nin: "14838510036".into(),
            address: Some(Address::new("Karl Johans gate 1", "0154", "OSLO", "home")),
            other_addresses: vec![],
        },
        User {
            sub: "0b7d4e29-81a4-4f0c-b6e3-5c9a2d7f1e22".into(),
            name: "Ola Nordmann".into(),
            given_name: "Ola".into(),
            family_name: "Nordmann".into(),
            email: "ola.nordmann@example.com".into(),
            email_verified: true,
            phone_number: "4792345678".into(),
            phone_number_verified: true,
            birthdate: "1990-07-02".into(),
            nin: "02879010090".into(),
            address: Some(Address::new("Bryggen 12", "5003", "BERGEN", "home")),
            other_addresses: vec![Address::new("Strandkaien 2", "5013", "BERGEN", "work")],
        },
        User {
            sub: "d3a8f5c0-2e6b-4a97-8c14-7f0b9e3d5a33".into(),
            name: "Åse Bjørnstad".into(),
            given_name: "Åse".into(),
            family_name: "Bjørnstad".into(),
            email: "ase.bjornstad@example.com".into(),
            email_verified: false,
            phone_number: "4793456789".into(),
            phone_number_verified: true,
            birthdate: "1999-01-30".into(),
            nin: "30819910053".into(),
            address: Some(Address::new(
                "Munkegata 5\nLeilighet H0301",
                "7011",
                "TRONDHEIM",
                "home",
            )),
            other_addresses: vec![],
        },
        User {
            sub: "9e2b6c71-5d08-4e3f-a2c9-1b4d8f6e0a44".into(),
            name: "Per Hansen".into(),
            given_name: "Per".into(),
            family_name: "Hansen".into(),
            email: "per.hansen@example.com".into(),
            email_verified: true,
            phone_number: "4794567890".into(),
            phone_number_verified: true,
            birthdate: "1960-12-11".into(),
            nin: "11926010036".into(),
            address: None,
            other_addresses: vec![],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn consents_object_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_669_203_613), "2022-11-23T11:40:13Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        let c = consents_object(1_669_203_613);
        assert_eq!(c["timeOfConsent"], "2022-11-23T11:40:13Z");
        assert_eq!(c["consents"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn openid_only_gives_sub_and_sid() {
        let users = default_users();
        let claims = users[0].userinfo_claims(&scopes("openid"), "sid-1");
        assert_eq!(claims.len(), 2);
        assert_eq!(claims["sub"], users[0].sub);
        assert_eq!(claims["sid"], "sid-1");
    }

    #[test]
    fn each_scope_releases_its_claims_only() {
        let users = default_users();
        let u = &users[1];
        let c = u.userinfo_claims(&scopes("openid name email"), "s");
        let keys: Vec<&str> = c.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "email",
                "email_verified",
                "family_name",
                "given_name",
                "name",
                "sid",
                "sub"
            ]
        );

        let c = u.userinfo_claims(&scopes("openid phoneNumber birthDate nin"), "s");
        assert_eq!(c["phone_number"], "4792345678");
        assert_eq!(c["phone_number_verified"], true);
        assert_eq!(c["birthdate"], "1990-07-02");
        assert_eq!(c["nin"], "02879010090");
        assert!(c.get("name").is_none() && c.get("address").is_none() && c.get("email").is_none());

        let c = u.userinfo_claims(&scopes("openid address"), "s");
        assert_eq!(c["address"]["address_type"], "home");
        assert_eq!(c["address"]["formatted"], "Bryggen 12\n5003 BERGEN\nNO");
        assert_eq!(c["other_addresses"][0]["address_type"], "work");
    }

    #[test]
    fn user_without_address_gets_empty_strings() {
        let users = default_users();
        let c = users[3].userinfo_claims(&scopes("openid address"), "s");
        let address = c["address"].as_object().unwrap();
        assert!(address.values().all(|v| v == ""));
        assert_eq!(c["other_addresses"], json!([]));
    }

    #[test]
    fn multiline_street_address() {
        let users = default_users();
        let c = users[2].userinfo_claims(&scopes("openid address"), "s");
        assert!(c["address"]["street_address"]
            .as_str()
            .unwrap()
            .contains('\n'));
    }
}
