//! Attacks on delivery scope tags: with keys resolved per request, an HMAC scheme's event
//! or message id is also named within a tag each of the tenant's keys makes of a fixed label
//! (`Verified::delivery_ids`). With no secret (a captured delivery), or with a tenant's own
//! secret: make a delivery processed twice (rotation, key order, respelled names, fixed vs
//! resolved keys, edited unsigned header ids), make one tenant's deliveries suppress
//! another's, or make the extra names cost out of proportion to the keys a tenant has.
#![cfg(feature = "keys")]

mod support;

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex,
};

use axum::{routing::post, Extension, Router};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt};
use tower_webhook::{
    keys::{FoundKeys, KeyError, KeyName, KeyResolver},
    presets,
    replay::{MemoryStore, ReplayGuardLayer},
    scheme::Scheme,
    sign::Message,
    Verified, WebhookSignatureLayer,
};

const PROCESSED: (StatusCode, bool) = (StatusCode::OK, false);
const DUPLICATE: (StatusCode, bool) = (StatusCode::OK, true);

/// Routes behind one shared replay store, each with its own scheme, and a handler that
/// counts its calls and records how many names each delivery had.
struct Guarded {
    app: Router,
    calls: Arc<AtomicUsize>,
    names: Arc<Mutex<Vec<usize>>>,
    guard: ReplayGuardLayer<MemoryStore>,
}

impl Guarded {
    fn new() -> Self {
        Self {
            app: Router::new(),
            calls: Arc::default(),
            names: Arc::default(),
            guard: ReplayGuardLayer::new(MemoryStore::new(10_000)),
        }
    }

    /// Adds the route `path` verified by `scheme`, behind the shared replay guard.
    fn route<S>(mut self, path: &str, scheme: S) -> Self
    where
        S: Scheme + Clone + Send + Sync + 'static,
        S::Verifier: Send + 'static,
    {
        let calls = Arc::clone(&self.calls);
        let names = Arc::clone(&self.names);
        let handler = post(move |Extension(verified): Extension<Verified>| {
            let calls = Arc::clone(&calls);
            let names = Arc::clone(&names);
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                names.lock().unwrap().push(verified.delivery_ids().len());
                "handled"
            }
        });
        let layers = ServiceBuilder::new()
            .layer(WebhookSignatureLayer::new(scheme))
            .layer(self.guard.clone());
        self.app = self.app.route(path, handler.layer(layers));
        self
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    async fn send(&self, path: &str, headers: &HeaderMap, body: &str) -> (StatusCode, bool) {
        let mut request = Request::post(path)
            .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
            .unwrap();
        *request.headers_mut() = headers.clone();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let duplicate = response.headers().contains_key("webhook-duplicate");
        (response.status(), duplicate)
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A resolver at `/t/{tenant}`, ignoring case, whose answer for `acme` the test changes
/// between requests (a key added or removed). Each new spelling is a new cache entry, so
/// it sees the keys as they are when it is first asked.
fn changing(keys: Arc<Mutex<Vec<&'static str>>>) -> KeyResolver {
    KeyResolver::from_fn(KeyName::path("/t/{tenant}"), move |tenant: String| {
        let keys = Arc::clone(&keys);
        async move {
            let found = match tenant.to_ascii_lowercase().as_str() {
                "acme" => {
                    let keys = keys.lock().unwrap().clone();
                    let mut iter = keys.into_iter();
                    iter.next()
                        .map(|first| iter.fold(FoundKeys::new(first), FoundKeys::and))
                }
                "evil" => Some(FoundKeys::new("whsec_evil")),
                _ => None,
            };
            Ok::<_, KeyError>(found)
        }
    })
}

fn stripe_signed(secret: &str, event: &str, timestamp: u64) -> HeaderMap {
    presets::stripe(secret).sign_message(&Message::new(event.as_bytes()).timestamp(timestamp))
}

const EVENT: &str = r#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

/// Rotation: the tenant's keys go from `[old]` to `[new, old]` (or `[old, new]`), and the
/// sender's retry, re-signed under the new key, arrives under another spelling. The old
/// key's scope tag is still in the set, so the retry is the same delivery.
#[tokio::test]
async fn a_re_signed_retry_during_rotation_in_either_order_is_a_duplicate() {
    let keys = Arc::new(Mutex::new(vec!["whsec_old"]));
    let guarded = Guarded::new().route("/t/{tenant}", presets::stripe(changing(Arc::clone(&keys))));
    let t = now();
    let original = stripe_signed("whsec_old", EVENT, t - 120);
    assert_eq!(guarded.send("/t/acme", &original, EVENT).await, PROCESSED);

    *keys.lock().unwrap() = vec!["whsec_new", "whsec_old"];
    let retry = stripe_signed("whsec_new", EVENT, t - 60);
    assert_eq!(guarded.send("/t/ACME", &retry, EVENT).await, DUPLICATE);

    *keys.lock().unwrap() = vec!["whsec_old", "whsec_new"];
    let retry = stripe_signed("whsec_new", EVENT, t);
    assert_eq!(guarded.send("/t/Acme", &retry, EVENT).await, DUPLICATE);
    // And the original captured bytes under yet another spelling, old key now second.
    assert_eq!(guarded.send("/t/aCME", &original, EVENT).await, DUPLICATE);
    assert_eq!(guarded.calls(), 1);
}

/// Rotation the other way: the original arrived while both keys were accepted, the retry
/// after the old key was removed: the new key's tag was recorded with the original.
#[tokio::test]
async fn a_re_signed_retry_after_the_old_key_is_removed_is_a_duplicate() {
    let keys = Arc::new(Mutex::new(vec!["whsec_new", "whsec_old"]));
    let guarded = Guarded::new().route("/t/{tenant}", presets::stripe(changing(Arc::clone(&keys))));
    let t = now();
    // Signed under the old key (the sender had not switched yet).
    let original = stripe_signed("whsec_old", EVENT, t - 60);
    assert_eq!(guarded.send("/t/acme", &original, EVENT).await, PROCESSED);
    *keys.lock().unwrap() = vec!["whsec_new"];
    let retry = stripe_signed("whsec_new", EVENT, t);
    assert_eq!(guarded.send("/t/ACME", &retry, EVENT).await, DUPLICATE);
    assert_eq!(guarded.calls(), 1);
}

/// The key set replaced outright between the original and the sender's retry (no overlap
/// seen by the receiver), and the retry arrives under another spelling: no name links the
/// old key's tag to the new one's.
#[tokio::test]
#[ignore = "broke (narrow): keys replaced with no overlap the receiver saw ([old] then [new]), \
            and the sender's re-signed retry resent under another spelling of the tenant, is \
            processed again: the scope tags of disjoint key sets share nothing, and the \
            spelling-scoped id differs. Needs a canonical tenant name from the source \
            (e.g. FoundKeys carrying the name it was stored under) to scope by instead"]
async fn a_re_signed_retry_after_keys_were_replaced_under_another_spelling_is_a_duplicate() {
    let keys = Arc::new(Mutex::new(vec!["whsec_old"]));
    let guarded = Guarded::new().route("/t/{tenant}", presets::stripe(changing(Arc::clone(&keys))));
    let t = now();
    let original = stripe_signed("whsec_old", EVENT, t - 60);
    assert_eq!(guarded.send("/t/acme", &original, EVENT).await, PROCESSED);
    *keys.lock().unwrap() = vec!["whsec_new"];
    let retry = stripe_signed("whsec_new", EVENT, t);
    assert_eq!(guarded.send("/t/ACME", &retry, EVENT).await, DUPLICATE);
    assert_eq!(guarded.calls(), 1);
}

/// The same, under the same spelling: the tenant's name scopes the event id, so it holds.
#[tokio::test]
async fn a_re_signed_retry_after_keys_were_replaced_under_the_same_spelling_is_a_duplicate() {
    let keys = Arc::new(Mutex::new(vec!["whsec_old"]));
    let resolver = changing(Arc::clone(&keys));
    let guarded = Guarded::new().route("/t/{tenant}", presets::stripe(resolver.clone()));
    let t = now();
    let original = stripe_signed("whsec_old", EVENT, t - 60);
    assert_eq!(guarded.send("/t/acme", &original, EVENT).await, PROCESSED);
    *keys.lock().unwrap() = vec!["whsec_new"];
    resolver.invalidate("acme");
    let retry = stripe_signed("whsec_new", EVENT, t);
    assert_eq!(guarded.send("/t/acme", &retry, EVENT).await, DUPLICATE);
    assert_eq!(guarded.calls(), 1);
}

/// A tenant holding its own secret signs another tenant's event id, Standard Webhooks
/// message id, or GitHub delivery id, first: the other tenant's genuine delivery is still
/// processed (its keys make other tags).
#[tokio::test]
async fn a_tenant_s_own_deliveries_never_suppress_another_tenant_s() {
    const ACME: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const EVIL: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let standard =
        KeyResolver::from_fn(KeyName::path("/s/{tenant}"), |tenant: String| async move {
            let found = match tenant.to_ascii_lowercase().as_str() {
                "acme" => Some(FoundKeys::new(ACME)),
                "evil" => Some(FoundKeys::new(EVIL)),
                _ => None,
            };
            Ok::<_, KeyError>(found)
        });
    let github = KeyResolver::from_fn(KeyName::path("/g/{tenant}"), |tenant: String| async move {
        let found = match tenant.to_ascii_lowercase().as_str() {
            "acme" => Some(FoundKeys::new("gh_acme")),
            "evil" => Some(FoundKeys::new("gh_evil")),
            _ => None,
        };
        Ok::<_, KeyError>(found)
    });
    let keys = Arc::new(Mutex::new(vec!["whsec_acme"]));
    let guarded = Guarded::new()
        .route("/t/{tenant}", presets::stripe(changing(keys)))
        .route("/s/{tenant}", presets::standard_webhooks(standard).unwrap())
        .route("/g/{tenant}", presets::github(github));

    // Stripe: evil signs acme's event id under every spelling it likes.
    let t = now();
    let evil = stripe_signed("whsec_evil", EVENT, t - 1);
    assert_eq!(guarded.send("/t/evil", &evil, EVENT).await, PROCESSED);
    // Its own re-signed retry under another spelling is its own duplicate.
    let evil = stripe_signed("whsec_evil", EVENT, t);
    assert_eq!(guarded.send("/t/EVIL", &evil, EVENT).await, DUPLICATE);
    let acme = stripe_signed("whsec_acme", EVENT, now());
    assert_eq!(guarded.send("/t/acme", &acme, EVENT).await, PROCESSED);

    // Standard Webhooks: evil signs acme's message id.
    let body = r#"{"type":"invoice.paid"}"#;
    let msg = Message::new(body.as_bytes()).id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
    let evil = presets::standard_webhooks(EVIL).unwrap().sign_message(&msg);
    assert_eq!(guarded.send("/s/evil", &evil, body).await, PROCESSED);
    let acme = presets::standard_webhooks(ACME).unwrap().sign_message(&msg);
    assert_eq!(guarded.send("/s/acme", &acme, body).await, PROCESSED);

    // GitHub: evil sends acme's (unsigned) delivery GUID, and even acme's body.
    let body = r#"{"action":"opened"}"#;
    let guid = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
    let with_guid = |secret: &str| {
        let mut headers = presets::github(secret).sign_message(&Message::new(body.as_bytes()));
        headers.insert("x-github-delivery", HeaderValue::from_static(guid));
        headers
    };
    assert_eq!(
        guarded.send("/g/evil", &with_guid("gh_evil"), body).await,
        PROCESSED
    );
    assert_eq!(
        guarded.send("/g/acme", &with_guid("gh_acme"), body).await,
        PROCESSED
    );
    // Evil's Stripe, Standard Webhooks and GitHub deliveries, and acme's three.
    assert_eq!(guarded.calls(), 6);
}

/// GitHub's delivery GUID is not signed: a captured delivery resent under another spelling
/// with the GUID edited is still a duplicate (its signature), and the edited GUID is not
/// recorded by the duplicate, so the genuine delivery that later carries it is processed.
#[tokio::test]
async fn an_edited_github_delivery_id_under_another_spelling_neither_replays_nor_suppresses() {
    let github = KeyResolver::from_fn(KeyName::path("/g/{tenant}"), |tenant: String| async move {
        let found = tenant
            .eq_ignore_ascii_case("acme")
            .then(|| FoundKeys::new("gh_acme"));
        Ok::<_, KeyError>(found)
    });
    let guarded = Guarded::new().route("/g/{tenant}", presets::github(github));
    let signed = |body: &str, guid: &'static str| {
        let mut headers = presets::github("gh_acme").sign_message(&Message::new(body.as_bytes()));
        headers.insert("x-github-delivery", HeaderValue::from_static(guid));
        headers
    };
    let body = r#"{"action":"opened","number":1}"#;
    let captured = signed(body, "11111111-cc78-11e3-81ab-4c9367dc0958");
    assert_eq!(guarded.send("/g/acme", &captured, body).await, PROCESSED);

    let mut edited = captured.clone();
    let next = "22222222-cc78-11e3-81ab-4c9367dc0958";
    edited.insert("x-github-delivery", HeaderValue::from_static(next));
    for spelling in ["/g/ACME", "/g/Acme", "/g/%61cme"] {
        assert_eq!(
            guarded.send(spelling, &edited, body).await,
            DUPLICATE,
            "{spelling}"
        );
    }
    assert_eq!(guarded.calls(), 1);
    // The genuine delivery that carries that GUID (another body) is processed.
    let other = r#"{"action":"closed","number":1}"#;
    assert_eq!(
        guarded.send("/g/acme", &signed(other, next), other).await,
        PROCESSED
    );
    assert_eq!(guarded.calls(), 2);
}

/// Two tenants given the same secret: a captured delivery to one resent to the other
/// verifies, and must be a duplicate (its signature names it outside either tenant).
#[tokio::test]
async fn a_captured_delivery_resent_to_a_tenant_sharing_the_secret_is_a_duplicate() {
    let shared = KeyResolver::from_fn(KeyName::path("/t/{tenant}"), |tenant: String| async move {
        let found = matches!(tenant.as_str(), "acme" | "acme-eu").then(|| FoundKeys::new("same"));
        Ok::<_, KeyError>(found)
    });
    let guarded = Guarded::new()
        .route("/t/{tenant}", presets::stripe(shared.clone()))
        .route(
            "/g/{tenant}",
            presets::github(KeyResolver::from_fn(
                KeyName::path("/g/{tenant}"),
                |tenant: String| async move {
                    let found = matches!(tenant.as_str(), "acme" | "acme-eu")
                        .then(|| FoundKeys::new("same"));
                    Ok::<_, KeyError>(found)
                },
            )),
        );
    let captured = stripe_signed("same", EVENT, now());
    assert_eq!(guarded.send("/t/acme", &captured, EVENT).await, PROCESSED);
    assert_eq!(
        guarded.send("/t/acme-eu", &captured, EVENT).await,
        DUPLICATE
    );

    let body = r#"{"action":"opened"}"#;
    let mut headers = presets::github("same").sign_message(&Message::new(body.as_bytes()));
    headers.insert(
        "x-github-delivery",
        HeaderValue::from_static("33333333-cc78-11e3-81ab-4c9367dc0958"),
    );
    assert_eq!(guarded.send("/g/acme", &headers, body).await, PROCESSED);
    headers.insert(
        "x-github-delivery",
        HeaderValue::from_static("44444444-cc78-11e3-81ab-4c9367dc0958"),
    );
    assert_eq!(guarded.send("/g/acme-eu", &headers, body).await, DUPLICATE);
    assert_eq!(guarded.calls(), 2);
}

/// One secret served both by a route with fixed keys (the single-tenant endpoint, kept
/// while migrating) and by a route resolving keys per tenant, behind one replay store: the
/// captured delivery resent to the other route, either way, must be a duplicate. For Stripe
/// (event id in the body) and Standard Webhooks (signed message id).
#[tokio::test]
async fn a_captured_delivery_moved_between_fixed_and_resolved_keys_is_a_duplicate() {
    const SW: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let tenant = |path: &'static str, key: &'static str| {
        KeyResolver::from_fn(KeyName::path(path), move |tenant: String| async move {
            Ok::<_, KeyError>((tenant == "acme").then(|| FoundKeys::new(key)))
        })
    };
    let captured = stripe_signed("whsec_acme", EVENT, now());
    let body = r#"{"type":"invoice.paid"}"#;
    let message = Message::new(body.as_bytes()).id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
    let sw = presets::standard_webhooks(SW)
        .unwrap()
        .sign_message(&message);
    let mut outcomes = Vec::new();
    for (first, then) in [("/hook", "/t/acme"), ("/t/acme", "/hook")] {
        let guarded = Guarded::new()
            .route("/hook", presets::stripe("whsec_acme"))
            .route(
                "/t/{tenant}",
                presets::stripe(tenant("/t/{tenant}", "whsec_acme")),
            );
        assert_eq!(guarded.send(first, &captured, EVENT).await, PROCESSED);
        outcomes.push(("stripe", then, guarded.send(then, &captured, EVENT).await));
    }
    for (first, then) in [("/hook", "/s/acme"), ("/s/acme", "/hook")] {
        let guarded = Guarded::new()
            .route("/hook", presets::standard_webhooks(SW).unwrap())
            .route(
                "/s/{tenant}",
                presets::standard_webhooks(tenant("/s/{tenant}", SW)).unwrap(),
            );
        assert_eq!(guarded.send(first, &sw, body).await, PROCESSED);
        outcomes.push((
            "standard_webhooks",
            then,
            guarded.send(then, &sw, body).await,
        ));
    }
    assert!(
        outcomes.iter().all(|(_, _, outcome)| *outcome == DUPLICATE),
        "processed twice: {outcomes:?}"
    );
}

/// Many keys per tenant: the names a delivery gets grow with the tenant's key count (which
/// the operator's source sets, not a request), linearly: a few per key, never per key pair.
#[tokio::test]
async fn names_per_delivery_grow_linearly_with_the_tenant_s_keys() {
    const KEYS: usize = 64;
    let secrets: Vec<String> = (0..KEYS).map(|n| format!("whsec_{n}")).collect();
    let secrets = Arc::new(secrets);
    let found = Arc::clone(&secrets);
    let resolver = KeyResolver::from_fn(KeyName::path("/t/{tenant}"), move |_tenant: String| {
        let secrets = Arc::clone(&found);
        async move {
            let mut iter = secrets.iter();
            let first = FoundKeys::new(iter.next().unwrap());
            Ok::<_, KeyError>(Some(iter.fold(first, FoundKeys::and)))
        }
    });
    let github = KeyResolver::from_fn(KeyName::path("/g/{tenant}"), {
        let secrets = Arc::clone(&secrets);
        move |_tenant: String| {
            let secrets = Arc::clone(&secrets);
            async move {
                let mut iter = secrets.iter();
                let first = FoundKeys::new(iter.next().unwrap());
                Ok::<_, KeyError>(Some(iter.fold(first, FoundKeys::and)))
            }
        }
    });
    let guarded = Guarded::new()
        .route("/t/{tenant}", presets::stripe(resolver))
        .route("/g/{tenant}", presets::github(github));
    // Signed under the last key (the most names: every key tried).
    let headers = stripe_signed(&secrets[KEYS - 1], EVENT, now());
    assert_eq!(guarded.send("/t/acme", &headers, EVENT).await, PROCESSED);
    let body = r#"{"action":"opened"}"#;
    let mut headers =
        presets::github(secrets[KEYS - 1].as_str()).sign_message(&Message::new(body.as_bytes()));
    headers.insert(
        "x-github-delivery",
        HeaderValue::from_static("55555555-cc78-11e3-81ab-4c9367dc0958"),
    );
    assert_eq!(guarded.send("/g/acme", &headers, body).await, PROCESSED);
    let names = guarded.names.lock().unwrap().clone();
    assert_eq!(names.len(), 2);
    for count in names {
        assert!(count <= 4 * KEYS + 4, "{count} names for {KEYS} keys");
    }
}

/// No secret: a forged delivery (valid JSON with an event id, wrong signature) to an
/// existing tenant and to a made-up one get the same status and headers; the scope tags
/// play no part before the signature verifies.
#[tokio::test]
async fn a_forged_delivery_tells_no_tenant_apart() {
    let keys = Arc::new(Mutex::new(vec!["whsec_acme"]));
    let guarded = Guarded::new().route("/t/{tenant}", presets::stripe(changing(keys)));
    let forged = stripe_signed("not the secret", EVENT, now());
    let mut seen = Vec::new();
    for path in ["/t/acme", "/t/ACME", "/t/nobody"] {
        let mut request = Request::post(path)
            .body(Full::new(Bytes::from_static(EVENT.as_bytes())))
            .unwrap();
        *request.headers_mut() = forged.clone();
        let response = guarded.app.clone().oneshot(request).await.unwrap();
        let mut names: Vec<String> = response
            .headers()
            .keys()
            .map(|name| name.as_str().to_owned())
            .collect();
        names.sort();
        seen.push((response.status(), names));
    }
    assert_eq!(seen[0].0, StatusCode::UNAUTHORIZED, "{seen:?}");
    assert!(seen.windows(2).all(|pair| pair[0] == pair[1]), "{seen:?}");
    assert_eq!(guarded.calls(), 0);
}
