//! The whole service, fed arbitrary headers, frames and lengths: never panics; an enforcing
//! layer calls the inner service only for a correctly signed request, and then with exactly
//! the bytes sent; a rejection never reaches the inner service; and no request holds more of
//! its layer's body budget than the body limit, at any poll, or any of it once answered.
#![no_main]

use std::{
    convert::Infallible,
    future::Future,
    pin::{pin, Pin},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll, Waker},
    time::{Duration, UNIX_EPOCH},
};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response};
use http_body::{Body, Frame};
use libfuzzer_sys::fuzz_target;
use tower::{service_fn, Layer, ServiceExt};
use tower_webhook::{
    body::BufferedBody,
    peer::{PeerAddr, TrustedProxies},
    presets,
    sign::Message,
    verify::BodyBudget,
    WebhookSignatureLayer,
};

const NAMES: [&str; 8] = [
    "loopwise-webhook-signature",
    "stripe-signature",
    "content-length",
    "x-forwarded-for",
    "forwarded",
    "transfer-encoding",
    "content-type",
    "x-other",
];
const NOW: u64 = 1_700_000_000;
/// The body limits: one at the smallest owned buffer, one that the buffer reaches by doubling
/// (4 KiB, 8 KiB, then the limit).
const LIMITS: [usize; 2] = [4096, 12 * 1024];

/// The frames of a body, each after `Pending` once if its flag says so (a body that stalls
/// between frames, so the layer is polled while it holds part of it).
struct Frames(Vec<(Bytes, bool)>);

impl Body for Frames {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.0.first_mut() {
            None => Poll::Ready(None),
            Some((_, stall @ true)) => {
                *stall = false;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(_) => Poll::Ready(Some(Ok(Frame::data(self.0.remove(0).0)))),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else { return };
    let stripe = mode & 1 == 1;
    let sign = mode & 2 == 2;
    let report_only = mode & 4 == 4;
    let proxies = mode & 8 == 8;
    let max_body = LIMITS[usize::from(mode & 16 == 16)];
    let Some(split) = rest.iter().position(|&b| b == 0xff) else { return };
    let (head, body) = rest.split_at(split);
    let body = &body[1..];

    let clock = || UNIX_EPOCH + Duration::from_secs(NOW);
    let scheme = if stripe { presets::stripe("k").clock(clock) } else { presets::loopwise("k").clock(clock) };
    let mut request = Request::post("/").body(()).unwrap();
    // Headers: [name index][len][value]...
    let mut cursor = head;
    while let [name, len, tail @ ..] = cursor {
        let len = usize::from(*len).min(tail.len());
        let (value, after) = tail.split_at(len);
        if let Ok(value) = HeaderValue::from_bytes(value) {
            request
                .headers_mut()
                .append(HeaderName::from_static(NAMES[usize::from(*name) % NAMES.len()]), value);
        }
        cursor = after;
    }
    if sign {
        let headers = scheme.sign_message(&Message::new(body).timestamp(NOW));
        for (name, value) in headers {
            if let Some(name) = name {
                request.headers_mut().insert(name, value);
            }
        }
    }
    request.extensions_mut().insert(PeerAddr("10.0.0.1".parse().unwrap()));
    // Frames: split the body where its bytes say, at most 64 frames.
    let mut frames = Vec::new();
    let mut remaining = body;
    while !remaining.is_empty() && frames.len() < 64 {
        let n = (usize::from(remaining[0]) % 97 + 1).min(remaining.len());
        let (frame, after) = remaining.split_at(n);
        frames.push((Bytes::copy_from_slice(frame), remaining[0] & 0x80 != 0));
        remaining = after;
    }
    if !remaining.is_empty() {
        frames.push((Bytes::copy_from_slice(remaining), false));
    }
    let (parts, ()) = request.into_parts();
    let declared_ok = parts.headers.get_all("content-length").iter().all(|v| v.as_bytes() == body.len().to_string().as_bytes());
    let request = Request::from_parts(parts, Frames(frames));

    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let expected = Bytes::copy_from_slice(body);
    let budget = BodyBudget::new(1 << 20);
    let held = budget.clone();
    let inner = service_fn(move |request: Request<BufferedBody>| {
        seen.fetch_add(1, Ordering::SeqCst);
        // The body's share is held until the response is ready, never more than the limit.
        assert!(held.in_use() <= max_body, "{} bytes of budget held", held.in_use());
        let got = request.body().bytes().clone();
        let expected = expected.clone();
        async move {
            assert_eq!(got, expected, "the inner service must get exactly the bytes sent");
            Ok::<_, Infallible>(Response::new(String::new()))
        }
    });
    let mut layer = WebhookSignatureLayer::new(scheme).max_body_size(max_body).body_budget(budget.clone());
    if report_only {
        layer = layer.report_only();
    }
    if proxies {
        layer = layer
            .allow_ips("52.194.91.27, 10.0.0.0/8".parse().unwrap())
            .peer_source(TrustedProxies::new("10.0.0.0/8".parse().unwrap()));
    }
    let service = layer.layer(inner);
    let mut future = pin!(service.oneshot(request));
    let mut cx = Context::from_waker(Waker::noop());
    let response = loop {
        if let Poll::Ready(response) = future.as_mut().poll(&mut cx) {
            break response.unwrap();
        }
        // The buffer's memory is charged as it grows (doubling, up to the declared length or
        // the limit): whatever the frames and lengths, one request holds at most the limit.
        assert!(budget.in_use() <= max_body, "{} bytes of budget held while reading", budget.in_use());
    };
    assert_eq!(budget.in_use(), 0, "the share comes back once the response is ready");
    let called = calls.load(Ordering::SeqCst) == 1;
    if response.status().is_success() {
        assert!(called);
        if !report_only {
            assert!(sign, "an unsigned request was accepted");
        }
    } else {
        assert!(!called, "a rejected request reached the inner service");
        if sign && !report_only && !proxies && body.len() <= max_body && declared_ok {
            // Correctly signed, within limits: only duplicated signature headers may fail it.
            let status = response.status().as_u16();
            assert!(status == 401 || status == 400, "signed request answered {status}");
        }
    }
});
