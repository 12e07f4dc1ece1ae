//! Pure request policy: the canonical path every rule is decided on, path rules, who may see a
//! path once logged in (access rules), front ends on other origins (CORS), and the forward plan to the backend (headers stripped
//! and added, cache headers on personal answers).

pub mod access;
pub mod cors;
pub mod forward;
pub mod identity;
pub mod path;
pub mod rules;
pub mod step_up;
