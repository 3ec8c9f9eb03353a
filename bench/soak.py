#!/usr/bin/env python3
"""Soak: a mixed load through one bridge for a long time (`make soak`).

Load (all reliable, every dora input `queue_policy: backpressure`, as
docs/configuration.md recommends when nothing may be lost):
  ROS -> dora  two 640x480 rgb8 image streams at 30 Hz (examples/rcl_image_source)
               and 100 small topics (sensor_msgs/msg/Imu) at 50 Hz
               (examples/rcl_load_source), taken by two `match:` routes
               into a Rust dora sink (examples/dora_load_sink)
  dora -> ROS  20 small topics at 50 Hz (examples/dora_load_source) through
               20 `to_ros` routes (keep last 100) to an rcl subscriber (examples/rcl_load_sink),
               and recorded into a bag (`record:`)
Every INTERVAL seconds it samples the bridge's RSS, CPU, open fds and
threads and every route's counters (the bridge's `stats` log lines) into
soak.csv, and at the end draws soak.png (RSS and message rates over time).

It passes (exit 0) when
  - after the warm-up (the first minute, or a third of a shorter run) RSS
    grows less than 5 %,
  - every route's counters balance at the end: received = forwarded +
    every counted drop,
  - nothing was dropped: no drop counter moved, every message the sources
    sent arrived (per topic), and the bag holds every message published.

  source .workbench/env.sh && cargo build --release --bins --examples
  python3 bench/soak.py [--duration 1800] [--interval 10] [--out out/soak] [--faults] [--rate-scale 1]

--faults injects, during the load: a SIGKILL of the small topics' ROS
publisher a quarter of the way in, the same publisher restarted 3 s later,
and a SIGKILL of the dora sink (which has `restart_policy: on-failure`)
halfway; then the dataflow is stopped. It passes when every route's counters
still balance, the dora -> ROS half and its bag lose nothing, the restarted
sink receives both the images and the restarted publisher's topics, and the
bridge leaves the ROS graph and exits 0 with `dora run`
(docs/lifecycle.md).
"""
import argparse
import csv
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

from benchlib import spawn, stop, wait_for

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
LARGE_MESSAGES_PROFILE = ROOT / "config" / "fastdds_large_messages.xml"
# `stats ROUTE: 10.0 msg/s 1.2 kB/s received=... forwarded=...` (the bytes
# rate only where the route moves CDR).
STATS_LINE = re.compile(r"stats (.+?): [\d.]+ msg/s (?:[\d.]+ [kMG]?B/s )?((?:\w+=\d+ ?)+)$")
# What the bridge took in and did not forward (docs/configuration.md: received
# = forwarded + these); dropped_by_middleware and lost_in_dora never reached it.
UNFORWARDED = ["dropped_queue_full", "decode_errors", "encode_errors", "publish_errors"]
LOSSES = UNFORWARDED + ["dropped_by_middleware", "lost_in_dora"]
SMALL_TOPICS, OUT_TOPICS = 100, 20
# Messages per second per topic, times --rate-scale.
RATES = {"small": 50, "out": 50, "image": 30}


def text(path):
    try:
        return Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return ""


def json_lines(path):
    found = {}
    for line in text(path).splitlines():
        if line.startswith("{"):
            try:
                found.update(json.loads(line))
            except json.JSONDecodeError:
                pass
    return found


def find_by_exe(binary, cwd, timeout=30):
    """The process running `binary` in `cwd` (dora starts nodes in the
    dataflow's directory; other runs may use the same binary)."""
    def look():
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.readlink(entry / "exe") == str(binary) and os.readlink(entry / "cwd") == str(cwd):
                        return int(entry.name)
                except OSError:
                    pass
        return None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = look()
        if pid:
            return pid
        time.sleep(0.1)
    return None


def sample_process(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError):
        return None
    field = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "cpu_s": (int(stat[11]) + int(stat[12])) / CLK_TCK,
        "rss_mb": int(field.get("VmRSS", "0 kB").split()[0]) / 1024,
        "fds": fds,
        "threads": int(field["Threads"]),
    }


def route_counters(log_text):
    """The latest counters per route from the bridge's `stats` lines."""
    routes = {}
    for line in log_text.splitlines():
        match = STATS_LINE.search(line)
        if match:
            routes[match.group(1)] = {k: int(v) for k, v in
                                      (pair.split("=") for pair in match.group(2).split())}
    return routes


def dataflow(work, bins, duration, faults, rates):
    examples = bins / "examples"
    # Reliable to_ros routes with the deeper history docs/configuration.md
    # recommends ("Lossless delivery").
    to_ros = "".join(f"  - {{input: t{i:03}, topic: /soak_out/t{i:03}, type: sensor_msgs/msg/Imu, "
                     f"qos: {{depth: 100}}}}\n" for i in range(OUT_TOPICS))
    (work / "bridge.yaml").write_text(
        "from_ros:\n"
        "  - {match: '^/soak/cam', type: sensor_msgs/msg/Image, output: images}\n"
        "  - {match: '^/soak/t', type: sensor_msgs/msg/Imu, output: small}\n"
        f"to_ros:\n{to_ros}"
        f"record: {{bag: {work / 'bag'}}}\n"
        "stats: {log_interval: 1s}\n")
    lossless = "queue_policy: backpressure, queue_size: 1000"
    restart = "\n    restart_policy: on-failure" if faults else ""
    # The timer keeps the bridge's event stream open once the dora source
    # has finished: without it the bridge exits then (all inputs closed), and
    # with it the ROS -> dora routes, whatever they still had on the way.
    bridge_inputs = "".join(f"      t{i:03}: {{source: source/t{i:03}, {lossless}}}\n"
                            for i in range(OUT_TOPICS))
    (work / "dataflow.yml").write_text(f"""nodes:
  - id: bridge
    path: {bins / 'ros2-dora-bridge'}
    args: --config {work / 'bridge.yaml'}
    inputs:
      keepalive: dora/timer/secs/1
{bridge_inputs}    outputs: [images, small]
  - id: sink
    path: {examples / 'dora_load_sink'}
    env: {{RESULT_FILE: {work / 'sink.json'}}}{restart}
    inputs:
      images: {{source: bridge/images, {lossless}}}
      small: {{source: bridge/small, {lossless}}}
  - id: source
    path: {examples / 'dora_load_source'}
    env: {{LOAD_TOPICS: {OUT_TOPICS}, RATE: {rates["out"]}, SECONDS: {duration}, START_DELAY: 5,
           RESULT_FILE: {work / 'source.json'}}}
    outputs: [{', '.join(f't{i:03}' for i in range(OUT_TOPICS))}]
""")
    return work / "dataflow.yml"


def bag_message_count(bag_dir):
    match = re.search(r"^  message_count: (\d+)", text(Path(bag_dir) / "metadata.yaml"), re.M)
    return int(match.group(1)) if match else None


class Faults:
    """The faults of --faults, each at its time into the run."""

    def __init__(self, enabled, duration, procs, bins, examples, env, work, start, rates):
        self.enabled, self.procs, self.bins, self.env, self.work = enabled, procs, bins, env, work
        self.rates = rates
        self.examples, self.start, self.duration = examples, start, duration
        self.plan = [(duration / 4, self.kill_publisher), (duration / 4 + 3, self.restart_publisher),
                     (duration / 2, self.kill_sink)] if enabled else []
        self.log = []

    def done(self):
        return not self.plan

    def sleep(self, seconds):
        """Sleeps, doing the faults that fall due meanwhile."""
        end = time.monotonic() + seconds
        while self.plan and self.start + self.plan[0][0] < end:
            time.sleep(max(self.start + self.plan[0][0] - time.monotonic(), 0))
            _, fault = self.plan.pop(0)
            self.log.append(f"{time.monotonic() - self.start:.1f} s: {fault()}")
        time.sleep(max(end - time.monotonic(), 0))

    def kill_publisher(self):
        os.killpg(self.procs["small"].pid, signal.SIGKILL)
        self.procs["small"].wait()
        return "SIGKILL to the small topics' publisher"

    def restart_publisher(self):
        left = self.duration - (time.monotonic() - self.start)
        self.procs["small2"] = spawn([self.examples / "rcl_load_source", "/soak/t", SMALL_TOPICS, self.rates["small"],
                                      max(left, 5)], self.env, self.work / "small2.log")
        return "publisher restarted"

    def kill_sink(self):
        sink = find_by_exe(self.examples / "dora_load_sink", self.work, timeout=5)
        if sink is None:
            return "no dora sink to kill"
        os.kill(sink, signal.SIGKILL)
        back = wait_for(lambda: (find_by_exe(self.examples / "dora_load_sink", self.work, timeout=1) or sink) != sink, 20)
        return f"SIGKILL to the dora sink ({'restarted by dora' if back else 'NOT restarted'})"


# --- a small PNG line plot, so the soak needs no plotting library ---------

def png(path, width, height, pixels):
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n"
                           + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


# 3x5 glyphs, a row of 3 bits per line, top line first.
GLYPHS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001001001",
    "8": "111101111101111", "9": "111101111001111", ".": "000000000000010", "/": "001001010100100",
    " ": "000000000000000", "-": "000000111000000", ":": "000010000010000", "%": "101001010100101",
    "A": "010101111101101", "B": "110101110101110", "C": "111100100100111", "D": "110101101101110",
    "E": "111100111100111", "F": "111100111100100", "G": "111100101101111", "H": "101101111101101",
    "I": "111010010010111", "K": "101101110101101", "L": "100100100100111", "M": "101111111101101",
    "N": "110101101101101", "O": "111101101101111", "P": "111101111100100", "R": "110101110101101",
    "S": "111100111001111", "T": "111010010010010", "U": "101101101101111", "W": "101101111111101",
    "X": "101101010101101", "Y": "101101010010010",
}


def plot(path, times, panels, width=800, panel_height=200):
    """One panel per (title, series list, y maximum); each series
    (values, rgb). Titles and the axes' ends are written in a 3x5 font."""
    height = panel_height * len(panels) + 20
    pixels = [[255] * (width * 3) for _ in range(height)]

    def put(x, y, rgb):
        if 0 <= x < width and 0 <= y < height:
            pixels[y][3 * x:3 * x + 3] = rgb

    def write(x, y, label, rgb=(0, 0, 0), scale=2):
        for char in label.upper():
            glyph = GLYPHS.get(char, GLYPHS[" "])
            for i, bit in enumerate(glyph):
                if bit == "1":
                    for dx in range(scale):
                        for dy in range(scale):
                            put(x + (i % 3) * scale + dx, y + (i // 3) * scale + dy, rgb)
            x += 4 * scale
    t_max = max(times[-1], 1e-9) if times else 1
    for k, (title, series, y_max) in enumerate(panels):
        top, bottom = k * panel_height + 24, (k + 1) * panel_height - 4
        write(6, top - 18, f"{title}  (0 TO {y_max:.0f})")
        for x in range(width):
            put(x, bottom, (0, 0, 0))
            put(x, (top + bottom) // 2, (220, 220, 220))
        for y in range(top, bottom):
            put(0, y, (0, 0, 0))
        for values, rgb in series:
            last = None
            for t, v in zip(times, values):
                x = int((width - 1) * t / t_max)
                y = bottom - int((bottom - top) * min(v / max(y_max, 1e-9), 1.0))
                if last:
                    steps = max(abs(x - last[0]), abs(y - last[1]), 1)
                    for i in range(steps + 1):
                        put(last[0] + (x - last[0]) * i // steps, last[1] + (y - last[1]) * i // steps, rgb)
                last = (x, y)
    write(6, height - 14, "0 S")
    write(width - 80, height - 14, f"{t_max:.0f} S")
    png(path, width, height, pixels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=1800, help="seconds of load (default 1800)")
    parser.add_argument("--interval", type=float, default=10, help="seconds between samples (default 10)")
    parser.add_argument("--out", default=str(ROOT / "out" / "soak"), help="where soak.csv, soak.png and logs go")
    parser.add_argument("--bins", default=None,
                        help="dir with ros2-dora-bridge and examples/ (default $CARGO_TARGET_DIR/release)")
    parser.add_argument("--domain", type=int, default=170)
    parser.add_argument("--faults", action="store_true", help="inject the faults described above")
    parser.add_argument("--rate-scale", type=float, default=1.0,
                        help="every rate times this (the test suite's 60 s run uses 0.2 with debug binaries)")
    args = parser.parse_args()
    bins = Path(args.bins or Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release").resolve()
    for binary in [bins / "ros2-dora-bridge"] + [bins / "examples" / e for e in
                                                 ["rcl_image_source", "rcl_load_source", "rcl_load_sink",
                                                  "dora_load_sink", "dora_load_source"]]:
        if not binary.exists():
            sys.exit(f"{binary} missing: cargo build --release --bins --examples (or pass --bins)")
    work = Path(args.out).resolve()
    work.mkdir(parents=True, exist_ok=True)
    for old in ["bag", "sink.json", "source.json"]:
        subprocess.run(["rm", "-rf", str(work / old)])
    env = dict(os.environ, ROS_DOMAIN_ID=str(args.domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               DORA_ZENOH_MULTICAST="off")
    duration = args.duration
    warmup = min(60.0, duration / 3)
    examples = bins / "examples"
    rates = {name: rate * args.rate_scale for name, rate in RATES.items()}
    frames = int(rates["image"] * duration)
    # The ROS sink ends after 10 s without messages (dora -> ROS pauses for
    # nothing here, so that is the end of the run).
    procs = {"ros_sink": spawn([examples / "rcl_load_sink", "/soak_out/t", OUT_TOPICS, duration + 120],
                               dict(env, SINK_IDLE_S="10"), work / "ros_sink.log")}
    wait_for(lambda: "ready" in text(work / "ros_sink.log"), 30)
    dora = spawn(["dora", "run", dataflow(work, bins, duration, args.faults, rates)], env, work / "dora.log", cwd=work)
    bridge = find_by_exe(bins / "ros2-dora-bridge", work)
    if bridge is None:
        stop(dora)
        sys.exit("the bridge did not start: see dora.log")
    # The ROS sources after the bridge: they wait (up to 30 s / 60 s) for it.
    # Publishers of 0.9 MB images get the large-messages profile, as
    # docs/configuration.md recommends: with Fast DDS's 512 KB segment a
    # reliable reader of theirs wedges now and then (seen within minutes).
    depth = dict(env, SOURCE_DEPTH="100")
    cameras = dict(depth, FASTRTPS_DEFAULT_PROFILES_FILE=str(LARGE_MESSAGES_PROFILE),
                   FASTDDS_DEFAULT_PROFILES_FILE=str(LARGE_MESSAGES_PROFILE))
    procs["cam0"] = spawn([examples / "rcl_image_source", "/soak/cam0", 640, 480, rates["image"], frames], cameras,
                          work / "cam0.log")
    procs["cam1"] = spawn([examples / "rcl_image_source", "/soak/cam1", 640, 480, rates["image"], frames], cameras,
                          work / "cam1.log")
    procs["small"] = spawn([examples / "rcl_load_source", "/soak/t", SMALL_TOPICS, rates["small"], duration], depth,
                           work / "small.log")
    start = time.monotonic()
    rows, last_cpu = [], None
    faults = Faults(args.faults, duration, procs, bins, examples, env, work, start, rates)
    with open(work / "soak.csv", "w", newline="") as out:
        writer = None
        while time.monotonic() - start < duration + 15:
            faults.sleep(args.interval)
            now = time.monotonic() - start
            process = sample_process(bridge)
            if process is None:
                break
            counters = route_counters(text(work / "dora.log"))
            row = {"t_s": round(now, 1), "rss_mb": round(process["rss_mb"], 1),
                   "cpu_pct": round(100 * (process["cpu_s"] - last_cpu[0]) / (now - last_cpu[1]), 1) if last_cpu else 0,
                   "fds": process["fds"], "threads": process["threads"]}
            last_cpu = (process["cpu_s"], now)
            for route in sorted(counters):
                c = counters[route]
                row[f"{route} received"] = c.get("received", 0)
                row[f"{route} forwarded"] = c.get("forwarded", 0)
                row[f"{route} dropped"] = sum(c.get(k, 0) for k in LOSSES)
            if writer is None or set(row) - set(writer.fieldnames):
                # Routes appear in the log as their counters first move.
                fields = list(writer.fieldnames) if writer else []
                fields += [k for k in row if k not in fields]
                out.seek(0)
                out.truncate()
                writer = csv.DictWriter(out, fieldnames=fields, restval="")
                writer.writeheader()
                writer.writerows(rows)
            rows.append(row)
            writer.writerow(row)
            out.flush()
            print(f"t={now:6.0f} s  RSS {row['rss_mb']:.1f} MB  CPU {row['cpu_pct']:.0f} %  fds {row['fds']}  "
                  f"threads {row['threads']}", flush=True)
            if all(p.poll() is not None for name, p in procs.items() if name != "ros_sink") and faults.done() \
                    and (work / "source.json").exists():
                break
    for name in ["cam0", "cam1", "small"] + (["small2"] if "small2" in procs else []):
        try:
            procs[name].wait(60)
        except subprocess.TimeoutExpired:
            stop(procs[name])
    wait_for(lambda: (work / "source.json").exists(), 60)

    # Stop once the bridge has taken and handed on everything the ROS
    # sources sent (their warm-up messages included); a balanced stats line
    # alone can be one taken between two bursts. With faults the totals are
    # unknown: balanced and unchanged for 3 s then.
    small_total = json_lines(work / "small.log").get("sent_per_topic")
    want = {"from_ros[0]": 2 * (frames + 1),
            "from_ros[1]": SMALL_TOPICS * (small_total + 1) if small_total else None}
    last_seen = {"counters": None, "since": time.monotonic()}

    def handed_on():
        counters = {route: c for route, c in route_counters(text(work / "dora.log")).items()
                    if route.startswith("from_ros")}
        balanced = all(c.get("received", 0) == c.get("forwarded", 0) + sum(c.get(k, 0) for k in UNFORWARDED)
                       for c in counters.values())
        if not args.faults:
            return balanced and all(
                any(route.startswith(prefix) and c.get("forwarded", 0) >= total for route, c in counters.items())
                for prefix, total in want.items() if total)
        if counters != last_seen["counters"]:
            last_seen.update(counters=counters, since=time.monotonic())
        return balanced and time.monotonic() - last_seen["since"] >= 3
    wait_for(handed_on, 60)  # the bridge logs its counters every second
    wait_for(lambda: procs["ros_sink"].poll() is not None, 30)  # it ends once idle
    dora_status = stop(dora)
    stop(procs["ros_sink"])
    bridge_gone = wait_for(lambda: not Path(f"/proc/{bridge}").exists(), 10)

    failures = []
    final = route_counters(text(work / "dora.log"))
    for route, c in sorted(final.items()):
        unforwarded = sum(c.get(k, 0) for k in UNFORWARDED)
        if c.get("received", 0) != c.get("forwarded", 0) + unforwarded:
            failures.append(f"{route}: received {c.get('received', 0)} != forwarded {c.get('forwarded', 0)}"
                            f" + counted drops {unforwarded}")
        losses = sum(c.get(k, 0) for k in LOSSES)
        if losses and not (args.faults and route.startswith("from_ros")):
            failures.append(f"{route}: lost {losses} ({c})")
    if len(final) < 2 + OUT_TOPICS:
        failures.append(f"only {len(final)} routes reported counters, expected {2 + OUT_TOPICS}")
    sink = json.loads(text(work / "sink.json") or "{}").get("received", {})
    expected_in = {f"/soak/cam{i}": frames for i in range(2)}
    small_sent = json_lines(work / "small.log").get("sent_per_topic", 0)
    if not args.faults:
        for name in ["cam0", "cam1", "small"]:
            if procs[name].returncode != 0 or "\"sent" not in text(work / f"{name}.log"):
                failures.append(f"the {name} source did not run to its end (exit {procs[name].returncode}, "
                                f"see {work / (name + '.log')})")
    expected_in.update({f"/soak/t{i:03}": small_sent for i in range(SMALL_TOPICS)})
    lost_in = {t: n - sink.get(t, 0) for t, n in expected_in.items() if sink.get(t, 0) != n}
    if args.faults:
        # The restarted sink counts from its restart on: it must have seen
        # both cameras and every topic of the restarted publisher.
        silent = [t for t in expected_in if sink.get(t, 0) == 0]
        if silent or not faults.done():
            failures.append(f"after the faults ({faults.log}): nothing arrived on {silent[:5]}"
                            f"{' and more' if len(silent) > 5 else ''}")
        lost_in = {}
    if lost_in:
        failures.append(f"ROS -> dora: {sum(lost_in.values())} messages missing on {len(lost_in)} topics "
                        f"(e.g. {dict(list(lost_in.items())[:3])})")
    out_sent = json.loads(text(work / "source.json") or "{}").get("sent_per_topic", 0)
    if not out_sent:
        failures.append("the dora source sent nothing (see dora.log)")
    out_received = json_lines(work / "ros_sink.log").get("received", [])
    lost_out = [out_sent - n for n in out_received if n != out_sent]
    if len(out_received) != OUT_TOPICS or lost_out:
        failures.append(f"dora -> ROS: {sum(lost_out)} messages missing on {len(lost_out)} topics "
                        f"(sent {out_sent} per topic, received {out_received})")
    recorded = bag_message_count(work / "bag")
    if recorded != out_sent * OUT_TOPICS:
        failures.append(f"the bag holds {recorded} messages, {out_sent * OUT_TOPICS} were published")
    after_warmup = [r for r in rows if r["t_s"] >= warmup]
    growth = None
    if args.faults:
        pass  # restarts move memory around; the plain soak judges RSS
    elif len(after_warmup) >= 2:
        growth = 100 * (after_warmup[-1]["rss_mb"] - after_warmup[0]["rss_mb"]) / after_warmup[0]["rss_mb"]
        if growth >= 5:
            failures.append(f"RSS grew {growth:.1f} % after the warm-up")
    else:
        failures.append("too few samples after the warm-up to judge RSS")
    if dora_status != 0:
        failures.append(f"dora run exited with {dora_status}")
    if not bridge_gone or "leaving the ROS graph" not in text(work / "dora.log"):
        failures.append("the bridge did not leave the ROS graph and exit after the dataflow stopped")

    if rows:
        times = [r["t_s"] for r in rows]
        rates = []
        for prefix, rgb in [("from_ros[0]", (200, 0, 0)), ("from_ros[1]", (0, 120, 0)), ("to_ros", (0, 0, 200))]:
            totals = [sum(v for k, v in r.items() if k.startswith(prefix) and k.endswith("forwarded")) for r in rows]
            rates.append(([0] + [(b - a) / max(t1 - t0, 1e-9) for a, b, t0, t1 in
                                 zip(totals, totals[1:], times, times[1:])], rgb))
        rss = [r["rss_mb"] for r in rows]
        plot(work / "soak.png", times,
             [("BRIDGE RSS MB", [(rss, (0, 0, 0))], max(rss) * 1.2),
              ("MSG/S FORWARDED: IMAGES RED, SMALL TOPICS GREEN, TO ROS BLUE", rates,
               max(max(v) for v, _ in rates) * 1.2 or 1)])
    total_in = sum(sink.values()) if sink else 0
    print(json.dumps({
        "duration_s": duration, "samples": len(rows),
        "rss_mb_after_warmup": after_warmup[0]["rss_mb"] if after_warmup else None,
        "rss_mb_end": rows[-1]["rss_mb"] if rows else None,
        "rss_growth_pct": round(growth, 2) if growth is not None else None,
        "cpu_pct_mean": round(sum(r["cpu_pct"] for r in rows[1:]) / max(len(rows) - 1, 1), 1),
        "fds_end": rows[-1]["fds"] if rows else None, "threads_end": rows[-1]["threads"] if rows else None,
        "ros_to_dora_received": total_in, "dora_to_ros_received": sum(out_received),
        "bag_messages": recorded, "faults": faults.log, "failures": failures,
        "csv": str(work / "soak.csv"), "png": str(work / "soak.png"),
    }, indent=1))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
