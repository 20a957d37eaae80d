//! The body size limit, enforced before reading (by `Content-Length` and size hint) and while
//! reading (frame by frame), and body failures.

mod support;

use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use support::{run_through, Endless, Frames, MustNotRead, Recorder};
use tower_webhook::{presets, verify::DEFAULT_MAX_BODY_SIZE, HmacScheme, WebhookSignatureLayer};

const SECRET: &str = "limits-secret";

fn scheme() -> HmacScheme {
    presets::loopwise(SECRET)
}

fn request<B>(body_for_signature: &[u8], body: B) -> Request<B> {
    Request::post("/")
        .header(
            "loopwise-webhook-signature",
            scheme().sign(body_for_signature),
        )
        .body(body)
        .unwrap()
}

async fn run<B>(limit: Option<usize>, request: Request<B>) -> (StatusCode, Bytes, Recorder)
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut layer = WebhookSignatureLayer::new(scheme());
    if let Some(limit) = limit {
        layer = layer.max_body_size(limit);
    }
    let out = run_through(layer, request).await;
    (out.status, out.body, out.recorder)
}

#[tokio::test]
async fn content_length_over_the_limit_is_413_before_the_body_is_read() {
    let mut request = request(b"", MustNotRead);
    request
        .headers_mut()
        .insert("content-length", "1001".parse().unwrap());
    let (status, body, recorder) = run(Some(1000), request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body, "request body too large\n");
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn size_hint_over_the_limit_is_413_before_the_body_is_read() {
    let frames = Frames::chunks([vec![b'a'; 1001]]).with_exact_hint(1001);
    let polled = frames.polled();
    let (status, _, recorder) = run(Some(1000), request(b"", frames)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(polled.load(Ordering::SeqCst), 0);
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn endless_body_is_cut_off_as_soon_as_it_passes_the_limit() {
    let body = Endless::new(100);
    let polled = body.polled.clone();
    let (status, _, recorder) = run(Some(1000), request(b"", body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Ten frames fit; the eleventh passes the limit; nothing after it is read.
    assert_eq!(polled.load(Ordering::SeqCst), 11);
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn chunked_body_of_exactly_the_limit_is_accepted_and_one_more_byte_is_not() {
    let body = vec![b'z'; 1000];
    let (status, _, recorder) = run(Some(1000), request(&body, Frames::split(&body, 64))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(recorder.only().body, body);

    let body = vec![b'z'; 1001];
    let (status, _, recorder) = run(Some(1000), request(&body, Frames::split(&body, 64))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn default_limit_is_two_mebibytes() {
    assert_eq!(DEFAULT_MAX_BODY_SIZE, 2 * 1024 * 1024);
    let body = vec![b'm'; DEFAULT_MAX_BODY_SIZE];
    let (status, _, recorder) = run(None, request(&body, Frames::split(&body, 16 * 1024))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(recorder.only().body.len(), DEFAULT_MAX_BODY_SIZE);

    let body = vec![b'm'; DEFAULT_MAX_BODY_SIZE + 1];
    let (status, _, recorder) = run(None, request(&body, Frames::split(&body, 16 * 1024))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn zero_limit_accepts_only_empty_bodies() {
    let (status, _, recorder) = run(Some(0), request(b"", Full::new(Bytes::new()))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(recorder.calls(), 1);
    let (status, _, _) = run(Some(0), request(b"x", Frames::chunks(["x"]))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn body_that_fails_midway_is_400_and_unseen() {
    let body = Frames::chunks(["{\"partial\":"]).then_error("connection reset");
    let (status, response_body, recorder) = run(None, request(b"{\"partial\":", body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(response_body, "failed to read request body\n");
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn non_numeric_or_conflicting_content_length_is_400_before_reading() {
    for values in [&["abc"][..], &["-1"], &["10", "11"], &["1e3"]] {
        let mut request = request(b"", MustNotRead);
        for value in values {
            request
                .headers_mut()
                .append("content-length", value.parse().unwrap());
        }
        let (status, body, recorder) = run(None, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{values:?}");
        assert_eq!(body, "invalid content-length\n");
        assert_eq!(recorder.calls(), 0);
    }
}

#[tokio::test]
async fn missing_signature_is_decided_before_the_body_is_read() {
    let request = Request::post("/").body(MustNotRead).unwrap();
    let (status, _, recorder) = run(None, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(recorder.calls(), 0);
}
