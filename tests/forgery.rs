//! Forgeries and probes by a client that has no secret of the victim, or only its own tenant's,
//! through real axum servers on 127.0.0.1: one tenant's delivery ids against another's, a
//! probe for which tenants exist, unsigned trailers, percent-encoded tenant names, a
//! re-split Standard Webhooks delivery and reordered Twilio parameters.

mod support;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{routing::post, Router};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use support::{is_processed, send};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tower_webhook::{
    presets,
    replay::{MemoryStore, ReplayGuardLayer},
    sign::Message,
    WebhookSignatureLayer,
};

/// A handler that counts its calls and answers `handled`.
fn counting(calls: &Arc<AtomicUsize>) -> axum::routing::MethodRouter {
    let calls = Arc::clone(calls);
    post(move |_body: Bytes| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { "handled" }
    })
}

/// `body` posted to `path` with `headers`.
fn post_to(path: &str, headers: http::HeaderMap, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    let mut request = Request::post(path).body(Full::new(body.into())).unwrap();
    request.headers_mut().extend(headers);
    request
}

/// Reads a response body of `length` bytes from `stream`.
async fn read_body(stream: &mut TcpStream, length: usize) -> Vec<u8> {
    let mut body = vec![0; length];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut body))
        .await
        .expect("the body arrives")
        .unwrap();
    body
}

#[cfg(feature = "keys")]
mod tenants {
    use axum::{extract::Path, Extension};
    use tower_webhook::{
        keys::{FoundKeys, KeyError, KeyName, KeyResolver},
        Verified,
    };

    use super::*;
    use crate::support::is_duplicate;

    /// Tenants `acme` and `evil` at `/t/{tenant}`, each with its own Stripe secret; counts
    /// the lookups.
    fn resolver(lookups: &Arc<AtomicUsize>) -> KeyResolver {
        let lookups = Arc::clone(lookups);
        KeyResolver::from_fn(KeyName::path("/t/{tenant}"), move |tenant: String| {
            lookups.fetch_add(1, Ordering::SeqCst);
            async move {
                let secret = match tenant.as_str() {
                    "acme" => Some("whsec_acme"),
                    "evil" => Some("whsec_evil"),
                    _ => None,
                };
                Ok::<_, KeyError>(secret.map(FoundKeys::new))
            }
        })
    }

    /// A Stripe delivery of `body` to tenant `tenant`, signed now under `secret`.
    fn delivery(tenant: &str, secret: &str, body: &'static str) -> Request<Full<Bytes>> {
        let headers = presets::stripe(secret).sign_message(&Message::new(body.as_bytes()));
        post_to(&format!("/t/{tenant}"), headers, body)
    }

    /// Per-tenant Stripe keys and one replay guard for every tenant, as one would deploy them.
    async fn guarded(calls: &Arc<AtomicUsize>) -> SocketAddr {
        let lookups = Arc::new(AtomicUsize::new(0));
        let route = counting(calls)
            .layer::<_, std::convert::Infallible>(ReplayGuardLayer::new(MemoryStore::new(1000)))
            .layer(WebhookSignatureLayer::new(presets::stripe(resolver(
                &lookups,
            ))));
        support::serve_axum(Router::new().route("/t/{tenant}", route)).await
    }

    /// Tenant `evil` signs, with its own secret, a delivery carrying the event id `acme`'s
    /// real delivery will carry. The guard keeps each tenant's ids apart: `acme`'s delivery
    /// is processed, not answered as a duplicate of `evil`'s.
    #[tokio::test]
    async fn one_tenant_cannot_make_another_tenant_s_delivery_a_duplicate() {
        let calls = Arc::new(AtomicUsize::new(0));
        let addr = guarded(&calls).await;
        const EVENT: &str = r#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

        let planted = send(addr, delivery("evil", "whsec_evil", EVENT)).await;
        assert!(is_processed(&planted), "{planted:?}");
        let real = send(addr, delivery("acme", "whsec_acme", EVENT)).await;
        assert!(
            is_processed(&real),
            "acme's delivery was not processed: {real:?}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        // Within one tenant the guard still works: a retry re-signed later is a duplicate.
        let retry = send(addr, delivery("acme", "whsec_acme", EVENT)).await;
        assert!(is_duplicate(&retry), "{retry:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// `{"id":123}` and `{"id":"123"}` are different events.
    #[tokio::test]
    async fn a_numeric_event_id_is_not_the_string_of_its_digits() {
        let calls = Arc::new(AtomicUsize::new(0));
        let addr = guarded(&calls).await;
        let number = send(addr, delivery("acme", "whsec_acme", r#"{"id":123}"#)).await;
        assert!(is_processed(&number), "{number:?}");
        let string = send(addr, delivery("acme", "whsec_acme", r#"{"id":"123"}"#)).await;
        assert!(is_processed(&string), "{string:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let again = send(addr, delivery("acme", "whsec_acme", r#"{"id":"123"}"#)).await;
        assert!(is_duplicate(&again), "{again:?}");
    }

    /// Only `acme` exists at `/t/{tenant}`; the handler must never run.
    async fn probed() -> (SocketAddr, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let (calls, lookups) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let route = counting(&calls).layer(WebhookSignatureLayer::new(presets::stripe(resolver(
            &lookups,
        ))));
        let addr = support::serve_axum(Router::new().route("/t/{tenant}", route)).await;
        (addr, calls, lookups)
    }

    /// Everything a prober sees for a well-formed, forged request to `tenant` that sends its
    /// head, waits, then sends its 20-byte body: the first answer to the head alone (`None`
    /// for silence), then the final status and body.
    async fn probe(addr: SocketAddr, tenant: &str, expect: bool) -> (Option<u16>, u16, Vec<u8>) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /t/{tenant} HTTP/1.1\r\nhost: test\r\ncontent-length: 20\r\n{}\
             stripe-signature: t={},v1={}\r\n\r\n",
            if expect {
                "expect: 100-continue\r\n"
            } else {
                ""
            },
            support::unix_now(),
            "0".repeat(64)
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let first = support::read_head(&mut stream, Duration::from_millis(500)).await;
        let first_status = first.map(|(status, _)| status);
        let final_head = match first {
            Some((status, length)) if status != 100 => {
                return (first_status, status, read_body(&mut stream, length).await);
            }
            _ => {
                stream.write_all(&[b'x'; 20]).await.unwrap();
                support::read_head(&mut stream, Duration::from_secs(5)).await
            }
        };
        let (status, length) = final_head.expect("a final answer once the body is in");
        (first_status, status, read_body(&mut stream, length).await)
    }

    /// A prober without any secret sends a tenant's route a well-formed head and waits: an
    /// unknown tenant must look exactly like a known one with a wrong signature, both when the
    /// name is looked up and when it is cached. Before: the unknown tenant got `401` at once,
    /// the known one `100 Continue` (or silence) until its body came.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unknown_tenant_is_answered_like_a_known_one_before_its_body() {
        let (addr, calls, lookups) = probed().await;
        for expect in [true, false] {
            for round in ["looked up", "cached"] {
                let known = probe(addr, "acme", expect).await;
                let unknown = probe(addr, "nobody", expect).await;
                let first = if expect { Some(100) } else { None };
                let wrong_signature = (first, 401, b"invalid webhook signature\n".to_vec());
                assert_eq!(known, wrong_signature, "expect: {expect}, {round}");
                assert_eq!(
                    unknown, known,
                    "expect: {expect}, {round}: an unknown tenant"
                );
            }
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(lookups.load(Ordering::SeqCst), 2, "one lookup per name");
    }

    /// The tenant in the path is percent-decoded as axum's `Path` decodes it, so the keys are
    /// those of the tenant the handler sees, and a replay under another spelling of the same
    /// name is the same delivery.
    #[tokio::test]
    async fn percent_encoded_tenant_names_are_the_tenant_axum_routes_to() {
        let (calls, lookups) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let handler = post(
            move |Path(tenant): Path<String>, Extension(verified): Extension<Verified>| {
                calls.fetch_add(1, Ordering::SeqCst);
                let key_id = verified.key_id().map(str::to_owned);
                record.lock().unwrap().push((tenant, key_id));
                async { "handled" }
            },
        )
        .layer::<_, std::convert::Infallible>(ReplayGuardLayer::new(MemoryStore::new(100)))
        .layer(WebhookSignatureLayer::new(presets::stripe(resolver(
            &lookups,
        ))));
        let addr = support::serve_axum(Router::new().route("/t/{tenant}", handler)).await;

        const EVENT: &str = r#"{"id":"evt_encoded"}"#;
        let encoded = send(addr, delivery("%61cm%65", "whsec_acme", EVENT)).await;
        assert!(is_processed(&encoded), "{encoded:?}");
        assert_eq!(
            *seen.lock().unwrap(),
            vec![("acme".to_owned(), Some("acme".to_owned()))],
            "the router's tenant and the keys' name"
        );
        let plain = send(addr, delivery("acme", "whsec_acme", EVENT)).await;
        assert!(is_duplicate(&plain), "{plain:?}");
        assert_eq!(lookups.load(Ordering::SeqCst), 1, "one name, one lookup");

        // A segment that decodes to something no name may hold names nothing: no lookup.
        for tenant in ["ac%20me", "%00acme", "acm%C3%A9", "%FF"] {
            let refused = send(addr, delivery(tenant, "whsec_acme", EVENT)).await;
            assert_eq!(refused.0, StatusCode::UNAUTHORIZED, "{tenant}");
        }
        assert_eq!(lookups.load(Ordering::SeqCst), 1);
        assert_eq!(seen.lock().unwrap().len(), 1);
    }
}

/// A chunked request's trailers come after the signed bytes and no sender signs them: the
/// handler does not see them unless the layer is told to keep them.
#[tokio::test]
async fn unsigned_trailers_of_a_chunked_request_do_not_reach_the_handler() {
    const SECRET: &str = "trailer-secret";
    const BODY: &str = r#"{"event":"payout.created","amount":100}"#;
    let app = |layer: WebhookSignatureLayer<tower_webhook::HmacScheme>| {
        let handler = post(|request: Request<axum::body::Body>| async move {
            let collected = request.into_body().collect().await.unwrap();
            let trailers = collected.trailers().cloned();
            let body = collected.to_bytes();
            let amount = trailers
                .as_ref()
                .and_then(|t| t.get("x-amount"))
                .map(|v| v.to_str().unwrap().to_owned());
            format!("{} bytes, trailer {amount:?}", body.len())
        })
        .layer(layer);
        Router::new().route("/hook", handler)
    };
    let chunked = |addr: SocketAddr| async move {
        let signature = presets::loopwise(SECRET).sign(BODY.as_bytes());
        let request = format!(
            "POST /hook HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\
             trailer: x-amount\r\nloopwise-webhook-signature: {signature}\r\n\r\n\
             {:x}\r\n{BODY}\r\n0\r\nx-amount: 1000000\r\n\r\n",
            BODY.len()
        );
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let (status, length) = support::read_head(&mut stream, Duration::from_secs(5))
            .await
            .expect("an answer");
        let body = read_body(&mut stream, length).await;
        (status, String::from_utf8(body).unwrap())
    };

    let dropped = support::serve_axum(app(WebhookSignatureLayer::new(presets::loopwise(SECRET))));
    let (status, answer) = chunked(dropped.await).await;
    assert_eq!(status, 200);
    assert_eq!(answer, format!("{} bytes, trailer None", BODY.len()));

    let kept = support::serve_axum(app(
        WebhookSignatureLayer::new(presets::loopwise(SECRET)).keep_trailers()
    ));
    let (status, answer) = chunked(kept.await).await;
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        format!("{} bytes, trailer Some(\"1000000\")", BODY.len())
    );
}

/// Standard Webhooks signs `{id}.{timestamp}.{body}`. A captured delivery whose body holds
/// `.<digits>.` (a note the attacker typed into an order, say) can be re-split: the old id,
/// timestamp and start of the body become a new id, the digits a fresh timestamp, the rest the
/// body. The signed bytes are the same, so the signature holds; the id is new to the guard and
/// the timestamp new to the window. Ids are limited to what senders send, so it is refused.
#[tokio::test]
async fn a_re_split_standard_webhooks_delivery_is_refused() {
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let calls = Arc::new(AtomicUsize::new(0));
    let route = counting(&calls)
        .layer::<_, std::convert::Infallible>(ReplayGuardLayer::new(MemoryStore::new(100)))
        .layer(WebhookSignatureLayer::new(
            presets::standard_webhooks(SECRET).unwrap(),
        ));
    let addr = support::serve_axum(Router::new().route("/hook", route)).await;
    let scheme = presets::standard_webhooks(SECRET).unwrap();
    let now = support::unix_now();

    // Sent an hour ago (too old to replay as is), or just now (processed once).
    for (sent, processed) in [(now - 3600, false), (now, true)] {
        let body = format!(r#"{{"order":"o_1","note":"x.{now}.y"}}"#);
        let headers =
            scheme.sign_message(&Message::new(body.as_bytes()).id("msg_1").timestamp(sent));
        let original = send(addr, post_to("/hook", headers.clone(), body.clone())).await;
        assert_eq!(is_processed(&original), processed, "{original:?}");

        let (head, tail) = body.split_once(&format!(".{now}.")).unwrap();
        let mut re_split = headers;
        re_split.insert(
            "webhook-id",
            format!("msg_1.{sent}.{head}").parse().unwrap(),
        );
        re_split.insert("webhook-timestamp", now.to_string().parse().unwrap());
        let forged = send(addr, post_to("/hook", re_split, tail.to_owned())).await;
        assert_eq!(forged.0, StatusCode::UNAUTHORIZED, "{forged:?}");
        assert_eq!(forged.2, "malformed webhook signature\n");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "only the real delivery ran"
    );
}

/// Twilio signs the sorted, distinct decoded parameters: a captured form can be reordered and
/// a repeated parameter duplicated. With `refuse_repeated_parameters`, a form whose names
/// repeat is refused before the handler sees it.
#[cfg(feature = "twilio")]
#[tokio::test]
async fn twilio_forms_with_repeated_names_are_refused_when_asked() {
    use base64::{engine::general_purpose::STANDARD, Engine as _};
    use hmac::{Hmac, Mac};

    const TOKEN: &str = "twilio-token";
    const BASE: &str = "https://example.com";
    // Twilio's signature: the URL, then each distinct decoded pair sorted, without separators.
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(TOKEN.as_bytes()).unwrap();
    mac.update(format!("{BASE}/sms").as_bytes());
    for (name, value) in [("Body", "hi"), ("To", "+1"), ("To", "+2")] {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    let form = |body: &'static str| {
        Request::post("/sms")
            .header("x-twilio-signature", signature.as_str())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    };
    let serve = |scheme: tower_webhook::scheme::TwilioScheme| {
        let route = post(|body: Bytes| async move { body });
        support::serve_axum(
            Router::new().route("/sms", route.layer(WebhookSignatureLayer::new(scheme))),
        )
    };
    const SIGNED: &str = "Body=hi&To=%2B1&To=%2B2";
    const REORDERED: &str = "To=%2B2&Body=hi&To=%2B1&To=%2B2";

    let lenient = serve(presets::twilio(TOKEN, BASE).unwrap()).await;
    for body in [SIGNED, REORDERED] {
        let answer = send(lenient, form(body)).await;
        assert_eq!((answer.0, &answer.2[..]), (StatusCode::OK, body.as_bytes()));
    }
    let strict = serve(
        presets::twilio(TOKEN, BASE)
            .unwrap()
            .refuse_repeated_parameters(),
    )
    .await;
    for body in [SIGNED, REORDERED] {
        let answer = send(strict, form(body)).await;
        assert_eq!(answer.0, StatusCode::UNAUTHORIZED, "{body}");
    }
}
