//! The layer as a tower citizen: Clone + Send + Sync, back-pressure preserved, the instance
//! driven ready is the one called, and it composes with other layers.

mod support;

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll, Waker},
    time::Duration,
};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use support::{body_bytes, Recorder};
use tower::{limit::ConcurrencyLimitLayer, Layer, Service, ServiceBuilder, ServiceExt};
use tower_webhook::{
    body::{BufferedBody, ResponseBody},
    presets,
    verify::WebhookSignature,
    HmacScheme, WebhookSignatureLayer,
};

const SECRET: &str = "compose-secret";

fn signed(body: &'static str) -> Request<String> {
    Request::post("/")
        .header(
            "loopwise-webhook-signature",
            presets::loopwise(SECRET).sign(body.as_bytes()),
        )
        .body(body.to_owned())
        .unwrap()
}

fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
fn assert_send<T: Send>(_: &T) {}

#[test]
fn layer_and_service_are_clone_send_sync_and_the_future_is_send() {
    assert_shareable::<WebhookSignatureLayer<HmacScheme>>();
    assert_shareable::<WebhookSignature<Recorder, HmacScheme>>();
    let mut service = WebhookSignatureLayer::new(presets::loopwise(SECRET)).layer(Recorder::new());
    let future = service.call(signed("x"));
    assert_send(&future);
}

/// An inner service that is not ready until its gate opens.
#[derive(Clone)]
struct Gate {
    open: Arc<AtomicBool>,
    inner: Recorder,
}

impl Service<Request<BufferedBody>> for Gate {
    type Response = Response<http_body_util::Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if self.open.load(Ordering::SeqCst) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    fn call(&mut self, request: Request<BufferedBody>) -> Self::Future {
        Box::pin(self.inner.call(request))
    }
}

#[test]
fn poll_ready_is_the_inner_service_s() {
    let open = Arc::new(AtomicBool::new(false));
    let gate = Gate {
        open: Arc::clone(&open),
        inner: Recorder::new(),
    };
    let mut service = WebhookSignatureLayer::new(presets::loopwise(SECRET)).layer(gate);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(Service::<Request<String>>::poll_ready(&mut service, &mut cx).is_pending());
    open.store(true, Ordering::SeqCst);
    assert!(matches!(
        Service::<Request<String>>::poll_ready(&mut service, &mut cx),
        Poll::Ready(Ok(()))
    ));
}

#[tokio::test]
async fn the_instance_driven_ready_is_the_one_called() {
    // ConcurrencyLimit hands out its permit in poll_ready and panics if `call` comes on an
    // instance that has none: calling a fresh clone instead of the ready one would panic here.
    let recorder = Recorder::new();
    let mut service = ServiceBuilder::new()
        .layer(WebhookSignatureLayer::new(presets::loopwise(SECRET)))
        .layer(ConcurrencyLimitLayer::new(1))
        .service(recorder.clone());
    for body in ["one", "two", "three"] {
        let ready = ServiceExt::<Request<String>>::ready(&mut service)
            .await
            .unwrap();
        let response = ready.call(signed(body)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let bodies: Vec<Bytes> = recorder.seen().into_iter().map(|s| s.body).collect();
    assert_eq!(bodies, ["one", "two", "three"]);
}

/// A body that sends one frame and then never another.
struct Stalled(bool);

impl Body for Stalled {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Pending
        } else {
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"{\"slow\":")))))
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_timeout_layer_outside_bounds_a_slow_body() {
    let recorder = Recorder::new();
    let service = ServiceBuilder::new()
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(10),
        ))
        .layer(WebhookSignatureLayer::new(presets::loopwise(SECRET)))
        .service(recorder.clone());
    let request = Request::post("/")
        .header(
            "loopwise-webhook-signature",
            presets::loopwise(SECRET).sign(b"{\"slow\":1}"),
        )
        .body(Stalled(false))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert!(body_bytes(response.into_body()).await.is_empty());
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn stacks_with_trace_layer_and_map_request() {
    let recorder = Recorder::new();
    let service = ServiceBuilder::new()
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .map_request(|mut request: Request<String>| {
            request
                .headers_mut()
                .insert("x-added-outside", "yes".parse().unwrap());
            request
        })
        .layer(WebhookSignatureLayer::new(presets::loopwise(SECRET)))
        .service(recorder.clone());
    let response = service.clone().oneshot(signed("traced")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let seen = recorder.only();
    assert_eq!(seen.body, "traced");
    assert_eq!(seen.headers["x-added-outside"], "yes");

    let mut bad = signed("traced");
    *bad.body_mut() = "tampered".to_owned();
    let response = service.oneshot(bad).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(recorder.calls(), 1);
}

#[test]
fn response_body_default_is_empty() {
    let body = ResponseBody::<BufferedBody>::default();
    assert!(body.is_end_stream());
    assert_eq!(body.size_hint().exact(), Some(0));
}
