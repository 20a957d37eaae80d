#!/usr/bin/env python3
"""Writes tests/vectors/presets.json: one signed request per preset.

Vectors marked "published" are the senders' own documented examples, copied here. The others
are computed below with Python's hmac module, an implementation independent of this crate,
from each sender's documented scheme. Run it from the repository root.
"""
import base64
import hashlib
import hmac
import json

TS = 1700000000
BODY = '{"id":"evt_1","type":"payment.succeeded","amount":4200}'


def mac(secret: bytes, message: bytes) -> bytes:
    return hmac.new(secret, message, hashlib.sha256).digest()


def vector(name, preset, secret, body, headers, source, now=TS, url=None):
    v = {"name": name, "preset": preset, "secret": secret, "body": body, "now": now,
         "headers": headers, "source": source}
    if url is not None:
        v["url"] = url
    return v


vectors = [
    vector("github-docs", "github", "It's a Secret to Everybody", "Hello, World!",
           {"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
           "published: GitHub's 'Validating webhook deliveries' example"),
    vector("slack-docs", "slack", "8f742231b10e8888abcd99yyyzzz85a5",
           "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
           "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
           "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
           "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
           {"X-Slack-Request-Timestamp": "1531420618",
            "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"},
           "published: Slack's 'Verifying requests from Slack' example", now=1531420618),
    vector("standard-webhooks-spec", "standard_webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
           '{"test": 2432232314}',
           {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
            "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
           "published: the Standard Webhooks reference test vector", now=1614265330),
]

# Computed from the documented schemes.
computed = "computed: Python hmac, from the sender's documented scheme"

secret = "whsec_test_secret_for_stripe"
sig = mac(secret.encode(), f"{TS}.{BODY}".encode()).hex()
other = mac(b"some older secret", f"{TS}.{BODY}".encode()).hex()
vectors.append(vector("stripe", "stripe", secret, BODY,
                      {"Stripe-Signature": f"t={TS},v1={other},v1={sig},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"},
                      computed))

secret = "pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI"
sig = mac(secret.encode(), f"{TS}:{BODY}".encode()).hex()
vectors.append(vector("paddle", "paddle", secret, BODY, {"Paddle-Signature": f"ts={TS};h1={sig}"}, computed))

secret = "zoom_secret_token_123"
sig = mac(secret.encode(), f"v0:{TS}:{BODY}".encode()).hex()
vectors.append(vector("zoom", "zoom", secret, BODY,
                      {"x-zm-request-timestamp": str(TS), "x-zm-signature": f"v0={sig}"}, computed))

secret = "shpss_client_secret"
vectors.append(vector("shopify", "shopify", secret, BODY,
                      {"X-Shopify-Hmac-Sha256": base64.b64encode(mac(secret.encode(), BODY.encode())).decode()},
                      computed))

# Linear signs its send time inside the body (webhookTimestamp, milliseconds).
secret = "lin_wh_signing_secret"
linear_body = '{"action":"create","type":"Issue","data":{"id":"i_1"},"webhookTimestamp":%d}' % (TS * 1000)
vectors.append(vector("linear", "linear", secret, linear_body,
                      {"Linear-Signature": mac(secret.encode(), linear_body.encode()).hex()}, computed))

secret = "dropbox-app-secret"
vectors.append(vector("dropbox", "dropbox", secret, BODY,
                      {"X-Dropbox-Signature": mac(secret.encode(), BODY.encode()).hex()}, computed))

secret, url = "square-signature-key", "https://example.com/webhooks/square"
vectors.append(vector("square", "square", secret, BODY,
                      {"x-square-hmacsha256-signature": base64.b64encode(mac(secret.encode(), (url + BODY).encode())).decode()},
                      computed, url=url))

key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
sig = base64.b64encode(mac(key, f"msg_2.{TS}.{BODY}".encode())).decode()
vectors.append(vector("svix-headers", "standard_webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", BODY,
                      {"svix-id": "msg_2", "svix-timestamp": str(TS), "svix-signature": f"v1a,bm9wZQ== v1,{sig}"},
                      computed))

with open("tests/vectors/presets.json", "w") as f:
    json.dump(vectors, f, indent=1, ensure_ascii=False)
    f.write("\n")
