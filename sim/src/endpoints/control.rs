//! The simulator's own endpoints: the index page and `/_sim/*` controls for tests.

use serde_json::{json, Value};

use crate::html;
use crate::http::{Request, Response};
use crate::state::Sim;

use super::DISCOVERY_PATH;

/// `GET /_sim/stats`: requests received per endpoint.
pub fn stats(sim: &Sim, _req: &Request) -> Response {
    Response::json(200, &sim.stats.to_json()).with_header("Cache-Control", "no-store")
}

/// `POST /_sim/reset`: zeroes the counters.
pub fn reset(sim: &Sim, _req: &Request) -> Response {
    sim.stats.reset();
    Response::json(200, &sim.stats.to_json())
}

/// `GET /_sim/config` shows the runtime settings; `POST` with a JSON object changes some of them.
pub fn config(sim: &Sim, req: &Request) -> Response {
    if req.method == "POST" {
        let patch: Value = match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => {
                return Response::json(
                    400,
                    &json!({"error": "invalid_request", "problems": [format!("the body is not JSON: {e}")]}),
                )
            }
        };
        if let Err(problems) = sim.update_settings(|s| s.apply_patch(&patch)) {
            return Response::json(
                400,
                &json!({"error": "invalid_request", "problems": problems}),
            );
        }
    }
    Response::json(200, &sim.settings().to_json()).with_header("Cache-Control", "no-store")
}

/// `GET /`
pub fn index(sim: &Sim, _req: &Request) -> Response {
    let client_ids: Vec<&str> = sim.clients.iter().map(|c| c.client_id.as_str()).collect();
    Response::html(
        200,
        html::index_page(&sim.url(DISCOVERY_PATH), &sim.users, &client_ids),
    )
}
