#!/usr/bin/env python3
"""ROS 2 actions through the bridge both ways, side by side in one run
(test_msgs/action/Fibonacci; what the goals do: bench/action_goals.py):

  rclpy             rclpy ActionClient -> rclpy ActionServer, directly
  bridge_client     dora node -> ros2-dora-bridge (action_clients) -> rclpy
                    server -> bridge -> dora node
  bridge_server     rclpy client -> bridge (action_servers) -> dora handler
                    -> bridge -> rclpy client
  dora_loop         dora node -> dora handler -> back, no ROS (dora's share)
  dora_ros2_client  dora's own ROS 2 bridge, dora -> ROS: dora node -> a dora
                    node with dora.Ros2Context's action client -> rclpy server
                    (bench/dora_ros2_action_client_node.py)
  dora_ros2_server  dora's own ROS 2 bridge, ROS -> dora: rclpy client -> a
                    dora node with dora.Ros2Context's action server -> dora
                    handler (bench/dora_ros2_action_server_node.py)

Two measurements:
  latency   --goals order-0 goals (they finish at once), one after the
            other after 5 warm-ups: p50 / p90 ms from sending the goal to
            its result. The bridge's own share is its path minus dora_loop,
            set against one rclpy goal round trip (target: no larger).
  feedback  one goal whose server streams feedback as fast as it can for
            --seconds (feedback k is sequence [k], so gaps are counted),
            waits 1 s, then succeeds with the number it produced: the rate
            the receiver got them at, against the rate they were produced,
            and how many never arrived (target: same rate, none lost).
            Every ROS end keeps rclpy's defaults (feedback reliable
            keep-last 10; the bridge's own feedback topics keep 1000);
            every dora input is lossless (backpressure, queue_size 100).

  source .workbench/env.sh
  cargo build --release --bins
  python3 bench/action_roundtrip.py [--goals 100] [--seconds 5] [--only latency|feedback]
      [--paths rclpy,bridge_client,...] [--rate HZ]

--rate paces the feedback streams (default: as fast as each server can,
which outruns rclpy's own Python client several times over).

Prints the command, a markdown table per measurement and the ratios the
targets ask for. ROS_DOMAIN_ID from BENCH_DOMAIN (default 170).
"""
import argparse
import json
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import lossless, stop

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
BRIDGE = TARGET / "ros2-dora-bridge"
ACTION_TYPE = "test_msgs/action/Fibonacci"
RCLPY_ACTION = "/bench_rclpy"  # served by bench/rclpy_action_server.py
BRIDGE_ACTION = "/bench_bridge"  # served by the bridge (action_servers)
DORA_ROS2_ACTION = "/bench_dora_ros2"  # served by dora's Ros2ActionServer
RATE = 0.0  # --rate: feedback per second, 0 = as fast as the server can

PATHS = {
    "rclpy": ("rclpy", "rclpy ActionClient -> rclpy ActionServer"),
    "bridge_client": ("bridge (action_clients)", "dora -> bridge -> rclpy server -> bridge -> dora"),
    "bridge_server": ("bridge (action_servers)", "rclpy client -> bridge -> dora handler -> bridge -> rclpy"),
    "dora_loop": ("dora_loop", "dora -> dora handler -> dora, no ROS"),
    "dora_ros2_client": ("dora Ros2ActionClient", "dora -> dora node (Ros2ActionClient) -> rclpy server -> back"),
    "dora_ros2_server": ("dora Ros2ActionServer",
                         "rclpy client -> dora node (Ros2ActionServer) -> dora handler -> back"),
}


def sender_node(mode, n, result, answers_from):
    return {
        "id": "sender",
        "path": str(HERE / "dora_action_sender.py"),
        "env": {"MODE": mode, "GOALS": str(n), "STREAM_MS": str(n), "RESULT_FILE": str(result)},
        "inputs": {"tick": "dora/timer/millis/500",
                   "feedback": lossless(f"{answers_from}/feedback"),
                   "result": lossless(f"{answers_from}/result")},
        "outputs": ["goal"],
    }


def worker_node(goals_from, cancel=False):
    inputs = {"goal": lossless(f"{goals_from}/goal")}
    if cancel:
        inputs["cancel"] = f"{goals_from}/cancel"
    return {"id": "worker", "path": str(HERE / "dora_action_worker.py"), "env": {"RATE": str(RATE)},
            "inputs": inputs, "outputs": ["feedback", "result"]}


def bridge_node(inputs, outputs):
    return {"id": "bridge", "path": str(BRIDGE), "args": "--config bridge.yaml",
            "inputs": {i: lossless(source) for i, source in inputs.items()}, "outputs": outputs}


def dataflow(path, mode, n, result, work):
    """The dataflow's nodes for a path, and the action an rclpy client
    should drive (None when a dora sender drives it and writes `result`)."""
    route = {"action": None, "type": ACTION_TYPE, "goal": "goal", "feedback": "feedback", "result": "result"}
    if path == "bridge_client":
        (work / "bridge.yaml").write_text(json.dumps({"action_clients": [
            {**route, "action": RCLPY_ACTION, "timeout": "30s"}]}))
        return [sender_node(mode, n, result, "bridge"),
                bridge_node({"goal": "sender/goal"}, ["feedback", "result"])], None
    if path == "bridge_server":
        (work / "bridge.yaml").write_text(json.dumps({"action_servers": [
            {**route, "action": BRIDGE_ACTION, "cancel": "cancel"}]}))
        nodes = [worker_node("bridge", cancel=True),
                 bridge_node({"feedback": "worker/feedback", "result": "worker/result"}, ["goal", "cancel"])]
        return nodes, BRIDGE_ACTION
    if path == "dora_loop":
        return [sender_node(mode, n, result, "worker"), worker_node("sender")], None
    if path == "dora_ros2_client":
        return [sender_node(mode, n, result, "incumbent"), {
            "id": "incumbent", "path": str(HERE / "dora_ros2_action_client_node.py"),
            "env": {"ACTION": RCLPY_ACTION, "ACTION_TYPE": ACTION_TYPE},
            "inputs": {"goal": lossless("sender/goal")}, "outputs": ["feedback", "result"]}], None
    if path == "dora_ros2_server":
        return [worker_node("incumbent"), {
            "id": "incumbent", "path": str(HERE / "dora_ros2_action_server_node.py"),
            "env": {"ACTION": DORA_ROS2_ACTION, "ACTION_TYPE": ACTION_TYPE},
            "inputs": {"feedback": lossless("worker/feedback"), "result": lossless("worker/result")},
            "outputs": ["goal"]}], DORA_ROS2_ACTION
    sys.exit(f"unknown path {path}")


def rclpy_client(mode, action, n, env, timeout, wait=30.0, dataflow=None):
    """Runs bench/rclpy_action_client.py; gives up early if `dataflow`
    (the dora run serving the action) ends first."""
    client = subprocess.Popen([sys.executable, str(HERE / "rclpy_action_client.py"), mode, action, str(n),
                               "--wait", str(wait)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + timeout
    while client.poll() is None:
        if time.time() > deadline or (dataflow is not None and dataflow.poll() is not None):
            stop(client)
            return {"error": f"rclpy client: no answer in {timeout:.0f} s" if time.time() > deadline
                    else f"dora run ended ({dataflow.returncode}) before the rclpy client"}
        time.sleep(0.1)
    out, err = client.communicate()
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": "rclpy client: " + (err.strip()[-300:] or "no output")}


def log_tail(log, lines=15):
    """The last lines of a log, Rust backtrace frames left out."""
    text = log.read_text(errors="replace") if log.exists() else ""
    kept = [line for line in text.splitlines() if not re.match(r"\s+(\d+: |at )", line)]
    return "\n".join(kept[-lines:])


def run_path(path, mode, n, env, work, timeout):
    """One path: its summary (latency or feedback), or {"error": ...}."""
    if path == "rclpy":
        return rclpy_client(mode, RCLPY_ACTION, n, env, timeout)
    if path.startswith("bridge") and not BRIDGE.exists():
        return {"error": f"no {BRIDGE} (cargo build --release --bins)"}
    result = work / "result.json"
    nodes, rclpy_action = dataflow(path, mode, n, result, work)
    # JSON is YAML: no quoting by hand.
    (work / "dataflow.yml").write_text(json.dumps({"nodes": nodes}))
    if path.startswith("bridge"):
        check = subprocess.run([str(BRIDGE), "check", "--config", "bridge.yaml", "--dataflow", "dataflow.yml"],
                               env=env, cwd=work, capture_output=True, text=True, timeout=60)
        if check.returncode != 0:
            said = (check.stderr.strip() or check.stdout.strip()).splitlines()
            why = said[-1][:300] if said else f"exit code {check.returncode}"
            if "unknown field `action_" in why:
                why = "the release binary has no action routes yet: cargo build --release --bins"
            return {"error": "bridge check: " + why}
    log = work / "dora.log"
    with open(log, "w") as log_file:
        proc = subprocess.Popen(["dora", "run", str(work / "dataflow.yml"), "--stop-after", f"{timeout + 60:.0f}s"],
                                env=env, cwd=work, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        if rclpy_action is not None:
            # dora's Ros2ActionServer never looks ready to rclpy: a short wait
            # for dora to start, then the client sends anyway.
            wait = 10.0 if path == "dora_ros2_server" else 30.0
            r = rclpy_client(mode, rclpy_action, n, env, timeout, wait, dataflow=proc)
        else:
            deadline = time.time() + timeout
            while not result.exists() and time.time() < deadline and proc.poll() is None:
                time.sleep(0.2)
            r = json.loads(result.read_text()) if result.exists() else {"error": "no result from the dora sender"}
    finally:
        stop(proc)
    if "error" in r:
        print(f"  {path}: dora run's last lines:\n{log_tail(log)}", file=sys.stderr, flush=True)
    return r


def ms(x):
    return f"{x:.2f}" if x is not None else "-"


def per_s(x):
    return f"{x:.0f}" if x is not None else "-"


def latency_table(rows, paths, goals):
    print(f"### Goal round trip (ms): {goals} order-0 goals one after the other, after 5 warm-ups\n")
    print("| path | route | p50 | p90 | goals (errors) | own share p50: minus dora_loop, / one rclpy goal |")
    print("|---|---|---|---|---|---|")
    loop, direct = rows.get("dora_loop", {}), rows.get("rclpy", {})
    shares = {}
    for path in paths:
        r = rows[path]
        label, route = PATHS[path]
        if "p50_ms" not in r:
            print(f"| {label} | {route} | - | - | {r.get('error', 'no goals')[:100]} | - |")
            continue
        share = "-"
        if path not in ("rclpy", "dora_loop") and "p50_ms" in loop and "p50_ms" in direct:
            own = r["p50_ms"] - loop["p50_ms"]
            shares[path] = (own, own / direct["p50_ms"])
            share = f"{own:.2f} ms = {own / direct['p50_ms']:.2f}"
        errors = f" ({r['errors']})" if r.get("errors") else ""
        print(f"| {label} | {route} | {ms(r['p50_ms'])} | {ms(r['p90_ms'])} | {r['calls']}{errors} | {share} |")
    return shares


def feedback_table(rows, paths, seconds, rate):
    pace = f"at {rate:g}/s" if rate > 0 else "as fast as its server can"
    print(f"\n### Feedback: one goal streaming {pace} for {seconds:g} s\n")
    print("| path | route | produced | produced/s | received | received/s | lost | duplicates "
          "| received/s / produced/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        r = rows[path]
        label, route = PATHS[path]
        if "produced" not in r:
            print(f"| {label} | {route} | {r.get('error', 'nothing')[:100]} | - | - | - | - | - | - |")
            continue
        ratio = f"{r['rate_ratio']:.2f}" if r.get("rate_ratio") is not None else "-"
        print(f"| {label} | {route} | {r['produced']} | {per_s(r['produced_per_s'])} | {r['received']} | "
              f"{per_s(r['received_per_s'])} | {r['lost']} | {r['duplicates']} | {ratio} |")


def report(args, rows, paths):
    print("$ " + " ".join(shlex.quote(a) for a in ["python3", *sys.argv]) + "\n")
    shares = {}
    if "latency" in rows:
        shares = latency_table(rows["latency"], paths, args.goals)
    if "feedback" in rows:
        feedback_table(rows["feedback"], paths, args.seconds, args.rate)
    print()
    for path in ("bridge_client", "bridge_server"):
        if path in shares:
            own, ratio = shares[path]
            print(f"- {PATHS[path][0]}: the bridge's own share (p50 minus dora_loop) is {own:.2f} ms, "
                  f"{ratio:.2f} x one rclpy goal round trip ({rows['latency']['rclpy']['p50_ms']:.2f} ms; "
                  f"target <= 1).")
    feedback = rows.get("feedback", {})
    for path in ("bridge_client", "bridge_server", "rclpy"):
        r = feedback.get(path, {})
        if "produced" in r:
            ratio = f"{r['rate_ratio']:.2f}" if r.get("rate_ratio") is not None else "-"
            print(f"- {PATHS[path][0]} feedback: received {per_s(r['received_per_s'])}/s of "
                  f"{per_s(r['produced_per_s'])}/s produced (x {ratio}), lost {r['lost']} of {r['produced']}"
                  + (f", {r['duplicates']} duplicates" if r["duplicates"] else "")
                  + ("" if path == "rclpy" else "; target x 1, none lost") + ".")
    if any(r.get("server_ready") is False for mode in rows.values() for r in mode.values()):
        print("- rclpy's wait_for_server() never saw dora's Ros2ActionServer as ready (its goals were sent anyway); "
              "that dora node polls ROS goals and dora inputs in turn, 1 ms each, as its API cannot wait on both.")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--goals", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--only", choices=["latency", "feedback"])
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--rate", type=float, default=0.0,
                        help="feedback per second the servers aim at (default 0: as fast as they can)")
    args = parser.parse_args()
    global RATE
    RATE = args.rate
    paths = args.paths.split(",")
    for path in paths:
        if path not in PATHS:
            sys.exit(f"unknown path {path}: one of {', '.join(PATHS)}")
    modes = [args.only] if args.only else ["latency", "feedback"]
    stream_ms = int(args.seconds * 1000)
    env = dict(os.environ, ROS_DOMAIN_ID=os.environ.get("BENCH_DOMAIN", "170"),
               ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", DORA_ZENOH_MULTICAST="off")
    rows = {mode: {} for mode in modes}
    with tempfile.TemporaryDirectory(prefix="action_bench_") as tmp:
        server_log = Path(tmp) / "rclpy_server.log"
        with open(server_log, "w") as log_file:
            server = subprocess.Popen([sys.executable, str(HERE / "rclpy_action_server.py"), RCLPY_ACTION,
                                       "--rate", str(args.rate)],
                                      env=env, stdout=subprocess.PIPE, stderr=log_file, text=True)
        try:
            ready, _, _ = select.select([server.stdout], [], [], 60)
            if not ready or server.stdout.readline().strip() != "ready":
                sys.exit(f"the rclpy action server did not start:\n{log_tail(server_log)}")
            for mode in modes:
                n = args.goals if mode == "latency" else stream_ms
                timeout = 120 + (args.goals * 0.5 if mode == "latency" else args.seconds)
                for path in paths:
                    work = Path(tmp) / f"{mode}_{path}"
                    work.mkdir()
                    r = run_path(path, mode, n, env, work, timeout)
                    rows[mode][path] = r
                    print(f"  {mode} {path}: {r}", file=sys.stderr, flush=True)
            streamed = [line for line in server_log.read_text().splitlines() if line.startswith("streamed")]
            if streamed:
                print("  rclpy server: " + "; ".join(streamed), file=sys.stderr, flush=True)
        finally:
            stop(server)

    report(args, rows, paths)

if __name__ == "__main__":
    main()
