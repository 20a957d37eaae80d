#!/usr/bin/env python3
"""Flood a webhook server with stalled large bodies and report what it costs the server.

Opens CONNECTIONS connections to the server on loopback. Each sends a well-formed request
with a wrong Loopwise signature and `Content-Length: SIZE`, then all but the last byte of
the body, and stalls. Meanwhile it samples the server's RSS (from /proc/PID/status), counts
the connections answered early (the server refusing the body) and how fast, and sends one
correctly signed small webhook, which must get 200.

Bounded: at most CONNECTIONS connections, HOLD seconds; it only ever connects to the given
loopback address.

    scripts/flood.py --pid "$(pgrep -f load_server)" --port 3100
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import sys
import time

BODY_CHUNK = b"x" * 65536


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def stalled(host, port, path, size, answered, started):
    """One attacker connection: head, all but one byte of the body, then nothing."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        answered.append(("refused", 0.0))
        return None
    head = (
        f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        f"content-length: {size}\r\nloopwise-webhook-signature: {'0' * 64}\r\n\r\n"
    ).encode()
    try:
        writer.write(head)
        remaining = size - 1
        while remaining > 0:
            chunk = BODY_CHUNK[: min(len(BODY_CHUNK), remaining)]
            writer.write(chunk)
            await writer.drain()
            remaining -= len(chunk)
    except (ConnectionError, OSError):
        pass

    async def watch():
        try:
            status = await reader.readline()
        except (ConnectionError, OSError):
            status = b""
        # A server that answers and closes while the body is still coming may reset the
        # connection before the status line is read: that is an early answer too.
        code = status.decode().split(" ", 2)[1] if status else "closed"
        answered.append((code, time.monotonic() - started))

    return writer, asyncio.ensure_future(watch())


async def legit(host, port, path, key):
    body = json.dumps({"event": "order.paid", "data": {"id": "ord_flood"}}).encode()
    signature = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        (
            f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nloopwise-webhook-signature: {signature}\r\n"
            "connection: close\r\n\r\n"
        ).encode()
        + body
    )
    await writer.drain()
    status = (await asyncio.wait_for(reader.readline(), 10)).decode().split(" ", 2)[1]
    writer.close()
    return status, time.monotonic() - started


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, required=True, help="the server's process id")
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "::1", "localhost"])
    parser.add_argument("--port", type=int, default=3100)
    parser.add_argument("--path", default="/verified")
    parser.add_argument("--connections", type=int, default=400)
    parser.add_argument("--size", type=int, default=1 << 20)
    parser.add_argument("--hold", type=float, default=5.0, help="seconds to keep the flood up")
    parser.add_argument("--key", default="load-test-key", help="the server's Loopwise key")
    parser.add_argument("--max-rss-mib", type=float, help="fail if the peak RSS exceeds this")
    args = parser.parse_args()

    before = rss_kib(args.pid)
    started = time.monotonic()
    answered = []
    tasks = [
        stalled(args.host, args.port, args.path, args.size, answered, started)
        for _ in range(args.connections)
    ]
    held = [held for held in await asyncio.gather(*tasks) if held]
    flood_sent = time.monotonic() - started

    peak = rss_kib(args.pid)
    legit_status, legit_seconds = await legit(args.host, args.port, args.path, args.key)
    deadline = time.monotonic() + args.hold
    while time.monotonic() < deadline:
        peak = max(peak, rss_kib(args.pid))
        await asyncio.sleep(0.1)

    early = sorted(seconds for status, seconds in answered if status != "refused")
    still_open = args.connections - len(answered)
    codes = {}
    for status, _ in answered:
        codes[status] = codes.get(status, 0) + 1
    for writer, watcher in held:
        watcher.cancel()
        writer.close()

    print(f"connections: {args.connections} x {args.size} bytes, all but the last byte sent in {flood_sent:.2f} s")
    print(f"server RSS: {before / 1024:.1f} MiB before, {peak / 1024:.1f} MiB at peak")
    print(f"answered or closed before their body was complete: {len(early)} {codes}; still held: {still_open}")
    if early:
        print(f"  slowest early answer after {early[-1]:.2f} s, median {early[len(early) // 2]:.3f} s")
    print(f"a signed small webhook during the flood: {legit_status} in {legit_seconds * 1000:.1f} ms")
    ok = legit_status == "200"
    if args.max_rss_mib is not None and peak / 1024 > args.max_rss_mib:
        print(f"FAIL: peak RSS {peak / 1024:.1f} MiB over {args.max_rss_mib} MiB")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
