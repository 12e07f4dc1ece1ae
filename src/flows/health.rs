//! `GET {prefix}/health`: for uptime checks. Whether the configuration is valid (the names of
//! bad variables, never their values) and what this isolate and KV hold of the provider's
//! metadata, and how fresh. `200` when configured, `503` when not; never cached, never a
//! call to Vipps (an uptime check every few seconds must not become load on Vipps), at most
//! two KV reads. With `IDENTITY_ASSERTION_KEYS`, the keys are imported by the runtime's crypto
//! (once per isolate): a key it refuses makes the answer `503`, naming the variable.

use super::{Answer, Ctx};
use crate::config::ConfigErrors;
use crate::http::Reply;
use crate::platform::Platform;
use serde_json::json;

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>) -> Answer {
    if let Err(e) = ctx.state.assertions.published(ctx.p, ctx.config).await {
        ctx.p.log(crate::platform::Level::Error, e.code.as_str(), &e.detail);
        let body = json!({
            "status": "misconfigured",
            "config": {"valid": false, "problems": ["IDENTITY_ASSERTION_KEYS"]},
            "provider": null,
        });
        return Answer::reply(Ok(Reply::json(503, &body)));
    }
    let provider = ctx.state.docs.status(ctx.p, ctx.config).await;
    let body = json!({
        "status": "ok",
        "config": {"valid": true, "problems": []},
        "provider": provider,
    });
    Answer::reply(Ok(Reply::json(200, &body)))
}

/// The health answer while the configuration is broken.
pub fn misconfigured(errors: &ConfigErrors) -> Reply {
    let mut vars: Vec<&str> = Vec::new();
    for p in &errors.0 {
        if !vars.contains(&p.var) {
            vars.push(p.var);
        }
    }
    let body = json!({
        "status": "misconfigured",
        "config": {"valid": false, "problems": vars},
        "provider": null,
    });
    Reply::json(503, &body)
}
