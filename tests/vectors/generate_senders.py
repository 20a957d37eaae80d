#!/usr/bin/env python3
"""Writes tests/vectors/senders.json: vectors for the public-key and SHA-1 senders.

"published" vectors are copied from RFC 8032, SendGrid's SDK tests and Twilio's security
docs, and re-verified here. The others are signed here with the `cryptography` package and
Python's hmac, implementations independent of this crate, from each sender's documented
scheme. Private keys are throwaway test keys. Run it from the repository root.
"""
import base64
import hashlib
import hmac
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

TS = 1700000000
BODY = '{"id":"evt_1","type":"payment.succeeded","amount":4200}'
out = {}

# RFC 8032 section 7.1, tests 1 to 3 (published).
rfc = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
]
out["rfc8032"] = []
for secret, public, message, signature in rfc:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret))
    assert key.public_key().public_bytes_raw().hex() == public
    assert key.sign(bytes.fromhex(message)).hex() == signature
    out["rfc8032"].append({"public_key": public, "message": message, "signature": signature})

# Discord: hex Ed25519 over timestamp + body (computed).
discord = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
out["discord"] = {
    "seed": bytes(range(32)).hex(),
    "public_key": discord.public_key().public_bytes_raw().hex(),
    "timestamp": str(TS), "body": BODY,
    "signature": discord.sign(f"{TS}{BODY}".encode()).hex(),
}

# Standard Webhooks v1a: base64 Ed25519 over id.timestamp.body, whpk_ key (computed).
v1a = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
sig = base64.b64encode(v1a.sign(f"msg_v1a.{TS}.{BODY}".encode())).decode()
out["standard_webhooks_v1a"] = {
    "seed": bytes(range(32, 64)).hex(),
    "public_key": "whpk_" + base64.b64encode(v1a.public_key().public_bytes_raw()).decode(),
    "id": "msg_v1a", "timestamp": str(TS), "body": BODY,
    "signature": f"v1,bm90IHRoaXMgb25l v1a,{sig}",
}

# SendGrid: published by SendGrid's SDKs (sendgrid-python, -go, -java, -nodejs tests)...
published = {
    "public_key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
    "timestamp": "1588788367",
    "body": '{"category":"example_payload","event":"test_event","message_id":"message_id"}',
    "signature": "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=",
}
serialization.load_der_public_key(base64.b64decode(published["public_key"])).verify(
    base64.b64decode(published["signature"]),
    (published["timestamp"] + published["body"]).encode(), ec.ECDSA(hashes.SHA256()))
# ...and one computed here under a throwaway key.
sendgrid = ec.derive_private_key(0x1234567890ABCDEF, ec.SECP256R1())
out["sendgrid"] = [published, {
    "scalar": "0x1234567890ABCDEF",
    "public_key": base64.b64encode(sendgrid.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode(),
    "timestamp": str(TS), "body": BODY,
    "signature": base64.b64encode(sendgrid.sign(f"{TS}{BODY}".encode(), ec.ECDSA(hashes.SHA256()))).decode(),
}]

# Intercom: sha1=<hex HMAC-SHA1 of the body> (computed).
out["intercom"] = {
    "secret": "intercom-client-secret", "body": BODY,
    "signature": "sha1=" + hmac.new(b"intercom-client-secret", BODY.encode(), hashlib.sha1).hexdigest(),
}

# Twilio: the published form example (docs), and a JSON body with bodySHA256 (computed).
form = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675310"), ("Digits", "1234"),
        ("From", "+14158675310"), ("To", "+18005551212")]
url = "https://mycompany.com/myapp.php?foo=1&bar=2"
signed = url + "".join(k + v for k, v in sorted(form))
assert base64.b64encode(hmac.new(b"12345", signed.encode(), hashlib.sha1).digest()).decode() == "GvWf1cFY/Q7PnoempGyD5oXAezc="
json_body = '{"property":"value","boolean":true}'
json_url = "https://mycompany.com/myapp?bodySHA256=" + hashlib.sha256(json_body.encode()).hexdigest()
out["twilio"] = [
    {"token": "12345", "base": "https://mycompany.com", "path": "/myapp.php?foo=1&bar=2",
     "content_type": "application/x-www-form-urlencoded",
     "body": "CallSid=CA1234567890ABCDE&Caller=%2B14158675310&Digits=1234&From=%2B14158675310&To=%2B18005551212",
     "signature": "GvWf1cFY/Q7PnoempGyD5oXAezc=", "source": "published: Twilio's webhook security docs"},
    {"token": "12345", "base": "https://mycompany.com", "path": json_url[len("https://mycompany.com"):],
     "content_type": "application/json", "body": json_body,
     "signature": base64.b64encode(hmac.new(b"12345", json_url.encode(), hashlib.sha1).digest()).decode(),
     "source": "computed: Python hmac and hashlib"},
]

with open("tests/vectors/senders.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
