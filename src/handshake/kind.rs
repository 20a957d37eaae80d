//! Each sender's handshake: how its request is recognised, and what answers it.

use std::sync::Arc;

use bytes::Bytes;
use http::{header::HeaderName, request::Parts, HeaderValue, Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{
    answer::{bad_challenge, echoable, empty, json, param, query_pairs, refused, text},
    capture::{CapturedSecret, Sink, SinkError},
    Answer,
};
use crate::{
    rejection::Rejection,
    scheme::{algorithm::sealed::Algorithm as _, Hmac, Verified},
};
use base64::{engine::general_purpose::STANDARD, Engine as _};

const TWITCH_MESSAGE_TYPE: HeaderName = HeaderName::from_static("twitch-eventsub-message-type");
const OKTA_CHALLENGE: HeaderName = HeaderName::from_static("x-okta-verification-challenge");
const ASANA_SECRET: HeaderName = HeaderName::from_static("x-hook-secret");
const ASANA_SIGNATURE: HeaderName = HeaderName::from_static("x-hook-signature");
const NOTION_SIGNATURE: HeaderName = HeaderName::from_static("x-notion-signature");

#[derive(Clone)]
pub(crate) enum Kind {
    Twitch,
    Slack,
    /// Answered with a MAC under the key that verified it, which the scheme's verifier
    /// computes ([`Verified::answer_mac`]).
    Zoom,
    Discord,
    DiscordWebhookEvents,
    Xero,
    Okta,
    Meta(VerifyToken),
    Strava(VerifyToken),
    Dropbox,
    Asana(Option<Sink>),
    Notion(Option<Sink>),
    Trello,
    MicrosoftGraph,
    /// X's CRC, answered with a MAC under the consumer secret: the scheme's fixed keys
    /// (X has one per app); none when they are resolved per request.
    X(Option<Arc<Hmac>>),
    /// SNS's subscription confirmation, visited with this fetcher on these hosts.
    #[cfg(feature = "sns")]
    Sns(Arc<(crate::keys::Fetcher, crate::keys::AllowedHosts)>),
}

/// A verify token a sender echoes back (Meta's), compared in constant time; `None` when the
/// user has not set one, which refuses every verification request.
#[derive(Clone)]
pub(crate) struct VerifyToken(Option<Arc<[u8]>>);

impl VerifyToken {
    pub(crate) fn new(token: &[u8]) -> Self {
        Self((!token.is_empty()).then(|| Arc::from(token)))
    }

    pub(crate) fn unset() -> Self {
        Self(None)
    }

    fn matches(&self, given: &str) -> bool {
        self.0
            .as_deref()
            .is_some_and(|token| bool::from(token.ct_eq(given.as_bytes())))
    }
}

impl Kind {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Twitch => "twitch_challenge",
            Self::Slack => "slack_url_verification",
            Self::Zoom => "zoom_url_validation",
            Self::Discord => "discord_ping",
            Self::DiscordWebhookEvents => "discord_webhook_events_ping",
            Self::Xero => "xero_intent_to_receive",
            Self::Okta => "okta_verification",
            Self::Meta(_) => "meta_verification",
            Self::Strava(_) => "strava_validation",
            Self::Dropbox => "dropbox_challenge",
            Self::Asana(_) => "asana_hook_secret",
            Self::Notion(_) => "notion_verification_token",
            Self::Trello => "trello_head",
            Self::MicrosoftGraph => "microsoft_graph_validation",
            Self::X(_) => "x_crc",
            #[cfg(feature = "sns")]
            Self::Sns(_) => "sns_subscription_confirmation",
        }
    }

    /// Whether the scheme's verifier computes a MAC under its key for this handshake.
    pub(crate) fn is_keyed(&self) -> bool {
        matches!(self, Self::Zoom)
    }

    /// What the verifier MACs for a keyed handshake: Zoom's plain token.
    pub(crate) fn keyed_message<'a>(&self, body: &'a [u8]) -> Option<&'a str> {
        match self {
            Self::Zoom => zoom_plain_token(body),
            _ => None,
        }
    }

    pub(crate) fn unsigned(&self, parts: &Parts) -> bool {
        let has = |name: &str| {
            parts.uri.query().is_some_and(|query| {
                form_urlencoded::parse(query.as_bytes()).any(|(n, _)| n == name)
            })
        };
        match self {
            Self::Meta(_) | Self::Strava(_) => parts.method == Method::GET && has("hub.challenge"),
            Self::Dropbox => parts.method == Method::GET && has("challenge"),
            Self::Asana(_) => {
                parts.method == Method::POST
                    && parts.headers.contains_key(ASANA_SECRET)
                    && !parts.headers.contains_key(ASANA_SIGNATURE)
            }
            Self::Notion(_) => {
                parts.method == Method::POST && !parts.headers.contains_key(NOTION_SIGNATURE)
            }
            Self::Trello => parts.method == Method::HEAD,
            Self::MicrosoftGraph => parts.method == Method::POST && has("validationToken"),
            Self::X(_) => parts.method == Method::GET && has("crc_token"),
            _ => false,
        }
    }

    pub(crate) fn body_matches(&self, body: &[u8]) -> bool {
        match self {
            Self::Notion(_) => notion_token(body).is_some(),
            _ => true,
        }
    }

    /// Whether the unsigned request's body is needed to answer it (Notion's token is in it).
    pub(crate) fn reads_body(&self) -> bool {
        matches!(self, Self::Notion(_))
    }

    pub(crate) fn answer_unsigned(&self, parts: &Parts, body: &[u8]) -> Answer {
        match self {
            Self::Asana(sink) => {
                let secret = parts.headers.get(ASANA_SECRET).map(HeaderValue::as_bytes);
                return capture(
                    self.name(),
                    "asana",
                    sink.as_ref(),
                    secret,
                    parts,
                    |secret| {
                        let mut response = empty(StatusCode::OK);
                        response.headers_mut().insert(ASANA_SECRET, secret);
                        response
                    },
                );
            }
            Self::Notion(sink) => {
                let Some(token) = notion_token(body) else {
                    // Not reached: the layer answers only a body that `body_matches`.
                    return Rejection::MissingSignature.to_response().into();
                };
                return capture(
                    self.name(),
                    "notion",
                    sink.as_ref(),
                    Some(token.as_bytes()),
                    parts,
                    |_| empty(StatusCode::OK),
                );
            }
            Self::Trello => return empty(StatusCode::OK).into(),
            _ => {}
        }
        let Some(query) = query_pairs(parts.uri.query()) else {
            return bad_challenge().into();
        };
        let challenge = match self {
            Self::Meta(token) => {
                return match hub_challenge(token, &query) {
                    Ok(challenge) => text(challenge).into(),
                    Err(refusal) => {
                        if token.0.is_none() && matches!(refusal, HubRefusal::WrongToken) {
                            warn_unset(self.name(), "Handshake::meta(verify_token)");
                        }
                        refusal.into()
                    }
                };
            }
            // Strava's answer is JSON: `{"hub.challenge": …}`.
            Self::Strava(token) => {
                return match hub_challenge(token, &query) {
                    Ok(challenge) => json(&json!({ "hub.challenge": challenge })).into(),
                    Err(refusal) => refusal.into(),
                };
            }
            Self::Dropbox => param(&query, "challenge"),
            Self::MicrosoftGraph => param(&query, "validationToken"),
            Self::X(keys) => {
                let Some(keys) = keys else {
                    warn_unset(
                        self.name(),
                        "presets::x with the app's consumer secret, not a resolver",
                    );
                    return refused(StatusCode::FORBIDDEN, "no consumer secret for the CRC\n")
                        .into();
                };
                // Only what X's tokens are made of: never a JSON object, which the preset
                // would take for a delivery signed with this answer.
                return match param(&query, "crc_token") {
                    Some(token) if echoable(token) => match keys.mac_under(0, token.as_bytes()) {
                        Some(mac) => {
                            let token = format!("sha256={}", STANDARD.encode(mac.as_slice()));
                            json(&json!({ "response_token": token })).into()
                        }
                        None => bad_challenge().into(),
                    },
                    _ => bad_challenge().into(),
                };
            }
            _ => None,
        };
        match challenge {
            Some(challenge) if echoable(challenge) => text(challenge).into(),
            _ => bad_challenge().into(),
        }
    }

    pub(crate) fn answer_signed(
        &self,
        parts: &Parts,
        body: &[u8],
        verified: &Verified,
    ) -> Option<Answer> {
        let answer = match self {
            Self::Twitch => {
                // By the signed body, not the unsigned `Twitch-Eventsub-Message-Type`: a
                // captured challenge relabelled `notification` is still the challenge, not a
                // delivery the handler has never seen.
                #[derive(Deserialize)]
                struct Challenge<'a> {
                    #[serde(borrow)]
                    challenge: Option<std::borrow::Cow<'a, str>>,
                }
                let verification = parts
                    .headers
                    .get(TWITCH_MESSAGE_TYPE)
                    .is_some_and(|kind| kind.as_bytes() == b"webhook_callback_verification");
                match serde_json::from_slice::<Challenge<'_>>(body) {
                    Ok(Challenge {
                        challenge: Some(challenge),
                    }) if echoable(&challenge) => text(&challenge),
                    Ok(Challenge { challenge: Some(_) }) => bad_challenge(),
                    _ if verification => bad_challenge(),
                    _ => return None,
                }
            }
            Self::Slack => {
                if is_ssl_check(body) {
                    empty(StatusCode::OK)
                } else {
                    #[derive(Deserialize)]
                    struct UrlVerification<'a> {
                        #[serde(rename = "type")]
                        kind: &'a str,
                        #[serde(borrow)]
                        challenge: std::borrow::Cow<'a, str>,
                    }
                    match serde_json::from_slice::<UrlVerification<'_>>(body).ok()? {
                        UrlVerification {
                            kind: "url_verification",
                            challenge,
                        } if echoable(&challenge) => text(&challenge),
                        UrlVerification {
                            kind: "url_verification",
                            ..
                        } => bad_challenge(),
                        _ => return None,
                    }
                }
            }
            Self::Zoom => {
                // The verifier MACed the plain token only if the body is the validation: any
                // other delivery is not parsed a second time.
                let mac = verified.answer_mac()?;
                let token = zoom_plain_token(body)?;
                if echoable(token) {
                    json(&json!({
                        "plainToken": token,
                        "encryptedToken": hex::encode(mac),
                    }))
                } else {
                    bad_challenge()
                }
            }
            Self::Discord => match type_of(body)? {
                1 => json(&json!({ "type": 1 })),
                _ => return None,
            },
            Self::DiscordWebhookEvents => match type_of(body)? {
                0 => empty(StatusCode::NO_CONTENT),
                _ => return None,
            },
            Self::Xero => {
                #[derive(Deserialize)]
                struct Payload {
                    events: Vec<serde::de::IgnoredAny>,
                }
                let payload = serde_json::from_slice::<Payload>(body).ok()?;
                if !payload.events.is_empty() {
                    return None;
                }
                empty(StatusCode::OK)
            }
            Self::Okta => {
                if parts.method != Method::GET {
                    return None;
                }
                let challenge = parts.headers.get(OKTA_CHALLENGE)?;
                match challenge.to_str() {
                    Ok(challenge) if echoable(challenge) => {
                        json(&json!({ "verification": challenge }))
                    }
                    _ => bad_challenge(),
                }
            }
            Self::Meta(_)
            | Self::Strava(_)
            | Self::Dropbox
            | Self::Asana(_)
            | Self::Notion(_)
            | Self::Trello
            | Self::MicrosoftGraph
            | Self::X(_) => return None,
            #[cfg(feature = "sns")]
            Self::Sns(visit) => {
                #[derive(Deserialize)]
                struct Confirmation<'a> {
                    // A `Cow`, not a `&str`: SNS signs the decoded value, so a captured
                    // confirmation re-encoded (`"SubscriptionConfirmatio\u006e"`) still
                    // verifies, and a `&str` (which cannot hold an escaped string) would
                    // pass it to the handler as a delivery.
                    #[serde(rename = "Type", borrow)]
                    kind: std::borrow::Cow<'a, str>,
                    #[serde(rename = "SubscribeURL", default)]
                    subscribe_url: Option<std::borrow::Cow<'a, str>>,
                }
                let confirmation = serde_json::from_slice::<Confirmation<'_>>(body).ok()?;
                if confirmation.kind != "SubscriptionConfirmation" {
                    return None;
                }
                // Signed, from a topic the scheme accepts; visited only on SNS's own hosts.
                let Some(url) = confirmation
                    .subscribe_url
                    .and_then(|url| visit.1.check(&url))
                    // And SNS's own rule for its hosts, as for certificates: `sns.<region>`,
                    // never another service's name under `amazonaws.com` (an S3 bucket).
                    .filter(|url| {
                        url.host()
                            .is_some_and(crate::keys::fetch::CertificateFiles::sns_host)
                    })
                else {
                    return Some(
                        refused(
                            StatusCode::FORBIDDEN,
                            "SubscribeURL is not on an allowed host\n",
                        )
                        .into(),
                    );
                };
                let visit = Arc::clone(visit);
                return Some(Answer::Later(Box::pin(async move {
                    match visit.0.get(&url).await {
                        Ok(_) => {
                            tracing::info!(target: "tower_webhook", "SNS subscription confirmed");
                            empty(StatusCode::OK)
                        }
                        Err(error) => {
                            tracing::warn!(target: "tower_webhook", %error, "SNS subscription could not be confirmed");
                            refused(
                                StatusCode::SERVICE_UNAVAILABLE,
                                "subscription not confirmed\n",
                            )
                        }
                    }
                })));
            }
        };
        Some(answer.into())
    }
}

/// Why a hub verification request (Meta's, Strava's) is refused.
enum HubRefusal {
    /// Another shape, or a challenge that may not be echoed: 400.
    BadChallenge,
    /// Another verify token: 403.
    WrongToken,
}

impl From<HubRefusal> for Answer {
    fn from(refusal: HubRefusal) -> Self {
        match refusal {
            HubRefusal::BadChallenge => bad_challenge().into(),
            HubRefusal::WrongToken => {
                refused(StatusCode::FORBIDDEN, "verify token mismatch\n").into()
            }
        }
    }
}

/// The `hub.challenge` of a `hub.mode=subscribe` verification request whose
/// `hub.verify_token` is `token` (Meta's and Strava's), or why it is refused.
fn hub_challenge<'q>(
    token: &VerifyToken,
    query: &'q [(String, String)],
) -> Result<&'q str, HubRefusal> {
    if param(query, "hub.mode") != Some("subscribe") {
        return Err(HubRefusal::BadChallenge);
    }
    if !param(query, "hub.verify_token").is_some_and(|given| token.matches(given)) {
        return Err(HubRefusal::WrongToken);
    }
    param(query, "hub.challenge")
        .filter(|challenge| echoable(challenge))
        .ok_or(HubRefusal::BadChallenge)
}

/// Hands `secret` to `sink`, then answers with `answered` (given the secret as a header
/// value), 403 if the sink refuses it, 503 if it fails.
fn capture(
    handshake: &'static str,
    sender: &'static str,
    sink: Option<&Sink>,
    secret: Option<&[u8]>,
    parts: &Parts,
    answered: impl FnOnce(HeaderValue) -> Response<Bytes> + Send + 'static,
) -> Answer {
    let Some(sink) = sink else {
        warn_unset(
            handshake,
            "a SecretSink: Handshake::asana(sink) or Handshake::notion(sink)",
        );
        return refused(StatusCode::FORBIDDEN, "no secret sink is configured\n").into();
    };
    let secret = match secret.map(HeaderValue::from_bytes) {
        Some(Ok(value)) if value.to_str().is_ok_and(echoable) => value,
        _ => return bad_challenge().into(),
    };
    let stored = sink.store(CapturedSecret::new(sender, secret.as_bytes(), parts));
    Answer::Later(Box::pin(async move {
        match stored.await {
            Ok(()) => answered(secret),
            Err(SinkError::Refused) => {
                tracing::warn!(target: "tower_webhook", handshake, "a handshake's secret was refused by the sink");
                refused(StatusCode::FORBIDDEN, "secret refused\n")
            }
            Err(error) => {
                // The sink's error, never the secret.
                tracing::error!(target: "tower_webhook", handshake, %error, "a handshake's secret could not be stored");
                refused(StatusCode::SERVICE_UNAVAILABLE, "secret not stored\n")
            }
        }
    }))
}

/// Notion's verification token, if `body` is exactly `{"verification_token": "…"}`.
fn notion_token(body: &[u8]) -> Option<&str> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Verification<'a> {
        verification_token: &'a str,
    }
    serde_json::from_slice::<Verification<'_>>(body)
        .ok()
        .map(|verification| verification.verification_token)
}

/// Zoom's `endpoint.url_validation` plain token.
fn zoom_plain_token(body: &[u8]) -> Option<&str> {
    #[derive(Deserialize)]
    struct Validation<'a> {
        event: &'a str,
        #[serde(borrow)]
        payload: Payload<'a>,
    }
    #[derive(Deserialize)]
    struct Payload<'a> {
        #[serde(rename = "plainToken")]
        plain_token: &'a str,
    }
    let validation = serde_json::from_slice::<Validation<'_>>(body).ok()?;
    (validation.event == "endpoint.url_validation").then_some(validation.payload.plain_token)
}

/// The top-level `type` of a JSON body (Discord's interaction or event type).
fn type_of(body: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Typed {
        #[serde(rename = "type")]
        kind: u64,
    }
    serde_json::from_slice::<Typed>(body)
        .ok()
        .map(|typed| typed.kind)
}

/// Whether a Slack slash command's form body is its `ssl_check=1`.
fn is_ssl_check(body: &[u8]) -> bool {
    form_urlencoded::parse(body).any(|(name, value)| name == "ssl_check" && value == "1")
}

/// Says, once per process, that a handshake needs configuration it was not given.
fn warn_unset(handshake: &'static str, how: &'static str) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            target: "tower_webhook",
            handshake,
            how,
            "a handshake was refused because it is not configured; set it on the layer"
        );
    }
}
