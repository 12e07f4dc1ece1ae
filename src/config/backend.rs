//! Where requests that pass the gate go (`BACKEND`).

use super::reader::Reader;
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// Workers static assets (the `ASSETS` binding).
    Assets,
    /// The origin behind the Worker's route, at the request's own URL.
    Origin,
    /// Another origin: the canonical path and the query are appended to this base URL.
    Proxy(Url),
}

pub fn parse(r: &mut Reader) -> Backend {
    match r.opt("BACKEND").as_deref() {
        None | Some("assets") => Backend::Assets,
        Some("origin") => Backend::Origin,
        Some(other) => match Url::parse(other) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => Backend::Proxy(u),
            _ => {
                r.problem("BACKEND", "must be 'assets', 'origin' or an http(s) base URL");
                Backend::Assets
            }
        },
    }
}
