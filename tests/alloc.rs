//! Memory: the body is buffered once. A body of one frame is not copied at all; one of many
//! frames is copied into one buffer that grows by doubling (so a `Content-Length` alone
//! never makes the layer allocate it), which allocates at most about twice the body's size
//! in all, with or without a length. Counted by a global allocator, on this thread only.
//!
//! And a small verified request allocates no more than verifying it by hand does.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    convert::Infallible,
    future::Future,
    pin::{pin, Pin},
    task::{Context, Poll, Waker},
};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_webhook::{body::BufferedBody, presets, WebhookSignatureLayer};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count(bytes: usize) {
    // `try_with`: the allocator runs while thread-locals are torn down too.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATED.try_with(|total| total.set(total.get() + bytes));
            let _ = ALLOCATIONS.try_with(|calls| calls.set(calls.get() + 1));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes allocated on this thread while `f` runs.
fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let (out, _, bytes) = allocations_by(f);
    (out, bytes)
}

/// Allocations (calls to `alloc` and `realloc`) and bytes allocated on this thread while `f`
/// runs.
fn allocations_by<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    ALLOCATED.with(|total| total.set(0));
    ALLOCATIONS.with(|calls| calls.set(0));
    COUNTING.with(|on| on.set(true));
    let out = f();
    COUNTING.with(|on| on.set(false));
    (out, ALLOCATIONS.with(Cell::get), ALLOCATED.with(Cell::get))
}

/// Runs an always-ready future to completion, with no runtime allocating beside it.
fn now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// `data` in frames of `frame` bytes: zero-copy slices of one buffer, as hyper hands them over.
struct Frames {
    data: Bytes,
    frame: usize,
    exact: bool,
}

impl Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.data.is_empty() {
            return Poll::Ready(None);
        }
        let n = self.frame.min(self.data.len());
        Poll::Ready(Some(Ok(Frame::data(self.data.split_to(n)))))
    }

    fn size_hint(&self) -> SizeHint {
        if self.exact {
            SizeHint::with_exact(self.data.len() as u64)
        } else {
            SizeHint::default()
        }
    }
}

const MIB: usize = 1024 * 1024;

/// Verifies a 1 MiB body split into `frame`-byte frames; returns bytes allocated meanwhile.
fn verify_one_mebibyte(frame: usize, with_length: bool) -> usize {
    let scheme = presets::loopwise("alloc-secret");
    let body = Bytes::from(vec![b'a'; MIB]);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "loopwise-webhook-signature",
        scheme.sign(&body).parse().unwrap(),
    );
    verify_one_mebibyte_with(scheme, headers, body, frame, with_length)
}

/// Verifies `body` (1 MiB) under `scheme` with `headers`; returns bytes allocated meanwhile.
fn verify_one_mebibyte_with<Sch: tower_webhook::scheme::Scheme>(
    scheme: Sch,
    headers: http::HeaderMap,
    body: Bytes,
    frame: usize,
    with_length: bool,
) -> usize {
    let mut request = Request::post("/")
        .body(Frames {
            data: body,
            frame,
            exact: with_length,
        })
        .unwrap();
    request.headers_mut().extend(headers);
    if with_length {
        request
            .headers_mut()
            .insert("content-length", MIB.to_string().parse().unwrap());
    }
    let inner = service_fn(|request: Request<BufferedBody>| async move {
        assert_eq!(request.body().bytes().len(), MIB);
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let service = WebhookSignatureLayer::new(scheme).layer(inner);

    let (status, allocated) = allocated_by(|| {
        // Every frame is ready, so polling again (as an executor would after the layer's
        // self-wake every 64 frames) finishes it, with no runtime allocating beside us.
        let mut future = pin!(service.oneshot(request));
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(response) = future.as_mut().poll(&mut cx) {
                break response.unwrap().status();
            }
        }
    });
    assert_eq!(status, StatusCode::OK);
    allocated
}

#[test]
fn the_body_is_buffered_once() {
    let limit = 2 * MIB + MIB / 20;

    let allocated = verify_one_mebibyte(16 * 1024, true);
    assert!(
        allocated <= limit,
        "16 KiB frames with a length: {allocated} bytes"
    );
    assert!(
        allocated >= MIB,
        "the frames must be joined: {allocated} bytes"
    );

    let allocated = verify_one_mebibyte(16 * 1024, false);
    assert!(
        allocated <= limit,
        "16 KiB frames without a length: {allocated} bytes"
    );

    let allocated = verify_one_mebibyte(MIB, true);
    assert!(
        allocated < 16 * 1024,
        "one frame must not be copied: {allocated} bytes"
    );
}

#[cfg(all(feature = "ed25519", feature = "p256"))]
#[test]
fn public_key_schemes_buffer_the_body_once_too() {
    use std::time::{SystemTime, UNIX_EPOCH};

    use ed25519_dalek::{Signer as _, SigningKey};
    use p256::ecdsa::Signature;

    let body = Bytes::from(vec![b'a'; MIB]);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let signed = [now.as_bytes(), &body].concat();
    let limit = 2 * MIB + MIB / 20;

    let ed = SigningKey::from_bytes(&[3; 32]);
    let scheme = presets::discord(hex::encode(ed.verifying_key().as_bytes())).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-signature-ed25519",
        hex::encode(ed.sign(&signed).to_bytes()).parse().unwrap(),
    );
    headers.insert("x-signature-timestamp", now.parse().unwrap());
    let allocated = verify_one_mebibyte_with(scheme, headers, body.clone(), 16 * 1024, true);
    assert!(
        allocated <= limit,
        "Ed25519, 16 KiB frames: {allocated} bytes"
    );

    let ec = p256::ecdsa::SigningKey::from_slice(&[5; 32]).unwrap();
    let der = p256::pkcs8::EncodePublicKey::to_public_key_der(ec.verifying_key()).unwrap();
    let scheme = tower_webhook::scheme::P256Scheme::p256(der.as_bytes())
        .unwrap()
        .header("x-signature")
        .timestamp_header("x-timestamp")
        .signed_payload("{timestamp}{body}");
    let signature: Signature = ec.sign(&signed);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-signature",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            signature.to_der().as_bytes(),
        )
        .parse()
        .unwrap(),
    );
    headers.insert("x-timestamp", now.parse().unwrap());
    let allocated = verify_one_mebibyte_with(scheme, headers, body, 16 * 1024, true);
    assert!(
        allocated <= limit,
        "P-256, 16 KiB frames: {allocated} bytes"
    );
}

/// What a handler does without the crate: collect the body, key HMAC-SHA256, decode the hex
/// header, `verify_slice`.
async fn by_hand(request: Request<Frames>) -> Result<StatusCode, Infallible> {
    use hmac::{Hmac, Mac};
    use http_body_util::BodyExt;

    let (parts, body) = request.into_parts();
    let Some(header) = parts.headers.get("loopwise-webhook-signature") else {
        return Ok(StatusCode::UNAUTHORIZED);
    };
    let mut expected = [0u8; 32];
    if hex::decode_to_slice(header.as_bytes(), &mut expected).is_err() {
        return Ok(StatusCode::UNAUTHORIZED);
    }
    let Ok(collected) = body.collect().await;
    let bytes = collected.to_bytes();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"alloc-secret").unwrap();
    mac.update(&bytes);
    if mac.verify_slice(&expected).is_err() {
        return Ok(StatusCode::UNAUTHORIZED);
    }
    Ok(StatusCode::OK)
}

/// The allocations a small verified request costs the layer with fixed keys: none of its
/// own. What remains is `http::Extensions` holding the `Verified` marker: one box for the
/// marker, and, on a request that carries no extension yet (a bare hyper request), two more
/// for the extension map itself (its box and its table), which axum's router has already
/// made by the time the layer runs (it inserts `OriginalUri`).
///
/// With the `metrics` feature, each verified request also records a counter and two
/// histograms, and the `metrics` macros build each one's key (its labels) in a `Vec`.
const LAYER_ALLOCATIONS: usize = 1 + METRICS_ALLOCATIONS;
const EXTENSION_MAP_ALLOCATIONS: usize = 2;
const METRICS_ALLOCATIONS: usize = if cfg!(feature = "metrics") { 3 } else { 0 };

/// An extension the request already carries, as axum's `OriginalUri` is.
#[derive(Clone)]
struct AlreadyThere;

#[test]
fn a_small_verified_request_allocates_no_more_than_verifying_by_hand() {
    let scheme = presets::loopwise("alloc-secret");
    let body = Bytes::from(vec![b'a'; 256]);
    let signature = scheme.sign(&body);
    let signed_request = |with_extension: bool| {
        let mut request = Request::post("/webhook")
            .header("content-type", "application/json")
            .header("content-length", "256")
            .header("loopwise-webhook-signature", &signature)
            .body(Frames {
                data: body.clone(),
                frame: 256,
                exact: true,
            })
            .unwrap();
        if with_extension {
            request.extensions_mut().insert(AlreadyThere);
        }
        request
    };
    let inner = service_fn(|request: Request<BufferedBody>| async move {
        assert_eq!(request.body().bytes().len(), 256);
        assert!(request
            .extensions()
            .get::<tower_webhook::Verified>()
            .is_some());
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let mut layered = WebhookSignatureLayer::new(scheme).layer(inner);
    let mut by_hand = service_fn(by_hand);

    // Twice each, so nothing done once per process (a lazily made static) is counted.
    for _ in 0..2 {
        for with_extension in [true, false] {
            let request = signed_request(with_extension);
            let (status, layer_calls, layer_bytes) = allocations_by(|| {
                now(ServiceExt::<Request<Frames>>::ready(&mut layered)).unwrap();
                now(layered.call(request)).unwrap().status()
            });
            assert_eq!(status, StatusCode::OK);
            let request = signed_request(with_extension);
            let (status, hand_calls, hand_bytes) = allocations_by(|| {
                now(by_hand.ready()).unwrap();
                now(by_hand.call(request)).unwrap()
            });
            assert_eq!(status, StatusCode::OK);
            let shown = format!(
                "with an extension already: {with_extension}; the layer: {layer_calls} \
                 allocations ({layer_bytes} bytes), by hand: {hand_calls} ({hand_bytes} bytes)"
            );
            // By hand collects the body into a list of frames: one allocation.
            assert_eq!(hand_calls, 1, "{shown}");
            if with_extension {
                assert_eq!(layer_calls, LAYER_ALLOCATIONS, "{shown}");
                assert!(layer_calls - METRICS_ALLOCATIONS <= hand_calls, "{shown}");
            } else {
                assert_eq!(
                    layer_calls,
                    LAYER_ALLOCATIONS + EXTENSION_MAP_ALLOCATIONS,
                    "{shown}"
                );
            }
        }
    }
}
