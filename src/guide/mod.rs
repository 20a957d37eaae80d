//! The guide: everything beyond the first example, one page per topic.
//!
//! This module holds no code; each page is a module so that docs.rs lists it and links reach
//! it. The crate docs ([`crate`]) show the first server, which requests the layer sees, and the
//! Cargo features; these pages go further:
//!
//! | page | what it covers |
//! |---|---|
//! | [`schemes`] | every sender (60 presets) with its headers, signed bytes and algorithm; unsigned senders; senders that publish their keys; a sender chosen by configuration; public keys, URL-signed senders, timestamps, rotation; describing any other sender |
//! | [`per_tenant`] | a secret per tenant from your database, the key cache, rotating secrets live |
//! | [`signing`] | the sending side: the headers a sender would send, [`WebhookSigningLayer`](crate::sign::WebhookSigningLayer) |
//! | [`responses`] | every rejection's status and body, replacing them, and the `tracing` events and their fields |
//! | [`rolling_out`] | report-only mode: deploy and watch before enforcing |
//! | [`security`] | what is checked and why; what each kind of preset binds and what names a delivery |
//! | [`limits`] | every bound on what a client without a secret can make the layer spend, its default and range |
//! | [`replays`] | the replay guard: each delivery processed once, across instances; its stores |
//! | [`inbox`] | answer within the sender's deadline, process durably: the inbox, its workers, dead letters and stores |
//! | [`metrics`] | the counters and histograms of the `metrics` feature |
//! | [`composing`] | timeouts and other layers around it; axum, hyper, tonic |
//! | [`performance`] | what verifying costs, measured, and under a flood |
//!
//! Every Rust example on these pages compiles as a doctest (with `--all-features`), and the
//! tables are held to the code by tests: the senders against [`presets::all`](crate::presets::all)
//! (`tests/catalog.rs`), the rejection reasons and responses against
//! [`Rejection`](crate::Rejection), the limits' defaults against the crate's `DEFAULT_*`
//! constants and the metric names against the code (`tests/docs.rs`).

// Without every feature some items these pages link to do not exist; docs.rs and CI build
// the docs with all of them, where a broken link is an error.
#![cfg_attr(
    not(all(
        feature = "axum",
        feature = "keys",
        feature = "redis",
        feature = "metrics",
        feature = "fetch",
        feature = "paypal",
        feature = "sns",
        feature = "jwt",
        feature = "ed25519",
        feature = "p256",
        feature = "sha1",
        feature = "twilio",
        feature = "sqlite"
    )),
    allow(rustdoc::broken_intra_doc_links)
)]

#[doc = include_str!("schemes.md")]
pub mod schemes {}

#[doc = include_str!("per_tenant.md")]
pub mod per_tenant {}

#[doc = include_str!("signing.md")]
pub mod signing {}

#[doc = include_str!("responses.md")]
pub mod responses {}

#[doc = include_str!("rolling_out.md")]
pub mod rolling_out {}

#[doc = include_str!("security.md")]
pub mod security {}

#[doc = include_str!("limits.md")]
pub mod limits {}

#[doc = include_str!("replays.md")]
pub mod replays {}

#[doc = include_str!("inbox.md")]
pub mod inbox {}

#[doc = include_str!("metrics.md")]
pub mod metrics {}

#[doc = include_str!("composing.md")]
pub mod composing {}

#[doc = include_str!("performance.md")]
pub mod performance {}
