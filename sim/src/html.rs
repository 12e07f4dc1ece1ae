//! HTML pages. Every value is escaped. Tests rely on the markup of the login page:
//! `name="req" value="..."`, `name="user" value="SUB"`, `data-user="SUB"`, `data-action="cancel"`,
//! and `class="consent" data-consent="ask|given" data-consent-for="SUB"`.

use crate::users::User;

pub const CONFIRM_PATH: &str = "/access-management-1.0/access/oauth2/auth/confirm";
pub const CANCEL_PATH: &str = "/access-management-1.0/access/oauth2/auth/cancel";

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#fff5f1;color:#1e1e1e}
header{background:#FF5B24;color:#fff;padding:16px 24px;font-weight:700;font-size:20px}
main{max-width:520px;margin:32px auto;padding:0 16px}
.card{background:#fff;border-radius:12px;box-shadow:0 2px 8px rgba(0,0,0,.08);padding:20px 24px;margin-bottom:16px}
h1{font-size:22px;margin:0 0 12px}
code{background:#f3f3f3;padding:1px 4px;border-radius:4px}
ul.scopes{padding-left:20px}
form{margin:8px 0}
button{width:100%;padding:12px;border:0;border-radius:8px;font-size:16px;cursor:pointer}
button.confirm{background:#FF5B24;color:#fff;font-weight:600}
button.cancel{background:#fff;color:#FF5B24;border:2px solid #FF5B24}
.muted{color:#666;font-size:14px}
";

pub fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <header>Vipps MobilePay Login (simulator)</header>\n<main>\n{body}</main>\n</body>\n</html>\n",
        title = escape(title),
    )
}

/// What the login page says about a user's consent.
pub const CONSENT_ASK: &str = "will be asked to share the requested data with the merchant";
pub const CONSENT_GIVEN: &str = "has already shared the requested data with the merchant";

/// The login page: one confirm form per test user and a cancel form. Above each user's form, a
/// line says whether the user will be asked for consent (none on record for this client, or new
/// scopes) or has already shared the data; `already_shared` holds the subs of the latter.
/// How the login page looks and what it asks: the market's theme (MobilePay for DK and FI),
/// in-app confirmation, and `step_up`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoginLook {
    pub mobilepay: bool,
    pub app_auth: bool,
    pub step_up: bool,
}

pub fn login_page(
    req_id: &str,
    client_id: &str,
    scopes: &[String],
    users: &[User],
    already_shared: &[&str],
    look: &LoginLook,
) -> String {
    let req = escape(req_id);
    let mut body = String::new();
    let (brand, name, color) = if look.mobilepay {
        ("mobilepay", "MobilePay", "#5A78FF")
    } else {
        ("vipps", "Vipps", "#FF5B24")
    };
    body.push_str(&format!(
        "<div class=\"card\">\n<h1>Log in</h1>\n<p class=\"brand\" data-brand=\"{brand}\" \
         style=\"color:{color};font-weight:700\">Log in with {name}</p>\n"
    ));
    if look.app_auth {
        body.push_str(
            "<p class=\"app-auth muted\" data-app-auth=\"1\">In-app confirmation: confirming \
             stands for confirming in the app (the ID token then carries acr).</p>\n",
        );
    }
    if look.step_up {
        body.push_str(
            "<p class=\"step-up muted\" data-step-up=\"1\">step_up: the user must authenticate; \
             being remembered in this browser does not count.</p>\n",
        );
    }
    body.push_str(&format!(
        "<p><code class=\"client-id\">{}</code> asks for:</p>\n<ul class=\"scopes\">\n",
        escape(client_id)
    ));
    for scope in scopes {
        body.push_str(&format!("<li class=\"scope\">{}</li>\n", escape(scope)));
    }
    body.push_str(
        "</ul>\n</div>\n<div class=\"card\">\n<p class=\"muted\">Choose a test user:</p>\n",
    );
    for user in users {
        let sub = escape(&user.sub);
        let (state, text) = if already_shared.contains(&user.sub.as_str()) {
            ("given", CONSENT_GIVEN)
        } else {
            ("ask", CONSENT_ASK)
        };
        body.push_str(&format!(
            "<p class=\"consent muted\" data-consent=\"{state}\" data-consent-for=\"{sub}\">\
             {name} {text} (<code>{client}</code>).</p>\n",
            name = escape(&user.name),
            client = escape(client_id),
        ));
        body.push_str(&format!(
            "<form method=\"post\" action=\"{CONFIRM_PATH}\">\n\
             <input type=\"hidden\" name=\"req\" value=\"{req}\">\n\
             <input type=\"hidden\" name=\"user\" value=\"{sub}\">\n\
             <label class=\"muted\"><input type=\"checkbox\" name=\"remember\" value=\"1\"> Remember me in this browser</label>\n\
             <button type=\"submit\" class=\"confirm\" data-user=\"{sub}\">Confirm as {name}</button>\n\
             </form>\n",
            name = escape(&user.name),
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"{CANCEL_PATH}\">\n\
         <input type=\"hidden\" name=\"req\" value=\"{req}\">\n\
         <button type=\"submit\" class=\"cancel\" data-action=\"cancel\">Cancel</button>\n\
         </form>\n</div>\n"
    ));
    layout("Vipps MobilePay Login (simulator)", &body)
}

/// The page Vipps shows when it cannot redirect back (unknown client, bad redirect URI...).
pub fn error_page(title: &str, detail: &str) -> String {
    let body = format!(
        "<div class=\"card\">\n<h1 class=\"error\">{}</h1>\n<p class=\"error-detail\">{}</p>\n</div>\n",
        escape(title),
        escape(detail)
    );
    layout(title, &body)
}

/// What Vipps' gateway answers for an over-long URL, `state` or `nonce`.
pub fn bad_gateway() -> String {
    "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n</body>\n</html>\n"
        .to_string()
}

pub fn index_page(discovery_url: &str, users: &[User], client_ids: &[&str]) -> String {
    let mut body = format!(
        "<div class=\"card\">\n<h1>vipps-sim</h1>\n<p>A local simulator of Vipps MobilePay Login \
         (OpenID Connect), for development and tests. Not affiliated with Vipps MobilePay.</p>\n\
         <p>Discovery: <a href=\"{u}\">{u}</a></p>\n<p>Clients: {clients}</p>\n</div>\n\
         <div class=\"card\">\n<h1>Test users</h1>\n<ul>\n",
        u = escape(discovery_url),
        clients = client_ids
            .iter()
            .map(|c| format!("<code>{}</code>", escape(c)))
            .collect::<Vec<_>>()
            .join(", "),
    );
    for u in users {
        body.push_str(&format!(
            "<li>{} <span class=\"muted\">sub <code>{}</code></span></li>\n",
            escape(&u.name),
            escape(&u.sub)
        ));
    }
    body.push_str(
        "</ul>\n</div>\n<div class=\"card\">\n<p class=\"muted\">Control: <code>GET /_sim/stats</code>, \
         <code>POST /_sim/reset</code>, <code>GET|POST /_sim/config</code>, \
         <a href=\"/_sim/consents\">consents on record</a>, \
         <a href=\"/_sim/ciba\">logins from phone number in progress</a></p>\n</div>\n",
    );
    layout("vipps-sim", &body)
}

/// One consent on record, for the consents page.
pub struct ConsentRow<'a> {
    pub client_id: &'a str,
    pub sub: &'a str,
    /// The test user's name, when the sub is one of theirs.
    pub name: Option<&'a str>,
    pub scopes: &'a [String],
}

/// `GET /_sim/consents`: the consents on record, each with a "Revoke consent" button.
pub fn consents_page(rows: &[ConsentRow], webhook_url: Option<&str>) -> String {
    let mut body = String::from("<div class=\"card\">\n<h1>Consents on record</h1>\n");
    body.push_str(&match webhook_url {
        Some(u) => format!(
            "<p class=\"muted\">Revoking sends the <code>CONSENT_REVOKED</code> webhook to \
             <code class=\"webhook-url\">{}</code>.</p>\n",
            escape(u)
        ),
        None => "<p class=\"muted\">No webhook URL is configured (<code>--consent-webhook-url</code> \
                 or <code>POST /_sim/config {&quot;consent_webhook_url&quot;: ...}</code>): revoking \
                 will fail with 409.</p>\n"
            .to_string(),
    });
    if rows.is_empty() {
        body.push_str(
            "<p class=\"empty\">None yet: consent is recorded when a user confirms a login.</p>\n",
        );
    }
    for row in rows {
        let sub = escape(row.sub);
        let client = escape(row.client_id);
        body.push_str(&format!(
            "<div class=\"consent-row\" data-sub=\"{sub}\" data-client=\"{client}\">\n\
             <p>{name}<code class=\"sub\">{sub}</code> with <code class=\"client-id\">{client}</code>: \
             <span class=\"muted\">{scopes}</span></p>\n\
             <form method=\"post\" action=\"/_sim/revoke-consent\">\n\
             <input type=\"hidden\" name=\"sub\" value=\"{sub}\">\n\
             <input type=\"hidden\" name=\"client_id\" value=\"{client}\">\n\
             <button type=\"submit\" class=\"cancel revoke\">Revoke consent</button>\n\
             </form>\n</div>\n",
            name = row
                .name
                .map(|n| format!("{} ", escape(n)))
                .unwrap_or_default(),
            scopes = escape(&row.scopes.join(" ")),
        ));
    }
    body.push_str("</div>\n");
    layout("Consents (vipps-sim)", &body)
}

/// The result of a revocation from the consents page. `result` is what the JSON API answers.
pub fn revoke_result_page(status: u16, result: &serde_json::Value) -> String {
    let heading = match status {
        200 => "Webhook delivered",
        409 => "No webhook URL configured",
        502 => "Webhook delivery failed",
        _ => "Consent not revoked",
    };
    let pretty = serde_json::to_string_pretty(result).unwrap_or_default();
    let body = format!(
        "<div class=\"card\">\n<h1 class=\"result\" data-status=\"{status}\">{}</h1>\n\
         <pre class=\"result-json\">{}</pre>\n\
         <p><a href=\"/_sim/consents\">Back to the consents</a></p>\n</div>\n",
        escape(heading),
        escape(&pretty)
    );
    layout(heading, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::default_users;

    #[test]
    fn escapes_everything_dangerous() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;"
        );
    }

    #[test]
    fn login_page_markers() {
        let users = default_users();
        let page = login_page(
            "REQ1",
            "<client>",
            &["openid".into(), "name".into()],
            &users,
            &[users[1].sub.as_str()],
            &LoginLook::default(),
        );
        assert!(page.contains("<title>Vipps MobilePay Login (simulator)</title>"));
        assert!(page.contains(r#"data-brand="vipps""#) && !page.contains("data-app-auth") && !page.contains("data-step-up"));
        let themed = login_page("R", "c", &["openid".into()], &users, &[], &LoginLook { mobilepay: true, app_auth: true, step_up: true });
        assert!(themed.contains(r#"data-brand="mobilepay""#) && themed.contains("Log in with MobilePay"));
        assert!(themed.contains(r#"data-app-auth="1""#) && themed.contains(r#"data-step-up="1""#));
        assert_eq!(themed.matches(r#"name="remember" value="1""#).count(), users.len());
        assert_eq!(
            page.matches(r#"name="req" value="REQ1""#).count(),
            users.len() + 1
        );
        assert!(page.contains(&format!(
            r#"data-user="{}">Confirm as Kari Nordmann</button>"#,
            users[0].sub
        )));
        assert!(page.contains(&format!(
            r#"<input type="hidden" name="user" value="{}">"#,
            users[1].sub
        )));
        assert!(page.contains(r#"action="/access-management-1.0/access/oauth2/auth/cancel""#));
        assert!(page.contains("&lt;client&gt;"));
        assert!(page.contains("Confirm as Åse Bjørnstad"));
        assert!(page.contains(&format!(
            r#"data-consent="ask" data-consent-for="{}">Kari Nordmann will be asked to share"#,
            users[0].sub
        )));
        assert!(page.contains(&format!(
            r#"data-consent="given" data-consent-for="{}">Ola Nordmann has already shared"#,
            users[1].sub
        )));
        // The consent lines add no `data-user` or `req` markers.
        assert_eq!(page.matches("data-user=").count(), users.len());
    }

    #[test]
    fn consents_page_escapes() {
        let scopes = vec!["openid".to_string(), "<b>".to_string()];
        let rows = [ConsentRow {
            client_id: "c\"1",
            sub: "<s>",
            name: Some("A & B"),
            scopes: &scopes,
        }];
        let page = consents_page(&rows, Some("http://x/\"hook"));
        assert!(page.contains(r#"<input type="hidden" name="sub" value="&lt;s&gt;">"#));
        assert!(page.contains(r#"name="client_id" value="c&quot;1""#));
        assert!(page.contains("A &amp; B"));
        assert!(page.contains("openid &lt;b&gt;"));
        assert!(page.contains("http://x/&quot;hook"));
        assert!(page.contains(">Revoke consent</button>"));
        assert!(!page.contains("<s>") && !page.contains("<b>"));
        let page = revoke_result_page(502, &serde_json::json!({"error": "<x>"}));
        assert!(page.contains("&lt;x&gt;") && page.contains(r#"href="/_sim/consents""#));
    }
}
