#!/usr/bin/env python3
"""Many topics through one bridge: cost and losses as the topic count grows.

ROS -> dora: examples/rcl_load_source publishes N topics of
sensor_msgs/msg/Imu (324 bytes of CDR) at a total rate R; they reach a
Rust dora sink that counts per topic (examples/dora_load_sink) through
  match     one `from_ros` route with `match: ^/load/`
  per_topic one `from_ros` route per topic
and, side by side, a plain rcl subscriber takes the same topics
(examples/rcl_load_sink): the DDS floor.
dora -> ROS: a Rust dora source (examples/dora_load_source) sends N outputs
through N `to_ros` routes (`qos: {depth: 100}`, as docs/configuration.md
recommends; --to-ros-qos to change) to the rcl subscriber, which keeps
1000 per topic here so that what is lost is lost on the bridge's side.

Every dora input is `queue_policy: backpressure` and every route reliable,
as docs/configuration.md recommends when nothing may be lost. Reported per
run: messages sent, delivered and lost (and on how many topics), the
receiving process's CPU per message (the bridge's for the bridge rows, the
subscriber's for the floor), its peak RSS, and, for ROS -> dora, the time
from `dora run` until every topic had a subscriber.

  source .workbench/env.sh
  cargo build --release --bins --examples
  python3 bench/many_topics.py [--topics 1,10,100,500] [--rates 1000,5000,10000]
                               [--seconds 10] [--ceiling]

--ceiling also searches, at 100 topics, for the highest total rate each
receiver takes with nothing lost (doubling, then bisecting).
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

from benchlib import cpu_seconds, spawn, stop, wait_for

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
BRIDGE = TARGET / "ros2-dora-bridge"
EXAMPLES = TARGET / "examples"
PREFIX = "/load/t"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

_domain = [160]


def next_domain():
    _domain[0] = 160 + (_domain[0] - 159) % 60
    return _domain[0]


def env_for(domain):
    env = dict(os.environ)
    env.update(ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               DORA_ZENOH_MULTICAST="off", RUST_LOG="warn")
    return env


def peak_rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return None


def find_bridge(work, timeout=30):
    """This run's bridge: the binary, started by dora in the work dir."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and os.readlink(entry / "exe") == str(BRIDGE.resolve()) \
                        and os.readlink(entry / "cwd") == str(work.resolve()):
                    return int(entry.name)
            except OSError:
                pass
        time.sleep(0.05)
    return None


def read_json_lines(path):
    found = {}
    for line in Path(path).read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                found.update(json.loads(line))
            except json.JSONDecodeError:
                pass
    return found


def log_has(path, text):
    try:
        return text in Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return False


def summarize(sent_per_topic, received_by_topic, topics):
    received = sum(received_by_topic.get(t, 0) for t in topics)
    sent = sent_per_topic * len(topics)
    lossy = sum(1 for t in topics if received_by_topic.get(t, 0) < sent_per_topic)
    return {"sent": sent, "received": received, "lost": sent - received, "topics_with_loss": lossy}


def floor_run(n, total_rate, seconds, work):
    """rcl_load_source -> rcl_load_sink: the DDS floor."""
    env = env_for(next_domain())
    rate = total_rate / n
    sink_log, source_log = work / "floor_sink.log", work / "floor_source.log"
    sink = spawn([EXAMPLES / "rcl_load_sink", PREFIX, n, seconds + 40], env, sink_log)
    wait_for(lambda: log_has(sink_log, "ready"), 30)
    source = spawn([EXAMPLES / "rcl_load_source", PREFIX, n, rate, seconds], env, source_log)
    wait_for(lambda: log_has(source_log, "all_matched_unix_ns"), 60)
    cpu0 = cpu_seconds(sink.pid)
    source.wait(seconds + 60)
    cpu1 = cpu_seconds(sink.pid)
    rss = peak_rss_mb(sink.pid)
    wait_for(lambda: sink.poll() is not None, 30)  # it ends once idle
    stop(sink)
    sent = read_json_lines(source_log).get("sent_per_topic", 0)
    result = read_json_lines(sink_log)
    topics = [f"{PREFIX}{i:03}" for i in range(n)]
    by_topic = dict(zip(topics, result.get("received", [])))
    row = summarize(sent, by_topic, topics)
    row.update(cpu_us_per_msg=1e6 * (cpu1 - cpu0) / max(row["received"], 1) if cpu0 is not None and cpu1 is not None else None,
               rss_mb=rss)
    return row


def bridge_to_dora_run(n, total_rate, seconds, work, mode, batch=1):
    """rcl_load_source -> bridge (match or per-topic routes) -> dora_load_sink."""
    env = env_for(next_domain())
    rate = total_rate / n
    topics = [f"{PREFIX}{i:03}" for i in range(n)]
    batch_entry = f", batch: {batch}" if batch > 1 else ""
    if mode == "match":
        config = f"from_ros:\n  - {{match: '^/load/', type: sensor_msgs/msg/Imu, output: load{batch_entry}}}\n"
        outputs = ["load"]
    else:
        config = "from_ros:\n" + "".join(
            f"  - {{topic: {t}, type: sensor_msgs/msg/Imu, output: t{i:03}{batch_entry}}}\n"
            for i, t in enumerate(topics))
        outputs = [f"t{i:03}" for i in range(n)]
    (work / "bridge.yaml").write_text(config)
    result_file = work / f"sink_{mode}.json"
    result_file.unlink(missing_ok=True)
    sink_inputs = "".join(
        f"      {o}: {{source: bridge/{o}, queue_policy: backpressure, queue_size: 1000}}\n" for o in outputs)
    (work / "dataflow.yml").write_text(f"""nodes:
  - id: bridge
    path: {BRIDGE}
    args: --config {work / 'bridge.yaml'}
    outputs: [{', '.join(outputs)}]
  - id: sink
    path: {EXAMPLES / 'dora_load_sink'}
    env: {{RESULT_FILE: {result_file}}}
    inputs:
{sink_inputs}""")
    source_log, dora_log = work / f"source_{mode}.log", work / f"dora_{mode}.log"
    source = spawn([EXAMPLES / "rcl_load_source", PREFIX, n, rate, seconds], env, source_log)
    wait_for(lambda: log_has(source_log, "publishing"), 30)
    started_ns = time.time_ns()
    dora = spawn(["dora", "run", work / "dataflow.yml"], env, dora_log, cwd=work)
    bridge = find_bridge(work)
    matched = wait_for(lambda: log_has(source_log, "all_matched_unix_ns"), 60)
    matched_ns = read_json_lines(source_log).get("all_matched_unix_ns") if matched else None
    cpu0 = cpu_seconds(bridge) if bridge else None
    source.wait(seconds + 60)
    time.sleep(1)  # the last messages' way from the bridge into the sink
    cpu1 = cpu_seconds(bridge) if bridge else None
    rss = peak_rss_mb(bridge) if bridge else None
    stop(dora)
    sent = read_json_lines(source_log).get("sent_per_topic", 0)
    result = json.loads(result_file.read_text()) if result_file.exists() else {}
    row = summarize(sent, result.get("received", {}), topics)
    row.update(cpu_us_per_msg=1e6 * (cpu1 - cpu0) / max(row["received"], 1) if cpu0 is not None and cpu1 is not None else None,
               rss_mb=rss,
               bridged_after_s=(matched_ns - started_ns) / 1e9 if matched_ns else None)
    return row


def dora_to_ros_run(n, total_rate, seconds, work, qos=None):
    """dora_load_source -> bridge (a to_ros route per topic) -> rcl_load_sink."""
    env = env_for(next_domain())
    rate = total_rate / n
    topics = [f"{PREFIX}{i:03}" for i in range(n)]
    qos_entry = f", qos: {qos}" if qos else ""
    config = "to_ros:\n" + "".join(
        f"  - {{input: t{i:03}, topic: {t}, type: sensor_msgs/msg/Imu{qos_entry}}}\n" for i, t in enumerate(topics))
    (work / "bridge_out.yaml").write_text(config)
    result_file = work / "source_out.json"
    result_file.unlink(missing_ok=True)
    bridge_inputs = "".join(
        f"      t{i:03}: {{source: source/t{i:03}, queue_policy: backpressure, queue_size: 1000}}\n"
        for i in range(n))
    start_delay = 3 + n / 100
    (work / "dataflow_out.yml").write_text(f"""nodes:
  - id: source
    path: {EXAMPLES / 'dora_load_source'}
    env: {{LOAD_TOPICS: {n}, RATE: {rate}, SECONDS: {seconds}, START_DELAY: {start_delay}, RESULT_FILE: {result_file}}}
    outputs: [{', '.join(f't{i:03}' for i in range(n))}]
  - id: bridge
    path: {BRIDGE}
    args: --config {work / 'bridge_out.yaml'}
    inputs:
      keepalive: dora/timer/secs/1
{bridge_inputs}""")
    sink_log = work / "sink_out.log"
    sink = spawn([EXAMPLES / "rcl_load_sink", PREFIX, n, seconds + start_delay + 60],
                 dict(env, SINK_DEPTH="1000"), sink_log)
    wait_for(lambda: log_has(sink_log, "ready"), 30)
    dora = spawn(["dora", "run", work / "dataflow_out.yml"], env, work / "dora_out.log", cwd=work)
    bridge = find_bridge(work)
    time.sleep(start_delay)
    cpu0 = cpu_seconds(bridge) if bridge else None
    wait_for(lambda: result_file.exists(), seconds + 60)
    # The bridge stays up (its timer input) until the subscriber has gone
    # idle, i.e. has everything it is going to get.
    wait_for(lambda: sink.poll() is not None, 60)
    cpu1 = cpu_seconds(bridge) if bridge else None
    rss = peak_rss_mb(bridge) if bridge else None
    wait_for(lambda: sink.poll() is not None, 30)  # it ends once idle
    stop(dora)
    stop(sink)
    sent = json.loads(result_file.read_text()).get("sent_per_topic", 0) if result_file.exists() else 0
    result = read_json_lines(sink_log)
    row = summarize(sent, dict(zip(topics, result.get("received", []))), topics)
    row.update(cpu_us_per_msg=1e6 * (cpu1 - cpu0) / max(row["received"], 1) if cpu0 is not None and cpu1 is not None else None,
               rss_mb=rss)
    return row


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def print_rows(title, rows, with_bridged):
    print(f"\n### {title}\n")
    head = "| topics | total msg/s | receiver | sent | lost (topics) | CPU µs/msg | peak RSS MB |"
    head += " bridged after |" if with_bridged else ""
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for n, rate, receiver, r in rows:
        line = (f"| {n} | {rate} | {receiver} | {r['sent']} | {r['lost']} ({r['topics_with_loss']}) | "
                f"{fmt(r['cpu_us_per_msg'], '.1f')} | {fmt(r['rss_mb'], '.0f')} |")
        if with_bridged:
            line += f" {fmt(r.get('bridged_after_s'), '.2f')} s |" if r.get("bridged_after_s") else " |"
        print(line)
    sys.stdout.flush()


def ceiling(run, seconds, work, start=10000, limit=160000):
    """Highest total rate (100 topics) with nothing lost: double, then bisect."""
    good, bad, rate = 0, None, start
    while bad is None and rate <= limit:
        if run(100, rate, seconds, work)["lost"] == 0:
            good, rate = rate, rate * 2
        else:
            bad = rate
    while bad is not None and bad - good > max(good // 8, 1000):
        mid = (good + bad) // 2
        if run(100, mid, seconds, work)["lost"] == 0:
            good = mid
        else:
            bad = mid
    return good


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", default="1,10,100,500")
    parser.add_argument("--rates", default="1000,5000,10000", help="total messages/s")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--ceiling", action="store_true")
    parser.add_argument("--direction", choices=["both", "to_dora", "to_ros"], default="both")
    parser.add_argument("--batch", type=int, default=1,
                        help="`batch:` of the from_ros routes (rows per dora message; default 1)")
    parser.add_argument("--to-ros-qos", default="{depth: 100}",
                        help="the to_ros routes' `qos:` (YAML; default '{depth: 100}', '' for auto)")
    args = parser.parse_args()
    for binary in [BRIDGE, *(EXAMPLES / e for e in ["rcl_load_source", "rcl_load_sink",
                                                    "dora_load_sink", "dora_load_source"])]:
        if not binary.exists():
            sys.exit(f"{binary} missing: cargo build --release --bins --examples")
    work = Path(tempfile.mkdtemp(prefix="many_topics_"))
    counts = [int(n) for n in args.topics.split(",")]
    rates = [int(r) for r in args.rates.split(",")]
    print(f"# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {args.seconds:g} s per run, work dir {work}")
    if args.direction in ("both", "to_dora"):
        rows = []
        for n in counts:
            for rate in rates:
                rows.append((n, rate, "rcl subscriber (floor)", floor_run(n, rate, args.seconds, work)))
                for mode in ["match", "per_topic"]:
                    rows.append((n, rate, f"bridge, {mode} route{'s' if mode == 'per_topic' else ''}",
                                 bridge_to_dora_run(n, rate, args.seconds, work, mode, args.batch)))
                print(f"# done {n} topics at {rate}/s", file=sys.stderr, flush=True)
        print_rows("ROS -> dora", rows, True)
    if args.direction in ("both", "to_ros"):
        rows = []
        for n in counts:
            for rate in rates:
                rows.append((n, rate, "bridge, to_ros routes", dora_to_ros_run(n, rate, args.seconds, work,
                                                                             args.to_ros_qos)))
                print(f"# done {n} topics at {rate}/s (to ROS)", file=sys.stderr, flush=True)
        print_rows("dora -> ROS", rows, False)
    if args.ceiling:
        floor = ceiling(lambda n, r, s, w: floor_run(n, r, s, w), args.seconds, work)
        bridge = ceiling(lambda n, r, s, w: bridge_to_dora_run(n, r, s, w, "match", args.batch), args.seconds, work)
        print(f"\nHighest total rate with nothing lost, 100 topics: rcl subscriber {floor}/s, "
              f"bridge (match route, batch {args.batch}) {bridge}/s: {100 * bridge / max(floor, 1):.0f} % of the floor")


if __name__ == "__main__":
    main()
