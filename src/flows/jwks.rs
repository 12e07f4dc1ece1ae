//! `GET {prefix}/jwks.json`: the public keys origins verify the identity assertion with
//! (`Vipps-Login-Assertion`). `404` while the assertion is off.

use super::{Answer, Ctx};
use crate::error::{Code, Error};
use crate::http::Reply;
use crate::platform::Platform;
use crate::policy::identity;

/// How long origins may cache the key set. Rotation (README) waits at least this long
/// between publishing a new key and signing with it.
pub const MAX_AGE: u64 = 300;

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>) -> Answer {
    Answer::reply(match identity::jwks(ctx.p, ctx.config, &ctx.state.assertions).await {
        Err(e) => Err(e),
        Ok(None) => Err(Error::from(Code::NotFound)),
        Ok(Some(keys)) => {
            let mut r = Reply::json(200, &keys);
            r.headers.retain(|(k, _)| k != "cache-control");
            r.headers.push(("cache-control".into(), format!("public, max-age={MAX_AGE}")));
            Ok(r)
        }
    })
}
