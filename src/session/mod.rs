//! Cookies: the signed session cookie and the signed login-transaction cookie.

pub mod cookie;
pub mod exchanges;
pub mod transaction;
pub mod user;

pub use transaction::{LoginTransaction, PendingLogin, TransactionCookie};
pub use user::Session;
