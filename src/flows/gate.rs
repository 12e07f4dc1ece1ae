//! Every path that is not an auth route: public paths pass (with the user when there is a
//! session), protected paths need a session. What passes goes to the backend as the forward
//! plan says: exactly the canonical path every rule was decided on.

use super::{Action, Answer, Ctx};
use crate::config::Backend;
use crate::error::{Code, Error};
use crate::http::Reply;
use crate::platform::Platform;
use crate::policy::forward::Forward;
use crate::policy::path::CanonicalPath;

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>, path: CanonicalPath, protected: bool) -> Answer {
    let current = ctx.state.revocations.current_session(ctx.p, ctx.config, &ctx.req.cookie_header()).await;
    let result = match (current.session, protected) {
        (Some(s), _) => {
            let audience = ctx.config.identity.assertion.as_ref().and_then(|_| audience(ctx));
            let identity = ctx.state.assertions.headers(ctx.config, &s, audience.as_deref(), ctx.p.now());
            Ok(Action::Forward(Forward { path, user: Some(s.sub().to_string()), identity, set_cookies: Vec::new() }))
        }
        (None, false) => Ok(Action::Forward(Forward { path, user: None, identity: Vec::new(), set_cookies: Vec::new() })),
        (None, true) => login_required(ctx, &path).map(Action::Reply),
    };
    Answer { result, cookies: current.set_cookie.into_iter().collect() }
}

/// Who a signed assertion is for: the configured audience, else the origin the request goes
/// to (static assets get none: there is nobody to verify it).
fn audience<P: Platform>(ctx: &Ctx<'_, P>) -> Option<String> {
    match &ctx.config.backend {
        Backend::Assets => None,
        Backend::Origin => Some(ctx.req.origin()),
        Backend::Proxy(base) => Some(base.origin().ascii_serialization()),
    }
}

/// A navigation goes to the login with this page as `return_to`; anything else gets `401`.
fn login_required<P: Platform>(ctx: &Ctx<'_, P>, path: &CanonicalPath) -> Result<Reply, Error> {
    let req = ctx.req;
    let navigates = matches!(req.method.as_str(), "GET" | "HEAD") && req.wants_html();
    if !navigates {
        return Err(Error::from(Code::SessionRequired));
    }
    let target = match req.url.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let location = format!("{}?{}", ctx.config.login_path(), crate::util::form_encode([("return_to", target.as_str())]));
    Ok(Reply::redirect(302, &location))
}
