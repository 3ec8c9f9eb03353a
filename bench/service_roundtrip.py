#!/usr/bin/env python3
"""Service call round trips, one run, side by side:

  bridge            dora caller (Python) -> ros2-dora-bridge (service_clients)
                    -> rclpy server -> bridge -> dora caller
  rclpy             an rclpy client calling the same server directly
  dora_loop         the same calls between two dora nodes, no ROS (dora's share)
  dora_ros2_bridge  dora's own ROS 2 bridge on the bridge's path: dora caller ->
                    a dora node with dora.Ros2Context's service client -> rclpy
                    server -> back (bench/dora_ros2_service_node.py)

for a small request (std_srvs/SetBool) and a 1 MB one (test_msgs/BasicTypes
with a 1 MB string), one call in flight (latency), and with --in-flight 10
the calls per second.

  source .workbench/env.sh
  cargo build --release --bins
  python3 bench/service_roundtrip.py [--calls 100] [--in-flight 1]

Prints a markdown table: p50 / p90 ms and calls/s per path, and the
bridge's own share (bridge minus dora_loop) against one rclpy call.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import lossless, stop

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
sys.path.insert(0, str(HERE))
from service_calls import SERVICES  # noqa: E402


def service_name(payload):
    return f"/bench_{payload.lower()}"


def caller_node(payload, calls, in_flight, result, answer_source):
    return {
        "id": "caller",
        "path": str(HERE / "dora_service_caller.py"),
        "env": {"PAYLOAD": payload, "CALLS": str(calls), "IN_FLIGHT": str(in_flight),
                "RESULT_FILE": str(result)},
        "inputs": {"tick": "dora/timer/millis/500",
                   "answer": {"source": answer_source, "queue_policy": "backpressure", "queue_size": 100}},
        "outputs": ["call"],
    }


def path_nodes(path, payload, in_flight, work):
    srv_type, _ = SERVICES[payload]
    if path == "bridge":
        (work / "bridge.yaml").write_text(json.dumps({"service_clients": [{
            "service": service_name(payload), "type": srv_type, "request": "call", "response": "answer",
            "timeout": "30s", "max_in_flight": max(10, in_flight)}]}))
        return "bridge/answer", [{
            "id": "bridge", "path": str(TARGET / "ros2-dora-bridge"), "args": "--config bridge.yaml",
            "inputs": {"call": lossless("caller/call")}, "outputs": ["answer"]}]
    if path == "dora_loop":
        # The echo answers on an output of the input's id.
        return "echo/call", [{"id": "echo", "path": str(ROOT / "tests/python/dora_echo.py"),
                              "inputs": {"call": lossless("caller/call")}, "outputs": ["call"]}]
    if path == "dora_ros2_bridge":
        return "incumbent/answer", [{
            "id": "incumbent", "path": str(HERE / "dora_ros2_service_node.py"),
            "env": {"SERVICE": service_name(payload), "SRV_TYPE": srv_type},
            "inputs": {"call": lossless("caller/call")}, "outputs": ["answer"]}]
    sys.exit(f"unknown path {path}")


def dora_path(path, payload, calls, in_flight, env, work):
    result = work / f"{path}_{payload}.json"
    answer_source, nodes = path_nodes(path, payload, in_flight, work)
    flow = {"nodes": [caller_node(payload, calls, in_flight, result, answer_source)] + nodes}
    # JSON is YAML: no quoting by hand.
    (work / "dataflow.yml").write_text(json.dumps(flow))
    proc = subprocess.Popen(["dora", "run", str(work / "dataflow.yml"), "--stop-after", "600s"],
                            env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while not result.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(0.2)  # the file is written in one go, then closed
    stop(proc)
    return json.loads(result.read_text()) if result.exists() else {"error": "no result"}


def rclpy_path(payload, calls, in_flight, env):
    out = subprocess.run([sys.executable, HERE / "rclpy_service_caller.py", service_name(payload), payload,
                          str(calls), str(in_flight)], env=env, capture_output=True, text=True, timeout=600)
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": out.stderr[-500:]}


def cell(r):
    if "p50_ms" not in r:
        return f"- ({r.get('error', 'no calls')})"[:60]
    rate = f", {r['calls_per_s']:.0f}/s" if r.get("calls_per_s") else ""
    errors = f", {r['errors']} errors" if r.get("errors") else ""
    return f"{r['p50_ms']:.2f} / {r['p90_ms']:.2f}{rate}{errors}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--in-flight", type=int, default=1)
    parser.add_argument("--payloads", default="small,1MB")
    parser.add_argument("--paths", default="bridge,rclpy,dora_loop,dora_ros2_bridge")
    args = parser.parse_args()
    env = dict(os.environ, ROS_DOMAIN_ID=os.environ.get("BENCH_DOMAIN", "78"),
               ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", DORA_ZENOH_MULTICAST="off")
    paths = args.paths.split(",")
    payloads = args.payloads.split(",")
    server_args = []
    for payload in payloads:
        server_args += [service_name(payload), SERVICES[payload][0]]
    server = subprocess.Popen([sys.executable, ROOT / "tests/python/ros_service_server.py", *server_args],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              cwd=ROOT / "tests/python")
    try:
        if server.stdout.readline().strip() != "ready":
            sys.exit("the rclpy server did not start")
        rows = {}
        with tempfile.TemporaryDirectory() as tmp:
            for payload in payloads:
                for path in paths:
                    work = Path(tmp) / f"{path}_{payload}"
                    work.mkdir()
                    if path == "rclpy":
                        r = rclpy_path(payload, args.calls, args.in_flight, env)
                    else:
                        r = dora_path(path, payload, args.calls, args.in_flight, env, work)
                    rows[(payload, path)] = r
                    print(f"  {payload} {path}: {r}", file=sys.stderr, flush=True)
    finally:
        stop(server)
    print(f"{args.calls} calls, {args.in_flight} in flight; p50 / p90 ms (and calls/s)\n")
    print("| payload | " + " | ".join(paths) + " | own share / one rclpy call |")
    print("|---|" + "---|" * (len(paths) + 1))
    for payload in payloads:
        cells = [cell(rows[(payload, p)]) for p in paths]
        share = "-"
        b, l, r = (rows.get((payload, p), {}) for p in ("bridge", "dora_loop", "rclpy"))
        if all("p50_ms" in x for x in (b, l, r)):
            share = f"{(b['p50_ms'] - l['p50_ms']) / r['p50_ms']:.2f}"
        print(f"| {payload} | " + " | ".join(cells) + f" | {share} |")


if __name__ == "__main__":
    main()
