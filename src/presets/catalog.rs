//! Every preset as data: [`all`] lists them (name, sender, docs, algorithm, feature), and
//! [`by_name`] builds one chosen by configuration.

use std::{fmt, sync::Arc};

#[allow(clippy::wildcard_imports, reason = "the catalog names every preset")]
use super::*;
use crate::{
    keys::{IntoKeys, KeysFrom},
    scheme::{AnyScheme, Clock, Scheme, SharedClock},
    sign::Signer,
};

/// How a preset is built: from the keys and the options.
type Build = fn(KeysFrom, &PresetOptions) -> Result<AnyScheme, PresetError>;

/// A builder that exists only with its cargo feature; without it, a clear error.
macro_rules! gated {
    ($feature:literal, $build:expr) => {{
        #[cfg(feature = $feature)]
        let build: Build = $build;
        #[cfg(not(feature = $feature))]
        let build: Build = |_, _| {
            Err(PresetError::FeatureDisabled {
                name: String::new(),
                feature: $feature,
            })
        };
        build
    }};
}

/// One sender this crate has a preset for: what it is called, where its scheme is
/// documented, and how to build it from a key chosen at run time.
///
/// ```
/// use tower_webhook::presets;
///
/// let stripe = presets::find("stripe").unwrap();
/// assert_eq!(stripe.sender(), "Stripe");
/// assert_eq!(stripe.algorithm(), "HMAC-SHA256");
/// assert_eq!(stripe.feature(), None);
/// ```
pub struct Preset {
    name: &'static str,
    sender: &'static str,
    docs: Option<&'static str>,
    algorithm: &'static str,
    feature: Option<&'static str>,
    strength: Strength,
    needs_url: bool,
    aliases: &'static [&'static str],
    build: Build,
}

/// What a preset's check proves.
///
/// ```
/// use tower_webhook::presets::{self, Strength};
///
/// assert_eq!(presets::find("gitlab").unwrap().strength(), Strength::SharedSecret);
/// assert_eq!(presets::find("github").unwrap().strength(), Strength::Signature);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Strength {
    /// A signature over the body (and what the sender signs with it): the request is the
    /// sender's, unaltered.
    Signature,
    /// A signature of some fields, not of the whole body (Mailgun's timestamp and token,
    /// Adyen's payment fields): a captured request can be sent again with other unsigned
    /// content. Put the replay guard behind these.
    SignedFields,
    /// A shared secret sent as it is (a token header, HTTP Basic): the request comes from
    /// someone who knows the secret, but its body is not covered, and a captured request can
    /// be replayed with any body. See [`TokenScheme`](crate::scheme::TokenScheme).
    SharedSecret,
    /// Nothing: the sender signs nothing and sends no secret (Strava's events); every
    /// request passes, and only the setup handshake has a secret. See
    /// [`UnsignedScheme`](crate::scheme::UnsignedScheme).
    Unsigned,
    /// A signature of some headers and only a checksum of the body (PayPal's CRC32), or of
    /// a lossy form of it (Trello's low byte of each character): anyone who captured one
    /// delivery can write another body with the same checksum (or form) and send it with the
    /// captured headers within the tolerance. Put the replay guard behind these: such
    /// deliveries are also named by what the signature binds, so the forged body is a
    /// duplicate. See [`PayPalScheme`](crate::scheme::PayPalScheme) and
    /// [`presets::trello`](crate::presets::trello).
    Checksum,
}

impl Preset {
    /// The preset's name: its function in [`presets`](crate::presets), and what
    /// [`by_name`] takes.
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// assert_eq!(presets::find("Cal.com").unwrap().name(), "cal_com");
    /// ```
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The sender, as its users call it.
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// assert_eq!(presets::find("box").unwrap().sender(), "Box");
    /// ```
    #[must_use]
    pub fn sender(&self) -> &'static str {
        self.sender
    }

    /// Where the sender documents its scheme, if it publishes that.
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// assert!(presets::find("github").unwrap().docs().unwrap().starts_with("https://docs.github.com/"));
    /// ```
    #[must_use]
    pub fn docs(&self) -> Option<&'static str> {
        self.docs
    }

    /// The algorithm: `HMAC-SHA256`, `HMAC-SHA1`, `Ed25519`, `ECDSA P-256`, `shared token`,
    /// `HTTP Basic`, or `none` (Strava).
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// assert_eq!(presets::find("discord").unwrap().algorithm(), "Ed25519");
    /// ```
    #[must_use]
    pub fn algorithm(&self) -> &'static str {
        self.algorithm
    }

    /// The cargo feature the preset needs, if any.
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// assert_eq!(presets::find("vercel").unwrap().feature(), Some("sha1"));
    /// ```
    #[must_use]
    pub fn feature(&self) -> Option<&'static str> {
        self.feature
    }

    /// Whether this build of the crate has the preset (its feature, if any, is enabled).
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// assert!(presets::find("stripe").unwrap().is_available());
    /// ```
    #[must_use]
    pub fn is_available(&self) -> bool {
        self.feature.is_none_or(feature_enabled)
    }

    /// What the preset's check proves: a signature, or only a shared secret.
    ///
    /// ```
    /// use tower_webhook::presets::{self, Strength};
    ///
    /// assert_eq!(presets::find("chargebee").unwrap().strength(), Strength::SharedSecret);
    /// ```
    #[must_use]
    pub fn strength(&self) -> Strength {
        self.strength
    }

    /// Whether the preset signs the URL it was sent to, which is then configuration
    /// ([`PresetOptions::url`]).
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// assert!(presets::find("hubspot").unwrap().needs_url());
    /// assert!(!presets::find("stripe").unwrap().needs_url());
    /// ```
    #[must_use]
    pub fn needs_url(&self) -> bool {
        self.needs_url
    }

    /// Other names [`by_name`] accepts for this preset (`svix`, `facebook`, `box`, …).
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// assert!(presets::find("meta").unwrap().aliases().contains(&"whatsapp"));
    /// ```
    #[must_use]
    pub fn aliases(&self) -> &'static [&'static str] {
        self.aliases
    }

    /// How long the sender waits for the response before it counts the delivery as failed,
    /// where its docs say; `None` where they do not. A handler that may take longer belongs
    /// behind an [inbox](crate::inbox), which answers as soon as the delivery is stored.
    ///
    /// From each sender's docs: Strava 2 s; Slack, Zoom, Discord, Microsoft Graph and Okta 3 s; Shopify,
    /// Paddle, Linear, Xero and Microsoft Teams 5 s; GitHub, Square and Asana 10 s; Svix
    /// (Standard Webhooks and the senders that deliver through Svix: Clerk, Resend) and
    /// Twilio 15 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::presets;
    ///
    /// assert_eq!(presets::find("github").unwrap().deadline(), Some(Duration::from_secs(10)));
    /// assert_eq!(presets::find("stripe").unwrap().deadline(), None);
    /// ```
    #[must_use]
    pub fn deadline(&self) -> Option<std::time::Duration> {
        let seconds = match self.name {
            "strava" => 2,
            "slack" | "zoom" | "discord" | "microsoft_graph" | "okta" => 3,
            "shopify" | "paddle" | "linear" | "xero" | "microsoft_teams" => 5,
            "github" | "square" | "asana" => 10,
            "standard_webhooks" | "standard_webhooks_v1a" | "clerk" | "resend" | "twilio" => 15,
            _ => return None,
        };
        Some(std::time::Duration::from_secs(seconds))
    }

    /// Whether the sender reads a reply from the response, so the response cannot come
    /// before the handler runs: Discord interactions, Slack slash commands and interactivity
    /// (which share the `slack` preset with the Events API), Microsoft Teams outgoing
    /// webhooks. [`InboxLayer::for_preset`](crate::inbox::InboxLayer) refuses these.
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// assert!(presets::find("discord").unwrap().replies_inline());
    /// assert!(!presets::find("github").unwrap().replies_inline());
    /// ```
    #[must_use]
    pub fn replies_inline(&self) -> bool {
        matches!(self.name, "discord" | "slack" | "microsoft_teams")
    }

    /// The preset's scheme under `key` (a secret, a public key, credentials, or with the
    /// `keys` feature a resolver), configured by `options`.
    ///
    /// # Errors
    ///
    /// [`PresetError`] if the preset's feature is off, it needs a URL that `options` lacks,
    /// or the key is not in the form the sender gives it; an empty key (or one of only
    /// whitespace) is
    /// [`PresetError::InvalidKey`] for every preset (where the preset's own function, such as
    /// [`stripe`](super::stripe), panics), so a name and key read from configuration never
    /// panic.
    ///
    /// ```
    /// use tower_webhook::presets::{self, PresetOptions};
    ///
    /// let hubspot = presets::find("hubspot").unwrap();
    /// let scheme = hubspot.scheme(
    ///     "client secret",
    ///     &PresetOptions::new().url("https://example.com/webhooks/hubspot"),
    /// )?;
    /// # Ok::<(), tower_webhook::presets::PresetError>(())
    /// ```
    pub fn scheme(
        &self,
        key: impl IntoKeys,
        options: &PresetOptions,
    ) -> Result<AnyScheme, PresetError> {
        if let Some(feature) = self.feature.filter(|feature| !feature_enabled(feature)) {
            return Err(PresetError::FeatureDisabled {
                name: self.name.into(),
                feature,
            });
        }
        let keys = key.into_keys();
        // An empty key is almost always an unset environment variable; the presets' own
        // functions refuse it by panicking, which a function returning `Result` must not.
        // One of only whitespace (`KEY= ` in an env file, a secret file holding a newline)
        // is the same mistake, and a key anyone can guess: refused too.
        if matches!(&keys, KeysFrom::Given(bytes) if bytes.trim_ascii().is_empty()) {
            return Err(PresetError::InvalidKey {
                name: self.name.into(),
                reason: "the key is empty; is its environment variable set?".into(),
            });
        }
        (self.build)(keys, options)
    }
}

impl fmt::Debug for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Preset")
            .field("name", &self.name)
            .field("sender", &self.sender)
            .field("docs", &self.docs)
            .field("algorithm", &self.algorithm)
            .field("feature", &self.feature)
            .field("strength", &self.strength)
            .field("needs_url", &self.needs_url)
            .finish_non_exhaustive()
    }
}

/// What some presets need beyond a key: the URL they sign, and (in tests) a fixed clock.
///
/// ```
/// use tower_webhook::presets::PresetOptions;
///
/// let options = PresetOptions::new().url("https://example.com/webhooks/square");
/// ```
#[derive(Clone, Default)]
pub struct PresetOptions {
    url: Option<String>,
    clock: Option<Arc<dyn Clock>>,
}

impl PresetOptions {
    /// No URL, the system clock.
    ///
    /// ```
    /// use tower_webhook::presets::PresetOptions;
    ///
    /// let options = PresetOptions::new();
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The URL the sender signs, for presets that [need one](Preset::needs_url): Square's
    /// notification URL, HubSpot's webhook URL, Twilio's public base URL.
    ///
    /// ```
    /// use tower_webhook::presets::PresetOptions;
    ///
    /// let options = PresetOptions::new().url("https://example.com");
    /// ```
    #[must_use]
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Where timestamped presets get the current time, to check recorded deliveries in tests.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower_webhook::presets::PresetOptions;
    ///
    /// let options = PresetOptions::new().clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    /// ```
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    fn required_url(&self, name: &str) -> Result<&str, PresetError> {
        self.url
            .as_deref()
            .ok_or_else(|| PresetError::UrlRequired { name: name.into() })
    }
}

impl fmt::Debug for PresetOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresetOptions")
            .field("url", &self.url)
            .field("clock", &self.clock.as_ref().map(|_| ".."))
            .finish()
    }
}

/// Why [`by_name`] or [`Preset::scheme`] gave no scheme. Its `Display` never shows a key.
///
/// ```
/// use tower_webhook::presets::{self, PresetError};
///
/// let error = presets::by_name("no such sender", "secret").unwrap_err();
/// assert!(matches!(error, PresetError::UnknownSender { .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PresetError {
    /// No preset has this name or alias.
    UnknownSender {
        /// The name asked for.
        name: String,
    },
    /// The preset needs a cargo feature this build does not have.
    FeatureDisabled {
        /// The preset.
        name: String,
        /// The feature to enable.
        feature: &'static str,
    },
    /// The preset signs its URL, and no [`PresetOptions::url`] was given.
    UrlRequired {
        /// The preset.
        name: String,
    },
    /// The key (or the URL) is not in the form the sender gives it.
    InvalidKey {
        /// The preset.
        name: String,
        /// What was expected, never the key.
        reason: String,
    },
}

impl fmt::Display for PresetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownSender { name } => write!(
                f,
                "no webhook preset is named `{}`; tower_webhook::presets::all() lists them",
                name.escape_debug()
            ),
            Self::FeatureDisabled { name, feature } => write!(
                f,
                "the `{name}` preset needs tower-webhook's `{feature}` cargo feature"
            ),
            Self::UrlRequired { name } => write!(
                f,
                "the `{name}` preset signs the URL it sends to: give it with PresetOptions::url"
            ),
            Self::InvalidKey { name, reason } => {
                write!(f, "the key for the `{name}` preset is invalid: {reason}")
            }
        }
    }
}

impl std::error::Error for PresetError {}

/// Every preset, in the order of [the guide's table](crate::guide::schemes).
///
/// ```
/// use tower_webhook::presets;
///
/// for preset in presets::all() {
///     println!("{:20} {:40} {:12} {}", preset.name(), preset.sender(), preset.algorithm(), preset.docs().unwrap_or(""));
/// }
/// assert!(presets::all().len() > 50);
/// ```
#[must_use]
pub fn all() -> &'static [Preset] {
    PRESETS
}

/// The preset named `name` or one of its aliases, ignoring ASCII case and treating `-`, `.`
/// and spaces as `_` (`"Cal.com"` finds `cal_com`).
///
/// ```
/// use tower_webhook::presets;
///
/// assert_eq!(presets::find("Lemon-Squeezy").unwrap().name(), "lemon_squeezy");
/// assert_eq!(presets::find("svix").unwrap().name(), "standard_webhooks");
/// assert!(presets::find("nope").is_none());
/// ```
#[must_use]
pub fn find(name: &str) -> Option<&'static Preset> {
    let wanted: String = name
        .trim()
        .chars()
        .map(|c| match c {
            '-' | '.' | ' ' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    PRESETS
        .iter()
        .find(|preset| preset.name == wanted || preset.aliases.contains(&wanted.as_str()))
}

/// The scheme of the sender named `name` (see [`find`]) under `key`, for a deployment that
/// picks its sender from configuration. Presets that sign their URL need
/// [`Preset::scheme`] with [`PresetOptions::url`].
///
/// # Errors
///
/// [`PresetError`]: no such sender, its feature is off, it needs a URL, or the key is not in
/// the form the sender gives it (an empty key included: this never panics).
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let sender = std::env::var("WEBHOOK_SENDER").unwrap_or_else(|_| "github".into());
/// let secret = std::env::var("WEBHOOK_SECRET").unwrap_or_else(|_| "It's a Secret to Everybody".into());
/// let layer = WebhookSignatureLayer::new(presets::by_name(&sender, secret)?);
/// # Ok::<(), tower_webhook::presets::PresetError>(())
/// ```
pub fn by_name(name: &str, key: impl IntoKeys) -> Result<AnyScheme, PresetError> {
    find(name)
        .ok_or_else(|| PresetError::UnknownSender { name: name.into() })?
        .scheme(key, &PresetOptions::default())
}

fn feature_enabled(feature: &str) -> bool {
    const FEATURES: [(&str, bool); 8] = [
        ("paypal", cfg!(feature = "paypal")),
        ("sns", cfg!(feature = "sns")),
        ("jwt", cfg!(feature = "jwt")),
        ("sha1", cfg!(feature = "sha1")),
        ("ed25519", cfg!(feature = "ed25519")),
        ("p256", cfg!(feature = "p256")),
        ("twilio", cfg!(feature = "twilio")),
        ("json", cfg!(feature = "json")),
    ];
    FEATURES.iter().any(|&(name, on)| on && name == feature)
}

/// `scheme` with the options' clock, erased, signing too.
fn timed<S: Scheme + SharedClock + Signer>(scheme: S, options: &PresetOptions) -> AnyScheme {
    AnyScheme::signing(match &options.clock {
        Some(clock) => scheme.shared_clock(Arc::clone(clock)),
        None => scheme,
    })
}

/// A preset's configuration given as text in place of a key (a webhook id, topic ARNs).
#[cfg(any(feature = "paypal", feature = "sns", feature = "jwt"))]
fn text(keys: KeysFrom, name: &'static str) -> Result<String, PresetError> {
    let invalid = |reason: &str| PresetError::InvalidKey {
        name: name.into(),
        reason: reason.into(),
    };
    match keys {
        KeysFrom::Given(bytes) => String::from_utf8(bytes).map_err(|_| invalid("expected text")),
        #[cfg(feature = "keys")]
        KeysFrom::Resolved(_) => Err(invalid("takes its configuration as text, not a resolver")),
    }
}

/// Turns a constructor's error into [`PresetError::InvalidKey`].
fn invalid<E: fmt::Display>(name: &'static str) -> impl Fn(E) -> PresetError {
    move |error| PresetError::InvalidKey {
        name: name.into(),
        reason: error.to_string(),
    }
}

static PRESETS: &[Preset] = &[
    Preset {
        name: "loopwise",
        sender: "Loopwise",
        docs: None,
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(loopwise(keys), options)),
    },
    Preset {
        name: "loop_returns",
        sender: "Loop Returns",
        docs: Some("https://docs.loopreturns.com/webhook-reference/validation"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(loop_returns(keys), options)),
    },
    Preset {
        name: "github",
        sender: "GitHub",
        docs: Some("https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(github(keys), options)),
    },
    Preset {
        name: "shopify",
        sender: "Shopify",
        docs: Some("https://shopify.dev/docs/apps/build/webhooks/subscribe/https"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(shopify(keys), options)),
    },
    Preset {
        name: "stripe",
        sender: "Stripe",
        docs: Some("https://docs.stripe.com/webhooks#verify-manually"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(stripe(keys), options)),
    },
    Preset {
        name: "slack",
        sender: "Slack",
        docs: Some("https://api.slack.com/authentication/verifying-requests-from-slack"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(slack(keys), options)),
    },
    Preset {
        name: "standard_webhooks",
        sender: "Standard Webhooks (Svix)",
        docs: Some("https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &["svix"],
        build: |keys, options| Ok(timed(standard_webhooks(keys).map_err(invalid("standard_webhooks"))?, options)),
    },
    Preset {
        name: "standard_webhooks_v1a",
        sender: "Standard Webhooks, asymmetric",
        docs: Some("https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md"),
        algorithm: "Ed25519",
        feature: Some("ed25519"),
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: gated!("ed25519", |keys, options| Ok(timed(standard_webhooks_v1a(keys).map_err(invalid("standard_webhooks_v1a"))?, options))),
    },
    Preset {
        name: "paddle",
        sender: "Paddle",
        docs: Some("https://developer.paddle.com/webhooks/signature-verification"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(paddle(keys), options)),
    },
    Preset {
        name: "zoom",
        sender: "Zoom",
        docs: Some("https://developers.zoom.us/docs/api/webhooks/#verify-with-zooms-header"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(zoom(keys), options)),
    },
    Preset {
        name: "linear",
        sender: "Linear",
        docs: Some("https://linear.app/developers/webhooks#securing-webhooks"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(linear(keys), options)),
    },
    Preset {
        name: "square",
        sender: "Square",
        docs: Some("https://developer.squareup.com/docs/webhooks/step3validate"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: true,
        aliases: &[],
        build: |keys, options| Ok(timed(square(keys, options.required_url("square")?), options)),
    },
    Preset {
        name: "dropbox",
        sender: "Dropbox",
        docs: Some("https://www.dropbox.com/developers/reference/webhooks"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(dropbox(keys), options)),
    },
    Preset {
        name: "intercom",
        sender: "Intercom",
        docs: Some("https://developers.intercom.com/docs/references/webhooks/webhook-models"),
        algorithm: "HMAC-SHA1",
        feature: Some("sha1"),
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: gated!("sha1", |keys, options| Ok(timed(intercom(keys), options))),
    },
    Preset {
        name: "discord",
        sender: "Discord",
        docs: Some("https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers"),
        algorithm: "Ed25519",
        feature: Some("ed25519"),
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: gated!("ed25519", |keys, options| Ok(timed(discord(keys).map_err(invalid("discord"))?, options))),
    },
    Preset {
        name: "sendgrid",
        sender: "SendGrid",
        docs: Some("https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features"),
        algorithm: "ECDSA P-256",
        feature: Some("p256"),
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: gated!("p256", |keys, options| Ok(timed(sendgrid(keys).map_err(invalid("sendgrid"))?, options))),
    },
    Preset {
        name: "twilio",
        sender: "Twilio",
        docs: Some("https://www.twilio.com/docs/usage/security#validating-requests"),
        algorithm: "HMAC-SHA1",
        feature: Some("twilio"),
        strength: Strength::Signature,
        needs_url: true,
        aliases: &[],
        build: gated!("twilio", |keys, options| {
                Ok(AnyScheme::signing(
                    twilio(keys, options.required_url("twilio")?).map_err(invalid("twilio"))?,
                ))
            }),
    },
    Preset {
        name: "meta",
        sender: "Meta (Facebook, Instagram, WhatsApp)",
        docs: Some("https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &["facebook", "instagram", "whatsapp"],
        build: |keys, options| Ok(timed(meta(keys), options)),
    },
    Preset {
        name: "vercel",
        sender: "Vercel",
        docs: Some("https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks"),
        algorithm: "HMAC-SHA1",
        feature: Some("sha1"),
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: gated!("sha1", |keys, options| Ok(timed(vercel(keys), options))),
    },
    Preset {
        name: "woocommerce",
        sender: "WooCommerce",
        docs: Some("https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(woocommerce(keys), options)),
    },
    Preset {
        name: "typeform",
        sender: "Typeform",
        docs: Some("https://www.typeform.com/developers/webhooks/secure-your-webhooks/"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(typeform(keys), options)),
    },
    Preset {
        name: "lemon_squeezy",
        sender: "Lemon Squeezy",
        docs: Some("https://docs.lemonsqueezy.com/help/webhooks/signing-requests"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(lemon_squeezy(keys), options)),
    },
    Preset {
        name: "sentry",
        sender: "Sentry",
        docs: Some("https://docs.sentry.io/organization/integrations/integration-platform/webhooks/"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(sentry(keys), options)),
    },
    Preset {
        name: "coinbase_commerce",
        sender: "Coinbase Commerce",
        docs: Some("https://docs.cdp.coinbase.com/commerce/docs/webhooks-security"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(coinbase_commerce(keys), options)),
    },
    Preset {
        name: "razorpay",
        sender: "Razorpay",
        docs: Some("https://razorpay.com/docs/webhooks/validate-test/"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(razorpay(keys), options)),
    },
    Preset {
        name: "pagerduty",
        sender: "PagerDuty",
        docs: Some("https://developer.pagerduty.com/docs/webhooks-overview#webhook-signatures"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(pagerduty(keys), options)),
    },
    Preset {
        name: "airtable",
        sender: "Airtable",
        docs: Some("https://airtable.com/developers/web/api/webhooks-overview"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(airtable(keys).map_err(invalid("airtable"))?, options)),
    },
    Preset {
        name: "bitbucket",
        sender: "Bitbucket Cloud",
        docs: Some("https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(bitbucket(keys), options)),
    },
    Preset {
        name: "gitea",
        sender: "Gitea",
        docs: Some("https://docs.gitea.com/usage/webhooks"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(gitea(keys), options)),
    },
    Preset {
        name: "forgejo",
        sender: "Forgejo",
        docs: Some("https://forgejo.org/docs/latest/user/webhooks/"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &["codeberg"],
        build: |keys, options| Ok(timed(forgejo(keys), options)),
    },
    Preset {
        name: "notion",
        sender: "Notion",
        docs: Some("https://developers.notion.com/reference/webhooks"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(notion(keys), options)),
    },
    Preset {
        name: "cal_com",
        sender: "Cal.com",
        docs: Some("https://cal.com/docs/developing/guides/automation/webhooks"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(cal_com(keys), options)),
    },
    Preset {
        name: "xero",
        sender: "Xero",
        docs: Some("https://developer.xero.com/documentation/guides/webhooks/overview/"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(xero(keys), options)),
    },
    Preset {
        name: "intuit",
        sender: "Intuit QuickBooks",
        docs: Some("https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &["quickbooks"],
        build: |keys, options| Ok(timed(intuit(keys), options)),
    },
    Preset {
        name: "docusign",
        sender: "DocuSign Connect",
        docs: Some("https://developers.docusign.com/platform/webhooks/connect/validate/"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(docusign(keys), options)),
    },
    Preset {
        name: "twitch",
        sender: "Twitch EventSub",
        docs: Some("https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(twitch(keys), options)),
    },
    Preset {
        name: "webflow",
        sender: "Webflow",
        docs: Some("https://developers.webflow.com/data/docs/working-with-webhooks"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(webflow(keys), options)),
    },
    Preset {
        name: "elevenlabs",
        sender: "ElevenLabs",
        docs: Some("https://elevenlabs.io/docs/product-guides/administration/webhooks"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(elevenlabs(keys), options)),
    },
    Preset {
        name: "calendly",
        sender: "Calendly",
        docs: Some("https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(calendly(keys), options)),
    },
    Preset {
        name: "mux",
        sender: "Mux",
        docs: Some("https://docs.mux.com/core/verify-webhook-signatures"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(mux(keys), options)),
    },
    Preset {
        name: "workos",
        sender: "WorkOS",
        docs: Some("https://workos.com/docs/events/data-syncing/webhooks"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(workos(keys), options)),
    },
    Preset {
        name: "zendesk",
        sender: "Zendesk",
        docs: Some("https://developer.zendesk.com/documentation/webhooks/verifying/"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(zendesk(keys), options)),
    },
    Preset {
        name: "box_com",
        sender: "Box",
        docs: Some("https://developer.box.com/guides/webhooks/v2/signatures-v2/"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &["box"],
        build: |keys, options| Ok(timed(box_com(keys), options)),
    },
    Preset {
        name: "hubspot",
        sender: "HubSpot",
        docs: Some("https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: true,
        aliases: &[],
        build: |keys, options| Ok(timed(hubspot(keys, options.required_url("hubspot")?), options)),
    },
    Preset {
        name: "clerk",
        sender: "Clerk",
        docs: Some("https://clerk.com/docs/webhooks/sync-data"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(clerk(keys).map_err(invalid("clerk"))?, options)),
    },
    Preset {
        name: "resend",
        sender: "Resend",
        docs: Some("https://resend.com/docs/dashboard/webhooks/verify-webhooks-requests"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(resend(keys).map_err(invalid("resend"))?, options)),
    },
    Preset {
        name: "openai",
        sender: "OpenAI",
        docs: Some("https://platform.openai.com/docs/guides/webhooks"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(openai(keys).map_err(invalid("openai"))?, options)),
    },
    Preset {
        name: "replicate",
        sender: "Replicate",
        docs: Some("https://replicate.com/docs/topics/webhooks/verify-webhook"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(replicate(keys).map_err(invalid("replicate"))?, options)),
    },
    Preset {
        name: "asana",
        sender: "Asana",
        docs: Some("https://developers.asana.com/docs/webhooks-guide#security"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(asana(keys), options)),
    },
    Preset {
        name: "microsoft_teams",
        sender: "Microsoft Teams (outgoing webhooks)",
        docs: Some("https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-outgoing-webhook"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &["teams"],
        build: |keys, options| Ok(timed(microsoft_teams(keys).map_err(invalid("microsoft_teams"))?, options)),
    },
    Preset {
        name: "x",
        sender: "X (Twitter)",
        docs: Some("https://docs.x.com/x-api/webhooks/quickstart"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &["twitter", "x_account_activity"],
        build: |keys, options| Ok(timed(x(keys), options)),
    },
    Preset {
        name: "hookdeck",
        sender: "Hookdeck",
        docs: Some("https://hookdeck.com/docs/authentication"),
        algorithm: "HMAC-SHA256",
        feature: None,
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: |keys, options| Ok(timed(hookdeck(keys), options)),
    },
    Preset {
        name: "trello",
        sender: "Trello",
        docs: Some("https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/#webhook-signatures"),
        algorithm: "HMAC-SHA1",
        feature: Some("sha1"),
        strength: Strength::Checksum,
        needs_url: true,
        aliases: &[],
        build: gated!("sha1", |keys, options| Ok(timed(trello(keys, options.required_url("trello")?), options))),
    },
    Preset {
        name: "mailgun",
        sender: "Mailgun",
        docs: Some("https://documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/#securing-webhooks"),
        algorithm: "HMAC-SHA256",
        feature: Some("json"),
        strength: Strength::SignedFields,
        needs_url: false,
        aliases: &[],
        build: gated!("json", |keys, options| {
                let scheme = mailgun(keys);
                Ok(timed(scheme, options))
            }),
    },
    Preset {
        name: "adyen",
        sender: "Adyen",
        docs: Some("https://docs.adyen.com/development-resources/webhooks/secure-webhooks/verify-hmac-signatures"),
        algorithm: "HMAC-SHA256",
        feature: Some("json"),
        strength: Strength::SignedFields,
        needs_url: false,
        aliases: &[],
        build: gated!("json", |keys, _| Ok(AnyScheme::signing(adyen(keys).map_err(invalid("adyen"))?))),
    },
    Preset {
        name: "gitlab",
        sender: "GitLab",
        docs: Some("https://docs.gitlab.com/user/project/integrations/webhooks/"),
        algorithm: "shared token",
        feature: None,
        strength: Strength::SharedSecret,
        needs_url: false,
        aliases: &[],
        build: |keys, options| {
            // GitLab's signing tokens are `whsec_<base64>`: given one, the signature is
            // required, whatever the request carries; otherwise the secret token is.
            if matches!(&keys, KeysFrom::Given(secret) if secret.starts_with(b"whsec_")) {
                let signed = standard_webhooks(keys).map_err(invalid("gitlab"))?;
                return Ok(timed(signed.named("gitlab"), options));
            }
            Ok(AnyScheme::signing(gitlab(keys)))
        },
    },
    Preset {
        name: "chargebee",
        sender: "Chargebee",
        docs: Some("https://www.chargebee.com/docs/2.0/webhook_settings.html"),
        algorithm: "HTTP Basic",
        feature: None,
        strength: Strength::SharedSecret,
        needs_url: false,
        aliases: &[],
        build: |keys, _| Ok(AnyScheme::signing(chargebee(keys))),
    },
    Preset {
        name: "postmark",
        sender: "Postmark",
        docs: Some("https://postmarkapp.com/developer/webhooks/webhooks-overview"),
        algorithm: "HTTP Basic",
        feature: None,
        strength: Strength::SharedSecret,
        needs_url: false,
        aliases: &[],
        build: |keys, _| Ok(AnyScheme::signing(postmark(keys))),
    },
    Preset {
        name: "deepgram",
        sender: "Deepgram",
        docs: Some("https://developers.deepgram.com/docs/callback#authenticating-callback-requests"),
        algorithm: "HTTP Basic",
        feature: None,
        strength: Strength::SharedSecret,
        needs_url: false,
        aliases: &[],
        build: |keys, _| Ok(AnyScheme::signing(deepgram(keys))),
    },
    Preset {
        name: "okta",
        sender: "Okta",
        docs: Some("https://developer.okta.com/docs/concepts/event-hooks/"),
        algorithm: "shared token",
        feature: None,
        strength: Strength::SharedSecret,
        needs_url: false,
        aliases: &[],
        build: |keys, _| Ok(AnyScheme::signing(okta(keys))),
    },
    Preset {
        name: "strava",
        sender: "Strava",
        docs: Some("https://developers.strava.com/docs/webhooks/"),
        algorithm: "none",
        feature: None,
        strength: Strength::Unsigned,
        needs_url: false,
        aliases: &[],
        build: |keys, _| match keys {
            KeysFrom::Given(token) => Ok(AnyScheme::signing(strava(token))),
            #[cfg(feature = "keys")]
            KeysFrom::Resolved(_) => Err(PresetError::InvalidKey {
                name: "strava".into(),
                reason: "takes its verify token as text, not a resolver".into(),
            }),
        },
    },
    Preset {
        name: "microsoft_graph",
        sender: "Microsoft Graph (change notifications)",
        docs: Some("https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks"),
        algorithm: "shared token",
        feature: Some("json"),
        strength: Strength::SharedSecret,
        needs_url: false,
        aliases: &["graph"],
        build: gated!("json", |keys, _| Ok(AnyScheme::signing(microsoft_graph(keys)))),
    },
    Preset {
        name: "paypal",
        sender: "PayPal",
        docs: Some("https://developer.paypal.com/api/rest/webhooks/rest/#link-selfverificationmethod"),
        algorithm: "RSA-SHA256, fetched certificate",
        feature: Some("paypal"),
        strength: Strength::Checksum,
        needs_url: false,
        aliases: &[],
        build: gated!("paypal", |keys, options| {
            let scheme = paypal(text(keys, "paypal")?);
            Ok(timed(scheme, options))
        }),
    },
    Preset {
        name: "sns",
        sender: "Amazon SNS",
        docs: Some("https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html"),
        algorithm: "RSA-SHA1/SHA256, fetched certificate",
        feature: Some("sns"),
        strength: Strength::Signature,
        needs_url: false,
        aliases: &["aws_sns", "amazon_sns"],
        build: gated!("sns", |keys, options| {
            let topics = text(keys, "sns")?;
            let scheme = sns(topics.split(',').map(str::trim).filter(|t| !t.is_empty()));
            Ok(timed(scheme, options))
        }),
    },
    Preset {
        name: "plaid",
        sender: "Plaid",
        docs: Some("https://plaid.com/docs/api/webhooks/webhook-verification/"),
        algorithm: "ES256 JWT, fetched key",
        feature: Some("jwt"),
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: gated!("jwt", |keys, options| {
            let credentials = text(keys, "plaid")?;
            let (client_id, secret) = credentials.split_once(':').ok_or_else(|| PresetError::InvalidKey {
                name: "plaid".into(),
                reason: "expected `client_id:secret`".into(),
            })?;
            Ok(timed(plaid(client_id, secret), options))
        }),
    },
    Preset {
        name: "fusionauth",
        sender: "FusionAuth",
        docs: Some("https://fusionauth.io/docs/extend/events-and-webhooks/signing"),
        algorithm: "HS256/384/512 JWT",
        feature: Some("jwt"),
        strength: Strength::Signature,
        needs_url: false,
        aliases: &[],
        build: gated!("jwt", |keys, options| Ok(timed(fusionauth(keys), options))),
    },
    Preset {
        name: "fusionauth_jwks",
        sender: "FusionAuth (RSA or EC key)",
        docs: Some("https://fusionauth.io/docs/extend/events-and-webhooks/signing"),
        algorithm: "RS256/ES256 JWT, fetched key",
        feature: Some("jwt"),
        strength: Strength::Signature,
        needs_url: true,
        aliases: &[],
        build: gated!("jwt", |_, options| {
            let url = options.required_url("fusionauth_jwks")?;
            let scheme = fusionauth_jwks(url, crate::keys::Fetcher::new()).map_err(invalid("fusionauth_jwks"))?;
            Ok(timed(scheme, options))
        }),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_are_unique_and_normalized() {
        let mut seen = std::collections::HashSet::new();
        for preset in all() {
            for name in std::iter::once(&preset.name).chain(preset.aliases) {
                assert!(seen.insert(*name), "{name} twice");
                assert_eq!(find(name).map(Preset::name), Some(preset.name));
                assert!(
                    name.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn every_available_preset_builds_and_names_itself() {
        use crate::scheme::Scheme as _;
        let options = PresetOptions::new().url("https://example.com/hook");
        for preset in all().iter().filter(|p| p.is_available()) {
            // A key every sender's format accepts: Standard Webhooks and Airtable want
            // base64, Discord 64 hex digits, SendGrid a DER public key.
            let key = match preset.name {
                "discord" => "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                "standard_webhooks_v1a" => "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
                "paypal" => "WH-1",
                "sns" => "arn:aws:sns:us-east-1:1:a, arn:aws:sns:us-east-1:1:b",
                "plaid" => "client_id:secret",
                "adyen" => "44782DEF547AAA06C910C43932B1EB0C",
                "microsoft_teams" => "vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA=",
                "sendgrid" => "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
                _ => "c2VjcmV0IGtleQ==",
            };
            let scheme = preset
                .scheme(key, &options)
                .unwrap_or_else(|e| panic!("{}: {e}", preset.name));
            assert_eq!(scheme.name(), preset.name);
        }
    }

    #[test]
    fn an_empty_key_is_an_error_for_every_preset_never_a_panic() {
        let options = PresetOptions::new().url("https://example.com/hook");
        for preset in all().iter().filter(|p| p.is_available()) {
            for key in [&b""[..], &Vec::new(), b" ", b"\n", b" \t\r\n"] {
                let error = preset.scheme(key, &options).map(|_| ()).unwrap_err();
                assert!(
                    matches!(&error, PresetError::InvalidKey { name, .. } if name == preset.name),
                    "{}: {error:?}",
                    preset.name
                );
            }
        }
        let error = by_name("stripe", String::new()).map(|_| ()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the key for the `stripe` preset is invalid: the key is empty; is its environment variable set?"
        );
    }

    #[test]
    fn url_presets_say_they_need_one() {
        #[cfg(feature = "sha1")]
        assert_eq!(
            by_name("trello", "secret").unwrap_err(),
            PresetError::UrlRequired {
                name: "trello".into()
            }
        );
        for name in ["square", "hubspot"] {
            assert_eq!(
                by_name(name, "secret").unwrap_err(),
                PresetError::UrlRequired { name: name.into() }
            );
        }
    }

    #[test]
    fn invalid_keys_are_reported_without_the_key() {
        let error = by_name("standard_webhooks", "whsec_not base64 SECRET!").unwrap_err();
        assert!(matches!(error, PresetError::InvalidKey { .. }));
        assert!(!error.to_string().contains("SECRET"), "{error}");
    }
}
