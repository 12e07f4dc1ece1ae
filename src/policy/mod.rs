//! Pure request policy: the canonical path every rule is decided on, and the forward plan to
//! the backend (headers stripped and added, cache headers on personal answers).

pub mod forward;
pub mod identity;
pub mod path;
pub mod rules;
