//! Senders that sign nothing and send a shared secret with each request: a token header or
//! HTTP Basic credentials; and Strava, which sends nothing at all. **Weaker than a signature**: a captured request can be replayed
//! with any body for as long as the secret lives (see [`TokenScheme`]). The guide's
//! [table](crate::guide::schemes) marks them.

use crate::{
    keys::IntoKeys,
    scheme::{TokenScheme, UnsignedScheme},
};

/// GitLab: `X-Gitlab-Token`, the webhook's secret token sent as it is (no signature). A
/// delivery is named by GitLab's `Idempotency-Key`, which it keeps across retries.
///
/// **Weaker than a signature**: see [`TokenScheme`]. GitLab can also sign deliveries: give
/// the webhook a signing token (`whsec_…`) and verify them with
/// [`standard_webhooks`](super::standard_webhooks) under it (GitLab sends `webhook-id`, equal
/// to `Idempotency-Key`, `webhook-timestamp` and `webhook-signature`). That scheme requires
/// the signature, so a request that leaves it out to fall back on the token is refused.
/// [`by_name`](super::by_name)`("gitlab", key)` does the same when the key is a `whsec_`
/// signing token, and checks the token otherwise.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let signed = WebhookSignatureLayer::new(
///     presets::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?.named("gitlab"),
/// );
/// # Ok::<(), tower_webhook::presets::InvalidSecret>(())
/// ```
///
/// # Panics
///
/// If `token` is empty.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::gitlab("secret token"));
/// ```
#[must_use]
pub fn gitlab(token: impl IntoKeys) -> TokenScheme {
    TokenScheme::header("x-gitlab-token", token)
        .event_id_header("idempotency-key")
        .named("gitlab")
}

/// Chargebee: HTTP Basic authentication with the username and password set on the webhook
/// (`credentials` is `username:password`). A delivery is named by the event's `id`.
///
/// **Weaker than a signature**: see [`TokenScheme`].
///
/// # Panics
///
/// If `credentials` is empty.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::chargebee("webhook-user:long random password"));
/// ```
#[must_use]
pub fn chargebee(credentials: impl IntoKeys) -> TokenScheme {
    TokenScheme::basic(credentials)
        .event_id_field("id")
        .named("chargebee")
}

/// Postmark: HTTP Basic authentication with the credentials put in the webhook URL
/// (`https://user:password@example.com/…`; `credentials` is `user:password`).
///
/// **Weaker than a signature**: see [`TokenScheme`].
///
/// # Panics
///
/// If `credentials` is empty.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::postmark("postmark:long random password"));
/// ```
#[must_use]
pub fn postmark(credentials: impl IntoKeys) -> TokenScheme {
    TokenScheme::basic(credentials).named("postmark")
}

/// Deepgram callbacks: HTTP Basic authentication with the credentials put in the callback
/// URL (`credentials` is `user:password`). Deepgram no longer supports its `dg-token` header
/// for this (changelog of 2026-10-27), so it is not read.
///
/// **Weaker than a signature**: see [`TokenScheme`].
///
/// # Panics
///
/// If `credentials` is empty.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::deepgram("deepgram:long random password"));
/// ```
#[must_use]
pub fn deepgram(credentials: impl IntoKeys) -> TokenScheme {
    TokenScheme::basic(credentials).named("deepgram")
}

/// Okta event hooks: the secret configured on the hook, sent as the whole `Authorization`
/// header value. A delivery is named by the event's `eventId`. If you set another
/// authentication field name in Okta, use [`TokenScheme::header`] with it.
///
/// Okta's one-time verification `GET` (`x-okta-verification-challenge`) carries the secret
/// too: the layer checks it and answers ([`Handshake::okta`](crate::handshake::Handshake::okta)).
///
/// **Weaker than a signature**: see [`TokenScheme`].
///
/// # Panics
///
/// If `secret` is empty.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::okta("the authentication secret"));
/// ```
#[must_use]
pub fn okta(secret: impl IntoKeys) -> TokenScheme {
    let scheme = TokenScheme::header("authorization", secret)
        .event_id_field("eventId")
        .named("okta");
    #[cfg(feature = "json")]
    let scheme = scheme.with_handshake(crate::handshake::Handshake::okta());
    scheme
}

/// Strava: ⚠ **its events are not signed**, and carry no secret; see [`UnsignedScheme`]
/// (every request passes, named by its body's digest for the replay guard). Only Strava's
/// subscription validation has one: a `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`
/// that the layer answers `{"hub.challenge": …}` when the verify token is `verify_token` (the
/// one you gave when creating the subscription), 403 otherwise.
///
/// Treat each event as a hint: fetch the object it names from Strava's API.
///
/// # Panics
///
/// If `verify_token` is empty.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::strava("STRAVA_VERIFY_TOKEN"));
/// ```
#[must_use]
pub fn strava(verify_token: impl AsRef<[u8]>) -> UnsignedScheme {
    let verify_token = verify_token.as_ref();
    assert!(
        !verify_token.is_empty(),
        "tower-webhook: Strava's verify token is empty; is its environment variable set?"
    );
    let scheme = UnsignedScheme::new().named("strava");
    #[cfg(feature = "json")]
    let scheme = scheme.with_handshake(crate::handshake::Handshake::strava(verify_token));
    scheme
}
