//! Where requests that pass the gate go (`BACKEND`).

use super::is_secure_or_loopback;
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
            Ok(u) if is_secure_or_loopback(&u) && u.query().is_none() && u.fragment().is_none() && u.username().is_empty() && u.password().is_none() => {
                Backend::Proxy(u)
            }
            _ => {
                r.problem("BACKEND", "must be 'assets', 'origin' or an https base URL (http only on localhost/127.0.0.1), without query or credentials");
                Backend::Assets
            }
        },
    }
}
