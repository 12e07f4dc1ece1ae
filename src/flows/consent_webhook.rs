//! `POST {prefix}/webhooks/consent-revoked/{secret}`: Vipps tells us a user withdrew consent.
//! Idempotent: the same event delivered twice records the same revocation time.

use super::{Answer, Ctx};
use crate::consent::event::{Event, ProviderKeys, UntrustedEvent, LEEWAY_SECS};
use crate::consent::{forward, sub_handle};
use crate::error::{Code, Error};
use crate::http::Reply;
use crate::platform::{Level, Platform, StoreError};
use crate::session::revocation::{parse_revoked_at, revocation_key};
use crate::upstream::{self, Failures};

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>) -> Answer {
    Answer::reply(handle(ctx).await)
}

async fn handle<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Reply, Error> {
    let (p, config, req) = (ctx.p, ctx.config, ctx.req);
    let Some(hook) = config.consent.as_ref() else {
        return Err(Error::from(Code::NotFound));
    };
    if let Some(ct) = req.header("content-type") {
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !matches!(mime.as_str(), "text/plain" | "application/jwt" | "") {
            return Err(Error::new(Code::WebhookMediaType, format!("content-type {:?}", crate::consent::event::shown(&mime))));
        }
    }
    let budget = ctx.budget();
    let untrusted = UntrustedEvent::parse(req.body.as_deref().unwrap_or_default())?;
    let event = if untrusted.is_signed() {
        let disc = ctx.state.docs.discovery(p, config, &budget).await?;
        let jwks = ctx.state.docs.jwks(p, config, &disc, false, &budget).await?;
        untrusted.verify(p, Some(ProviderKeys { jwks: &jwks, issuer: disc.issuer() }), p.now()).await?
    } else {
        untrusted.verify(p, None, p.now()).await?
    };
    let (sub, revoked_at) = match event {
        Event::Other { event } => {
            p.log(Level::Info, "webhook.ignored_event", &format!("event {event:?}"));
            return Ok(Reply::json(200, &serde_json::json!({"ok": true, "ignored": true})));
        }
        Event::ConsentRevoked { sub, revoked_at } => (sub, revoked_at),
    };
    let handle = sub_handle(&sub);
    if hook.ends_sessions {
        ctx.state.revocations.remember(&sub, revoked_at);
        let key = revocation_key(&handle);
        let store = |e: StoreError| Error::new(Code::WebhookStoreFailed, format!("KV: {}", e.0));
        // Keep the latest: an old event delivered late must not shorten a newer revocation.
        let previous = p.kv_get(&key).await.map_err(store)?.as_deref().and_then(parse_revoked_at);
        if previous.is_none_or(|t| t < revoked_at) {
            // Sessions older than the revocation are all expired after this long.
            let ttl = config.session.ttl.saturating_add(LEEWAY_SECS);
            p.kv_put(&key, revoked_at.to_string(), ttl).await.map_err(store)?;
        }
    }
    if let Some(target) = &hook.forward {
        let req = forward::forward_request(hook, target, &sub, revoked_at, p.now());
        let on = Failures { what: "forward target", unavailable: Code::WebhookForwardFailed, bad: Code::WebhookForwardFailed };
        let r = upstream::call(p, &budget, req, on).await?;
        if !(200..300).contains(&r.status) {
            return Err(Error::new(Code::WebhookForwardFailed, format!("forward target answered {}", r.status)));
        }
    }
    p.log(Level::Info, "webhook.consent_revoked", &format!("sub#{handle}"));
    Ok(Reply::json(200, &serde_json::json!({"ok": true})))
}
