//! Every path that is not an auth route: public paths pass (with the user when there is a
//! session), protected paths need a session and a user the access rules admit. What passes goes
//! to the backend as the forward plan says: exactly the canonical path every rule was decided on.

use super::{Action, Answer, Ctx};
use crate::config::Backend;
use crate::error::{Code, Error};
use crate::http::Reply;
use crate::platform::Platform;
use crate::policy::forward::Forward;
use crate::policy::path::CanonicalPath;
use crate::router::Route;
use crate::session::Session;

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>, path: CanonicalPath, route: Route) -> Answer {
    let current = super::app::current_session(ctx).await;
    let protected = matches!(route, Route::Protected | Route::ProtectedApi);
    let result = match (current.session, protected) {
        (Some(s), true) => match admitted(ctx, &path, &s) {
            Err(e) => Err(e),
            // A session too weak or too old for this path (STEP_UP_RULES) logs in again.
            Ok(()) => match super::login_variants::step_up(ctx, &path, &s, route == Route::ProtectedApi) {
                Some(r) => r.map(Action::Reply),
                None => forward(ctx, path, Some(&s)).await,
            },
        },
        (Some(s), false) => forward(ctx, path, Some(&s)).await,
        (None, false) => forward(ctx, path, None).await,
        (None, true) => login_required(ctx, &path, route == Route::ProtectedApi).map(Action::Reply),
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

/// The forward plan, with the identity headers for the origin when there is a session (an
/// assertion key the runtime cannot use refuses the request: never forwarded without it).
async fn forward<P: Platform>(ctx: &Ctx<'_, P>, path: CanonicalPath, session: Option<&Session>) -> Result<Action, Error> {
    let identity = match session {
        Some(s) => {
            let audience = ctx.config.identity.assertion.as_ref().and_then(|_| audience(ctx));
            ctx.state.assertions.headers(ctx.p, ctx.config, s, audience.as_deref()).await?
        }
        None => Vec::new(),
    };
    Ok(Action::Forward(Forward { path, user: session.map(|s| s.sub().to_string()), identity, set_cookies: Vec::new() }))
}

/// A logged-in user the access rules do not admit gets `403 access.forbidden`: a page for a
/// navigation, JSON otherwise, never the login again (that would loop). The log line names
/// the rule by number and the user by a hash of `sub`, never an email or phone number.
fn admitted<P: Platform>(ctx: &Ctx<'_, P>, path: &CanonicalPath, s: &Session) -> Result<(), Error> {
    ctx.config.access.decide(path, s.sub(), s.claims()).map_err(|rule| {
        Error::new(Code::Forbidden, format!("rule {rule} does not admit sub#{}", crate::consent::sub_handle(s.sub())))
    })
}

/// A navigation goes to the login with this page as `return_to`; anything else, and anything
/// on an API path, gets `401`.
fn login_required<P: Platform>(ctx: &Ctx<'_, P>, path: &CanonicalPath, api: bool) -> Result<Reply, Error> {
    let req = ctx.req;
    let navigates = !api && matches!(req.method.as_str(), "GET" | "HEAD") && req.wants_html();
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
