//! vipps-edge-login: Vipps MobilePay Login (OpenID Connect) in front of any site, at the edge.
//!
//! The crate is a pure protocol core plus one thin adapter:
//!
//! - [`config`]: vars and secrets parsed once into a validated [`config::Config`].
//! - [`oidc`]: one module per protocol step (discovery, JWKS, authorize, callback, token,
//!   ID token, userinfo). Each step is a pure *build request* / *process response* pair.
//! - [`session`]: the signed session cookie and the signed login-transaction cookie.
//! - [`return_to`]: the open-redirect-proof return path.
//! - [`cache`]: freshness policy for discovery and JWKS (`Cache-Control`, stale-if-error).
//! - [`webhook`]: the consent-revocation webhook body (unsigned JWT) and its checks.
//! - [`policy`]: the canonical path every gate rule is decided on, and the forward plan to
//!   the backend (what it receives, what its answer must carry).
//! - [`gate`]: which request is public, protected or an auth route.
//! - [`app`]: the request handler, written against the [`platform::Platform`] trait so that
//!   every flow runs natively under `cargo test` with a fake platform.
//! - [`edge`]: the only module that imports `worker`: the fetch event, fetch/KV adapters.

pub mod app;
pub mod cache;
pub mod config;
pub mod edge;
pub mod error;
pub mod gate;
pub mod http;
pub mod oidc;
pub mod pages;
pub mod platform;
pub mod policy;
pub mod return_to;
pub mod secret;
pub mod session;
pub mod util;
pub mod webhook;

#[cfg(test)]
pub(crate) mod app_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod webhook_tests;
