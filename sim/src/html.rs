//! HTML pages. Every value is escaped. Tests rely on the markup of the login page:
//! `name="req" value="..."`, `name="user" value="SUB"`, `data-user="SUB"`, `data-action="cancel"`.

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

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <header>Vipps MobilePay Login (simulator)</header>\n<main>\n{body}</main>\n</body>\n</html>\n",
        title = escape(title),
    )
}

/// The login page: one confirm form per test user and a cancel form.
pub fn login_page(req_id: &str, client_id: &str, scopes: &[String], users: &[User]) -> String {
    let req = escape(req_id);
    let mut body = String::new();
    body.push_str("<div class=\"card\">\n<h1>Log in</h1>\n");
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
        body.push_str(&format!(
            "<form method=\"post\" action=\"{CONFIRM_PATH}\">\n\
             <input type=\"hidden\" name=\"req\" value=\"{req}\">\n\
             <input type=\"hidden\" name=\"user\" value=\"{sub}\">\n\
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
         <code>POST /_sim/reset</code>, <code>GET|POST /_sim/config</code></p>\n</div>\n",
    );
    layout("vipps-sim", &body)
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
        );
        assert!(page.contains("<title>Vipps MobilePay Login (simulator)</title>"));
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
    }
}
