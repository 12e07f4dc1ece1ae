//! The few HTML pages the Worker renders itself: errors and logout. Every interpolated value is
//! escaped; none comes from upstream text.

use crate::error::Code;
use crate::util::html_escape;

fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f7f5f2;color:#222;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}}
main{{background:#fff;max-width:30rem;padding:2rem 2.5rem;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08)}}
h1{{font-size:1.4rem;margin-top:0}}
.actions{{display:flex;gap:.75rem;flex-wrap:wrap;margin-top:1.5rem}}
a.button,button{{background:#ff5b24;color:#fff;border:0;border-radius:8px;padding:.7rem 1.2rem;font-size:1rem;text-decoration:none;cursor:pointer}}
a.secondary{{background:#eee;color:#222}}
.code{{color:#777;font-size:.8rem;margin-top:1.5rem}}
</style></head>
<body><main>{body}</main></body></html>
"#,
        title = html_escape(title),
    )
}

/// A friendly error page: what happened, a retry, a way back, and the stable code for support.
pub fn error_page(code: Code, retry_href: Option<&str>, back_href: &str) -> String {
    let (title, text) = code.user_text();
    let retry = retry_href
        .map(|h| format!(r#"<a class="button" href="{}">Try again</a>"#, html_escape(h)))
        .unwrap_or_default();
    layout(
        title,
        &format!(
            r#"<h1>{}</h1><p>{}</p><div class="actions">{retry}<a class="button secondary" href="{}">Back to the site</a></div><p class="code">Error code: {}</p>"#,
            html_escape(title),
            html_escape(text),
            html_escape(back_href),
            html_escape(code.as_str()),
        ),
    )
}

/// The page shown when configuration is broken: names the variables, never their values.
pub fn config_error_page(problems: &[(String, String)]) -> String {
    let items: String = problems
        .iter()
        .map(|(var, msg)| format!("<li><code>{}</code> {}</li>", html_escape(var), html_escape(msg)))
        .collect();
    layout(
        "Login is not configured",
        &format!(
            "<h1>Login is not configured</h1><p>The site owner needs to fix these settings (wrangler vars and secrets):</p><ul>{items}</ul><p class=\"code\">Error code: config.invalid</p>"
        ),
    )
}

/// `GET /auth/logout`: a button, because logging out is a POST.
pub fn logout_page(action: &str) -> String {
    layout(
        "Log out",
        &format!(
            r#"<h1>Log out?</h1><p>This ends your session on this site. Vipps MobilePay may still remember you in this browser.</p><form method="post" action="{}"><div class="actions"><button type="submit">Log out</button><a class="button secondary" href="/">Cancel</a></div></form>"#,
            html_escape(action)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_page_escapes_links() {
        let p = error_page(Code::AccessDenied, Some("/auth/login?return_to=%2F\"><script>"), "/");
        assert!(!p.contains("<script>"));
        assert!(p.contains("Login cancelled"));
        assert!(p.contains("callback.access_denied"));
    }

    #[test]
    fn config_page_names_vars() {
        let p = config_error_page(&[("SESSION_SECRET".into(), "is required".into())]);
        assert!(p.contains("SESSION_SECRET"));
    }
}
