//! No-op baseline: returns the static asset, nothing else.

use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    env.assets("ASSETS")?.fetch_request(req).await
}
