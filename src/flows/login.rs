//! `GET {prefix}/login?return_to=/path` (or a URL on a configured front end): starts a login.
//! A random `state` (128 bits), a nonce and a PKCE verifier derived from it server-side, the
//! pending login in this browser's signed login cookie, and a `302` to the provider's
//! authorization endpoint. The return path stays here, never in `state`, so the authorize URL
//! stays short.

use super::{Answer, Ctx};
use crate::error::{Code, Error};
use crate::http::Reply;
use crate::oidc::authorize;
use crate::platform::{Level, Platform};
use crate::return_to::SafeReturnPath;
use crate::session::TransactionCookie;
use crate::util::b64url;

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>) -> Answer {
    // `?flow=automatic_return` (when LOGIN_FLOWS allows it): see super::auto_return.
    if let Some(flow) = super::auto_return::requested(ctx) {
        return super::auto_return::start(ctx, &flow).await;
    }
    start(ctx, false).await
}

/// `GET {prefix}/register`: a login with the registration scopes (`REGISTER_SCOPE`).
pub async fn run_register<P: Platform>(ctx: &Ctx<'_, P>) -> Answer {
    start(ctx, true).await
}

async fn start<P: Platform>(ctx: &Ctx<'_, P>, register: bool) -> Answer {
    begin(ctx, register).await.unwrap_or_else(|e| Answer::reply(Err(e)))
}

/// The redirect to Vipps; or another answer instead of a login (see
/// [`super::login_variants::requested`]).
async fn begin<P: Platform>(ctx: &Ctx<'_, P>, register: bool) -> Result<Answer, Error> {
    let (p, config, req) = (ctx.p, ctx.config, ctx.req);
    // The transaction cookie must be set on the origin the callback will arrive at;
    // start the login there (localhost vs 127.0.0.1, www vs apex).
    let callback_origin = config.vipps.redirect_uri.url().origin().ascii_serialization();
    if req.origin() != callback_origin {
        let loc = format!("{callback_origin}{}", crate::util::path_and_query(&req.url));
        return Ok(Answer::reply(Ok(Reply::redirect(302, &loc))));
    }
    let raw_return = req.url.query_pairs().find(|(k, _)| k == "return_to").map(|(_, v)| v.into_owned());
    let return_to = match raw_return.as_deref() {
        None => SafeReturnPath::root(),
        Some(raw) => SafeReturnPath::parse_for(raw, &config.front_end.origins).unwrap_or_else(|| {
            p.log(Level::Info, "login.return_to_refused", "return_to is not a same-origin path or a front-end URL; using /");
            SafeReturnPath::root()
        }),
    };
    let options = match super::login_variants::requested(ctx, &return_to, register) {
        Ok(o) => o,
        Err(answer) => return Ok(answer),
    };
    let disc = match ctx.state.docs.discovery(p, config, &ctx.budget()).await {
        Ok(d) => d,
        // A silent attempt returns to its page with the marker, never an error page.
        Err(e) => return super::login_variants::instead_of_failure(ctx, options.silent, &return_to, &e).map(|r| Answer::reply(Ok(r))).ok_or(e),
    };
    let mut state_bytes = [0u8; 16];
    p.fill_random(&mut state_bytes).map_err(|e| Error::new(Code::Internal, format!("random: {e}")))?;
    let state = b64url(&state_bytes);
    let mut tx = TransactionCookie::from_cookie_header(config, &req.cookie_header()).unwrap_or_default();
    let (nonce, verifier) = tx.begin_with(config, state.clone(), &return_to, options.clone(), p.now());
    let location = authorize::build_url_with(config, &disc, &state, &nonce, &verifier, &options)?;
    Ok(Answer::reply(Ok(Reply::redirect(302, &location).with_cookie(tx.to_set_cookie(config)))))
}
