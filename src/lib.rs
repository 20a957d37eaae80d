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
//! use axum::{routing::{get, post}, Router};
//! use tower_webhook::{presets, IpAllowlist, WebhookSignatureLayer};
//!
//! async fn handle_loopwise(body: String) -> &'static str { "ok" }
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let webhook = WebhookSignatureLayer::new(presets::loopwise(std::env::var("LOOPWISE_SIGNING_KEY")?))
//!     .allow_ips("52.194.91.27".parse::<IpAllowlist>()?)
//!     .max_body_size(1 << 20);
//! let app = Router::new()
//!     // On the webhook's POST only: other routes and unknown paths never reach the layer.
//!     .route("/webhooks/loopwise", post(handle_loopwise).route_layer(webhook))
//!     .route("/health", get(|| async { "ok" }));
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! # Ok(()) }
//! ```
//!
//! # Which requests reach the layer
//!
//! Where the layer is added decides which requests it sees. Add it to the webhook's route,
//! as above, so that health checks and the paths scanners probe never reach it (each request
//! the layer refuses is a WARN event):
//!
//! | added with | reaches the layer | `GET /health` (another route) | an unknown path | `GET` on the webhook's path |
//! |---|---|---|---|---|
//! | `post(handler).route_layer(layer)` | POSTs to that route | `200` | `404` | `405` |
//! | `post(handler).layer(layer)` | every method of that route | `200` | `404` | `401`, logged |
//! | `Router::route_layer(layer)` | every route added **before** it, every method | `200` if added after | `404` | `401`, logged |
//! | `Router::layer(layer)` | every request | `401`, logged | `401`, logged | `401`, logged |
//!
//! `tests/routes.rs` holds this table against a real server. Several senders: one
//! `.route(..)` each, with its own layer.
//!
//! # Senders
//!
//! [`presets`] holds 67 senders, one function each (`presets::stripe(secret)`,
//! `presets::github(secret)`, …), and the same senders as data for a sender chosen by
//! configuration ([`presets::all`], [`presets::by_name`]). Between them they verify:
//!
//! - HMAC-SHA256 and HMAC-SHA1 (feature `sha1`) of the raw body, or of the body with a
//!   timestamp, an id or the URL signed around it ([`HmacScheme`]);
//! - Ed25519 (feature `ed25519`) and ECDSA P-256 / SHA-256 (feature `p256`) under the sender's
//!   public key (`Ed25519Scheme`, `P256Scheme`);
//! - RSA-SHA256 (and SNS's RSA-SHA1) under a certificate the sender publishes, fetched over
//!   HTTPS (features `paypal`, `sns`), and JWTs (ES256, RS256, HS256/384/512; feature `jwt`);
//! - Twilio's URL and form parameters (feature `twilio`), Mailgun's and Adyen's signed fields;
//! - ⚠ a shared secret sent as is (GitLab, Chargebee, Postmark, Deepgram, Okta:
//!   [`TokenScheme`](scheme::TokenScheme)), compared in constant time but not a signature.
//!
//! The table of every sender, with its headers, signed bytes and feature, is in
//! [`guide::schemes`]. For any other sender, describe its scheme with [`HmacScheme`] instead of
//! writing code:
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
//! | the layer's [`BodyBudget`](verify::BodyBudget) has room for the body | before reading the body (frame by frame without a length) | `503` with `Retry-After` |
//! | body within the limit | while reading, frame by frame | `413` (`400` if the body fails) |
//! | signature matches | when the last byte has arrived | `401` |
//!
//! On success the inner service gets the request with a
//! [`BufferedBody`](body::BufferedBody) of exactly the bytes received and a [`Verified`] in its
//! extensions. Rejections are short `text/plain` responses described by [`Rejection`], and a
//! `tracing` event (target `tower_webhook`; fields `scheme`, `reason`, `peer`, `mode`, and
//! `error`, `key_id`, `hint` where they apply): every response and field is in
//! [`guide::responses`].
//!
//! # The guide
//!
//! Everything beyond this page, one page per topic in [`guide`]:
//!
//! - [`guide::schemes`]: every sender; unsigned senders; senders that publish their keys; a
//!   sender chosen by configuration; public keys, URL-signed senders, timestamps, rotation.
//! - [`guide::per_tenant`]: a secret per tenant from your database, rotating secrets live.
//! - [`guide::signing`]: the sending side.
//! - [`guide::responses`]: every rejection's response, your own responses, the `tracing` events.
//! - [`guide::rolling_out`]: report-only mode.
//! - [`guide::security`]: what is checked and why; what each kind of preset binds.
//! - [`guide::limits`]: every resource bound, its default and range.
//! - [`guide::replays`]: each delivery processed once, across instances.
//! - [`guide::inbox`]: answer at once, process durably in workers, with retries and dead letters.
//! - [`guide::metrics`]: counters and histograms.
//! - [`guide::composing`]: timeouts and other layers; axum, hyper, tonic.
//! - [`guide::performance`]: what it costs, measured.
//!
//! # Where things live
//!
//! The root holds what the example above needs. Everything else is in a module named for its
//! concern:
//!
//! | module | what is there |
//! |---|---|
//! | [`verify`] | the verifying middleware: [`WebhookSignatureLayer`] (also at the root), its service and future, [`report_only`](WebhookSignatureLayer::report_only) and [`on_rejection`](WebhookSignatureLayer::on_rejection), the [`BodyBudget`](verify::BodyBudget) |
//! | [`presets`] | one function per sender (60, listed in [`guide::schemes`]), and the same senders as data: [`all`](presets::all), [`find`](presets::find), [`by_name`](presets::by_name) |
//! | [`scheme`] | what is signed and how: the [`Scheme`](scheme::Scheme) and [`Verifier`](scheme::Verifier) traits, [`SignatureScheme`](scheme::SignatureScheme) over an [`Algorithm`](scheme::Algorithm) (HMAC-SHA256 or -SHA1, Ed25519, ECDSA P-256), the Twilio, Mailgun, Adyen, PayPal, SNS, JWT and token schemes, [`AnyScheme`](scheme::AnyScheme), [`Verified`] and [`DeliveryId`](scheme::DeliveryId), the [`Clock`](scheme::Clock) |
//! | [`keys`] | where keys come from: given to the constructor, or (feature `keys`) resolved per request from the request head, a secret per tenant, rotated live ([`guide::per_tenant`]); or (feature `fetch`) published by the sender and fetched over HTTPS |
//! | [`allowlist`] | [`IpAllowlist`] (also at the root): single addresses and CIDRs |
//! | [`peer`] | where the peer address comes from: axum's `ConnectInfo`, tonic's `TcpConnectInfo`, a [`PeerAddr`](peer::PeerAddr) extension, [`TrustedProxies`](peer::TrustedProxies) |
//! | [`rejection`] | [`Rejection`] (also at the root), and [`Unverified`](rejection::Unverified) for report-only mode |
//! | [`body`] | the bodies handed on: [`BufferedBody`](body::BufferedBody) to your service, [`ResponseBody`](body::ResponseBody) back |
//! | [`replay`] | [`ReplayGuardLayer`](replay::ReplayGuardLayer): each verified delivery processed once, with a [`MemoryStore`](replay::MemoryStore) or a Redis store ([`guide::replays`]) |
//! | [`sign`] | the sending side: [`WebhookSigningLayer`](sign::WebhookSigningLayer), [`HmacScheme::sign_message`] |
//! | [`guide`] | no code: the guide's pages |
//!
//! Timestamped presets reject stale deliveries ([`HmacScheme::tolerance`]), and any takes old
//! secrets during rotation ([`also_accept`](HmacScheme#method.also_accept)).
//!
//! # Cargo features
//!
//! - `json` (default): read senders' event ids from the signed JSON body, for the replay
//!   guard; the Mailgun and Adyen presets (`serde`, `serde_json`).
//! - `axum`: read the peer address from axum's `ConnectInfo<SocketAddr>`; with `tokio`.
//! - `tonic`: read the peer address from tonic's `TcpConnectInfo`; with `tokio`.
//! - `tokio`: the body read deadline (`body_timeout`), the replay guard's store-call timeout,
//!   and the release of a dropped request's replay claim through a tokio task.
//! - `ed25519`: Ed25519 public keys (`Ed25519Scheme`; the Discord and Standard Webhooks
//!   `v1a` presets), through `ed25519-dalek`.
//! - `p256`: ECDSA P-256 / SHA-256 public keys (`P256Scheme`; the SendGrid preset), through
//!   `p256`.
//! - `sha1`: HMAC-SHA1 (`HmacScheme::sha1`; the Intercom and Vercel presets).
//! - `twilio`: Twilio's URL-and-parameters scheme (`TwilioScheme`), with `sha1`.
//! - `redis`: `RedisStore`, a [`ReplayStore`](replay::ReplayStore) shared by every instance.
//! - `metrics`: counters and histograms through the `metrics` facade
//!   (`webhook_requests_total{scheme,outcome,reason}` and more; see [`guide::metrics`]).
//! - `inbox`: store a verified delivery durably, answer the sender at once, and process it in
//!   workers, with retries and dead letters.
//! - `sqlite`: the inbox's embedded store, a SQLite file in WAL mode.
//! - `keys`: keys resolved per request (`KeyResolver`, `ReloadableKeys`), cached with
//!   `quick_cache`; lookups need a tokio runtime.
//! - `fetch`: keys senders publish, fetched over HTTPS (`Fetcher`, `AllowedHosts`), with
//!   `keys` and `json`.
//! - `paypal`: `PayPalScheme` and the PayPal preset, with `fetch`.
//! - `sns`: `SnsScheme` and the Amazon SNS preset, with `fetch`.
//! - `jwt`: `JwtScheme` and the Plaid and FusionAuth presets, with `fetch`.
//! - `test-util`: the `testing` module, signed requests for any preset in one call, for your tests.
//!
//! Without `axum` or `tonic`, servers supply the peer address as a
//! [`PeerAddr`](peer::PeerAddr) extension or through a [`PeerSource`](peer::PeerSource).

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

pub mod allowlist;
pub mod body;
#[cfg(all(feature = "axum", feature = "json"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "axum", feature = "json"))))]
pub mod extract;
mod foundation;
#[cfg(feature = "__fuzz")]
#[doc(hidden)]
pub mod fuzzing;
// Doctests of the guide need the features its examples use; the docs themselves are built
// with every feature (docs.rs, CI), and the pages are empty modules otherwise.
#[cfg(any(
    not(doctest),
    all(
        feature = "axum",
        feature = "keys",
        feature = "redis",
        feature = "paypal",
        feature = "sns",
        feature = "jwt",
        feature = "ed25519",
        feature = "test-util",
        feature = "sqlite"
    )
))]
pub mod guide;
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub mod handshake;
#[cfg(feature = "inbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "inbox")))]
pub mod inbox;
pub mod keys;
mod metrics;
pub mod peer;
pub mod presets;
pub mod rejection;
pub mod replay;
pub mod scheme;
pub mod sign;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;
pub mod verify;

pub use crate::{
    allowlist::IpAllowlist,
    rejection::Rejection,
    scheme::{Encoding, HmacScheme, Verified},
    verify::WebhookSignatureLayer,
};

/// The README's examples, compiled (and run, unless marked `no_run`) as doctests, so that every
/// snippet a reader copies builds.
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
