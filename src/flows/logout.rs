//! `{prefix}/logout`: `GET` shows a button, `POST` ends the local session. Vipps has no
//! merchant-initiated logout, so this ends the session at the edge only.

use super::{Answer, Ctx};
use crate::error::{Code, Error};
use crate::http::Reply;
use crate::pages;
use crate::platform::Platform;
use crate::session::cookie;
use crate::session::user::SESSION_COOKIE;

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>) -> Answer {
    let (config, req) = (ctx.config, ctx.req);
    if req.method != "POST" {
        return Answer::reply(Ok(ctx.page(pages::logout(ctx.look(), &config.gate.auth_prefix)).await));
    }
    // A cross-site POST cannot log users out (the browser sends Origin on POST).
    if let Some(origin) = req.header("origin") {
        let ours = [req.origin(), config.vipps.redirect_uri.url().origin().ascii_serialization()];
        if !ours.iter().any(|o| o == origin) {
            return Answer::reply(Err(Error::new(Code::LogoutBadOrigin, "cross-origin logout refused")));
        }
    }
    let clear = cookie::clear_cookie(SESSION_COOKIE);
    let reply = if req.wants_html() { Reply::redirect(303, "/") } else { Reply::json(200, &serde_json::json!({"ok": true})) };
    Answer::reply(Ok(reply)).with_cookie(Some(clear))
}
