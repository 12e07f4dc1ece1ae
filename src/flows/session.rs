//! `GET {prefix}/session`: the logged-in user as JSON, for front ends.

use super::{Answer, Ctx};
use crate::error::Code;
use crate::http::Reply;
use crate::platform::Platform;
use crate::respond::error_json;

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>) -> Answer {
    let current = super::app::current_session(ctx).await;
    let reply = match current.session {
        Some(s) => Reply::json(200, &s.to_json()),
        // Polled by front ends: not worth an error log line per call.
        None => error_json(Code::SessionRequired),
    };
    Answer::reply(Ok(reply)).with_cookie(current.set_cookie)
}
