//! The seed senders (Loopwise, Loop Returns) and GitHub, verified against the shared test
//! vectors, which an independent implementation computed.

mod support;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use support::{run_through, scheme_for, vectors, vectors_of, Frames, Recorder, Vector};
use tower_webhook::WebhookSignatureLayer;

fn signed_request<B>(vector: &Vector, body: B) -> Request<B> {
    Request::post("/webhook")
        .header(&vector.header, &vector.signature)
        .header("content-type", "application/json")
        .header("x-delivery", "42")
        .body(body)
        .unwrap()
}

async fn run<B>(vector: &Vector, request: Request<B>) -> (StatusCode, HeaderMap, Bytes, Recorder)
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let out = run_through(WebhookSignatureLayer::new(scheme_for(vector)), request).await;
    (out.status, out.headers, out.body, out.recorder)
}

#[tokio::test]
async fn every_vector_is_accepted_and_the_inner_service_gets_the_exact_request() {
    for vector in vectors() {
        let request = signed_request(&vector, vector.body.clone());
        let sent_headers = request.headers().clone();
        let (status, headers, body, recorder) = run(&vector, request).await;

        assert_eq!(status, StatusCode::OK, "{}", vector.name);
        assert_eq!(
            headers["x-inner"], "called",
            "{}: response untouched",
            vector.name
        );
        assert_eq!(body, format!("inner saw {} bytes", vector.body.len()));
        let seen = recorder.only();
        assert_eq!(seen.body, vector.body.as_bytes(), "{}", vector.name);
        assert_eq!(seen.headers, sent_headers, "{}", vector.name);
        assert_eq!(seen.verified.map(|v| v.key_index()), Some(0));
    }
}

#[tokio::test]
async fn signing_reproduces_every_vector() {
    for vector in vectors() {
        assert_eq!(
            scheme_for(&vector).sign(vector.body.as_bytes()),
            vector.signature,
            "{}",
            vector.name
        );
    }
}

#[tokio::test]
async fn every_vector_with_one_body_byte_changed_is_rejected_unseen() {
    for vector in vectors().into_iter().filter(|v| !v.body.is_empty()) {
        let mut body = vector.body.clone().into_bytes();
        body[0] ^= 0x01;
        let (status, _, response_body, recorder) = run(
            &vector,
            signed_request(&vector, http_body_util::Full::new(Bytes::from(body))),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", vector.name);
        assert_eq!(response_body, "invalid webhook signature\n");
        assert_eq!(recorder.calls(), 0, "{}", vector.name);
    }
}

#[tokio::test]
async fn a_trailing_byte_added_is_rejected() {
    for vector in vectors() {
        let body = format!("{}\n", vector.body);
        let (status, _, _, recorder) = run(&vector, signed_request(&vector, body)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", vector.name);
        assert_eq!(recorder.calls(), 0);
    }
}

#[tokio::test]
async fn a_signature_from_the_other_seed_is_rejected() {
    // Loop's base64 signature in Loopwise's header is malformed for a hex scheme.
    let loopwise = &vectors_of("loopwise")[0];
    let loop_returns = &vectors_of("loop_returns")[0];
    let request = Request::post("/")
        .header(&loopwise.header, &loop_returns.signature)
        .body(loopwise.body.clone())
        .unwrap();
    let (status, _, body, recorder) = run(loopwise, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, "malformed webhook signature\n");
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn missing_signature_is_401_and_unseen() {
    for vector in vectors() {
        let request = Request::post("/").body(vector.body.clone()).unwrap();
        let (status, headers, body, recorder) = run(&vector, request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
        assert_eq!(body, "missing webhook signature\n");
        assert_eq!(recorder.calls(), 0);
    }
}

#[tokio::test]
async fn body_split_at_every_byte_boundary_is_accepted_whole() {
    for vector in vectors_of("loopwise")
        .into_iter()
        .chain(vectors_of("loop_returns"))
    {
        let bytes = vector.body.as_bytes();
        for split in 1..=bytes.len().max(1) {
            for pending in [false, true] {
                let mut frames = Frames::split(bytes, split);
                if pending {
                    frames = frames.with_pending();
                }
                let (status, _, _, recorder) = run(&vector, signed_request(&vector, frames)).await;
                assert_eq!(status, StatusCode::OK, "{} split {split}", vector.name);
                assert_eq!(recorder.only().body, bytes, "{} split {split}", vector.name);
            }
        }
    }
}

#[tokio::test]
async fn body_with_content_length_is_accepted() {
    let vector = &vectors_of("loopwise")[0];
    let len = vector.body.len() as u64;
    let frames = Frames::split(vector.body.as_bytes(), 7).with_exact_hint(len);
    let mut request = signed_request(vector, frames);
    request
        .headers_mut()
        .insert("content-length", len.to_string().parse().unwrap());
    let (status, _, _, recorder) = run(vector, request).await;
    assert_eq!(status, StatusCode::OK);
    let seen = recorder.only();
    assert_eq!(seen.body, vector.body.as_bytes());
    assert_eq!(seen.headers["content-length"], len.to_string());
}

#[tokio::test]
async fn empty_body_vectors_are_accepted_with_an_empty_body() {
    for vector in vectors().into_iter().filter(|v| v.body.is_empty()) {
        for body in [
            Frames::chunks(Vec::<Bytes>::new()),
            Frames::chunks([Bytes::new()]),
        ] {
            let (status, _, _, recorder) = run(&vector, signed_request(&vector, body)).await;
            assert_eq!(status, StatusCode::OK, "{}", vector.name);
            assert!(recorder.only().body.is_empty());
        }
    }
}

#[tokio::test]
async fn unsigned_trailers_are_dropped_unless_kept() {
    let vector = &vectors_of("loopwise")[0];
    let mut trailers = HeaderMap::new();
    trailers.insert("x-trailer", "kept".parse().unwrap());
    let frames = || Frames::split(vector.body.as_bytes(), 10).then_trailers(trailers.clone());

    let (status, _, _, recorder) = run(vector, signed_request(vector, frames())).await;
    assert_eq!(status, StatusCode::OK);
    let seen = recorder.only();
    assert_eq!(seen.body, vector.body.as_bytes());
    assert_eq!(seen.trailers, None);

    let layer = WebhookSignatureLayer::new(scheme_for(vector)).keep_trailers();
    let kept = run_through(layer, signed_request(vector, frames())).await;
    assert_eq!(kept.status, StatusCode::OK);
    let seen = kept.recorder.only();
    assert_eq!(seen.body, vector.body.as_bytes());
    assert_eq!(seen.trailers, Some(trailers));
}

#[tokio::test]
async fn hex_is_accepted_in_upper_case_and_with_surrounding_whitespace() {
    let vector = &vectors_of("loopwise")[0];
    for signature in [
        vector.signature.to_ascii_uppercase(),
        format!("  {}\t", vector.signature),
    ] {
        let request = Request::post("/")
            .header(&vector.header, signature)
            .body(vector.body.clone())
            .unwrap();
        let (status, _, _, recorder) = run(vector, request).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(recorder.only().body, vector.body.as_bytes());
    }
}
