#!/usr/bin/env python3
"""End-to-end round trip, ROS -> relay -> ROS, one message in flight,
for each relay side by side in one run:

  bridge      rclpy ping -> ros2-dora-bridge -> dora echo (Python) -> bridge -> rclpy pong
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
  python3 bench/e2e_roundtrip.py [--samples 30] [--sizes 64,640x480,1920x1080]

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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"


def env_for(domain):
    env = dict(os.environ)
    env.update(ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               DORA_ZENOH_MULTICAST="off", PYTHONUNBUFFERED="1")
    return env


def ros_type(size):
    return "std_msgs/msg/String" if size == "64" else "sensor_msgs/msg/Image"


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(2)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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


def bridge_dataflow(size, work):
    t = ros_type(size)
    (work / "bridge.yaml").write_text(
        f"from_ros:\n  - {{topic: /ping, type: {t}, output: ping}}\n"
        f"to_ros:\n  - {{input: pong, topic: /pong, type: {t}}}\n")
    (work / "dataflow.yml").write_text(
        f"nodes:\n  - id: bridge\n    path: {TARGET / 'ros2-dora-bridge'}\n    args: --config bridge.yaml\n"
        f"    inputs:\n      pong: echo/ping\n    outputs: [ping]\n"
        f"  - id: echo\n    path: {ROOT / 'tests/python/dora_echo.py'}\n"
        f"    inputs:\n      ping: bridge/ping\n    outputs: [ping]\n")
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--sizes", default="64,640x480,1920x1080")
    parser.add_argument("--relays", default="bridge,rclpy,rcl,dora_loop,dora_ros2,dora_ros2_bridge")
    args = parser.parse_args()
    domain = 150
    results = {}
    for size in args.sizes.split(","):
        for relay in args.relays.split(","):
            domain += 1
            env = env_for(domain)
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                if relay == "bridge":
                    r = with_relay(bridge_dataflow(size, work), size, args.samples, env, cwd=work)
                elif relay == "rclpy":
                    r = with_relay([sys.executable, HERE / "rclpy_relay.py", ros_type(size)], size, args.samples, env)
                elif relay == "rcl":
                    r = with_relay([TARGET / "examples" / "rcl_relay", ros_type(size), "/ping", "/pong"],
                                   size, args.samples, env)
                elif relay == "dora_loop":
                    r = dora_loop(size, args.samples, env, work)
                elif relay == "dora_ros2_bridge":
                    r = with_relay(dora_ros2_bridge_dataflow(size, work), size, incumbent_samples(size, args.samples), env,
                                   cwd=work)
                elif relay == "dora_ros2":
                    r = with_relay([sys.executable, HERE / "dora_ros2_relay.py", ros_type(size)], size,
                                   incumbent_samples(size, args.samples), env)
                else:
                    sys.exit(f"unknown relay {relay}")
            results[(size, relay)] = r
            print(f"# {size} {relay}: {json.dumps(r)}", file=sys.stderr, flush=True)

    fmt = lambda v: "-" if v is None else f"{v:.2f}"
    relays = args.relays.split(",")
    print("| payload | " + " | ".join(f"{r} p50 / p90 (lost)" for r in relays) + " |")
    print("|---" * (len(relays) + 1) + "|")
    for size in args.sizes.split(","):
        cells = []
        for relay in relays:
            r = results[(size, relay)]
            if "error" in r:
                cells.append(f"failed: {r['error'][:60]}")
            else:
                cells.append(f"{fmt(r['p50_ms'])} / {fmt(r['p90_ms'])} ({r['lost']}/{r['samples']})")
        print(f"| {size} | " + " | ".join(cells) + " |")
    if {"bridge", "dora_loop", "rclpy"} <= set(relays):
        print("\n| payload | bridge - dora_loop (bridge's own share) | one rclpy relay | ratio |")
        print("|---|---|---|---|")
        for size in args.sizes.split(","):
            b, d, p = (results[(size, k)].get("p50_ms") for k in ("bridge", "dora_loop", "rclpy"))
            if None in (b, d, p):
                continue
            print(f"| {size} | {b - d:.2f} ms | {p:.2f} ms | {(b - d) / p:.2f} |")


if __name__ == "__main__":
    main()
