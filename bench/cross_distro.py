#!/usr/bin/env python3
"""Do ROS 2 nodes of one distro and a bridge built for another talk?

ROS does not promise that Jazzy and Kilted nodes interoperate (Jazzy ships
Fast DDS 2.14, Kilted Fast DDS 3.2, and the type descriptions differ). This
runs, for every pairing of the ROS side's distro and the bridge's distro
(Jazzy/Jazzy, Jazzy/Kilted, Kilted/Jazzy, Kilted/Kilted):

  topics    rclpy publishes one random message of each of 7 types on /ping_k
            (a 4K rgb8 image among them, 24.9 MB); the bridge takes them into
            dora, a dora echo node sends them back, the bridge publishes them
            on /pong_k, and rclpy compares what comes back with what it sent
  service   a dora node makes 20 calls through a `service_clients` route to
            an rclpy service server (test_msgs/srv/BasicTypes)

Needs both workbenches and both builds:

  scripts/setup.sh && ROS_DISTRO=kilted scripts/setup.sh
  make build && make build ROS_DISTRO=kilted
  python3 bench/cross_distro.py [--timeout 60]

Prints a markdown table: per pairing, the types that came back equal, the
time until all had, and the service calls answered.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import stop, wait_for

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = ROOT / "tests" / "python"
TARGET_BASE = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
TYPES = [
    "geometry_msgs/msg/Twist",
    "sensor_msgs/msg/JointState",
    "nav_msgs/msg/Odometry",
    "diagnostic_msgs/msg/DiagnosticArray",
    "test_msgs/msg/Arrays",
    "test_msgs/msg/WStrings",
    "sensor_msgs/msg/Image",
]
CALLS = 20
BASIC = "test_msgs/srv/BasicTypes"


def suffix(distro):
    return "" if distro == "jazzy" else f"-{distro}"


def workbench_env(distro, domain):
    env_file = ROOT / f".workbench{suffix(distro)}" / "env.sh"
    if not env_file.exists():
        sys.exit(f"{env_file} missing: ROS_DISTRO={distro} scripts/setup.sh")
    dump = subprocess.run(
        ["bash", "-c", f"unset ROS_DISTRO AMENT_PREFIX_PATH; source '{env_file}' && env -0"],
        check=True, capture_output=True,
    ).stdout
    env = dict(item.split("=", 1) for item in dump.decode().split("\0") if "=" in item)
    env.update(ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               DORA_ZENOH_MULTICAST="off", PYTHONUNBUFFERED="1")
    return env


def bridge_binary(distro):
    path = Path(TARGET_BASE + suffix(distro)) / "debug" / "ros2-dora-bridge"
    if not path.exists():
        sys.exit(f"{path} missing: make build ROS_DISTRO={distro}")
    return path


def spawn(cmd, env, cwd, log):
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def lines(path):
    try:
        return Path(path).read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []


def dataflow(work, bridge):
    routes = ["from_ros:"]
    routes += [f"  - {{topic: /ping_{k}, type: {t}, output: ros_{k}}}" for k, t in enumerate(TYPES)]
    routes.append("to_ros:")
    routes += [f"  - {{input: back_{k}, topic: /pong_{k}, type: {t}}}" for k, t in enumerate(TYPES)]
    routes.append("service_clients:")
    routes.append(f"  - {{service: /echo, type: {BASIC}, request: call, response: answer}}")
    (work / "bridge.yaml").write_text("\n".join(routes) + "\n")
    lossless = "queue_policy: backpressure, queue_size: 100"
    bridge_inputs = "".join(f"      back_{k}: {{source: echo/m_{k}, {lossless}}}\n" for k in range(len(TYPES)))
    bridge_outputs = "".join(f"      - ros_{k}\n" for k in range(len(TYPES)))
    echo_inputs = "".join(f"      m_{k}: {{source: bridge/ros_{k}, {lossless}}}\n" for k in range(len(TYPES)))
    echo_outputs = "".join(f"      - m_{k}\n" for k in range(len(TYPES)))
    yaml = f"""nodes:
  - id: bridge
    path: {bridge}
    args: --config {work / 'bridge.yaml'}
    inputs:
{bridge_inputs}      call: {{source: caller/call, queue_policy: backpressure, queue_size: 100}}
    outputs:
{bridge_outputs}      - answer
  - id: echo
    path: {PY / 'dora_echo.py'}
    inputs:
{echo_inputs}    outputs:
{echo_outputs}  - id: caller
    path: {PY / 'dora_caller.py'}
    env:
      CALL_OUTPUTS: call
      CALLS: "{CALLS}"
      RESULT_FILE: {work / 'answers.jsonl'}
    inputs:
      tick: dora/timer/millis/500
      answer: {{source: bridge/answer, queue_policy: backpressure, queue_size: 100}}
    outputs:
      - call
"""
    path = work / "dataflow.yml"
    path.write_text(yaml)
    return path


def run_pairing(ros_distro, bridge_distro, domain, timeout):
    work = Path(tempfile.mkdtemp(prefix=f"cross_{ros_distro}_{bridge_distro}_"))
    ros_env = workbench_env(ros_distro, domain)
    bridge_env = workbench_env(bridge_distro, domain)
    flow = dataflow(work, bridge_binary(bridge_distro))
    server = spawn([ros_env["VIRTUAL_ENV"] + "/bin/python", PY / "ros_service_server.py", "/echo", BASIC],
                   ros_env, work, work / "server.log")
    pingpong = spawn([ros_env["VIRTUAL_ENV"] + "/bin/python", PY / "ros_pingpong.py", "0.5", *TYPES],
                     ros_env, work, work / "pingpong.log")
    dora = None
    try:
        ready = wait_for(lambda: "ready" in lines(work / "pingpong.log")
                         and "ready" in lines(work / "server.log"), 60)
        if not ready:
            return {"error": "rclpy side not ready", "work": str(work)}
        start = time.monotonic()
        dora = spawn([bridge_env["VIRTUAL_ENV"] + "/bin/dora", "run", flow], bridge_env, work,
                     work / "dora.log")
        all_matched = wait_for(lambda: "all matched" in lines(work / "pingpong.log"), timeout)
        elapsed = time.monotonic() - start
        wait_for(lambda: len(lines(work / "answers.jsonl")) >= CALLS, 15)
        answers = [json.loads(line) for line in lines(work / "answers.jsonl")]
        matched = sorted({line.split()[2] for line in lines(work / "pingpong.log")
                          if line.startswith("match ")})
        mismatched = [line for line in lines(work / "pingpong.log") if line.startswith("mismatch")]
        return {
            "matched": matched,
            "mismatched": mismatched,
            "all_matched_s": elapsed if all_matched else None,
            "calls_answered": sum(1 for a in answers if not a.get("error")),
            "work": str(work),
        }
    finally:
        for proc in [pingpong, server] + ([dora] if dora else []):
            stop(proc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for every type to come back (default 60)")
    parser.add_argument("--distros", default="jazzy,kilted")
    args = parser.parse_args()
    distros = args.distros.split(",")
    rows = []
    domain = 181
    for ros_distro in distros:
        for bridge_distro in distros:
            result = run_pairing(ros_distro, bridge_distro, domain, args.timeout)
            domain += 1
            rows.append((ros_distro, bridge_distro, result))
            print(f"# {ros_distro} rclpy / {bridge_distro} bridge: {json.dumps(result)}",
                  file=sys.stderr, flush=True)
    print("| rclpy nodes | bridge | types back equal | all back after | service calls answered |")
    print("|---|---|---|---|---|")
    for ros_distro, bridge_distro, r in rows:
        if "error" in r:
            print(f"| {ros_distro} | {bridge_distro} | {r['error']} | | |")
            continue
        missing = [t.split("/")[-1] for t in TYPES if t not in r["matched"]]
        types = f"{len(r['matched'])}/{len(TYPES)}" + (f" (not: {', '.join(missing)})" if missing else "")
        after = f"{r['all_matched_s']:.1f} s" if r["all_matched_s"] is not None else "never"
        print(f"| {ros_distro} | {bridge_distro} | {types} | {after} | {r['calls_answered']}/{CALLS} |")


if __name__ == "__main__":
    main()
