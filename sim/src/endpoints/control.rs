//! The simulator's own endpoints: the index page and `/_sim/*` controls for tests.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::html;
use crate::http::{Request, Response};
use crate::keys::SigningKey;
use crate::modes::{self, Mode};
use crate::state::Sim;

use super::{server_error, DISCOVERY_PATH};

/// `GET /_sim/stats`: requests received per endpoint.
pub fn stats(sim: &Sim, _req: &Request) -> Response {
    Response::json(200, &sim.stats.to_json()).with_header("Cache-Control", "no-store")
}

/// `POST /_sim/reset`: clears the mode, the fault and the consents on record, and zeroes the
/// counters.
pub fn reset(sim: &Sim, _req: &Request) -> Response {
    sim.update_settings_and_keys(|settings, keys| {
        settings.mode = None;
        settings.fault = None;
        settings.authorize_error = None;
        keys.rotated = None;
    });
    {
        let mut store = sim.store();
        store.consents.clear();
        store.ciba.clear();
    }
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
        let mode_given = patch.get("mode").is_some();
        // Entering `signing-key-rotation` makes a new key. It is made before any lock is taken
        // (it takes a while) and published together with the mode.
        let fresh_key = match patch.get("mode").and_then(Value::as_str).map(Mode::parse) {
            Some(Some(Mode::SigningKeyRotation)) => match SigningKey::generate() {
                Ok(k) => Some(Arc::new(k)),
                Err(e) => return server_error(&e),
            },
            _ => None,
        };
        let result = sim.update_settings_and_keys(|settings, keys| {
            settings.apply_patch(&patch)?;
            if mode_given {
                // Setting a mode (re-)enters it: `signing-key-rotation-just-before-signing`
                // makes its key at the next signature.
                keys.rotated = fresh_key;
            }
            Ok::<_, Vec<String>>(())
        });
        if let Err(problems) = result {
            return Response::json(
                400,
                &json!({"error": "invalid_request", "problems": problems}),
            );
        }
        if sim.settings().mode == Some(Mode::KidAbsentMultipleJwks) {
            // Made now rather than on the first JWKS request, which would otherwise be slow.
            if let Err(e) = sim.decoy_key() {
                return server_error(&e);
            }
        }
    }
    Response::json(200, &sim.settings().to_json()).with_header("Cache-Control", "no-store")
}

/// `GET /_sim/modes`: `[{"name", "description", "expect"}]`.
pub fn modes(_sim: &Sim, _req: &Request) -> Response {
    Response::json(200, &modes::list_json()).with_header("Cache-Control", "no-store")
}

/// `/elsewhere`: where the `redirect` fault points. Counted in the stats; a relying party that
/// gets here followed a redirect it should not have.
pub fn elsewhere(_sim: &Sim, req: &Request) -> Response {
    let credentials =
        req.header("authorization").is_some() || req.form_params().get("client_secret").is_some();
    eprintln!(
        "vipps-sim: a request followed the simulated redirect to /elsewhere{}",
        if credentials {
            " and carried credentials"
        } else {
            ""
        }
    );
    Response::json(
        404,
        &json!({"error": "not_found", "error_description": "The target of vipps-sim's redirect fault"}),
    )
}

/// `GET /`
pub fn index(sim: &Sim, _req: &Request) -> Response {
    let client_ids: Vec<&str> = sim.clients.iter().map(|c| c.client_id.as_str()).collect();
    Response::html(
        200,
        html::index_page(&sim.url(DISCOVERY_PATH), &sim.users, &client_ids),
    )
}
