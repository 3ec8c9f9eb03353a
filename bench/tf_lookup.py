#!/usr/bin/env python3
"""Transform lookups through the bridge: round trip and lookups per second.

  rclpy TF publishers (tests/python/ros_tf_pub.py: a 5-frame tree, two
  dynamic links at 50 Hz, two static frames) -> ros2-dora-bridge `tf:`
  buffer <- lookups from a Python dora node (tests/python/dora_tf_client.py),
  one at a time: each request is sent when the previous answer arrived.

  source .workbench/env.sh
  cargo build --release --bins
  python3 bench/tf_lookup.py [--lookups 2000] [--runs 3]

Prints per run the p50 and p99 round trip (dora node -> bridge -> dora
node, including the chained lookup across 4 links with interpolation) and
the lookups per second, and the median of the runs.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import env_for, spawn, stop, wait_for

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
TESTS = ROOT / "tests" / "python"
DYNAMIC = [
    ["map", "odom", 100.0, [1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]],
    ["map", "odom", 101.0, [3.0, 0.0, 0.0], [0.0, 0.0, 0.7071067811865476, 0.7071067811865476]],
    ["odom", "base_link", 100.0, [0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]],
    ["odom", "base_link", 101.0, [0.0, 2.0, 0.5], [0.0, 0.3826834323650898, 0.0, 0.9238795325112867]],
]
STATIC = [["base_link", "laser", [0.5, 0.0, 0.2], [0.0, 0.0, 1.0, 0.0]],
          ["base_link", "camera", [0.1, -0.3, 0.4], [0.5, -0.5, 0.5, -0.5]]]
LOOKUP = {"target": "camera", "source": "map", "time_s": 100.5, "expect": "ok"}


def run(work, lookups, domain):
    (work / "tree.json").write_text(json.dumps({"static": STATIC, "dynamic": DYNAMIC, "rate": 50}))
    (work / "spec.json").write_text(json.dumps({"static": STATIC, "dynamic": DYNAMIC, "lookups": [LOOKUP]}))
    (work / "bridge.yaml").write_text(
        "tf: {lookup_request: tf_request, lookup_response: tf_response}\nstats: {log_interval: 3600s}\n")
    (work / "dataflow.yml").write_text(f"""nodes:
  - id: bridge
    path: {TARGET / 'ros2-dora-bridge'}
    args: --config bridge.yaml
    inputs:
      tf_request: client/request
    outputs: [tf_response]
  - id: client
    path: {sys.executable}
    args: -u {TESTS / 'dora_tf_client.py'}
    env: {{TF_SPEC: {work / 'spec.json'}, TF_BENCH: "{lookups}", RECORD_FILE: {work / 'out.jsonl'}}}
    inputs:
      tick: dora/timer/millis/200
      response: bridge/tf_response
    outputs: [request]
""")
    env = env_for(domain)
    publisher = spawn([sys.executable, TESTS / "ros_tf_pub.py", work / "tree.json"], env, work / "tf.log")
    dora = spawn(["dora", "run", work / "dataflow.yml"], env, work / "dora.log", cwd=work)

    def result():
        if not (work / "out.jsonl").exists():
            return None
        lines = [json.loads(l) for l in (work / "out.jsonl").read_text().splitlines() if l]
        return next((l for l in lines if "bench" in l), None)

    try:
        wait_for(lambda: result() is not None, timeout=300)
        got = result()
    finally:
        stop(dora)
        stop(publisher)
    if got is None:
        sys.exit(f"no result; see {work}/dora.log")
    return got


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            got = run(Path(tmp), args.lookups, 90 + i)
        results.append(got)
        print(f"run {i + 1}: p50 {got['p50_ms']:.3f} ms, p99 {got['p99_ms']:.3f} ms, "
              f"{got['per_second']:.0f} lookups/s", flush=True)
    print(f"median of {args.runs}: p50 {statistics.median(r['p50_ms'] for r in results):.3f} ms, "
          f"p99 {statistics.median(r['p99_ms'] for r in results):.3f} ms, "
          f"{statistics.median(r['per_second'] for r in results):.0f} lookups/s ({args.lookups} lookups per run)")


if __name__ == "__main__":
    main()
