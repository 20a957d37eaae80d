//! What both [`scheme`](crate::scheme) and [`keys`](crate::keys) build on, so that neither
//! imports the other's parts: [`scheme`](crate::scheme) uses `keys`, and `keys` uses only this.
//!
//! Crate-private; its public items are re-exported where users find them:
//! `keys::{Start, ResolvedKeys, KeyFuture}` and `scheme::{Clock, SystemClock, InvalidKey}`.

mod clock;
mod header;
mod invalid_key;
mod start;

pub(crate) use self::{
    clock::{unix_seconds, SharedClock},
    header::header_name,
};
pub use self::{
    clock::{Clock, SystemClock},
    invalid_key::InvalidKey,
    start::{KeyFuture, ResolvedKeys, Start},
};
