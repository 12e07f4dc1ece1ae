//! Sessions: signed cookies (the session, the login transaction), consent revocations that
//! end sessions, and the exchanges of double-submitted callbacks.

pub mod bearer;
pub mod ciba_handle;
pub mod cookie;
pub mod exchanges;
pub mod revocation;
pub mod stored_tx;
pub mod transaction;
pub mod user;

pub use transaction::{LoginTransaction, PendingLogin, TransactionCookie};
pub use user::Session;
