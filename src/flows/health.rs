//! `GET {prefix}/health`: for uptime checks. Whether the configuration is valid (the names of
//! bad variables, never their values) and what this isolate and KV hold of the provider's
//! metadata, and how fresh. `200` when configured, `503` when not; never cached, never a
//! call to Vipps (an uptime check every few seconds must not become load on Vipps), at most
//! two KV reads.

use super::{Answer, Ctx};
use crate::config::ConfigErrors;
use crate::http::Reply;
use crate::platform::Platform;
use serde_json::json;

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>) -> Answer {
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
