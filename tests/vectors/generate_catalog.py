#!/usr/bin/env python3
"""Writes tests/vectors/catalog.json: one signed delivery for each preset added with the
catalog (issue "Every widely used sender in one line").

Each delivery is built here with Python's hmac, hashlib and base64, from the sender's own
documentation of its scheme (linked beside each one), not from this crate. `now` is the
time the receiver's clock is fixed at; `strength` says what tampering the body must do.
Run it from the repository root: python3 tests/vectors/generate_catalog.py
"""
import base64
import hashlib
import hmac
import json

NOW = 1700000000  # 2023-11-14T22:13:20Z
BODY = '{"id":"evt_cat_1","type":"test.event","data":{"amount":4200,"currency":"EUR"}}'
out = []


def mac(key, message, digest=hashlib.sha256):
    if isinstance(key, str):
        key = key.encode()
    if isinstance(message, str):
        message = message.encode()
    return hmac.new(key, message, digest).digest()


def hexmac(key, message, digest=hashlib.sha256):
    return mac(key, message, digest).hex()


def b64mac(key, message, digest=hashlib.sha256):
    return base64.b64encode(mac(key, message, digest)).decode()


def vector(preset, key, headers, body=BODY, url=None, strength="signature", now=NOW, note=""):
    out.append({
        "preset": preset, "key": key, "url": url, "now": now, "headers": headers,
        "body": body, "strength": strength, "note": note,
    })


# --- HMAC of the raw body ---------------------------------------------------------------
# Meta: https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads
vector("meta", "meta app secret", {"X-Hub-Signature-256": "sha256=" + hexmac("meta app secret", BODY)})
# Vercel: https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks (HMAC-SHA1, hex)
vector("vercel", "vercel secret", {"x-vercel-signature": hexmac("vercel secret", BODY, hashlib.sha1)})
# WooCommerce: base64 HMAC-SHA256 of the body.
vector("woocommerce", "wc secret", {"X-WC-Webhook-Signature": b64mac("wc secret", BODY)})
# Typeform: https://www.typeform.com/developers/webhooks/secure-your-webhooks/
vector("typeform", "tf secret", {"Typeform-Signature": "sha256=" + b64mac("tf secret", BODY)})
# Lemon Squeezy: https://docs.lemonsqueezy.com/help/webhooks/signing-requests
vector("lemon_squeezy", "ls secret", {"X-Signature": hexmac("ls secret", BODY)})
# Sentry: Sentry-Hook-Signature, hex HMAC-SHA256 under the client secret.
vector("sentry", "sentry client secret", {"Sentry-Hook-Signature": hexmac("sentry client secret", BODY)})
# Coinbase Commerce: X-CC-Webhook-Signature, hex.
vector("coinbase_commerce", "cc shared secret", {"X-CC-Webhook-Signature": hexmac("cc shared secret", BODY)})
# Razorpay: https://razorpay.com/docs/webhooks/validate-test/
vector("razorpay", "rzp secret", {"X-Razorpay-Signature": hexmac("rzp secret", BODY),
                                  "x-razorpay-event-id": "Kr5a1f2b3c4d5e"})
# PagerDuty v3: X-PagerDuty-Signature: v1=<hex>[,v1=<hex>], one per secret while rotating.
vector("pagerduty", "pd secret", {"X-PagerDuty-Signature":
                                  "v1=" + hexmac("pd old secret", BODY) + ",v1=" + hexmac("pd secret", BODY)},
       note="the second of two v1 entries matches")
# Airtable: X-Airtable-Content-MAC: hmac-sha256=<hex>, key = base64-decoded macSecretBase64.
airtable_key = base64.b64encode(bytes(range(40, 72))).decode()
vector("airtable", airtable_key, {"X-Airtable-Content-MAC": "hmac-sha256=" + hexmac(bytes(range(40, 72)), BODY)})
# Bitbucket Cloud: X-Hub-Signature: sha256=<hex>.
vector("bitbucket", "bb secret", {"X-Hub-Signature": "sha256=" + hexmac("bb secret", BODY)})
# Gitea: X-Gitea-Signature, hex.
vector("gitea", "gitea secret", {"X-Gitea-Signature": hexmac("gitea secret", BODY), "X-Gitea-Delivery": "d-1"})
# Forgejo sends X-Forgejo-Signature and X-Gitea-Signature; only the latter here (fallback).
vector("forgejo", "forgejo secret", {"X-Gitea-Signature": hexmac("forgejo secret", BODY)},
       note="only the Gitea name of the header, which Forgejo also sends")
# Notion: X-Notion-Signature: sha256=<hex> under the verification token.
vector("notion", "secret_notion_verification_token",
       {"X-Notion-Signature": "sha256=" + hexmac("secret_notion_verification_token", BODY)})
# Cal.com: X-Cal-Signature-256, hex.
vector("cal_com", "cal secret", {"X-Cal-Signature-256": hexmac("cal secret", BODY)})
vector("cal_com", "cal secret", {"X-Cal-Signature-256": "sha256=" + hexmac("cal secret", BODY)},
       note="the same hex after sha256=, as some relays write it")
# Xero: x-xero-signature, base64.
vector("xero", "xero webhook key", {"x-xero-signature": b64mac("xero webhook key", BODY)})
# Intuit: intuit-signature, base64 under the verifier token.
vector("intuit", "intuit verifier token", {"intuit-signature": b64mac("intuit verifier token", BODY)})
# DocuSign Connect: X-DocuSign-Signature-1, -2, ... one per active HMAC key, base64.
vector("docusign", "docusign key 2", {"X-DocuSign-Signature-1": b64mac("docusign key 1", BODY),
                                      "X-DocuSign-Signature-2": b64mac("docusign key 2", BODY)},
       note="our key signed the second header")
# DocuSign allows up to 100 Connect keys: https://developers.docusign.com/platform/webhooks/connect/hmac/
vector("docusign", "docusign key 100",
       {f"X-DocuSign-Signature-{n}": b64mac(f"docusign key {n}", BODY) for n in range(1, 101)},
       note="100 active keys; ours signed the last header")

# --- A timestamp (and id) with the body --------------------------------------------------
# Twitch: https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message
tw_id, tw_ts = "e76c6bd4-55c9-4987-8304-da1588d8988b", "2023-11-14T22:13:20.123456789Z"
vector("twitch", "twitch secret", {
    "Twitch-Eventsub-Message-Id": tw_id,
    "Twitch-Eventsub-Message-Timestamp": tw_ts,
    "Twitch-Eventsub-Message-Signature": "sha256=" + hexmac("twitch secret", tw_id + tw_ts + BODY),
    "Twitch-Eventsub-Message-Type": "notification",
})
# Webflow: timestamp (ms) + ":" + body, hex.
wf_ts = str(NOW * 1000 + 123)
vector("webflow", "webflow client secret", {"x-webflow-timestamp": wf_ts,
                                            "x-webflow-signature": hexmac("webflow client secret", wf_ts + ":" + BODY)})
# ElevenLabs: ElevenLabs-Signature: t=<ts>,v0=<hex of ts.body>.
vector("elevenlabs", "wsec_eleven", {"ElevenLabs-Signature": f"t={NOW},v0=" + hexmac("wsec_eleven", f"{NOW}.{BODY}")})
# Calendly: Calendly-Webhook-Signature: t=<ts>,v1=<hex of ts.body>.
vector("calendly", "calendly signing key",
       {"Calendly-Webhook-Signature": f"t={NOW},v1=" + hexmac("calendly signing key", f"{NOW}.{BODY}")})
# Mux: Mux-Signature: t=<ts>,v1=<hex of ts.body>.
vector("mux", "mux secret", {"Mux-Signature": f"t={NOW},v1=" + hexmac("mux secret", f"{NOW}.{BODY}")})
# WorkOS: WorkOS-Signature: t=<ms>, v1=<hex of ms.body> (note the space).
wo_ts = str(NOW * 1000 + 789)
vector("workos", "workos secret", {"WorkOS-Signature": f"t={wo_ts}, v1=" + hexmac("workos secret", f"{wo_ts}.{BODY}")})
# Zendesk: base64 of timestamp + body, RFC 3339 timestamp header.
zd_ts = "2023-11-14T22:13:20Z"
vector("zendesk", "zendesk secret", {"X-Zendesk-Webhook-Signature-Timestamp": zd_ts,
                                     "X-Zendesk-Webhook-Signature": b64mac("zendesk secret", zd_ts + BODY)})
# Box: https://developer.box.com/guides/webhooks/v2/signatures-v2/ -- body bytes, then the
# timestamp's; primary and secondary keys; here with a UTC offset as Box writes it.
box_ts = "2023-11-14T14:13:20-08:00"
vector("box_com", "box secondary key", {
    "box-delivery-timestamp": box_ts,
    "box-signature-primary": b64mac("box primary key", BODY + box_ts),
    "box-signature-secondary": b64mac("box secondary key", BODY + box_ts),
    "box-signature-version": "1", "box-signature-algorithm": "HmacSHA256",
}, note="our key is the secondary")

# --- The URL it called --------------------------------------------------------------------
# HubSpot v3: https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests
hs_url, hs_ts = "https://example.com/webhooks/hubspot?portal=1", str(NOW * 1000 + 456)
hs_body = '[{"eventId":101,"subscriptionType":"contact.creation","objectId":123}]'
vector("hubspot", "hubspot client secret", {
    "X-HubSpot-Request-Timestamp": hs_ts,
    "X-HubSpot-Signature-v3": b64mac("hubspot client secret", "POST" + hs_url + hs_body + hs_ts),
}, body=hs_body, url=hs_url)

# --- Standard Webhooks under their senders' names ------------------------------------------
sw_key = bytes(range(1, 33))
sw_secret = "whsec_" + base64.b64encode(sw_key).decode()
for preset, prefix in [("clerk", "svix"), ("resend", "svix"), ("openai", "webhook"), ("replicate", "webhook")]:
    msg_id = f"msg_{preset}_1"
    signature = base64.b64encode(mac(sw_key, f"{msg_id}.{NOW}.{BODY}")).decode()
    vector(preset, sw_secret, {f"{prefix}-id": msg_id, f"{prefix}-timestamp": str(NOW),
                               f"{prefix}-signature": f"v1,{signature}"})

# --- A signature inside the body: Mailgun ---------------------------------------------------
# https://documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/#securing-webhooks
mg_key, mg_token = "mailgun http webhook signing key", "2b1a6f9c0e7d4a3b8c5f1e0d9a7b6c4e3f2a1b0c9d8e7f6a5b"
mg_body = json.dumps({
    "signature": {"timestamp": str(NOW), "token": mg_token,
                  "signature": hexmac(mg_key, str(NOW) + mg_token)},
    "event-data": {"event": "delivered", "id": "CPgfbmQMTCKtHW6uIWtuVe"},
}, separators=(",", ":"))
vector("mailgun", mg_key, {"Content-Type": "application/json"}, body=mg_body, strength="signed_fields")

# --- Adyen: each NotificationRequestItem's payment fields, joined with ":" ----------------
# https://docs.adyen.com/development-resources/webhooks/secure-webhooks/verify-hmac-signatures
# Field order as Adyen's own Python library (Adyen/util.py, generate_notification_sig) signs
# them; the HMAC key is hex, the signature base64 in additionalData.hmacSignature.
adyen_key = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D25BDB8A5652E3384781658D"
adyen_item = {
    "pspReference": "7914073381342284", "originalReference": "", "merchantAccountCode": "TestMerchant",
    "merchantReference": "TestPayment-1407325143704", "amount": {"value": 4200, "currency": "EUR"},
    "eventCode": "AUTHORISATION", "success": "true", "eventDate": "2023-11-14T22:13:20+01:00",
    "paymentMethod": "visa", "reason": "1234:7777:12/2012",
}
adyen_signed = ":".join(str(x) for x in [
    adyen_item["pspReference"], adyen_item["originalReference"], adyen_item["merchantAccountCode"],
    adyen_item["merchantReference"], adyen_item["amount"]["value"], adyen_item["amount"]["currency"],
    adyen_item["eventCode"], adyen_item["success"]])
adyen_item["additionalData"] = {"hmacSignature": base64.b64encode(
    hmac.new(bytes.fromhex(adyen_key), adyen_signed.encode(), hashlib.sha256).digest()).decode()}
adyen_body = json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": adyen_item}]},
                        separators=(",", ":"))
vector("adyen", adyen_key, {"Content-Type": "application/json"}, body=adyen_body, strength="signed_fields",
       note="the amount is signed; the reason is not")

# --- Issue #23's senders ---------------------------------------------------------------------
# Asana: https://developers.asana.com/docs/webhooks-guide#security -- X-Hook-Signature, hex
# HMAC-SHA256 of the body under the handshake's X-Hook-Secret (Asana/devrel-examples signs so).
asana_secret = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"
vector("asana", asana_secret, {"X-Hook-Signature": hexmac(asana_secret, BODY)})
# Microsoft Teams outgoing webhooks:
# https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-outgoing-webhook
# Authorization: HMAC <base64>, keyed with the base64-DECODED security token.
teams_key = bytes(range(200, 232))
vector("microsoft_teams", base64.b64encode(teams_key).decode(), {"Authorization": "HMAC " + b64mac(teams_key, BODY)})
# X: https://docs.x.com/x-api/webhooks/quickstart -- sha256=<base64>, the consumer secret.
vector("x", "x consumer secret", {"x-twitter-webhooks-signature": "sha256=" + b64mac("x consumer secret", BODY)})
# Hookdeck: https://hookdeck.com/docs/authentication -- base64 HMAC-SHA256 of the body; while
# a secret is rolled, the previous one signs x-hookdeck-signature-2 (as @hookdeck/sdk reads).
vector("hookdeck", "hookdeck secret", {"x-hookdeck-signature": b64mac("hookdeck secret", BODY),
                                       "x-hookdeck-eventid": "evt_hd_1"})
vector("hookdeck", "hookdeck old secret", {"x-hookdeck-signature": b64mac("hookdeck new secret", BODY),
                                           "x-hookdeck-signature-2": b64mac("hookdeck old secret", BODY),
                                           "x-hookdeck-eventid": "evt_hd_2"},
       note="rolled: our (old) secret signed the second header")
# Trello: https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/#webhook-signatures
# base64 HMAC-SHA1 of body + callbackURL under the app secret, "treated as binary strings, not
# utf-8": each UTF-16 code unit's low byte (an en dash, U+2013, is signed as 0x13).
def js_binary(text):
    return text.encode("utf-16-le")[::2]


trello_url = "https://example.com/webhooks/trello?board=1"
trello_body = json.dumps({"action": {"type": "updateCard", "data": {"card": {
    "name": "Caf\u00e9 \u2013 budget 4200 \u2713 \U0001F600"}}}, "model": {"id": "4d5ea62fd76aa1136000000c"}},
    separators=(",", ":"), ensure_ascii=False)
vector("trello", "trello application secret",
       {"X-Trello-Webhook": base64.b64encode(hmac.new(b"trello application secret",
                                                      js_binary(trello_body + trello_url), hashlib.sha1).digest()).decode()},
       body=trello_body, url=trello_url, strength="checksum", note="non-ASCII: signed as low bytes")
# Microsoft Graph: https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks
# each notification's clientState is the subscription's secret; nothing is signed.
graph_state = "graph client state 4f0c"
graph_body = json.dumps({"value": [{
    "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", "subscriptionExpirationDateTime": "2023-11-20T18:23:45.9356913Z",
    "changeType": "created", "resource": "Users/4200/Messages/AAMkAGUwNjQ4ZjIxAAA=", "clientState": graph_state,
    "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"}]}, separators=(",", ":"))
vector("microsoft_graph", graph_state, {"Content-Type": "application/json"}, body=graph_body, strength="shared_secret")
graph_lifecycle = json.dumps({"value": [{
    "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", "lifecycleEvent": "reauthorizationRequired",
    "resource": "Users/4200/Messages", "clientState": graph_state,
    "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"}]}, separators=(",", ":"))
vector("microsoft_graph", graph_state, {"Content-Type": "application/json"}, body=graph_lifecycle,
       strength="shared_secret", note="a lifecycle notification")

# --- A shared secret, nothing signed ---------------------------------------------------------
def basic(credentials):
    return "Basic " + base64.b64encode(credentials.encode()).decode()


vector("gitlab", "gitlab secret token", {"X-Gitlab-Token": "gitlab secret token",
                                         "Idempotency-Key": "908a6d9e-45fd-46c8-97e6-c4f350f219dd"},
       strength="shared_secret")
vector("chargebee", "cb-user:cb pass:with colon", {"Authorization": basic("cb-user:cb pass:with colon")},
       strength="shared_secret")
vector("postmark", "postmark:pm password", {"Authorization": basic("postmark:pm password")}, strength="shared_secret")
vector("deepgram", "deepgram:dg password", {"Authorization": basic("deepgram:dg password")}, strength="shared_secret")
vector("okta", "okta hook secret", {"Authorization": "okta hook secret"}, strength="shared_secret")

with open("tests/vectors/catalog.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(f"{len(out)} vectors")
