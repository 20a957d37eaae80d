#!/usr/bin/env python3
"""Writes tests/vectors/fetched.json: deliveries of the senders whose keys are fetched
(PayPal, Amazon SNS, Plaid, FusionAuth), signed here with the `cryptography` package and
Python's hmac from each sender's documentation, not by this crate.

The keys are throwaway test keys made here; the tests wrap their public halves in
certificates issued at test time by a test CA (rcgen) and serve them over local HTTPS.
Certificate URLs are not signed by either sender, so the tests put the local server's URL
where `__BASE__` stands. Run it from the repository root.
"""
import base64
import hashlib
import hmac
import json
import zlib

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

NOW = 1700000000  # 2023-11-14T22:13:20Z


def pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rsa_sign(key, message, digest):
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), digest)).decode()


signer = rsa.generate_private_key(public_exponent=65537, key_size=2048)
other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
plaid_1 = ec.generate_private_key(ec.SECP256R1())
plaid_2 = ec.generate_private_key(ec.SECP256R1())
out = {"rsa_signer_pem": pem(signer), "rsa_other_pem": pem(other)}

# PayPal: https://developer.paypal.com/api/rest/webhooks/rest/#link-selfverificationmethod
# The signed line is transmission_id|transmission_time|webhook_id|crc32(body), the CRC32 an
# unsigned decimal; RSA PKCS#1 v1.5 with SHA-256, base64.
paypal_body = json.dumps({
    "id": "WH-2WR32451HC0233532-67976317FL4543714",
    "event_type": "PAYMENT.CAPTURE.COMPLETED",
    "resource": {"id": "5O190127TN364715T", "amount": {"value": "42.00", "currency_code": "EUR"}},
}, separators=(",", ":"))
paypal_line = "|".join(["69cd13f0-d67a-11e5-baa3-778b53f4ae55", "2023-11-14T22:13:20Z", "WH-TEST-1",
                        str(zlib.crc32(paypal_body.encode()) & 0xFFFFFFFF)])
out["paypal"] = {
    "webhook_id": "WH-TEST-1", "body": paypal_body, "now": NOW,
    "headers": {
        "PAYPAL-TRANSMISSION-ID": "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
        "PAYPAL-TRANSMISSION-TIME": "2023-11-14T22:13:20Z",
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        "PAYPAL-TRANSMISSION-SIG": rsa_sign(signer, paypal_line, hashes.SHA256()),
    },
}
# PayPal's retry of the same event: another transmission, a minute later, the same body.
paypal_retry_line = "|".join(["8a2b0e40-d67a-11e5-baa3-778b53f4ae55", "2023-11-14T22:14:20Z", "WH-TEST-1",
                              str(zlib.crc32(paypal_body.encode()) & 0xFFFFFFFF)])
out["paypal"]["retry_headers"] = {
    "PAYPAL-TRANSMISSION-ID": "8a2b0e40-d67a-11e5-baa3-778b53f4ae55",
    "PAYPAL-TRANSMISSION-TIME": "2023-11-14T22:14:20Z",
    "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    "PAYPAL-TRANSMISSION-SIG": rsa_sign(signer, paypal_retry_line, hashes.SHA256()),
}
# Another event, which a forged body may name before it arrives.
paypal_other_body = json.dumps({
    "id": "WH-5VR28891KA0452718-0NX46392PR6473015",
    "event_type": "PAYMENT.CAPTURE.REFUNDED",
    "resource": {"id": "5O190127TN364715T", "amount": {"value": "42.00", "currency_code": "EUR"}},
}, separators=(",", ":"))
paypal_other_line = "|".join(["b3e1c2a0-d67a-11e5-baa3-778b53f4ae55", "2023-11-14T22:13:50Z", "WH-TEST-1",
                              str(zlib.crc32(paypal_other_body.encode()) & 0xFFFFFFFF)])
out["paypal"]["other"] = {
    "body": paypal_other_body,
    "headers": {
        "PAYPAL-TRANSMISSION-ID": "b3e1c2a0-d67a-11e5-baa3-778b53f4ae55",
        "PAYPAL-TRANSMISSION-TIME": "2023-11-14T22:13:50Z",
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        "PAYPAL-TRANSMISSION-SIG": rsa_sign(signer, paypal_other_line, hashes.SHA256()),
    },
}

# Amazon SNS: https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
# The string to sign is "Name\nvalue\n" for each signed field in this order; Subject only if
# the message has one. SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA.
TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"


def sns(kind, version, **fields):
    message = {"Type": kind, "MessageId": fields.pop("MessageId"), "TopicArn": TOPIC,
               "Timestamp": "2023-11-14T22:13:20.123Z", **fields}
    order = (["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"] if kind == "Notification"
             else ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"])
    canonical = "".join(f"{name}\n{message[name]}\n" for name in order if name in message)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    message["SignatureVersion"] = version
    message["Signature"] = rsa_sign(signer, canonical, digest)
    message["SigningCertURL"] = "__BASE__/SimpleNotificationService-test.pem"
    return json.dumps(message, separators=(",", ":"))


out["sns"] = {
    "topic": TOPIC, "now": NOW,
    "notification_v1": sns("Notification", "1", MessageId="22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
                           Subject="Order placed", Message='{"order":"ord_1","total":4200}',
                           UnsubscribeURL="https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"),
    "notification_v2": sns("Notification", "2", MessageId="5b0bd1f8-8b5c-4a7e-9b0a-3c1d2e3f4a5b",
                           Message="plain text, no subject"),
    "subscription_confirmation": sns(
        "SubscriptionConfirmation", "2", MessageId="165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        Token="2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
        Message="You have chosen to subscribe to the topic arn:aws:sns:us-east-1:123456789012:orders.",
        SubscribeURL="https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:123456789012:orders&Token=2336412f37fb"),
}


# Plaid: https://plaid.com/docs/api/webhooks/webhook-verification/ -- an ES256 JWT in
# Plaid-Verification; claims iat and request_body_sha256 (hex); the key (a JWK) is served by
# /webhook_verification_key/get for the JWT's kid.
def jwk(key, kid):
    numbers = key.public_key().public_numbers()
    return {"alg": "ES256", "created_at": 1560466143, "crv": "P-256", "expired_at": None, "kid": kid,
            "kty": "EC", "use": "sig", "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big"))}


def es256_jwt(key, kid, claims):
    header = b64url(json.dumps({"alg": "ES256", "kid": kid, "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    r, s = decode_dss_signature(key.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256())))
    return f"{header}.{payload}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


plaid_body = json.dumps({"webhook_type": "TRANSACTIONS", "webhook_code": "SYNC_UPDATES_AVAILABLE",
                         "item_id": "wz666MBjYWTp2PDzzggYhM6oWWmBb"}, separators=(",", ":"))
plaid_hash = hashlib.sha256(plaid_body.encode()).hexdigest()
out["plaid"] = {
    "client_id": "plaid-client", "secret": "plaid-secret", "body": plaid_body, "now": NOW,
    "keys": {"plaid-key-1": jwk(plaid_1, "plaid-key-1"), "plaid-key-2": jwk(plaid_2, "plaid-key-2")},
    "jwt_key_1": es256_jwt(plaid_1, "plaid-key-1", {"iat": NOW, "request_body_sha256": plaid_hash}),
    "jwt_key_2": es256_jwt(plaid_2, "plaid-key-2", {"iat": NOW, "request_body_sha256": plaid_hash}),
    "jwt_without_iat": es256_jwt(plaid_1, "plaid-key-1", {"request_body_sha256": plaid_hash}),
}

# FusionAuth: https://fusionauth.io/docs/extend/events-and-webhooks/signing -- a JWT in
# X-FusionAuth-Signature-JWT whose request_body_sha256 claim is base64(SHA-256(body)).
fa_body = json.dumps({"event": {"type": "user.create", "id": "e502168a-b469-45d9-a079-fd45f83e0406"}},
                     separators=(",", ":"))
fa_hash = base64.b64encode(hashlib.sha256(fa_body.encode()).digest()).decode()
fa_claims = b64url(json.dumps({"iat": NOW, "request_body_sha256": fa_hash}).encode())
fa_hs_header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
fa_hs_sig = b64url(hmac.new(b"fusionauth hmac secret", f"{fa_hs_header}.{fa_claims}".encode(),
                            hashlib.sha256).digest())
fa_rs_header = b64url(json.dumps({"alg": "RS256", "kid": "fa-rsa-1", "typ": "JWT"}).encode())
fa_rs_sig = b64url(signer.sign(f"{fa_rs_header}.{fa_claims}".encode(), padding.PKCS1v15(), hashes.SHA256()))



def fa_hs256(claims):
    # FusionAuth documents a payload of request_body_sha256 alone: no iat, exp or nbf. The
    # time claims are added here to check that the receiver enforces them when present.
    payload = b64url(json.dumps({**claims, "request_body_sha256": fa_hash}).encode())
    sig = b64url(hmac.new(b"fusionauth hmac secret", f"{fa_hs_header}.{payload}".encode(),
                          hashlib.sha256).digest())
    return f"{fa_hs_header}.{payload}.{sig}"


numbers = signer.public_key().public_numbers()
out["fusionauth"] = {
    "hmac_secret": "fusionauth hmac secret", "body": fa_body, "now": NOW,
    "jwt_hs256": f"{fa_hs_header}.{fa_claims}.{fa_hs_sig}",
    "jwt_rs256": f"{fa_rs_header}.{fa_claims}.{fa_rs_sig}",
    # As FusionAuth documents it: request_body_sha256 only.
    "jwt_hs256_claim_only": fa_hs256({}),
    # RFC 7519 exp and nbf, two minutes either side of NOW; and exp 30 s ago (within a leeway).
    "jwt_hs256_expired": fa_hs256({"exp": NOW - 120}),
    "jwt_hs256_not_yet_valid": fa_hs256({"nbf": NOW + 120}),
    "jwt_hs256_just_expired": fa_hs256({"exp": NOW - 30}),
    "jwks": {"keys": [{"kty": "RSA", "kid": "fa-rsa-1", "use": "sig", "alg": "RS256",
                       "n": b64url(numbers.n.to_bytes(256, "big")), "e": b64url(numbers.e.to_bytes(3, "big"))}]},
}

with open("tests/vectors/fetched.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
