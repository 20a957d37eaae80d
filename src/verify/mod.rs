//! The verifying middleware: [`WebhookSignatureLayer`] checks each request's address, size
//! and signature before the inner service sees it.
//!
//! The layer is the builder; [`WebhookSignature`] is the service it wraps around
//! yours, deciding what it can from the request head; [`ResponseFuture`] reads and verifies
//! the body, then calls the inner service with a [`BufferedBody`](crate::body::BufferedBody).

mod budget;
mod deadline;
pub(crate) mod future;
mod layer;
mod service;
mod verdicts;

#[cfg(feature = "inbox")]
pub(crate) use self::layer::LARGEST_MAX_BODY_SIZE;
pub use self::{
    budget::{BodyBudget, Reservation, DEFAULT_BODY_BUDGET, SMALL_BODY},
    deadline::DEFAULT_BODY_TIMEOUT,
    future::ResponseFuture,
    layer::{WebhookSignatureLayer, DEFAULT_MAX_BODY_SIZE},
    service::WebhookSignature,
};
