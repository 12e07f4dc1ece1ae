//! `GET {prefix}/session`: the logged-in user as JSON, for front ends.

use super::{Answer, Ctx};
use crate::http::Reply;
use crate::platform::Platform;

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>) -> Answer {
    let current = super::app::current_session(ctx).await;
    let reply = match current.session {
        Some(s) => Reply::json(200, &s.to_json()),
        // Polled by front ends: not worth an error log line per call.
        // With `"silent_login"` while a failed silent attempt is remembered.
        None => super::login_variants::session_required(ctx),
    };
    Answer::reply(Ok(reply)).with_cookie(current.set_cookie)
}
