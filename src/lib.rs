//! Tower middleware that verifies signed webhooks before your handler sees them.
//!
//! Webhook senders sign each request: an HMAC of the raw body, or an Ed25519 or ECDSA
//! signature under the sender's private key. [`WebhookSignatureLayer`]
//! checks that signature against the exact bytes received, in constant time, before anything
//! parses them; optionally accepts only the sender's IP addresses; bounds the body's size; and
//! hands the inner service the same bytes, so extractors work unchanged. It works with any
//! tower-based server: axum, hyper, tonic.
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use axum::{routing::post, Router};
//! use tower_webhook::{presets, IpAllowlist, WebhookSignatureLayer};
//!
//! async fn handle_loopwise(body: String) -> &'static str { "ok" }
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = Router::new()
//!     .route("/webhooks/loopwise", post(handle_loopwise))
//!     .layer(
//!         WebhookSignatureLayer::new(presets::loopwise(std::env::var("LOOPWISE_SIGNING_KEY")?))
//!             .allow_ips("52.194.91.27".parse::<IpAllowlist>()?)
//!             .max_body_size(1 << 20),
//!     );
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! # Ok(()) }
//! ```
//!
//! For any other sender, describe its scheme with [`HmacScheme`] instead of writing code:
//!
//! ```
//! use tower_webhook::{Encoding, HmacScheme, WebhookSignatureLayer};
//!
//! let scheme = HmacScheme::sha256("secret")   // HMAC-SHA256 of the raw body
//!     .header("X-Signature")                  // where the signature is
//!     .encoding(Encoding::Base64)             // Hex (default) | Base64
//!     .prefix("sha256=");                     // optional text before the value
//! let layer = WebhookSignatureLayer::new(scheme);
//! ```
//!
//! # What a request goes through
//!
//! | check | when | answer |
//! |---|---|---|
//! | peer address in the allowlist (if one is set) | before reading the body | `403` |
//! | signature header present and well-formed | before reading the body | `401` |
//! | `Content-Length` within the limit (default 2 MiB) | before reading the body | `413` (`400` if not a number) |
//! | body within the limit | while reading, frame by frame | `413` (`400` if the body fails) |
//! | signature matches | when the last byte has arrived | `401` |
//!
//! On success the inner service gets the request with a [`BufferedBody`] of exactly the bytes
//! received and a [`Verified`] in its extensions. Rejections are short `text/plain` responses
//! described by [`Rejection`], and a `tracing` event (target `tower_webhook`; fields `scheme`,
//! `reason`, `peer`).
//!
//! # Beyond the basics
//!
//! - [`presets`]: Loopwise, Loop Returns, GitHub, Shopify, Stripe, Slack, Standard Webhooks
//!   (`v1` and `v1a`), Paddle, Zoom, Linear, Square, Dropbox, Intercom, Discord, SendGrid,
//!   Twilio; timestamped ones reject stale deliveries
//!   ([`HmacScheme::tolerance`]), and any takes old secrets during rotation
//!   ([`HmacScheme::also_accept`]).
//! - [`TrustedProxies`]: the client address from `X-Forwarded-For` or `Forwarded`, only
//!   through proxies you run.
//! - [`WebhookSignatureLayer::report_only`]: verify and log, but pass everything on, to roll
//!   out safely; [`WebhookSignatureLayer::on_rejection`]: answer rejections your way.
//! - [`SignatureScheme`] over an [`Algorithm`]: HMAC-SHA256 or -SHA1 ([`HmacScheme`]), Ed25519
//!   or ECDSA P-256 public keys (`Ed25519Scheme`, `P256Scheme`), the same envelope builder
//!   for each; public keys are parsed at start-up ([`InvalidKey`]).
//! - [`ReplayGuardLayer`]: process each verified delivery once, across instances, with a
//!   [`MemoryStore`] or a Redis store; duplicates get `200`, deliveries in progress `409`.
//! - [`WebhookSigningLayer`] and [`HmacScheme::sign_message`]: the sending side.
//!
//! # Cargo features
//!
//! - `axum`: read the peer address from axum's `ConnectInfo<SocketAddr>`.
//! - `tonic`: read the peer address from tonic's `TcpConnectInfo`.
//! - `ed25519`: Ed25519 public keys (`Ed25519Scheme`; the Discord and Standard Webhooks
//!   `v1a` presets), through `ed25519-dalek`.
//! - `p256`: ECDSA P-256 / SHA-256 public keys (`P256Scheme`; the SendGrid preset), through
//!   `p256`.
//! - `sha1`: HMAC-SHA1 (`HmacScheme::sha1`; the Intercom preset).
//! - `twilio`: Twilio's URL-and-parameters scheme (`TwilioScheme`), with `sha1`.
//! - `redis`: `RedisStore`, a [`ReplayStore`] shared by every instance.
//!
//! Without either, servers supply it as a [`PeerAddr`] extension or through a [`PeerSource`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Request input must never reach a panic: library code may not unwrap, index or panic; the
// few configuration-time panics (documented under `# Panics`) are allowed one by one.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable
    )
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod allowlist;
mod body;
mod clock;
mod future;
mod layer;
mod peer;
pub mod presets;
mod rejection;
mod replay;
mod scheme;
mod service;
mod signing;

#[cfg(feature = "redis")]
pub use crate::replay::RedisStore;
#[cfg(feature = "p256")]
pub use crate::scheme::{EcdsaP256, P256Scheme};
#[cfg(feature = "ed25519")]
pub use crate::scheme::{Ed25519, Ed25519Scheme};
#[cfg(feature = "twilio")]
pub use crate::scheme::{InvalidUrl, TwilioScheme, TwilioVerifier};

pub use crate::{
    allowlist::{AllowlistParseError, IpAllowlist},
    body::{BufferedBody, ResponseBody},
    clock::{Clock, SystemClock},
    future::ResponseFuture,
    layer::{WebhookSignatureLayer, DEFAULT_MAX_BODY_SIZE},
    peer::{ConnectionPeer, PeerAddr, PeerSource, TrustedProxies},
    rejection::{Rejection, Unverified},
    replay::{
        Claim, MemoryStore, ReplayFuture, ReplayGuard, ReplayGuardLayer, ReplayStore, StoreError,
        StoreFuture, DEFAULT_DONE_TTL, DEFAULT_IN_PROGRESS_TTL, DUPLICATE_HEADER,
    },
    scheme::{
        Algorithm, DeliveryId, Encoding, Hmac, HmacScheme, HmacVerifier, InvalidKey, Message,
        Scheme, SignatureFormat, SignatureScheme, SignatureVerifier, Verified, Verifier,
        DEFAULT_TOLERANCE,
    },
    service::WebhookSignature,
    signing::{Signer, SigningFuture, WebhookSigning, WebhookSigningLayer},
};
