#!/usr/bin/env python3
"""Bursts through the bridge's round trip, lost messages per 1000, under
dora's default input delivery and under `queue_policy: backpressure`:

  rclpy (tests/python/ros_burst.py, 21 topics) -> ros2-dora-bridge -> dora
  echo (Python) -> bridge -> rclpy, every route `qos: default` (reliable).

Each setting runs in its own dataflow; per setting and burst size N, ROUNDS
rounds of N messages per topic, published back to back.

  source .workbench/env.sh
  cargo build --release --bins
  python3 bench/burst.py [--rounds 10] [--counts 5,100] [--settings default,backpressure]

Prints a markdown table: sent, came back, lost per 1000, and what the
bridge counted (dropped_by_middleware on the way in, lost_in_dora on the
way back).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
TYPES = [
    "test_msgs/msg/BasicTypes", "test_msgs/msg/Arrays", "test_msgs/msg/BoundedSequences",
    "test_msgs/msg/UnboundedSequences", "test_msgs/msg/Nested", "test_msgs/msg/MultiNested",
    "test_msgs/msg/Strings", "test_msgs/msg/WStrings", "test_msgs/msg/Constants",
    "test_msgs/msg/Defaults", "test_msgs/msg/Empty", "test_msgs/msg/Builtins",
    "sensor_msgs/msg/Image", "sensor_msgs/msg/PointCloud2", "sensor_msgs/msg/Imu",
    "sensor_msgs/msg/LaserScan", "sensor_msgs/msg/JointState", "nav_msgs/msg/Odometry",
    "geometry_msgs/msg/PoseStamped", "geometry_msgs/msg/Twist", "diagnostic_msgs/msg/DiagnosticArray",
]


def dora_input(source, setting):
    if setting == "default":
        return f" {source}\n"
    return f"\n        source: {source}\n        queue_policy: backpressure\n        queue_size: 100\n"


def write_dataflow(work, setting):
    config = "from_ros:\n" + "".join(
        f"  - {{topic: /burst_{k}, type: {t}, output: ros_{k}, qos: default}}\n" for k, t in enumerate(TYPES))
    config += "to_ros:\n" + "".join(
        f"  - {{input: back_{k}, topic: /back_{k}, type: {t}, qos: default}}\n" for k, t in enumerate(TYPES))
    config += "stats: {log_interval: 3600s}\n"
    (work / "bridge.yaml").write_text(config)
    bridge_inputs = "".join(f"      back_{k}:{dora_input(f'echo/m_{k}', setting)}" for k in range(len(TYPES)))
    echo_inputs = "".join(f"      m_{k}:{dora_input(f'bridge/ros_{k}', setting)}" for k in range(len(TYPES)))
    outputs = ", ".join(f"ros_{k}" for k in range(len(TYPES)))
    echo_outputs = ", ".join(f"m_{k}" for k in range(len(TYPES)))
    (work / "dataflow.yml").write_text(
        f"nodes:\n  - id: bridge\n    path: {TARGET / 'ros2-dora-bridge'}\n    args: --config bridge.yaml\n"
        f"    inputs:\n{bridge_inputs}    outputs: [{outputs}]\n"
        f"  - id: echo\n    path: {ROOT / 'tests/python/dora_echo.py'}\n"
        f"    inputs:\n{echo_inputs}    outputs: [{echo_outputs}]\n")


def counters(work):
    """The bridge's last stats lines: summed per counter and direction."""
    totals = {}
    for log in work.glob("out/*/log_bridge.jsonl"):
        for line in log.read_text().splitlines():
            msg = json.loads(line).get("msg", "")
            m = re.search(r"stats (from_ros|to_ros)\[(\d+)\] \S+: (.*)", msg)
            if m:
                # Counters only (the rates before them have no `=`).
                values = dict(kv.split("=") for kv in m.group(3).split() if "=" in kv)
                totals[(m.group(1), m.group(2))] = values
    summed = {}
    for (direction, _), values in totals.items():
        for key, value in values.items():
            summed[f"{direction}.{key}"] = summed.get(f"{direction}.{key}", 0) + int(value)
    return summed


def run(setting, count, rounds, domain):
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_dataflow(work, setting)
        env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
                   DORA_ZENOH_MULTICAST="off")
        burst = subprocess.Popen([sys.executable, ROOT / "tests/python/ros_burst.py", str(rounds), str(count)]
                                 + TYPES, env=env, cwd=ROOT / "tests/python", stdout=subprocess.PIPE, text=True)
        assert burst.stdout.readline().strip() == "ready"
        dora_log = open(work / "dora.log", "w")
        dora = subprocess.Popen(["dora", "run", "dataflow.yml", "--stop-after", "1200s"], env=env, cwd=work,
                                stdout=dora_log, stderr=subprocess.STDOUT)
        done = None
        for line in burst.stdout:
            if line.startswith("done"):
                done = line.split()
                break
            if line.startswith("warm-up failed"):
                print(line.strip(), file=sys.stderr)
                print((work / "dora.log").read_text()[-3000:], file=sys.stderr)
                break
        burst.send_signal(2)  # Ctrl-C: rclpy leaves cleanly
        dora.send_signal(2)  # Ctrl-C: the bridge logs its final counters
        try:
            dora.wait(timeout=30)
        except subprocess.TimeoutExpired:
            dora.kill()
        time.sleep(0.5)
        sent, back = (int(done[2]), int(done[4])) if done else (0, 0)
        return sent, back, counters(work)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--counts", default="5,100")
    parser.add_argument("--settings", default="default,backpressure")
    args = parser.parse_args()
    print("| dora inputs | burst (per topic) | sent | back | lost per 1000 | bridge: DDS in / lost in dora |")
    print("|---|---|---|---|---|---|")
    domain = 150
    for count in [int(c) for c in args.counts.split(",")]:
        for setting in args.settings.split(","):
            domain += 1
            sent, back, c = run(setting, count, args.rounds, domain)
            lost = 1000 * (sent - back) / sent if sent else float("nan")
            print(f"| {setting} | 21 x {count}, {args.rounds} rounds | {sent} | {back} | {lost:.1f} | "
                  f"{c.get('from_ros.dropped_by_middleware', 0)} / {c.get('to_ros.lost_in_dora', 0)} |",
                  flush=True)


if __name__ == "__main__":
    main()
