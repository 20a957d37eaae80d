//! The public API's promises: the README's first example needs only the crate root, every
//! constructor takes a secret as a `String` straight from `std::env::var`, and every other
//! item is reachable through the module named for its concern.

use tower_webhook::{presets, IpAllowlist, WebhookSignatureLayer};

/// Stands in for `std::env::var(..)?`: an owned `String`, as configuration hands it over.
fn from_env(value: &str) -> String {
    value.to_owned()
}

#[test]
fn readme_first_example_compiles_against_the_root() {
    let layer = WebhookSignatureLayer::new(presets::loopwise(from_env("LOOPWISE_SIGNING_KEY")))
        .allow_ips("52.194.91.27".parse::<IpAllowlist>().unwrap())
        .max_body_size(1 << 20);
    let _: axum::Router = axum::Router::new()
        .route("/webhooks/loopwise", axum::routing::post(|| async { "ok" }))
        .layer(layer);
}

#[test]
fn every_constructor_takes_an_owned_string_secret() {
    use tower_webhook::HmacScheme;

    let _ = HmacScheme::sha256(from_env("s")).also_accept(from_env("old"));
    let _ = presets::loopwise(from_env("s"));
    let _ = presets::loop_returns(from_env("s"));
    let _ = presets::github(from_env("s"));
    let _ = presets::shopify(from_env("s"));
    let _ = presets::stripe(from_env("s"));
    let _ = presets::slack(from_env("s"));
    let _ = presets::paddle(from_env("s"));
    let _ = presets::zoom(from_env("s"));
    let _ = presets::linear(from_env("s"));
    let _ = presets::square(from_env("s"), from_env("https://example.com/hook"));
    let _ = presets::dropbox(from_env("s"));
    let sw = presets::standard_webhooks(from_env("whsec_c2VjcmV0")).unwrap();
    let _ = sw.also_accept(presets::standard_webhooks_key(from_env("whsec_b2xk")).unwrap());
    #[cfg(feature = "sha1")]
    let _ = presets::intercom(from_env("s"));
    #[cfg(feature = "twilio")]
    let _ = presets::twilio(from_env("s"), from_env("https://example.com")).unwrap();
    #[cfg(feature = "ed25519")]
    {
        let key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        let _ = presets::discord(from_env(key)).unwrap();
        let _ = presets::standard_webhooks_v1a(from_env(
            "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        ))
        .unwrap();
    }
    #[cfg(feature = "p256")]
    let _ = presets::sendgrid(from_env(
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
    ))
    .unwrap();
}

#[test]
fn each_concern_has_its_module() {
    // A compile-time map of where things live; a moved item fails to build here first.
    #[allow(unused_imports)]
    use tower_webhook::{
        allowlist::{AllowlistParseError, IpAllowlist as _},
        body::{BufferedBody, ResponseBody},
        peer::{ConnectionPeer, PeerAddr, PeerSource, TrustedProxies},
        rejection::{Rejection as _, Unverified},
        replay::{
            Claim, MemoryStore, ReplayFuture, ReplayGuard, ReplayGuardLayer, ReplayStore,
            StoreError, StoreFuture, DEFAULT_DONE_TTL, DEFAULT_IN_PROGRESS_TTL, DUPLICATE_HEADER,
        },
        scheme::{
            Algorithm, Clock, DeliveryId, Encoding, Hmac, HmacScheme, HmacVerifier, InvalidKey,
            Scheme, SignatureFormat, SignatureScheme, SignatureVerifier, SystemClock, Verified,
            Verifier, DEFAULT_TOLERANCE,
        },
        sign::{Message, Signer, SigningFuture, WebhookSigning, WebhookSigningLayer},
        verify::{
            ResponseFuture, WebhookSignature, WebhookSignatureLayer as _, DEFAULT_MAX_BODY_SIZE,
        },
    };
    assert_eq!(DEFAULT_MAX_BODY_SIZE, 2 * 1024 * 1024);
    assert_eq!(DUPLICATE_HEADER, "webhook-duplicate");
}
