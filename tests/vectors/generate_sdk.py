#!/usr/bin/env python3
"""Writes tests/vectors/sdk.json: each preset checked against its sender's own SDK, both ways.

It installs the pinned SDK versions below from PyPI (in a virtual environment) and npm (in
a scratch folder), both under a temporary directory that is removed afterwards, and then:

- "deliveries": requests made here (Python's hmac and `cryptography`, or the SDK's own
  signing where it has one) and checked by the SDK, with its verdict. tests/sdk_agreement.rs
  requires the crate to give the same verdict.
- "crate_signed": the requests this crate signs (`sign_message`, written by the ignored test
  `write_crate_signed_deliveries` of tests/sdk_agreement.rs, run here through cargo) and
  the SDK's verdict on each. The Rust test signs them again and requires the same bytes.

No SDK code is kept: only the versions, the requests and the verdicts. Needs python3 (with
venv), node and npm, cargo, and the package registries. Run it from the repository root:

    python3 tests/vectors/generate_sdk.py
"""
import base64
import datetime
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

PYTHON_SDKS = {
    "standardwebhooks": "1.1.0",
    "openai": "3.57.0",
    "workos": "10.8.0",
    "box-sdk-gen": "1.17.0",
    "razorpay": "2.0.1",
    "cryptography": "50.0.2",
}
NODE_SDKS = {
    "@linear/sdk": "98.0.0",
    "@shopify/shopify-api": "15.0.0",
    "@clerk/backend": "3.25.0",
    "resend": "6.38.0",
    "@mux/mux-node": "15.3.0",
    "discord-interactions": "4.4.0",
}
OUT = "tests/vectors/sdk.json"


def sdk(name):
    version = PYTHON_SDKS.get(name) or NODE_SDKS[name]
    return f"{name} {version}"


def mac(key, message):
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def b64(data):
    return base64.b64encode(data).decode()


# --- Requests made here, for the SDKs to judge ------------------------------------------------
def deliveries(now):
    """Each: name, preset, key (as the crate's preset takes it), headers, body, and the
    check the SDK runs ("check" and its arguments)."""
    out = []
    body = '{"id":"evt_sdk_1","type":"test.event","data":{"amount":4200}}'

    def add(name, preset, key, headers, check, body=body, **args):
        out.append({"name": name, "preset": preset, "key": key, "headers": headers, "body": body,
                    "check": check, **args})

    # Shopify: the classic X-Shopify-* names and the lowercase shopify-* ones.
    secret = "shpss_client_secret"
    webhook_id = str(uuid.UUID(int=1))
    common = {"topic": "orders/create", "shop-domain": "example.myshopify.com", "api-version": "2025-07",
              "webhook-id": webhook_id, "event-id": str(uuid.UUID(int=2)), "triggered-at": "2025-07-01T00:00:00Z"}
    lowercase = {f"shopify-{k}": v for k, v in common.items()}
    add("shopify-events-lowercase", "shopify", secret,
        {**lowercase, "shopify-hmac-sha256": b64(mac(secret, body))}, "shopify")
    add("shopify-classic", "shopify", secret,
        {**{f"X-Shopify-{k.title()}": v for k, v in common.items()},
         "X-Shopify-Hmac-Sha256": b64(mac(secret, body))}, "shopify")
    add("shopify-lowercase-other-key", "shopify", secret,
        {**lowercase, "shopify-hmac-sha256": b64(mac("another secret", body))}, "shopify")

    # Linear: webhookTimestamp (ms) inside the signed body, 60 s either way.
    secret = "lin_wh_signing_secret"
    for name, stamp in [("now", now * 1000), ("30s-old", now * 1000 - 30_000), ("2min-old", now * 1000 - 120_000),
                        ("2min-ahead", now * 1000 + 120_000), ("missing", None), ("a-string", f'"{now * 1000}"')]:
        fields = '"action":"create","type":"Issue","data":{"id":"i_1"}'
        linear_body = "{" + fields + ("" if stamp is None else f',"webhookTimestamp":{stamp}') + "}"
        add(f"linear-{name}", "linear", secret, {"Linear-Signature": mac(secret, linear_body).hex(),
                                                 "Linear-Delivery": str(uuid.UUID(int=3))},
            "linear", body=linear_body)

    # Standard Webhooks: secrets without their base64 padding, signed by the reference library.
    for unpadded in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr"]:
        add(f"standard-webhooks-unpadded-{len(unpadded)}", "standard_webhooks", "whsec_" + unpadded, None,
            "standardwebhooks-sign", msg_id=f"msg_{len(unpadded)}", at=now)
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr==")
    signature = b64(mac(key, f"msg_x.{now}.{body}"))
    add("standard-webhooks-other-key", "standard_webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
        {"webhook-id": "msg_x", "webhook-timestamp": str(now), "webhook-signature": f"v1,{signature}"},
        "standardwebhooks")

    # OpenAI: a secret without `whsec_` is the key itself, not base64.
    for name, key, signed_with in [("raw-secret", "openai raw secret", b"openai raw secret"),
                                   ("raw-secret-that-looks-like-base64", "c2VjcmV0", b"c2VjcmV0"),
                                   ("raw-secret-is-not-decoded", "c2VjcmV0", b"secret"),
                                   ("whsec-secret", "whsec_" + b64(b"openai key bytes"), b"openai key bytes")]:
        msg_id = f"wh_{name}"
        add(f"openai-{name}", "openai", key,
            {"webhook-id": msg_id, "webhook-timestamp": str(now),
             "webhook-signature": "v1," + b64(mac(signed_with, f"{msg_id}.{now}.{body}"))}, "openai")

    # WorkOS: `t=<ms>, v1=<hex>`, as WorkOS writes it.
    secret, ms = "workos endpoint secret", str(now * 1000 + 789)
    add("workos", "workos", secret, {"WorkOS-Signature": f"t={ms}, v1=" + mac(secret, f"{ms}.{body}").hex()}, "workos")
    add("workos-other-key", "workos", secret,
        {"WorkOS-Signature": f"t={ms}, v1=" + mac("another", f"{ms}.{body}").hex()}, "workos")

    # Box: primary and secondary signatures of body + timestamp, with the version headers.
    stamp = datetime.datetime.fromtimestamp(now - 5, datetime.timezone(datetime.timedelta(hours=-8)))
    stamp = stamp.isoformat()
    box = {"box-delivery-id": str(uuid.UUID(int=4)), "box-delivery-timestamp": stamp,
           "box-signature-primary": b64(mac("box primary key", body + stamp)),
           "box-signature-secondary": b64(mac("box secondary key", body + stamp))}
    versioned = {**box, "box-signature-version": "1", "box-signature-algorithm": "HmacSHA256"}
    add("box", "box_com", "box primary key", versioned, "box")
    add("box-without-version-headers", "box_com", "box primary key", box, "box")
    add("box-version-2", "box_com", "box primary key", {**versioned, "box-signature-version": "2"}, "box")

    # GitLab's signing token: Standard Webhooks, webhook-id equal to Idempotency-Key.
    token = "whsec_" + b64(bytes(range(100, 132)))
    idem = str(uuid.UUID(int=5))
    signature = b64(mac(bytes(range(100, 132)), f"{idem}.{now}.{body}"))
    signed = {"webhook-id": idem, "webhook-timestamp": str(now), "webhook-signature": f"v1,{signature}",
              "Idempotency-Key": idem, "X-Gitlab-Event": "Push Hook"}
    add("gitlab-signed", "gitlab", token, signed, "standardwebhooks")
    # The same request without its signature but with the secret token: no downgrade.
    unsigned = {k: v for k, v in signed.items() if k != "webhook-signature"}
    add("gitlab-signature-left-out", "gitlab", token, {**unsigned, "X-Gitlab-Token": token}, "standardwebhooks")

    # Clerk and Resend sign through Svix: svix-* names.
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    for preset, check in [("clerk", "clerk"), ("resend", "resend")]:
        for name, signing_key in [("", key), ("-other-key", b"another key")]:
            msg_id = f"msg_{preset}{name}"
            add(f"{preset}{name}", preset, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                {"svix-id": msg_id, "svix-timestamp": str(now),
                 "svix-signature": "v1," + b64(mac(signing_key, f"{msg_id}.{now}.{body}"))}, check)

    # Mux and Razorpay, checked by their SDKs.
    for name, signing_key in [("", "mux signing secret"), ("-other-key", "another")]:
        add(f"mux{name}", "mux", "mux signing secret",
            {"Mux-Signature": f"t={now},v1=" + mac(signing_key, f"{now}.{body}").hex()}, "mux")
    for name, signing_key in [("", "razorpay webhook secret"), ("-other-key", "another")]:
        add(f"razorpay{name}", "razorpay", "razorpay webhook secret",
            {"X-Razorpay-Signature": mac(signing_key, body).hex(), "x-razorpay-event-id": "Kr5a1f2b3c4d5e"},
            "razorpay")

    # Discord: Ed25519 under the hex key, and the same key as PEM; signed in the checker.
    for name, form in [("hex-key", "hex"), ("pem-key", "pem"), ("tampered", "hex")]:
        add(f"discord-{name}", "discord", form, None, "discord", at=now, tampered=name == "tampered")
    return out


# --- The Python SDKs' checks (run inside the virtual environment) -----------------------------
def python_check(task):
    """The SDK's verdict on one task; fills in headers for tasks the SDK signs itself."""
    kind, body, headers = task["check"], task["body"], task.get("headers")
    if kind == "standardwebhooks-sign":
        from standardwebhooks import Webhook
        at = datetime.datetime.fromtimestamp(task["at"], datetime.timezone.utc)
        signature = Webhook(task["key"]).sign(task["msg_id"], at, body)
        task["headers"] = {"webhook-id": task["msg_id"], "webhook-timestamp": str(task["at"]),
                           "webhook-signature": signature}
        kind = task["check"] = "standardwebhooks"
        headers = task["headers"]
    if kind == "discord":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        private = Ed25519PrivateKey.from_private_bytes(bytes(range(64, 96)))
        public = private.public_key()
        hex_key = public.public_bytes_raw().hex()
        pem = public.public_bytes(serialization.Encoding.PEM,
                                  serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        signature = private.sign(f"{task['at']}{body}".encode()).hex()
        task["key"] = pem if task["key"] == "pem" else hex_key
        task["pem"], task["hex_key"] = pem, hex_key
        task["headers"] = {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": str(task["at"])}
        if task.pop("tampered", False):
            task["body"] = body.replace("4200", "4201")
        return None  # node checks it
    try:
        if kind == "standardwebhooks":
            from standardwebhooks import Webhook
            Webhook(task["key"]).verify(body, headers)
        elif kind == "openai":
            from openai import OpenAI
            OpenAI(api_key="sk-test").webhooks.verify_signature(body, headers, secret=task["key"])
        elif kind == "workos":
            from workos.webhooks._verification import verify_header
            signature = {k.lower(): v for k, v in headers.items()}["workos-signature"]
            verify_header(event_body=body.encode(), event_signature=signature, secret=task["key"])
        elif kind == "box":
            from box_sdk_gen import WebhooksManager
            return bool(WebhooksManager.validate_message(body, {k.lower(): v for k, v in headers.items()},
                                                         task["key"]))
        elif kind == "razorpay":
            import razorpay
            signature = {k.lower(): v for k, v in headers.items()}["x-razorpay-signature"]
            razorpay.Client(auth=("rzp_test", "x")).utility.verify_webhook_signature(body, signature, task["key"])
        else:
            return None
        return True
    except Exception:  # noqa: BLE001 - every SDK signals a refusal by raising
        return False


# --- The Node SDKs' checks ------------------------------------------------------------------
NODE_CHECKER = r"""
import { LinearWebhookClient } from '@linear/sdk/webhooks';
import '@shopify/shopify-api/adapters/web-api';
import { shopifyApi, ApiVersion } from '@shopify/shopify-api';
import { verifyWebhook } from '@clerk/backend/webhooks';
import { Resend } from 'resend';
import Mux from '@mux/mux-node';
import { verifyKey } from 'discord-interactions';
import { readFileSync } from 'node:fs';

const tasks = JSON.parse(readFileSync(0, 'utf8'));
const lower = (headers) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));

async function check(task) {
  const headers = task.headers;
  const h = lower(headers);
  switch (task.check) {
    case 'linear':
      try { return new LinearWebhookClient(task.key).verify(Buffer.from(task.body), h['linear-signature']); }
      catch { return false; }
    case 'shopify': {
      const shopify = shopifyApi({ apiKey: 'test-key', apiSecretKey: task.key, hostName: 'localhost',
        apiVersion: ApiVersion.July25, isEmbeddedApp: false, logger: { level: 0 } });
      const rawRequest = new Request('https://localhost/webhooks', { method: 'POST', headers, body: task.body });
      const result = await shopify.webhooks.validate({ rawBody: task.body, rawRequest });
      return result.valid === true;
    }
    case 'clerk': {
      const request = new Request('https://localhost/webhooks', { method: 'POST', headers, body: task.body });
      try { await verifyWebhook(request, { signingSecret: task.key }); return true; }
      catch { return false; }
    }
    case 'resend':
      try {
        new Resend('re_test').webhooks.verify({ payload: task.body, webhookSecret: task.key,
          headers: { id: h['svix-id'], timestamp: h['svix-timestamp'], signature: h['svix-signature'] } });
        return true;
      } catch { return false; }
    case 'mux':
      try { await new Mux({ tokenId: 'x', tokenSecret: 'y' }).webhooks.verifySignature(task.body, headers, task.key); return true; }
      catch { return false; }
    case 'discord': {
      // Discord's library takes the hex key, or a CryptoKey: the PEM one imported as SPKI.
      let key = task.hex_key;
      if (task.key === task.pem) {
        const der = Buffer.from(task.pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, ''), 'base64');
        key = await crypto.subtle.importKey('spki', der, { name: 'Ed25519' }, false, ['verify']);
      }
      return await verifyKey(task.body, h['x-signature-ed25519'], h['x-signature-timestamp'], key);
    }
    default:
      return null;
  }
}

const verdicts = [];
for (const task of tasks) verdicts.push(await check(task));
process.stdout.write(JSON.stringify(verdicts));
"""

# How the SDK checks a crate-signed delivery of each preset.
CRATE_SIGNED_CHECKS = {
    "workos": "workos", "clerk": "clerk", "resend": "resend", "box_com": "box",
    "standard_webhooks": "standardwebhooks", "openai": "openai", "gitlab": "standardwebhooks",
    "shopify": "shopify", "linear": "linear", "mux": "mux", "razorpay": "razorpay",
}
CHECK_SDKS = {
    "standardwebhooks": "standardwebhooks", "openai": "openai", "workos": "workos", "box": "box-sdk-gen",
    "razorpay": "razorpay", "linear": "@linear/sdk", "shopify": "@shopify/shopify-api",
    "clerk": "@clerk/backend", "resend": "resend", "mux": "@mux/mux-node", "discord": "discord-interactions",
}


def run(command, **kwargs):
    print("+", " ".join(command), file=sys.stderr)
    return subprocess.run(command, check=True, **kwargs)


def judge(tasks, venv_python, node_dir):
    """Python SDKs judge first (and sign what they sign), then Node's."""
    done = subprocess.run([venv_python, __file__, "--check-python"], input=json.dumps(tasks),
                          capture_output=True, text=True, check=True)
    tasks = json.loads(done.stdout)
    node = subprocess.run(["node", os.path.join(node_dir, "check.mjs")], input=json.dumps(tasks),
                          capture_output=True, text=True, check=True, cwd=node_dir)
    for task, verdict in zip(tasks, json.loads(node.stdout)):
        if task.get("sdk_accepts") is None:
            task["sdk_accepts"] = verdict
        assert task["sdk_accepts"] is not None, task
        task["sdk"] = sdk(CHECK_SDKS[task["check"]])
    return tasks


def main():
    if sys.argv[1:] == ["--check-python"]:
        tasks = json.load(sys.stdin)
        for task in tasks:
            task["sdk_accepts"] = python_check(task)
        json.dump(tasks, sys.stdout)
        return
    # SDK_WORKDIR keeps the installed SDKs between runs (for working on this script).
    keep = os.environ.get("SDK_WORKDIR")
    work = keep or tempfile.mkdtemp(prefix="tower-webhook-sdks-")
    try:
        venv_python = os.path.join(work, "venv", "bin", "python")
        node_dir = os.path.join(work, "node")
        if not os.path.exists(venv_python):
            run([sys.executable, "-m", "venv", os.path.join(work, "venv")])
        run([venv_python, "-m", "pip", "install", "--quiet"] + [f"{n}=={v}" for n, v in PYTHON_SDKS.items()])
        os.makedirs(node_dir, exist_ok=True)
        with open(os.path.join(node_dir, "package.json"), "w") as f:
            json.dump({"name": "sdk-check", "private": True, "type": "module"}, f)
        run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--save-exact"]
            + [f"{n}@{v}" for n, v in NODE_SDKS.items()], cwd=node_dir)
        with open(os.path.join(node_dir, "check.mjs"), "w") as f:
            f.write(NODE_CHECKER)

        if not os.path.exists(OUT):
            # tests/sdk_agreement.rs includes the file it is about to write.
            with open(OUT, "w") as f:
                json.dump({"deliveries": [], "crate_signed": []}, f)
        now = int(time.time())
        crate_file = os.path.join(work, "crate_signed.json")
        run(["cargo", "test", "--quiet", "--all-features", "--test", "sdk_agreement", "--",
             "--ignored", "--exact", "write_crate_signed_deliveries"],
            env={**os.environ, "CRATE_SIGNED_AT": str(now), "CRATE_SIGNED_OUT": crate_file})
        with open(crate_file) as f:
            crate_signed = json.load(f)
        for delivery in crate_signed:
            extra = {}
            if delivery["preset"] == "shopify":
                # Shopify's library also requires the unsigned headers every delivery carries.
                extra = {"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": "example.myshopify.com",
                         "X-Shopify-API-Version": "2025-07", "X-Shopify-Webhook-Id": str(uuid.UUID(int=6))}
            delivery["check"] = CRATE_SIGNED_CHECKS[delivery["preset"]]
            delivery["sdk_headers"] = extra
        tasks = [{**d, "headers": {**d["headers"], **d["sdk_headers"]}} for d in crate_signed]
        verdicts = judge(tasks, venv_python, node_dir)
        for delivery, judged in zip(crate_signed, verdicts):
            delivery["sdk"], delivery["sdk_accepts"] = judged["sdk"], judged["sdk_accepts"]
            del delivery["check"], delivery["sdk_headers"]

        checked = judge(deliveries(now), venv_python, node_dir)
        for delivery in checked:
            delivery["now_ms"] = now * 1000
            for field in ["check", "msg_id", "at", "pem", "hex_key"]:
                delivery.pop(field, None)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)

    with open(OUT, "w") as f:
        json.dump({"python": PYTHON_SDKS, "node": NODE_SDKS, "generated_at": now,
                   "deliveries": checked, "crate_signed": crate_signed}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    refused = [d["preset"] for d in crate_signed if not d["sdk_accepts"]]
    print(f"{len(checked)} deliveries judged; crate-signed refused by their SDK: {refused or 'none'}")


if __name__ == "__main__":
    main()
