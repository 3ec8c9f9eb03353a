#!/usr/bin/env python3
"""Turns criterion's results (target/criterion) into the table in
docs/performance.md: time per message for decode, encode and memcpy of the
same bytes, throughput, and the ratio to memcpy."""
import json
import os
import sys
from pathlib import Path

target = Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "criterion"
if not target.is_dir():
    sys.exit(f"no criterion results under {target}: run `cargo bench --bench codec` first")


def estimate(group, function):
    runs = list((target / group / function).glob("*/new/estimates.json"))
    if not runs:
        return None, None
    data = json.loads(runs[0].read_text())
    size = int(runs[0].parent.parent.name)
    return data["median"]["point_estimate"], size


def fmt_time(ns):
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns / 1e6:.2f} ms"


print("| message | bytes | memcpy | decode | decode / memcpy | decode GB/s | decode, sharing | sharing / memcpy | encode | encode / memcpy | encode, reused buffer | reused / memcpy |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for group in ["twist", "joint_state_32", "odometry", "image_1080p_rgb8", "image_4k_rgb8", "pointcloud2_16mb"]:
    memcpy, size = estimate(group, "memcpy")
    decode, _ = estimate(group, "decode")
    sharing, _ = estimate(group, "decode_sharing")
    encode, _ = estimate(group, "encode")
    reuse, _ = estimate(group, "encode_reuse")
    if None in (memcpy, decode, sharing, encode, reuse):
        continue
    print(
        f"| {group} | {size} | {fmt_time(memcpy)} | {fmt_time(decode)} | {decode / memcpy:.2f}x | "
        f"{size / decode:.2f} | {fmt_time(sharing)} | {sharing / memcpy:.2f}x | "
        f"{fmt_time(encode)} | {encode / memcpy:.2f}x | {fmt_time(reuse)} | {reuse / memcpy:.2f}x |"
    )
