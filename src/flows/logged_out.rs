//! `GET {prefix}/logged-out[?return_to=/path]`: the page that says the session ended, with the
//! login button (back to `return_to`, when it is a same-origin path) and the way back. A
//! logout can send browsers here.

use super::{Answer, Ctx};
use crate::pages;
use crate::platform::Platform;
use crate::return_to::SafeReturnPath;

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>) -> Answer {
    let return_to = ctx.req.url.query_pairs().find(|(k, _)| k == "return_to").and_then(|(_, v)| SafeReturnPath::parse(&v));
    let page = pages::logged_out(ctx.look(), &ctx.config.gate.auth_prefix, return_to.as_ref());
    Answer::reply(Ok(ctx.page(page).await))
}
