//! Attacks on what names a delivery for the replay guard, with nothing but captured bytes
//! (or, for the tenant attacks, a tenant's own secret): a captured delivery resent with
//! some of its signatures dropped, reordered or re-encoded (`rotation`, `public_keys`),
//! its signed items reordered, repeated or combined (`adyen`), its ECDSA signature in the
//! other `s` (`plaid`), its form re-encoded (`twilio`), or under another spelling of its
//! tenant's name (`tenants`), must still be the delivery the sender sent once.

mod support;

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use axum::{routing::post, Router};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt};
use tower_webhook::{
    presets,
    replay::{MemoryStore, ReplayGuardLayer},
    scheme::Scheme,
    sign::Message,
    WebhookSignatureLayer,
};

/// The guarded app: `scheme`, then the replay guard, then a handler that counts its calls.
struct Guarded {
    app: Router,
    calls: Arc<AtomicUsize>,
}

impl Guarded {
    fn new<S>(scheme: S) -> Self
    where
        S: Scheme + Clone + Send + Sync + 'static,
        S::Verifier: Send + 'static,
    {
        Self::at("/hook", scheme)
    }

    /// The guarded app at the route `path`.
    fn at<S>(path: &str, scheme: S) -> Self
    where
        S: Scheme + Clone + Send + Sync + 'static,
        S::Verifier: Send + 'static,
    {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let route = post(move || {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                "handled"
            }
        });
        let layers = ServiceBuilder::new()
            .layer(WebhookSignatureLayer::new(scheme))
            .layer(ReplayGuardLayer::new(MemoryStore::new(1_000)));
        Self {
            app: Router::new().route(path, route.layer(layers)),
            calls,
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Sends `body` with `headers`; the status and whether the guard called it a duplicate.
    async fn send(&self, headers: &HeaderMap, body: impl Into<Bytes>) -> (StatusCode, bool) {
        self.send_to("/hook", headers, body).await
    }

    /// Sends `body` with `headers` to `path`.
    async fn send_to(
        &self,
        path: &str,
        headers: &HeaderMap,
        body: impl Into<Bytes>,
    ) -> (StatusCode, bool) {
        let mut request = Request::post(path).body(Full::new(body.into())).unwrap();
        *request.headers_mut() = headers.clone();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let duplicate = response.headers().contains_key("webhook-duplicate");
        (response.status(), duplicate)
    }
}

const PROCESSED: (StatusCode, bool) = (StatusCode::OK, false);
const DUPLICATE: (StatusCode, bool) = (StatusCode::OK, true);

fn value(headers: &HeaderMap, name: &str) -> String {
    headers[name].to_str().unwrap().to_owned()
}

fn header(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap()
}

/// Signatures dropped or reordered: a sender that signs with every secret it holds while
/// one is rotated (PagerDuty, Stripe-style `v1=…,v1=…` senders) sends one delivery; a
/// captured copy resent with only the old secret's signature, or with them swapped, is the
/// same delivery, whichever of the receiver's keys now verifies it.
mod rotation {
    use super::*;

    #[tokio::test]
    async fn pagerduty_signatures_dropped_or_swapped_are_the_same_delivery() {
        let body =
            r#"{"event":{"id":"01DEN1HNLBC1VITYEZLPU2HYNN","event_type":"incident.triggered"}}"#;
        let new = value(
            &presets::pagerduty("new secret").sign_message(&Message::new(body.as_bytes())),
            "x-pagerduty-signature",
        );
        let old = value(
            &presets::pagerduty("old secret").sign_message(&Message::new(body.as_bytes())),
            "x-pagerduty-signature",
        );
        let guarded = Guarded::new(presets::pagerduty("new secret").also_accept("old secret"));
        let with = |signature: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("x-pagerduty-signature", header(signature));
            headers
        };

        // What PagerDuty sends while the secret is rotated: both signatures.
        assert_eq!(
            guarded.send(&with(&format!("{new},{old}")), body).await,
            PROCESSED
        );
        for replay in [old.clone(), new.clone(), format!("{old},{new}")] {
            assert_eq!(
                guarded.send(&with(&replay), body).await,
                DUPLICATE,
                "{replay}"
            );
        }
        assert_eq!(guarded.calls(), 1);
    }

    #[tokio::test]
    async fn calendly_signature_of_the_old_secret_alone_is_the_same_delivery() {
        let body = r#"{"event":"invitee.created","payload":{"uri":"https://api.calendly.com/x"}}"#;
        let at = support::unix_now();
        let message = Message::new(body.as_bytes()).timestamp(at);
        let new = value(
            &presets::calendly("new key").sign_message(&message),
            "calendly-webhook-signature",
        );
        let old = value(
            &presets::calendly("old key").sign_message(&message),
            "calendly-webhook-signature",
        );
        let old_v1 = old.split(',').nth(1).unwrap().to_owned();
        let guarded = Guarded::new(presets::calendly("new key").also_accept("old key"));
        let with = |signature: String| {
            let mut headers = HeaderMap::new();
            headers.insert("calendly-webhook-signature", header(&signature));
            headers
        };

        assert_eq!(
            guarded.send(&with(format!("{new},{old_v1}")), body).await,
            PROCESSED
        );
        assert_eq!(guarded.send(&with(old), body).await, DUPLICATE);
        assert_eq!(guarded.calls(), 1);
    }

    /// The receiver rotates live, putting the new secret first while the sender still
    /// signs with the old one: a delivery processed before the switch, replayed after it,
    /// is still a duplicate (it is named under every key, the old one included).
    #[cfg(feature = "keys")]
    #[tokio::test]
    async fn a_delivery_replayed_after_the_receiver_adds_a_new_first_key_is_a_duplicate() {
        use tower_webhook::keys::{FoundKeys, ReloadableKeys};

        let keys = ReloadableKeys::new();
        keys.set(FoundKeys::new("old secret"));
        let guarded = Guarded::new(presets::pagerduty(keys.clone()));
        let body = r#"{"event":{"id":"01DEN1HNLBC1VITYEZLPU2HYNN"}}"#;
        let headers = presets::pagerduty("old secret").sign_message(&Message::new(body.as_bytes()));
        assert_eq!(guarded.send(&headers, body).await, PROCESSED);
        keys.set(FoundKeys::new("new secret").and("old secret"));
        assert_eq!(guarded.send(&headers, body).await, DUPLICATE);
        // The new secret is in use.
        let next = r#"{"event":{"id":"01DEN1HNLBC1VITYEZLPU2HYNO"}}"#;
        let signed = presets::pagerduty("new secret").sign_message(&Message::new(next.as_bytes()));
        assert_eq!(guarded.send(&signed, next).await, PROCESSED);
        assert_eq!(guarded.calls(), 2);
    }

    /// The same MAC written another way (upper-case hex, padded) is the same delivery.
    #[tokio::test]
    async fn a_signature_re_encoded_is_the_same_delivery() {
        let body = r#"{"action":"opened","number":7}"#;
        let github = presets::github("gh secret");
        let signed = value(
            &github.sign_message(&Message::new(body.as_bytes())),
            "x-hub-signature-256",
        );
        let guarded = Guarded::new(github);
        let with = |signature: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("x-hub-signature-256", header(signature));
            headers
        };
        assert_eq!(guarded.send(&with(&signed), body).await, PROCESSED);
        let hex = signed.strip_prefix("sha256=").unwrap();
        for replay in [
            format!("sha256={}", hex.to_ascii_uppercase()),
            format!("  {signed}\t"),
        ] {
            assert_eq!(
                guarded.send(&with(&replay), body).await,
                DUPLICATE,
                "{replay}"
            );
        }
        assert_eq!(guarded.calls(), 1);
    }

    #[tokio::test]
    async fn docusign_headers_dropped_or_renumbered_are_the_same_delivery() {
        let body = r#"{"event":"envelope-completed","data":{"envelopeId":"93be49ab"}}"#;
        let sig = |key: &str| {
            value(
                &presets::docusign(key).sign_message(&Message::new(body.as_bytes())),
                "x-docusign-signature-1",
            )
        };
        let (one, two) = (sig("connect key 1"), sig("connect key 2"));
        let (one, two) = (one.as_str(), two.as_str());
        let guarded = Guarded::new(presets::docusign("connect key 1").also_accept("connect key 2"));
        let with = |signatures: &[&str]| {
            let mut headers = HeaderMap::new();
            for (n, signature) in signatures.iter().enumerate() {
                headers.insert(
                    http::HeaderName::from_bytes(
                        format!("x-docusign-signature-{}", n + 1).as_bytes(),
                    )
                    .unwrap(),
                    header(signature),
                );
            }
            headers
        };

        assert_eq!(guarded.send(&with(&[one, two]), body).await, PROCESSED);
        for replay in [&[two][..], &[two, one], &[one]] {
            assert_eq!(
                guarded.send(&with(replay), body).await,
                DUPLICATE,
                "{replay:?}"
            );
        }
        assert_eq!(guarded.calls(), 1);
    }
}

/// Adyen signs each notification item, not the notification: items of captured
/// notifications reordered, repeated or combined are items the sender sent once.
#[cfg(feature = "json")]
mod adyen {
    use base64::{engine::general_purpose::STANDARD, Engine as _};
    use hmac::{Hmac, Mac as _};
    use sha2::Sha256;

    use super::*;

    const KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D25BDB8A5652E3384781658D";

    /// One signed `NotificationRequestItem` for payment `psp`.
    fn item(psp: &str) -> String {
        let signed = format!("{psp}:::TestPayment:4200:EUR:AUTHORISATION:true");
        let mut mac = Hmac::<Sha256>::new_from_slice(&hex::decode(KEY).unwrap()).unwrap();
        mac.update(signed.as_bytes());
        let signature = STANDARD.encode(mac.finalize().into_bytes());
        format!(
            r#"{{"NotificationRequestItem":{{"pspReference":"{psp}","merchantReference":"TestPayment","amount":{{"value":4200,"currency":"EUR"}},"eventCode":"AUTHORISATION","success":"true","additionalData":{{"hmacSignature":"{signature}"}}}}}}"#
        )
    }

    fn notification(items: &[&String]) -> String {
        let items: Vec<&str> = items.iter().map(|item| item.as_str()).collect();
        format!(
            r#"{{"live":"false","notificationItems":[{}]}}"#,
            items.join(",")
        )
    }

    #[tokio::test]
    async fn items_reordered_are_the_same_delivery() {
        let guarded = Guarded::new(presets::adyen(KEY).unwrap());
        let (a, b) = (item("7914"), item("7915"));
        let headers = HeaderMap::new();
        assert_eq!(
            guarded.send(&headers, notification(&[&a, &b])).await,
            PROCESSED
        );
        assert_eq!(
            guarded.send(&headers, notification(&[&b, &a])).await,
            DUPLICATE
        );
        assert_eq!(guarded.calls(), 1);
    }

    #[tokio::test]
    async fn an_item_of_a_processed_notification_resent_alone_or_beside_another_is_a_duplicate() {
        let guarded = Guarded::new(presets::adyen(KEY).unwrap());
        let (a, b, c) = (item("7914"), item("7915"), item("7916"));
        let headers = HeaderMap::new();
        assert_eq!(
            guarded.send(&headers, notification(&[&a, &b])).await,
            PROCESSED
        );
        assert_eq!(guarded.send(&headers, notification(&[&b])).await, DUPLICATE);
        assert_eq!(guarded.send(&headers, notification(&[&c])).await, PROCESSED);
        // Two captured notifications combined into one the sender never sent.
        assert_eq!(
            guarded.send(&headers, notification(&[&c, &a])).await,
            DUPLICATE
        );
        assert_eq!(guarded.calls(), 2);
    }

    #[tokio::test]
    async fn an_item_repeated_in_one_notification_is_refused() {
        // Adyen never sends an item twice in one notification; a handler would process
        // the copy as a second payment event.
        let guarded = Guarded::new(presets::adyen(KEY).unwrap());
        let a = item("7914");
        let headers = HeaderMap::new();
        assert_eq!(
            guarded.send(&headers, notification(&[&a, &a])).await,
            (StatusCode::UNAUTHORIZED, false)
        );
        assert_eq!(guarded.send(&headers, notification(&[&a])).await, PROCESSED);
        assert_eq!(guarded.calls(), 1);
    }
}

/// One tenant's keys found under several spellings of its name (a source whose lookup
/// ignores case, as a MySQL column's default collation does): a captured delivery resent
/// under another spelling verifies under the same secret, and is the same delivery.
#[cfg(feature = "keys")]
mod tenants {
    use tower_webhook::keys::{FoundKeys, KeyError, KeyName, KeyResolver};

    use super::*;

    /// Tenants `acme` and `evil` at `/t/{tenant}`, looked up ignoring case.
    fn case_insensitive() -> KeyResolver {
        KeyResolver::from_fn(KeyName::path("/t/{tenant}"), |tenant: String| async move {
            let secret = match tenant.to_ascii_lowercase().as_str() {
                "acme" => Some("whsec_acme"),
                "evil" => Some("whsec_evil"),
                _ => None,
            };
            Ok::<_, KeyError>(secret.map(FoundKeys::new))
        })
    }

    #[tokio::test]
    async fn a_delivery_resent_under_another_spelling_of_its_tenant_is_a_duplicate() {
        let guarded = Guarded::at("/t/{tenant}", presets::stripe(case_insensitive()));
        let event = r#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
        let headers = presets::stripe("whsec_acme").sign_message(&Message::new(event.as_bytes()));
        assert_eq!(guarded.send_to("/t/acme", &headers, event).await, PROCESSED);
        for spelling in ["/t/ACME", "/t/Acme", "/t/%41cme"] {
            assert_eq!(
                guarded.send_to(spelling, &headers, event).await,
                DUPLICATE,
                "{spelling}"
            );
        }
        assert_eq!(guarded.calls(), 1);
        // Body-only senders too (named by their signature).
        let body = r#"{"event":{"id":"01DEN1HNLBC1VITYEZLPU2HYNN"}}"#;
        let guarded = Guarded::at("/t/{tenant}", presets::pagerduty(case_insensitive()));
        let headers = presets::pagerduty("whsec_acme").sign_message(&Message::new(body.as_bytes()));
        assert_eq!(guarded.send_to("/t/acme", &headers, body).await, PROCESSED);
        assert_eq!(guarded.send_to("/t/ACME", &headers, body).await, DUPLICATE);
        assert_eq!(guarded.calls(), 1);
    }

    /// Standard Webhooks names a delivery by its signed `webhook-id`, which a tenant may
    /// choose: scoped by the tenant's name. Its signature names it beside, unscoped.
    #[tokio::test]
    async fn a_standard_webhooks_delivery_resent_under_another_spelling_is_a_duplicate() {
        const ACME: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let source =
            KeyResolver::from_fn(KeyName::path("/t/{tenant}"), |tenant: String| async move {
                let found = tenant
                    .eq_ignore_ascii_case("acme")
                    .then(|| FoundKeys::new(ACME));
                Ok::<_, KeyError>(found)
            });
        let guarded = Guarded::at("/t/{tenant}", presets::standard_webhooks(source).unwrap());
        let body = r#"{"type":"invoice.paid"}"#;
        let headers = presets::standard_webhooks(ACME)
            .unwrap()
            .sign_message(&Message::new(body.as_bytes()).id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"));
        assert_eq!(guarded.send_to("/t/acme", &headers, body).await, PROCESSED);
        assert_eq!(guarded.send_to("/t/ACME", &headers, body).await, DUPLICATE);
        assert_eq!(guarded.calls(), 1);
    }

    /// The sender's retry, re-signed with a new timestamp (so a new signature), resent under
    /// another spelling of the tenant: named by its event id within the key's scope tag,
    /// which every spelling shares, it is the same delivery. For Standard Webhooks' signed
    /// message id too. (Found by the inbox's attack review: tests/attacks_inbox.rs.)
    #[tokio::test]
    async fn a_re_signed_retry_under_another_spelling_is_a_duplicate() {
        let guarded = Guarded::at("/t/{tenant}", presets::stripe(case_insensitive()));
        let event = r#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
        let sign = |t: u64| {
            presets::stripe("whsec_acme").sign_message(&Message::new(event.as_bytes()).timestamp(t))
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(
            guarded.send_to("/t/acme", &sign(now - 60), event).await,
            PROCESSED
        );
        assert_eq!(
            guarded.send_to("/t/Acme", &sign(now), event).await,
            DUPLICATE
        );
        assert_eq!(guarded.calls(), 1);
        // Another tenant's key signing acme's event id names it within its own scope.
        let evil = presets::stripe("whsec_evil").sign_message(&Message::new(event.as_bytes()));
        assert_eq!(guarded.send_to("/t/evil", &evil, event).await, PROCESSED);
        assert_eq!(guarded.calls(), 2);

        const ACME: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let source =
            KeyResolver::from_fn(KeyName::path("/t/{tenant}"), |tenant: String| async move {
                let found = tenant
                    .eq_ignore_ascii_case("acme")
                    .then(|| FoundKeys::new(ACME));
                Ok::<_, KeyError>(found)
            });
        let guarded = Guarded::at("/t/{tenant}", presets::standard_webhooks(source).unwrap());
        let body = r#"{"type":"invoice.paid"}"#;
        let sign = |t: u64| {
            presets::standard_webhooks(ACME).unwrap().sign_message(
                &Message::new(body.as_bytes())
                    .id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
                    .timestamp(t),
            )
        };
        assert_eq!(
            guarded.send_to("/t/acme", &sign(now - 60), body).await,
            PROCESSED
        );
        assert_eq!(
            guarded.send_to("/t/ACME", &sign(now), body).await,
            DUPLICATE
        );
        assert_eq!(guarded.calls(), 1);
    }

    /// A tenant who holds its own secret (a customer of a multi-tenant app) signs as many
    /// deliveries as it likes; with one bounded `MemoryStore` for every tenant they push
    /// another tenant's records out, and that tenant's captured delivery is new again.
    #[tokio::test]
    #[ignore = "broke: one MemoryStore's capacity is shared by every tenant, so a tenant's own \
                signed flood evicts another tenant's done records (soonest to expire first); \
                needs per-tenant capacity in the store, a design change, not a small fix"]
    async fn one_tenant_s_flood_does_not_evict_another_tenant_s_records() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let route = post(move || {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                "handled"
            }
        });
        let layers = ServiceBuilder::new()
            .layer(WebhookSignatureLayer::new(presets::pagerduty(
                case_insensitive(),
            )))
            .layer(ReplayGuardLayer::new(MemoryStore::new(100)));
        let app = Router::new().route("/t/{tenant}", route.layer(layers));
        let send = |path: String, headers: HeaderMap, body: String| {
            let app = app.clone();
            async move {
                let mut request = Request::post(path)
                    .body(Full::new(Bytes::from(body)))
                    .unwrap();
                *request.headers_mut() = headers;
                let response = app.oneshot(request).await.unwrap();
                (
                    response.status(),
                    response.headers().contains_key("webhook-duplicate"),
                )
            }
        };
        let signed = |tenant: &str, body: &str| {
            presets::pagerduty(format!("whsec_{tenant}"))
                .sign_message(&Message::new(body.as_bytes()))
        };
        let captured = r#"{"event":{"id":"acme-1"}}"#.to_owned();
        let headers = signed("acme", &captured);
        let first = send("/t/acme".into(), headers.clone(), captured.clone()).await;
        assert_eq!(first, PROCESSED);
        for n in 0..200 {
            let body = format!(r#"{{"event":{{"id":"evil-{n}"}}}}"#);
            let _ = send("/t/evil".into(), signed("evil", &body), body).await;
        }
        let replay = send("/t/acme".into(), headers, captured).await;
        assert_eq!(replay, DUPLICATE, "acme's delivery was processed again");
    }

    #[tokio::test]
    async fn tenants_with_their_own_secrets_still_never_share_a_delivery() {
        // `evil` signs, under its own secret, the body `acme` will be sent: each is processed.
        let guarded = Guarded::at("/t/{tenant}", presets::pagerduty(case_insensitive()));
        let body = r#"{"event":{"id":"01DEN1HNLBC1VITYEZLPU2HYNN"}}"#;
        for tenant in ["evil", "acme"] {
            let headers = presets::pagerduty(format!("whsec_{tenant}"))
                .sign_message(&Message::new(body.as_bytes()));
            let path = format!("/t/{tenant}");
            assert_eq!(
                guarded.send_to(&path, &headers, body).await,
                PROCESSED,
                "{tenant}"
            );
        }
        assert_eq!(guarded.calls(), 2);
    }
}

/// Public keys: a sender signing under two keys while one is rotated sends one delivery;
/// its signatures reordered or one dropped are the same delivery. (Nothing can compute a
/// signature under a public key, so the delivery is named by every signature that verified.)
#[cfg(feature = "ed25519")]
mod public_keys {
    use ed25519_dalek::{Signer as _, SigningKey};
    use tower_webhook::scheme::{Ed25519Scheme, SignatureFormat};

    use super::*;

    #[tokio::test]
    async fn ed25519_signatures_reordered_or_dropped_are_the_same_delivery() {
        let (new, old) = (
            SigningKey::from_bytes(&[1; 32]),
            SigningKey::from_bytes(&[2; 32]),
        );
        let scheme = Ed25519Scheme::ed25519(new.verifying_key().as_bytes())
            .unwrap()
            .also_accept(old.verifying_key().as_bytes())
            .unwrap()
            .header("x-signature")
            .signature_format(SignatureFormat::Pairs {
                separator: ',',
                timestamp_key: "t".into(),
                signature_key: "v1".into(),
            })
            .signed_payload("{timestamp}.{body}");
        let guarded = Guarded::new(scheme);
        let body = r#"{"event":"order.paid"}"#;
        let at = support::unix_now();
        let signed = format!("{at}.{body}");
        let sig = |key: &SigningKey| hex::encode(key.sign(signed.as_bytes()).to_bytes());
        let with = |signatures: &[String]| {
            let mut value = format!("t={at}");
            for signature in signatures {
                value.push_str(&format!(",v1={signature}"));
            }
            let mut headers = HeaderMap::new();
            headers.insert("x-signature", header(&value));
            headers
        };
        let (a, b) = (sig(&new), sig(&old));

        assert_eq!(
            guarded.send(&with(&[a.clone(), b.clone()]), body).await,
            PROCESSED
        );
        for replay in [vec![b.clone(), a.clone()], vec![b.clone()], vec![a.clone()]] {
            assert_eq!(
                guarded.send(&with(&replay), body).await,
                DUPLICATE,
                "{replay:?}"
            );
        }
        assert_eq!(guarded.calls(), 1);
    }
}

/// Twilio signs the URL and the sorted, distinct decoded parameters, not the body's bytes:
/// a captured form resent reordered, re-encoded, with a parameter repeated, or with another
/// unsigned idempotency token, is the delivery it was.
#[cfg(feature = "twilio")]
mod twilio {
    use base64::{engine::general_purpose::STANDARD, Engine as _};
    use hmac::{Hmac, Mac as _};

    use super::*;

    const TOKEN: &str = "twilio auth token";

    #[tokio::test]
    async fn a_form_resent_reordered_re_encoded_or_with_a_new_token_is_a_duplicate() {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(TOKEN.as_bytes()).unwrap();
        mac.update(b"https://example.com/hook");
        for (name, value) in [
            ("Body", "pay 10"),
            ("From", "+15551234567"),
            ("MessageSid", "SM1"),
        ] {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
        let signature = STANDARD.encode(mac.finalize().into_bytes());
        let guarded = Guarded::new(presets::twilio(TOKEN, "https://example.com").unwrap());
        let with = |token: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("x-twilio-signature", header(&signature));
            headers.insert("content-type", header("application/x-www-form-urlencoded"));
            headers.insert("i-twilio-idempotency-token", header(token));
            headers
        };
        let signed = "Body=pay+10&From=%2B15551234567&MessageSid=SM1";
        assert_eq!(guarded.send(&with("tok-1"), signed).await, PROCESSED);
        for replay in [
            "MessageSid=SM1&Body=pay+10&From=%2B15551234567",
            "Body=pay%2010&From=%2b15551234567&MessageSid=S%4D1",
            "Body=pay+10&Body=pay+10&From=%2B15551234567&MessageSid=SM1",
        ] {
            assert_eq!(
                guarded.send(&with("tok-2"), replay).await,
                DUPLICATE,
                "{replay}"
            );
        }
        assert_eq!(guarded.calls(), 1);
    }
}

/// ECDSA signatures are malleable: `(r, s)` and `(r, n - s)` both verify. A captured
/// Plaid delivery (an `ES256` JWT) resent with the other `s` is the same delivery.
#[cfg(all(feature = "jwt", feature = "axum"))]
mod plaid {
    use std::time::Duration;

    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    use http::Response;
    use http_body_util::BodyExt as _;
    use serde_json::{json, Value};
    use tower_webhook::{keys::Fetcher, scheme::JwtScheme};

    use super::*;

    /// The order of P-256's group, big-endian.
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];

    fn vectors() -> Value {
        serde_json::from_str(include_str!("vectors/fetched.json")).unwrap()
    }

    /// A local HTTPS host answering Plaid's key endpoint from the vectors; the CA's PEM.
    async fn plaid_key_host() -> (String, String) {
        let ca = support::test_ca("attacks_naming test CA");
        let keys = Arc::new(vectors()["plaid"]["keys"].clone());
        let addr = support::serve_https(&ca, move |request: Request<hyper::body::Incoming>| {
            let keys = Arc::clone(&keys);
            async move {
                let body = request.into_body().collect().await.unwrap().to_bytes();
                let asked: Value = serde_json::from_slice(&body).unwrap();
                let key = keys[asked["key_id"].as_str().unwrap()].clone();
                let answer = json!({"key": key, "request_id": "req"}).to_string();
                Response::new(Full::new(Bytes::from(answer)))
            }
        })
        .await;
        (
            format!("https://{addr}/webhook_verification_key/get"),
            ca.pem(),
        )
    }

    /// `jwt` with its signature's `s` replaced by `n - s`.
    fn other_s(jwt: &str) -> String {
        let (signed, signature) = jwt.rsplit_once('.').unwrap();
        let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let s = &mut signature[32..];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let digit = i16::from(N[i]) - i16::from(s[i]) - borrow;
            borrow = i16::from(digit < 0);
            s[i] = u8::try_from(digit.rem_euclid(256)).unwrap();
        }
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    #[tokio::test]
    async fn an_es256_jwt_resent_with_n_minus_s_is_the_same_delivery() {
        let (url, ca) = plaid_key_host().await;
        let now = vectors()["plaid"]["now"].as_u64().unwrap();
        let scheme = JwtScheme::plaid(
            &url,
            Fetcher::trust_only_pem(&ca)
                .unwrap()
                .timeout(Duration::from_secs(2)),
            "plaid-client",
            "plaid-secret",
        )
        .unwrap()
        .clock(move || std::time::UNIX_EPOCH + Duration::from_secs(now));
        let guarded = Guarded::new(scheme);
        let plaid = &vectors()["plaid"];
        let (jwt, body) = (
            plaid["jwt_key_1"].as_str().unwrap(),
            plaid["body"].as_str().unwrap(),
        );
        let with = |jwt: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("plaid-verification", header(jwt));
            headers
        };
        assert_eq!(guarded.send(&with(jwt), body.to_owned()).await, PROCESSED);
        assert_eq!(
            guarded.send(&with(&other_s(jwt)), body.to_owned()).await,
            DUPLICATE
        );
        assert_eq!(guarded.calls(), 1);
    }
}
