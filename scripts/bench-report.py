#!/usr/bin/env python3
"""Prints the table of `cargo bench --bench verify` with its ratios, from criterion's output.

Run from the repository root after the benchmark:  python3 scripts/bench-report.py
"""
import json
import os
import sys

SIZES = ["256B", "4KiB", "64KiB", "1MiB", "16MiB"]
BYTES = {"256B": 256, "4KiB": 4096, "64KiB": 65536, "1MiB": 1 << 20, "16MiB": 16 << 20}
ROOT = os.path.join("target", "criterion")


def mean_ns(size, bench):
    path = os.path.join(ROOT, f"verify_{size}", bench, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["mean"]["point_estimate"]
    except FileNotFoundError:
        return None


def fmt(ns):
    if ns is None:
        return "–"
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns / 1e6:.2f} ms"


def gbps(size, ns):
    return f"{BYTES[size] / ns:.2f} GB/s" if ns else "–"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "–"


if not os.path.isdir(ROOT):
    sys.exit("no target/criterion: run `cargo bench --bench verify` first")

print("| body | floor (keyed each time) | floor, pre-keyed | by hand, 1 frame | layer Loopwise, 1 frame "
      "| layer Loop, 1 frame | by hand, 16 KiB frames | layer Loopwise, 16 KiB frames "
      "| layer Loop, 16 KiB frames | layer/floor | layer/by hand (1 frame, 16 KiB frames) "
      "| layer − floor |")
print("|" + "---|" * 12)
for size in SIZES:
    m = {b: mean_ns(size, b) for b in [
        "floor", "floor_prekeyed", "by_hand_1frame", "layer_loopwise_1frame", "layer_loop_1frame",
        "by_hand_16KiB_frames", "layer_loopwise_16KiB_frames", "layer_loop_16KiB_frames"]}
    worst_layer = max(filter(None, [m["layer_loopwise_1frame"], m["layer_loopwise_16KiB_frames"],
                                    m["layer_loop_1frame"], m["layer_loop_16KiB_frames"]]), default=None)
    overhead = (m["layer_loopwise_1frame"] - m["floor"]) if m["layer_loopwise_1frame"] and m["floor"] else None
    print(f"| {size} | {fmt(m['floor'])} ({gbps(size, m['floor'])}) | {fmt(m['floor_prekeyed'])} "
          f"| {fmt(m['by_hand_1frame'])} | {fmt(m['layer_loopwise_1frame'])} | {fmt(m['layer_loop_1frame'])} "
          f"| {fmt(m['by_hand_16KiB_frames'])} | {fmt(m['layer_loopwise_16KiB_frames'])} "
          f"| {fmt(m['layer_loop_16KiB_frames'])} | {ratio(worst_layer, m['floor'])} "
          f"| {ratio(m['layer_loopwise_1frame'], m['by_hand_1frame'])}, "
          f"{ratio(m['layer_loopwise_16KiB_frames'], m['by_hand_16KiB_frames'])} "
          f"| {fmt(overhead)} |")

print()
print("| body | `standardwebhooks` crate verify | this crate, `standard_webhooks` preset | peer/this |")
print("|---|---|---|---|")
for size in SIZES:
    peer, ours = mean_ns(size, "peer_standardwebhooks"), mean_ns(size, "layer_standard_webhooks")
    print(f"| {size} | {fmt(peer)} ({gbps(size, peer)}) | {fmt(ours)} ({gbps(size, ours)}) | {ratio(peer, ours)} |")
