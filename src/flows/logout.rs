//! `{prefix}/logout`: `GET` shows a button, `POST` ends the session: the cookie is cleared and
//! the session's id recorded, so a copy of the cookie taken before stops working too (here at
//! once, elsewhere at its next check). `POST {prefix}/logout?everywhere=1` ends every session
//! of the user. Vipps has no merchant-initiated logout, so this ends sessions at the edge only.

use super::{Answer, Ctx};
use crate::config::Config;
use crate::error::{Code, Error};
use crate::http::{IncomingRequest, Reply};
use crate::pages;
use crate::platform::Platform;
use crate::platform::Level;
use crate::session::user::clear_session_cookie;
use crate::session::Session;

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>) -> Answer {
    let (config, req) = (ctx.config, ctx.req);
    if req.method != "POST" {
        return Answer::reply(Ok(ctx.page(pages::logout(ctx.look(), &config.gate.auth_prefix)).await));
    }
    if let Err(why) = same_site_post(config, req) {
        return Answer::reply(Err(Error::new(Code::LogoutBadOrigin, why)));
    }
    let clear = clear_session_cookie(config);
    let everywhere = req.url.query_pairs().any(|(k, v)| k == "everywhere" && (v == "1" || v == "true"));
    if let Some(s) = Session::from_cookie_header(config, &req.cookie_header(), ctx.p.now()) {
        let revocations = &ctx.state.revocations;
        let stored = if everywhere { revocations.end_all(ctx.p, config, &s).await } else { revocations.end_session(ctx.p, config, &s).await };
        if let Err(e) = stored {
            if everywhere {
                // The user asked for every session to end: say it did not happen.
                let e = Error::new(Code::LogoutStoreFailed, format!("KV: {}", e.0));
                return Answer::reply(Err(e)).with_cookie(Some(clear));
            }
            // This browser's session is cleared; other copies end at their expiry.
            ctx.p.log(Level::Warn, "logout.store_failed", &e.0);
        }
    }
    let reply = if req.wants_html() {
        Reply::redirect(303, config.front_end.logout_redirect.as_str())
    } else {
        Reply::json(200, &serde_json::json!({"ok": true}))
    };
    Answer::reply(Ok(reply)).with_cookie(Some(clear))
}

/// A logout may come from this site or a configured front end, never from another site (a
/// page elsewhere must not log users out). Browsers send `Origin` on every `POST`; when it is
/// absent, `Sec-Fetch-Site` says where the request came from (`none`: the user's own action,
/// such as a bookmark). A client that sends neither is not a browser a page could drive.
fn same_site_post(config: &Config, req: &IncomingRequest) -> Result<(), &'static str> {
    match (req.header("origin"), req.header("sec-fetch-site")) {
        (Some(origin), _) => {
            let ours = origin == req.origin() || origin == config.vipps.redirect_uri.url().origin().ascii_serialization();
            (ours || config.front_end.origins.contains(origin)).then_some(()).ok_or("Origin is neither this site nor a CORS_ORIGINS front end")
        }
        (None, Some("same-origin" | "none")) | (None, None) => Ok(()),
        (None, Some(_)) => Err("no Origin, and Sec-Fetch-Site is not same-origin or none"),
    }
}
