#!/usr/bin/env python3
"""Instructions per message, counted by callgrind (repeatable whatever else
the machine does): the bridge against a plain rcl node doing the same work.

One topic of sensor_msgs/msg/Imu (324 bytes of CDR), reliable, at RATE
messages a second for SECONDS, through
  floor  ROS ->     examples/rcl_load_source -> examples/rcl_load_sink (counted)
  bridge ROS->dora  rcl_load_source -> the bridge (counted; a from_ros route,
                    `batch: 1` and `batch: 32`) -> examples/dora_load_sink
  floor  -> ROS     examples/rcl_load_source (counted) -> rcl_load_sink
  bridge dora->ROS  examples/dora_load_source -> the bridge (counted; a to_ros
                    route) -> rcl_load_sink
The counted process runs under `valgrind --tool=callgrind`; its counters
are zeroed once the topic is matched (callgrind_control -z) and dumped
once the last message has arrived (-d), so start-up and shut-down are not
in the figure: instructions in that window / messages delivered. Every
dora input is `queue_policy: backpressure`, as docs/configuration.md
recommends.

  source .workbench/env.sh && cargo build --release --bins --examples
  python3 bench/instructions.py [--rate 100] [--seconds 10] [--cases ...]
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

from benchlib import env_for, spawn, stop, wait_for, with_fastdds_profile

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
BRIDGE = TARGET / "ros2-dora-bridge"
EXAMPLES = TARGET / "examples"
PREFIX = "/load/t"
# The bridge's own profile given outright: it does not re-execute itself
# (which valgrind would not follow).
PROFILE = ROOT / "config" / "fastdds_large_messages.xml"
TOTAL = re.compile(r"^(?:summary|totals): (\d+)", re.M)


def log_has(path, text):
    try:
        return text in Path(path).read_text()
    except OSError:
        return False


def json_lines(path):
    merged = {}
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith("{"):
                try:
                    merged.update(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return merged


def callgrind(out):
    return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no"]


def counted_pid(marker, timeout=120):
    """The valgrind process whose command line holds `marker`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "--tool=callgrind" in cmdline and marker in cmdline:
                return int(entry.name)
        time.sleep(0.2)
    return None


def zero(pid):
    subprocess.run(["callgrind_control", "-z", str(pid)], check=True, capture_output=True)


def dump_total(pid, out):
    """Dumps the counters since the last zero; their instruction total."""
    before = set(out.parent.glob(out.name + "*"))
    subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
    if not wait_for(lambda: set(out.parent.glob(out.name + "*")) - before, 60):
        raise RuntimeError(f"callgrind wrote no dump for {pid}")
    newest = max(set(out.parent.glob(out.name + "*")) - before, key=lambda p: p.stat().st_mtime)
    wait_for(lambda: TOTAL.search(newest.read_text(errors="replace")), 30)
    match = TOTAL.search(newest.read_text(errors="replace"))
    return int(match.group(1))


def received_by_sink(sink_log):
    return sum(json_lines(sink_log).get("received", [0]))


def floor_from_ros(work, env, rate, seconds):
    """rcl_load_source -> rcl_load_sink (counted)."""
    out, sink_log, source_log = work / "floor_in.cg", work / "floor_in_sink.log", work / "floor_in_source.log"
    sink = spawn(callgrind(out) + [EXAMPLES / "rcl_load_sink", PREFIX, 1, seconds + 120], env, sink_log)
    wait_for(lambda: log_has(sink_log, "ready"), 120)
    pid = counted_pid("rcl_load_sink")
    source = spawn([EXAMPLES / "rcl_load_source", PREFIX, 1, rate, seconds], env, source_log)
    wait_for(lambda: log_has(source_log, "all_matched_unix_ns"), 120)
    zero(pid)
    source.wait(seconds + 120)
    wait_for(lambda: False, 3)  # the last messages' way to the sink
    total = dump_total(pid, out)
    stop(sink)
    sent = json_lines(source_log).get("sent_per_topic", 0)
    return total, sent, received_by_sink(sink_log)


def bridge_from_ros(work, env, rate, seconds, batch):
    """rcl_load_source -> bridge (counted) -> dora_load_sink."""
    name = f"bridge_in_{batch}"
    out, source_log = work / f"{name}.cg", work / f"{name}_source.log"
    result = work / f"{name}_sink.json"
    wrapper = work / f"{name}.sh"
    wrapper.write_text("#!/bin/sh\nexec " + " ".join(str(a) for a in callgrind(out)) + f" {BRIDGE} \"$@\"\n")
    wrapper.chmod(0o755)
    (work / f"{name}.yaml").write_text(
        f"from_ros:\n  - {{topic: {PREFIX}000, type: sensor_msgs/msg/Imu, output: load, batch: {batch}}}\n")
    (work / f"{name}.yml").write_text(f"""nodes:
  - id: bridge
    path: {wrapper}
    args: --config {work / f'{name}.yaml'}
    outputs: [load]
  - id: sink
    path: {EXAMPLES / 'dora_load_sink'}
    env: {{RESULT_FILE: {result}}}
    inputs:
      load: {{source: bridge/load, queue_policy: backpressure, queue_size: 1000}}
""")
    source = spawn([EXAMPLES / "rcl_load_source", PREFIX, 1, rate, seconds], env, source_log)
    wait_for(lambda: log_has(source_log, "publishing"), 30)
    dora = spawn(["dora", "run", work / f"{name}.yml"], env, work / f"{name}_dora.log", cwd=work)
    pid = counted_pid(str(wrapper.parent / f"{name}.cg"))
    wait_for(lambda: log_has(source_log, "all_matched_unix_ns"), 300)
    zero(pid)
    source.wait(seconds + 300)
    wait_for(lambda: False, 5)
    total = dump_total(pid, out)
    stop(dora, timeout=120)
    sent = json_lines(source_log).get("sent_per_topic", 0)
    got = json.loads(result.read_text()).get("received", {}) if result.exists() else {}
    return total, sent, sum(got.values())


def floor_to_ros(work, env, rate, seconds):
    """rcl_load_source (counted) -> rcl_load_sink."""
    out, sink_log, source_log = work / "floor_out.cg", work / "floor_out_sink.log", work / "floor_out_source.log"
    sink = spawn([EXAMPLES / "rcl_load_sink", PREFIX, 1, seconds + 120], env, sink_log)
    wait_for(lambda: log_has(sink_log, "ready"), 30)
    source = spawn(callgrind(out) + [EXAMPLES / "rcl_load_source", PREFIX, 1, rate, seconds], env, source_log)
    pid = counted_pid("rcl_load_source")
    wait_for(lambda: log_has(source_log, "all_matched_unix_ns"), 120)
    zero(pid)
    # Dumped before it exits: the last sends are done once it prints its count.
    wait_for(lambda: log_has(source_log, "sent_per_topic"), seconds + 120)
    total = dump_total(pid, out)
    source.wait(60)
    wait_for(lambda: sink.poll() is not None, 60)
    stop(sink)
    sent = json_lines(source_log).get("sent_per_topic", 0)
    return total, sent, received_by_sink(sink_log)


def bridge_to_ros(work, env, rate, seconds):
    """dora_load_source -> bridge (counted) -> rcl_load_sink."""
    out, sink_log = work / "bridge_out.cg", work / "bridge_out_sink.log"
    result = work / "bridge_out_source.json"
    wrapper = work / "bridge_out.sh"
    wrapper.write_text("#!/bin/sh\nexec " + " ".join(str(a) for a in callgrind(out)) + f" {BRIDGE} \"$@\"\n")
    wrapper.chmod(0o755)
    (work / "bridge_out.yaml").write_text(f"to_ros:\n  - {{input: t000, topic: {PREFIX}000, type: sensor_msgs/msg/Imu}}\n")
    start_delay = 60  # the bridge's start under valgrind
    (work / "bridge_out.yml").write_text(f"""nodes:
  - id: source
    path: {EXAMPLES / 'dora_load_source'}
    env: {{LOAD_TOPICS: 1, RATE: {rate}, SECONDS: {seconds}, START_DELAY: {start_delay}, RESULT_FILE: {result}}}
    outputs: [t000]
  - id: bridge
    path: {wrapper}
    args: --config {work / 'bridge_out.yaml'}
    inputs:
      keepalive: dora/timer/secs/1
      t000: {{source: source/t000, queue_policy: backpressure, queue_size: 1000}}
""")
    sink = spawn([EXAMPLES / "rcl_load_sink", PREFIX, 1, seconds + start_delay + 300],
                 dict(env, SINK_DEPTH="1000", SINK_IDLE_S="10"), sink_log)
    wait_for(lambda: log_has(sink_log, "ready"), 30)
    dora = spawn(["dora", "run", work / "bridge_out.yml"], env, work / "bridge_out_dora.log", cwd=work)
    pid = counted_pid(str(out))
    # Zeroed once the bridge is up (its first stats line), before the source starts.
    wait_for(lambda: log_has(work / "bridge_out_dora.log", "bridging"), start_delay)
    zero(pid)
    wait_for(lambda: result.exists(), seconds + start_delay + 300)
    wait_for(lambda: sink.poll() is not None, 300)
    total = dump_total(pid, out)
    stop(dora, timeout=120)
    stop(sink)
    sent = json.loads(result.read_text()).get("sent_per_topic", 0) if result.exists() else 0
    return total, sent, received_by_sink(sink_log)


CASES = {
    "floor_from_ros": lambda w, e, r, s: floor_from_ros(w, e, r, s),
    "bridge_from_ros": lambda w, e, r, s: bridge_from_ros(w, e, r, s, 1),
    "bridge_from_ros_batch32": lambda w, e, r, s: bridge_from_ros(w, e, r, s, 32),
    "floor_to_ros": lambda w, e, r, s: floor_to_ros(w, e, r, s),
    "bridge_to_ros": lambda w, e, r, s: bridge_to_ros(w, e, r, s),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="instructions-"))
    rows = {}
    for i, case in enumerate(args.cases.split(",")):
        env = with_fastdds_profile(env_for(200 + i), PROFILE)
        total, sent, received = CASES[case](work, env, args.rate, args.seconds)
        per = total / received if received else float("nan")
        rows[case] = per
        print(json.dumps({"case": case, "instructions": total, "sent": sent, "received": received,
                          "per_message": round(per)}), flush=True)
    for direction, floor in (("from_ros", "floor_from_ros"), ("to_ros", "floor_to_ros")):
        for case, per in rows.items():
            if case.startswith(f"bridge_{direction}") and floor in rows:
                print(f"{case}: {per:,.0f} instructions/message, {per / rows[floor]:.2f}x the rcl floor "
                      f"({rows[floor]:,.0f})")
    print(f"work dir: {work}")


if __name__ == "__main__":
    sys.exit(main())
