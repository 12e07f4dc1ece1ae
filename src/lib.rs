//! vipps-edge-login: Vipps MobilePay Login (OpenID Connect) in front of any site, at the edge.
//!
//! A request walks one way: [`edge`] (the only module that imports `worker`) -> [`router`]
//! (what the request is) -> one of [`flows`] (one endpoint per file) -> [`respond`] (errors to
//! responses, once) -> back to the edge. Around that path:
//!
//! - [`app`]: per-isolate state; `handle()` is route -> flow -> respond.
//! - [`config`]: vars and secrets parsed once, one validated section per file.
//! - [`oidc`]: one module per protocol step (discovery, JWKS, authorize, callback, token,
//!   ID token, userinfo), each a pure *build request* / *process response* pair, and the
//!   discovery/JWKS cache ([`oidc::doc_cache`]).
//! - [`session`]: signed cookies (session, login transaction), consent revocations that end
//!   sessions, double-submitted callbacks sharing one exchange.
//! - [`consent`]: the revocation event (untrusted until verified) and its signed forward.
//! - [`policy`]: the canonical path every rule is decided on, path rules, and the forward
//!   plan to the backend.
//! - [`upstream`]: the deadline of a request's calls and the one mapping of fetch failures.
//! - [`memo`]: per-isolate cells that cannot be borrowed across an `.await`.
//! - [`return_to`]: the open-redirect-proof return path.
//! - [`pages`]: what users see (errors, "try again", forbidden, logged out, logout,
//!   configuration), in their language and the market's brand, replaceable by operators.

pub mod app;
pub mod config;
pub mod consent;
pub mod edge;
pub mod error;
pub mod flows;
pub mod hook;
pub mod http;
pub mod memo;
pub mod oidc;
pub mod pages;
pub mod platform;
pub mod policy;
pub mod respond;
pub mod return_to;
pub mod router;
pub mod secret;
pub mod session;
pub mod upstream;
pub mod util;

#[cfg(test)]
pub(crate) mod app_tests;
#[cfg(test)]
mod front_end_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod pages_tests;
#[cfg(test)]
mod rules_tests;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
#[cfg(test)]
mod webhook_tests;
#[cfg(test)]
mod apps_tests;
