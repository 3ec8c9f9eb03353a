#!/usr/bin/env python3
"""End-to-end round trip, ROS -> relay -> ROS, one message in flight,
for each relay side by side in one run:

  bridge      rclpy ping -> ros2-dora-bridge -> dora echo (Python) -> bridge -> rclpy pong
  bridge_lossless
              the same with both dora inputs on `queue_policy: backpressure`
              (what docs/configuration.md recommends for reliable routes)
  rclpy       a plain rclpy relay node
  rcl         a raw-CDR relay on rcl in Rust (examples/rcl_relay.rs)
  dora_loop   the same payload between two dora nodes, no ROS (dora's own share)
  dora_ros2   dora's own ROS 2 bridge (dora.Ros2Context) as a plain ROS relay
              inside one Python process (no dora hop at all)
  dora_ros2_bridge
              dora's own ROS 2 bridge used as a bridge: the same path as
              `bridge` (ROS -> Ros2Context node -> dora echo node ->
              Ros2Context node -> ROS), bench/dora_ros2_bridge_node.py

  source .workbench/env.sh
  cargo build --release --bins --example rcl_relay
  python3 bench/e2e_roundtrip.py [--samples 30] [--rounds 1] [--sizes 64,640x480,1920x1080]

Prints a markdown table (p50/p90 ms, lost) and the bridge's own share
(bridge minus dora_loop) against one rclpy relay.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import stop

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"


FASTDDS_PROFILE = None  # --fastdds-profile
BRIDGE_FASTDDS_PROFILE = None  # --bridge-fastdds-profile


def env_for(domain):
    env = dict(os.environ)
    env.update(ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               DORA_ZENOH_MULTICAST="off", PYTHONUNBUFFERED="1")
    if FASTDDS_PROFILE:
        env["FASTRTPS_DEFAULT_PROFILES_FILE"] = env["FASTDDS_DEFAULT_PROFILES_FILE"] = FASTDDS_PROFILE
    return env


def ros_type(size):
    return "std_msgs/msg/String" if size == "64" else "sensor_msgs/msg/Image"


def ping(size, samples, env):
    out = subprocess.run([sys.executable, HERE / "ros_pinger.py", size, str(samples)],
                         env=env, capture_output=True, text=True, timeout=900)
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": out.stderr[-500:]}


def with_relay(cmd, size, samples, env, cwd=None):
    relay = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return ping(size, samples, env)
    finally:
        stop(relay)


def dora_input(source, lossless):
    if not lossless:
        return f"{source}\n"
    return f"\n        source: {source}\n        queue_policy: backpressure\n        queue_size: 100\n"


def bridge_dataflow(size, work, lossless=False):
    t = ros_type(size)
    (work / "bridge.yaml").write_text(
        f"from_ros:\n  - {{topic: /ping, type: {t}, output: ping}}\n"
        f"to_ros:\n  - {{input: pong, topic: /pong, type: {t}}}\n")
    (work / "dataflow.yml").write_text(
        f"nodes:\n  - id: bridge\n    path: {TARGET / 'ros2-dora-bridge'}\n    args: --config bridge.yaml\n"
        + (f"    env: {{FASTRTPS_DEFAULT_PROFILES_FILE: {BRIDGE_FASTDDS_PROFILE}, FASTDDS_DEFAULT_PROFILES_FILE: {BRIDGE_FASTDDS_PROFILE}}}\n" if BRIDGE_FASTDDS_PROFILE else "")
        + f"    inputs:\n      pong: {dora_input('echo/ping', lossless)}    outputs: [ping]\n"
        f"  - id: echo\n    path: {ROOT / 'tests/python/dora_echo.py'}\n"
        f"    inputs:\n      ping: {dora_input('bridge/ping', lossless)}    outputs: [ping]\n")
    return ["dora", "run", str(work / "dataflow.yml"), "--stop-after", "600s"]


def incumbent_samples(size, samples):
    """dora's bridge takes about a second per image round trip: fewer samples there."""
    return samples if size == "64" else min(samples, 10)


def dora_ros2_bridge_dataflow(size, work):
    (work / "dataflow.yml").write_text(
        f"nodes:\n  - id: bridge\n    path: {HERE / 'dora_ros2_bridge_node.py'}\n"
        f"    env: {{ROS_TYPE: {ros_type(size)}}}\n"
        f"    inputs:\n      pong: echo/ping\n    outputs: [ping]\n"
        f"  - id: echo\n    path: {ROOT / 'tests/python/dora_echo.py'}\n"
        f"    inputs:\n      ping: bridge/ping\n    outputs: [ping]\n")
    return ["dora", "run", str(work / "dataflow.yml"), "--stop-after", "600s"]


def dora_loop(size, samples, env, work):
    result = work / "dora_loop.json"
    (work / "loop.yml").write_text(
        f"nodes:\n  - id: pinger\n    path: {HERE / 'dora_pinger.py'}\n"
        f"    env: {{SIZE: '{size}', SAMPLES: '{samples}', RESULT_FILE: '{result}'}}\n"
        f"    inputs:\n      pong: echo/ping\n    outputs: [ping]\n"
        f"  - id: echo\n    path: {ROOT / 'tests/python/dora_echo.py'}\n"
        f"    inputs:\n      ping: pinger/ping\n    outputs: [ping]\n")
    proc = subprocess.Popen(["dora", "run", str(work / "loop.yml"), "--stop-after", "600s"],
                            env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 900
    while not result.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    stop(proc)
    return json.loads(result.read_text()) if result.exists() else {"error": "no result"}


def run_relay(relay, size, samples, env, work):
    if relay == "bridge":
        return with_relay(bridge_dataflow(size, work), size, samples, env, cwd=work)
    if relay == "bridge_lossless":
        return with_relay(bridge_dataflow(size, work, lossless=True), size, samples, env, cwd=work)
    if relay == "rclpy":
        return with_relay([sys.executable, HERE / "rclpy_relay.py", ros_type(size)], size, samples, env)
    if relay == "rcl":
        return with_relay([TARGET / "examples" / "rcl_relay", ros_type(size), "/ping", "/pong"],
                          size, samples, env)
    if relay == "dora_loop":
        return dora_loop(size, samples, env, work)
    if relay == "dora_ros2_bridge":
        return with_relay(dora_ros2_bridge_dataflow(size, work), size, incumbent_samples(size, samples), env,
                          cwd=work)
    if relay == "dora_ros2":
        return with_relay([sys.executable, HERE / "dora_ros2_relay.py", ros_type(size)], size,
                          incumbent_samples(size, samples), env)
    sys.exit(f"unknown relay {relay}")


def median(values):
    values = sorted(values)
    n = len(values)
    return None if n == 0 else (values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=30, help="round trips per relay and round")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat every relay this many times, interleaved (relay A, B, ..., A, B, ...), "
                             "so a slow minute on the machine hits all relays alike; figures are medians "
                             "over the rounds, comparisons are counted round by round")
    parser.add_argument("--sizes", default="64,640x480,1920x1080")
    parser.add_argument("--relays", default="bridge,rclpy,rcl,dora_loop,dora_ros2,dora_ros2_bridge")
    parser.add_argument("--fastdds-profile",
                        help="a Fast DDS XML profile for every process (pinger, relays, bridge), "
                             "e.g. config/fastdds_large_data.xml")
    parser.add_argument("--bridge-fastdds-profile",
                        help="a Fast DDS XML profile for the bridge alone (what a user gets who configures "
                             "only the bridge)")
    args = parser.parse_args()
    global FASTDDS_PROFILE, BRIDGE_FASTDDS_PROFILE
    FASTDDS_PROFILE = args.fastdds_profile and str(Path(args.fastdds_profile).resolve())
    BRIDGE_FASTDDS_PROFILE = args.bridge_fastdds_profile and str(Path(args.bridge_fastdds_profile).resolve())
    sizes = args.sizes.split(",")
    relays = args.relays.split(",")
    domain = 150
    # (size, relay) -> one result per round
    results = {(size, relay): [] for size in sizes for relay in relays}
    for size in sizes:
        for round_index in range(args.rounds):
            for relay in relays:
                domain = 151 + (domain - 150) % 80  # stay in the valid range over many rounds
                env = env_for(domain)
                with tempfile.TemporaryDirectory() as tmp:
                    r = run_relay(relay, size, args.samples, env, Path(tmp))
                results[(size, relay)].append(r)
                print(f"# {size} {relay} round {round_index + 1}: {json.dumps(r)}", file=sys.stderr, flush=True)

    def per_round(size, relay, key="p50_ms"):
        return [r.get(key) for r in results[(size, relay)]]

    def summary(size, relay, key):
        values = [v for v in per_round(size, relay, key) if v is not None]
        return median(values) if values else None

    fmt = lambda v: "-" if v is None else f"{v:.2f}"
    rounds_note = f", median of {args.rounds} rounds" if args.rounds > 1 else ""
    print(f"| payload | " + " | ".join(f"{r} p50 / p90{rounds_note} (lost)" for r in relays) + " |")
    print("|---" * (len(relays) + 1) + "|")
    for size in sizes:
        cells = []
        for relay in relays:
            rs = results[(size, relay)]
            errors = [r["error"] for r in rs if "error" in r]
            if len(errors) == len(rs):
                cells.append(f"failed: {errors[0][:60]}")
                continue
            lost = sum(r.get("lost", 0) for r in rs if "error" not in r)
            sent = sum(r.get("samples", 0) for r in rs if "error" not in r)
            failed = f", {len(errors)} round(s) failed" if errors else ""
            cells.append(f"{fmt(summary(size, relay, 'p50_ms'))} / {fmt(summary(size, relay, 'p90_ms'))} "
                         f"({lost}/{sent}{failed})")
        print(f"| {size} | " + " | ".join(cells) + " |")

    def paired(size, a, b):
        """Per-round pairs of p50s, rounds where both relays answered."""
        return [(x, y) for x, y in zip(per_round(size, a), per_round(size, b)) if x is not None and y is not None]

    if {"bridge", "dora_loop", "rclpy"} <= set(relays):
        print("\n| payload | bridge - dora_loop (bridge's own share) | one rclpy relay | ratio | rounds with ratio <= 1 |")
        print("|---|---|---|---|---|")
        for size in sizes:
            shares = [(b - d, p) for (b, d), p in
                      zip(zip(per_round(size, "bridge"), per_round(size, "dora_loop")), per_round(size, "rclpy"))
                      if None not in (b, d, p)]
            if not shares:
                continue
            ratios = [s / p for s, p in shares]
            print(f"| {size} | {median([s for s, _ in shares]):.2f} ms | {median([p for _, p in shares]):.2f} ms "
                  f"| {median(ratios):.2f} | {sum(r <= 1 for r in ratios)}/{len(ratios)} |")
    if {"bridge", "dora_ros2_bridge"} <= set(relays):
        print("\n| payload | bridge | dora_ros2_bridge (same path) | dora's / ours | rounds bridge faster |")
        print("|---|---|---|---|---|")
        for size in sizes:
            pairs = paired(size, "bridge", "dora_ros2_bridge")
            ours = summary(size, "bridge", "p50_ms")
            if not pairs:
                print(f"| {size} | {fmt(ours)} ms | never answered | - | {len(per_round(size, 'bridge'))} of "
                      f"{args.rounds} |")
                continue
            print(f"| {size} | {median([a for a, _ in pairs]):.2f} ms | {median([b for _, b in pairs]):.2f} ms "
                  f"| {median([b / a for a, b in pairs]):.2f} | {sum(a < b for a, b in pairs)}/{len(pairs)} |")
    if {"bridge", "dora_loop", "dora_ros2"} <= set(relays):
        print("\n| payload | bridge's own share (bridge - dora_loop) | dora_ros2 (dora's bridge, one-process relay) "
              "| dora's / ours | rounds ours smaller |")
        print("|---|---|---|---|---|")
        for size in sizes:
            triples = [(b - d, r) for (b, d), r in
                       zip(zip(per_round(size, "bridge"), per_round(size, "dora_loop")), per_round(size, "dora_ros2"))
                       if None not in (b, d, r)]
            if not triples:
                continue
            print(f"| {size} | {median([s for s, _ in triples]):.2f} ms | {median([r for _, r in triples]):.2f} ms "
                  f"| {median([r / s for s, r in triples]):.2f} | {sum(s < r for s, r in triples)}/{len(triples)} |")


if __name__ == "__main__":
    main()
