//! Consent on record and its revocation: `GET /_sim/consents` and `POST /_sim/revoke-consent`,
//! which forgets a consent and delivers Vipps' `CONSENT_REVOKED` webhook.

use serde_json::{json, Map, Value};

use crate::html::{self, ConsentRow};
use crate::http::{Request, Response};
use crate::state::Sim;
use crate::stats::Endpoint;
use crate::webhook::{self, WebhookUrl, DEFAULT_CONTENT_TYPE};

/// What a revocation asks for.
#[derive(Debug, Default)]
struct Revocation {
    sub: Option<String>,
    client_id: Option<String>,
    url: Option<WebhookUrl>,
    claims: Map<String, Value>,
    header: Map<String, Value>,
    signature: String,
    raw_body: Option<String>,
    content_type: Option<String>,
}

/// `GET /_sim/consents`
pub fn consents(sim: &Sim, _req: &Request) -> Response {
    let store = sim.store();
    let rows: Vec<ConsentRow> = store
        .consents
        .iter()
        .map(|((client_id, sub), consent)| ConsentRow {
            client_id,
            sub,
            name: sim.user(sub).map(|u| u.name.as_str()),
            scopes: &consent.scopes,
        })
        .collect();
    let url = sim.settings().consent_webhook_url;
    let page = html::consents_page(&rows, url.as_deref());
    Response::html(200, page).with_header("Cache-Control", "no-store")
}

/// `POST /_sim/revoke-consent`: a JSON object, or a form (`sub` or `user`, optional `client_id`)
/// from the consents page, which gets an HTML answer.
pub fn revoke_consent(sim: &Sim, req: &Request) -> Response {
    let form = req.is_form();
    let reply = |status: u16, body: Value| {
        let response = if form {
            Response::html(status, html::revoke_result_page(status, &body))
        } else {
            Response::json(status, &body)
        };
        response.with_header("Cache-Control", "no-store")
    };
    let parsed = if form {
        from_form(sim, req)
    } else {
        from_json(sim, req)
    };
    let revocation = match parsed {
        Ok(r) => r,
        Err(problems) => {
            return reply(
                400,
                json!({"error": "invalid_request", "problems": problems}),
            )
        }
    };

    // The webhook URL: this call's, else the configured one (checked when it was set).
    let configured = sim.settings().consent_webhook_url;
    let url = match (revocation.url.clone(), configured) {
        (Some(u), _) => u,
        (None, Some(u)) => match WebhookUrl::parse(&u) {
            Ok(u) => u,
            Err(e) => {
                return reply(
                    409,
                    json!({"error": "no_webhook_url", "error_description": e}),
                )
            }
        },
        (None, None) => {
            return reply(
                409,
                json!({"error": "no_webhook_url", "error_description":
                    "No webhook URL: start with --consent-webhook-url, POST /_sim/config {\"consent_webhook_url\": URL}, or pass \"url\""}),
            )
        }
    };

    // The user revokes at Vipps whatever the merchant's webhook then does.
    let revoked = match &revocation.sub {
        Some(sub) => {
            let mut store = sim.store();
            let before = store.consents.len();
            store.consents.retain(|(client_id, s), _| {
                s != sub
                    || revocation
                        .client_id
                        .as_ref()
                        .is_some_and(|only| only != client_id)
            });
            before - store.consents.len()
        }
        None => 0,
    };

    let (body, jwt) = match &revocation.raw_body {
        Some(raw) => (raw.clone(), None),
        None => {
            let mut header = webhook::default_header();
            webhook::merge(&mut header, &revocation.header);
            let mut payload = webhook::default_payload(revocation.sub.as_deref(), sim.now());
            webhook::merge(&mut payload, &revocation.claims);
            let jwt = webhook::encode(&header, &payload, &revocation.signature);
            (jwt.clone(), Some(jwt))
        }
    };
    let content_type = revocation
        .content_type
        .as_deref()
        .unwrap_or(DEFAULT_CONTENT_TYPE);

    sim.stats.bump(Endpoint::Webhook);
    let result = webhook::deliver(&url, content_type, body.as_bytes());
    let mut answer = json!({
        "jwt": jwt.unwrap_or_else(|| body.clone()),
        "sub": revocation.sub,
        "revoked": revoked,
    });
    let status = match result {
        Ok(r) => {
            eprintln!(
                "vipps-sim: CONSENT_REVOKED webhook to {}: {}",
                url.loggable(),
                r.status
            );
            answer["delivered"] = json!(true);
            answer["status"] = json!(r.status);
            answer["body"] = json!(r.body);
            200
        }
        Err(e) => {
            eprintln!(
                "vipps-sim: CONSENT_REVOKED webhook to {} failed: {e}",
                url.loggable()
            );
            answer["delivered"] = json!(false);
            answer["error"] = json!(e);
            502
        }
    };
    reply(status, answer)
}

/// `sub` as given, or the test user named by `user` (their sub, or their phone number with or
/// without `+`). The simulator gives a user the same sub for every client.
fn resolve_user(sim: &Sim, user: &str) -> Option<String> {
    let phone = user.trim_start_matches('+');
    sim.users
        .iter()
        .find(|u| u.sub == user || (!phone.is_empty() && u.phone_number == phone))
        .map(|u| u.sub.clone())
}

fn choose_sub(
    sim: &Sim,
    sub: Option<&str>,
    user: Option<&str>,
    problems: &mut Vec<String>,
) -> Option<String> {
    match (sub, user) {
        (Some(_), Some(_)) => {
            problems.push("give `sub` or `user`, not both".into());
            None
        }
        (Some(""), None) => {
            problems.push("`sub` is empty".into());
            None
        }
        (Some(sub), None) => Some(sub.to_string()),
        (None, Some(user)) => {
            let sub = resolve_user(sim, user);
            if sub.is_none() {
                problems.push(format!(
                    "unknown user `{user}` (a test user's sub or phone number)"
                ));
            }
            sub
        }
        (None, None) => None,
    }
}

fn check_client(sim: &Sim, client_id: Option<&str>, problems: &mut Vec<String>) {
    if let Some(id) = client_id {
        if sim.client(id).is_none() {
            problems.push(format!("unknown client_id `{id}`"));
        }
    }
}

fn from_form(sim: &Sim, req: &Request) -> Result<Revocation, Vec<String>> {
    let form = req.form_params();
    let mut problems = Vec::new();
    let sub = choose_sub(sim, form.get("sub"), form.get("user"), &mut problems);
    if sub.is_none() && problems.is_empty() {
        problems.push("`sub` or `user` is required".into());
    }
    let client_id = form.get_nonempty("client_id");
    check_client(sim, client_id, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Revocation {
        sub,
        client_id: client_id.map(str::to_string),
        ..Revocation::default()
    })
}

fn from_json(sim: &Sim, req: &Request) -> Result<Revocation, Vec<String>> {
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| vec![format!("the body is not JSON: {e}")])?;
    let Some(object) = body.as_object() else {
        return Err(vec!["the body must be a JSON object".into()]);
    };
    let mut problems = Vec::new();
    let mut r = Revocation::default();
    let string = |key: &str, problems: &mut Vec<String>| match object.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push(format!("`{key}` must be a string"));
            None
        }
    };
    let map = |key: &str, problems: &mut Vec<String>| match object.get(key) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            problems.push(format!("`{key}` must be a JSON object"));
            Map::new()
        }
    };
    for key in object.keys() {
        if ![
            "sub",
            "user",
            "client_id",
            "url",
            "claims",
            "header",
            "signature",
            "raw_body",
            "content_type",
        ]
        .contains(&key.as_str())
        {
            problems.push(format!("unknown field `{key}`"));
        }
    }
    let sub = string("sub", &mut problems);
    let user = string("user", &mut problems);
    r.sub = choose_sub(sim, sub.as_deref(), user.as_deref(), &mut problems);
    r.client_id = string("client_id", &mut problems);
    check_client(sim, r.client_id.as_deref(), &mut problems);
    if let Some(url) = string("url", &mut problems) {
        match WebhookUrl::parse(&url) {
            Ok(u) => r.url = Some(u),
            Err(e) => problems.push(format!("url: {e}")),
        }
    }
    r.claims = map("claims", &mut problems);
    r.header = map("header", &mut problems);
    r.signature = string("signature", &mut problems).unwrap_or_default();
    r.raw_body = string("raw_body", &mut problems);
    r.content_type = string("content_type", &mut problems);
    if let Some(ct) = &r.content_type {
        if ct.is_empty() || !ct.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
            problems.push("`content_type` must be non-empty printable ASCII".into());
        }
    }
    if r.sub.is_none() && r.raw_body.is_none() && problems.is_empty() {
        problems.push("`sub` or `user` is required (or `raw_body`)".into());
    }
    if problems.is_empty() {
        Ok(r)
    } else {
        Err(problems)
    }
}
