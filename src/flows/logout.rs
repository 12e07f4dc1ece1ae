//! `{prefix}/logout`: `GET` shows a button, `POST` ends the session: the cookie is cleared and
//! the session's id recorded, so a copy of the cookie taken before stops working too (here at
//! once, elsewhere at its next check). `POST {prefix}/logout?everywhere=1` ends every session
//! of the user. Vipps has no merchant-initiated logout, so this ends sessions at the edge only.

use super::{Answer, Ctx};
use crate::error::{Code, Error};
use crate::http::Reply;
use crate::pages;
use crate::platform::Platform;
use crate::platform::Level;
use crate::session::user::clear_session_cookie;
use crate::session::Session;

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>) -> Answer {
    let (config, req) = (ctx.config, ctx.req);
    if req.method != "POST" {
        return Answer::reply(Ok(Reply::html(200, pages::logout_page(&format!("{}/logout", config.gate.auth_prefix)))));
    }
    // A cross-site POST cannot log users out (the browser sends Origin on POST).
    if let Some(origin) = req.header("origin") {
        let ours = [req.origin(), config.vipps.redirect_uri.url().origin().ascii_serialization()];
        if !ours.iter().any(|o| o == origin) {
            return Answer::reply(Err(Error::new(Code::LogoutBadOrigin, "cross-origin logout refused")));
        }
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
    let reply = if req.wants_html() { Reply::redirect(303, "/") } else { Reply::json(200, &serde_json::json!({"ok": true})) };
    Answer::reply(Ok(reply)).with_cookie(Some(clear))
}
