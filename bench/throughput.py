#!/usr/bin/env python3
"""ROS -> dora throughput of 1080p rgb8 frames: a publisher in Rust on rcl
(examples/rcl_image_source.rs) sends COUNT frames at each RATE; received by

  bridge    ros2-dora-bridge -> a Rust dora node that counts (examples/dora_sink.rs)
  dds_only  an rcl subscriber that counts (examples/rcl_sink.rs): the DDS hop alone

For each rate: frames received of those sent, and the CPU time per frame
of the bridge process and of the plain rcl subscriber (user+sys from the
moment each is ready, so start-up is not spread over the frames, until the
frames have drained, divided by the frames received).

  source .workbench/env.sh
  cargo build --release --bins --examples
  python3 bench/throughput.py [--rates 30,60,90,120] [--count 300] [--repeat 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
TICK = os.sysconf("SC_CLK_TCK")


TRANSPORTS = None  # --fastdds-transports
PROFILE = None  # --fastdds-profile


def env_for(domain):
    env = dict(os.environ)
    env.update(ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", DORA_ZENOH_MULTICAST="off")
    if TRANSPORTS:
        env["FASTDDS_BUILTIN_TRANSPORTS"] = TRANSPORTS
    if PROFILE:
        env["FASTRTPS_DEFAULT_PROFILES_FILE"] = env["FASTDDS_DEFAULT_PROFILES_FILE"] = PROFILE
    return env


def find_pid(binary, cwd):
    """The process running `binary` in `cwd` (dora starts nodes there)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "exe") == str(binary) and os.readlink(entry / "cwd") == str(cwd):
                return int(entry.name)
        except OSError:
            continue
    return None


def source(rate, count, env):
    return subprocess.run([TARGET / "examples/rcl_image_source", "/frames", "1920", "1080", str(rate), str(count)],
                          env=env, capture_output=True, text=True, timeout=600)


def bridge_run(rate, count, env, depth=10, queue=10, binary=False, shm_pool_mb=None, queue_policy="drop_oldest"):
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp).resolve()
        result = work / "sink.json"
        (work / "bridge.yaml").write_text(
            "from_ros:\n  - topic: /frames\n    type: sensor_msgs/msg/Image\n    output: frames\n"
            f"    qos: {{reliability: reliable, history: keep_last, depth: {depth}}}\n"
            f"    queue: {{size: {queue}}}\n"
            + ("    bytes_as_binary: true\n" if binary else "") +
            "stats: {log_interval: 600s}\n")
        (work / "dataflow.yml").write_text(
            f"nodes:\n  - id: bridge\n    path: {TARGET / 'ros2-dora-bridge'}\n    args: --config bridge.yaml\n"
            f"    outputs: [frames]\n"
            + (f"    shared_memory_pool_size: {shm_pool_mb}MB\n" if shm_pool_mb else "")
            + f"  - id: sink\n    path: {TARGET / 'examples/dora_sink'}\n    env: {{RESULT_FILE: '{result}'}}\n"
            f"    inputs:\n      frames:\n        source: bridge/frames\n        queue_size: 1000\n"
            f"        queue_policy: {queue_policy}\n")
        dora = subprocess.Popen(["dora", "run", str(work / "dataflow.yml"), "--stop-after", "600s"], env=env,
                                cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pid = None
        deadline = time.time() + 60
        while pid is None and time.time() < deadline:
            pid = find_pid(TARGET / "ros2-dora-bridge", work)
            time.sleep(0.1)
        # Count the bridge's CPU from the moment it is bridging (after rcl
        # start-up and the pool warm-up), as a user's steady state.
        while time.time() < deadline and not any(
                "bridging " in log.read_text(errors="replace") for log in work.glob("out/*/log_bridge*")):
            time.sleep(0.1)
        cpu0 = cpu_seconds(pid)
        sent = json.loads(source(rate, count, env).stdout.strip().splitlines()[-1])
        # Frames still in flight (DDS, the bridge, dora) when the source
        # returns must not be cut off by the stop: let the pipeline drain.
        time.sleep(2.0)
        cpu1 = cpu_seconds(pid)
        dora.send_signal(2)
        dora.wait(60)
        sink = json.loads(result.read_text()) if result.exists() else {}
        # The bridge logs its route counters when it stops (dora keeps node logs under out/).
        log_lines = [line for log in work.glob("out/*/log_bridge*")
                     for line in log.read_text(errors="replace").splitlines()]
        stats = [json.loads(line).get("msg", line) if line.startswith("{") else line
                 for line in log_lines if "stats " in line]
        if os.environ.get("SHOW_BRIDGE_LOG"):
            print("\n".join(log_lines), file=sys.stderr)
        received = sink.get("received")
        return {"sent": sent["sent"], "seconds": sent["seconds"], "received": received,
                "missing": sink.get("missing"), "bridge_stats": stats[-1:] or None,
                "cpu_ms_per_frame": (cpu1 - cpu0) * 1000 / max(1, received or 1)}


def dds_run(rate, count, env):
    duration = count / rate + 8
    sink = subprocess.Popen([TARGET / "examples/rcl_sink", "sensor_msgs/msg/Image", "/frames", str(duration)],
                            env=env, stdout=subprocess.PIPE, text=True)
    if sink.stdout.readline().strip() != "ready":
        sys.exit("rcl_sink did not start")
    cpu0 = cpu_seconds(sink.pid)
    sent = json.loads(source(rate, count, env).stdout.strip().splitlines()[-1])
    time.sleep(2.0)  # the same drain as the bridge's; the sink runs 8 s past the frames
    cpu1 = cpu_seconds(sink.pid)
    out, _ = sink.communicate(timeout=120)
    counted = json.loads(out.strip().splitlines()[-1])
    return {"sent": sent["sent"], "seconds": sent["seconds"], "received": counted["received"],
            "missing": counted.get("missing"),
            "cpu_ms_per_frame": (cpu1 - cpu0) * 1000 / max(1, counted["received"] or 1)}


def summary(runs):
    """'received / sent (lossless runs / runs)' over repeated runs."""
    if not runs:
        return "-"
    received = sum(r["received"] or 0 for r in runs)
    sent = sum(r["sent"] for r in runs)
    lossless = sum(1 for r in runs if r["received"] == r["sent"])
    return f"{received} / {sent} ({lossless}/{len(runs)})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="30,60,90,120")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=1, help="runs per rate and receiver, alternating")
    parser.add_argument("--depth", type=int, default=10, help="the bridge route's reader history depth")
    parser.add_argument("--queue", type=int, default=10, help="the bridge route's queue towards dora")
    parser.add_argument("--skip-dds", action="store_true", help="only the bridge runs")
    parser.add_argument("--queue-policy", default="drop_oldest", choices=["drop_oldest", "backpressure"],
                        help="the dora sink input's queue_policy")
    parser.add_argument("--shm-pool-mb", type=int,
                        help="the bridge node's dora shared-memory pool (DORA_NODE_SHM_POOL_SIZE); dora's default is 8 MB")
    parser.add_argument("--binary", action="store_true", help="uint8[] as Binary (bytes_as_binary) instead of List<UInt8>")
    parser.add_argument("--fastdds-transports", help="FASTDDS_BUILTIN_TRANSPORTS for every process, e.g. LARGE_DATA")
    parser.add_argument("--fastdds-profile",
                        help="a Fast DDS XML profile for every process, e.g. config/fastdds_large_messages.xml")
    args = parser.parse_args()
    global TRANSPORTS, PROFILE
    TRANSPORTS = args.fastdds_transports
    PROFILE = args.fastdds_profile and str(Path(args.fastdds_profile).resolve())
    domain = 180
    print("| rate (Hz) | source's actual rate (median) | DDS hop alone: received / sent (lossless runs) | "
          "bridge -> dora: received / sent (lossless runs) | CPU per frame (median): bridge / rcl subscriber |")
    print("|---|---|---|---|---|")
    for rate in (float(r) for r in args.rates.split(",")):
        dds_runs, bridge_runs = [], []
        for _ in range(args.repeat):
            domain += 1
            if not args.skip_dds:
                dds_runs.append(dds_run(rate, args.count, env_for(domain)))
            domain += 1
            bridge_runs.append(bridge_run(rate, args.count, env_for(domain), args.depth, args.queue, args.binary,
                                          args.shm_pool_mb, args.queue_policy))
            dds, bridge = (dds_runs or [{}])[-1], bridge_runs[-1]
            if dds.get("missing") or bridge.get("missing"):
                print(f"  {rate:g} Hz, missing frame indices: DDS hop {dds.get('missing')}, "
                      f"bridge {bridge.get('missing')}; bridge counters: {bridge.get('bridge_stats')}",
                      file=sys.stderr, flush=True)
        cpu = statistics.median(r["cpu_ms_per_frame"] for r in bridge_runs)
        dds_cpu = f"{statistics.median(r['cpu_ms_per_frame'] for r in dds_runs):.2f}" if dds_runs else "-"
        # The source paces itself but cannot go faster than the machine lets it.
        actual = statistics.median(r["sent"] / r["seconds"] for r in dds_runs + bridge_runs if r["seconds"])
        print(f"| {rate:g} | {actual:.1f} Hz | {summary(dds_runs)} | {summary(bridge_runs)} | {cpu:.2f} / {dds_cpu} ms |",
              flush=True)


if __name__ == "__main__":
    main()
