#!/usr/bin/env python3
"""Recording throughput: two 1080p rgb8 image streams, played from a bag by
`ros2-dora-bridge bag play` (reliable QoS) and recorded by
`ros2-dora-bridge bag record`, at several rates per stream.

For each rate: frames recorded of those played, the recorder's "lost in
DDS" counter, the recorder's CPU per frame, and MB/s written.

  source .workbench/env.sh
  cargo build --release --bins
  python3 bench/record_throughput.py [--rates 30,45,60] [--seconds 4]

The source bag is written with `rosbags` (the same frame reused, so writing
it is quick); bags go to a temp dir (about 0.75 GB per second of 2x30 Hz).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
BIN = TARGET / "ros2-dora-bridge"
TICK = os.sysconf("SC_CLK_TCK")


def make_source(path, rate, seconds):
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore
    import numpy as np

    ts = get_typestore(Stores.ROS2_JAZZY)
    Image, Header, Time = (ts.types[t] for t in ("sensor_msgs/msg/Image", "std_msgs/msg/Header", "builtin_interfaces/msg/Time"))
    frame = np.arange(1920 * 1080 * 3, dtype=np.uint32).astype(np.uint8)
    raw = ts.serialize_cdr(
        Image(header=Header(stamp=Time(sec=0, nanosec=0), frame_id="cam"), height=1080, width=1920,
              encoding="rgb8", is_bigendian=0, step=1920 * 3, data=frame),
        "sensor_msgs/msg/Image")
    n = int(rate * seconds)
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as w:
        conns = [w.add_connection(f"/camera_{k}/image", "sensor_msgs/msg/Image", typestore=ts) for k in (0, 1)]
        for i in range(n):
            for k, c in enumerate(conns):
                w.write(c, 10**18 + int(i * 1e9 / rate) + k * 1000, raw)
    return n


def run(rate, seconds, domain, work, fastdds_profile=None):
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    if fastdds_profile:
        env["FASTRTPS_DEFAULT_PROFILES_FILE"] = env["FASTDDS_DEFAULT_PROFILES_FILE"] = fastdds_profile
    source = work / f"source_{rate}"
    frames = make_source(source, rate, seconds)
    out = work / f"recorded_{rate}"
    rec = subprocess.Popen([BIN, "bag", "record", "-o", out, "/camera_0/image", "/camera_1/image"],
                           env=env, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    play = subprocess.run([BIN, "bag", "play", source, "--wait-for-subscribers", "--delay", "0.5s"],
                          env=env, capture_output=True, text=True)
    played_s = time.time() - t0
    cpu = cpu_seconds(rec.pid)
    rec.send_signal(2)
    _, err = rec.communicate(timeout=120)
    recorded, lost = 0, None
    for line in err.splitlines():
        if "message(s) on" in line:
            recorded = int(line.split("] ")[1].split()[0])
            lost = int(line.rsplit(":", 1)[1])
    size = sum(f.stat().st_size for f in out.iterdir())
    shutil.rmtree(source)
    shutil.rmtree(out)
    return {
        "rate": rate, "played": 2 * frames, "recorded": recorded, "lost_in_dds": lost,
        "cpu_ms_per_frame": None if cpu is None or not recorded else 1000 * cpu / recorded,
        "mb_per_s": size / 1e6 / seconds, "play_ok": play.returncode == 0, "wall_s": played_s,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="30,45,60")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--dir", default=None, help="where the bags go (default: a temp dir)")
    parser.add_argument("--fastdds-profile",
                        help="a Fast DDS XML profile for player and recorder, e.g. config/fastdds_large_messages.xml")
    args = parser.parse_args()
    profile = args.fastdds_profile and str(Path(args.fastdds_profile).resolve())
    results = []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for i, rate in enumerate(float(r) for r in args.rates.split(",")):
            r = run(rate, args.seconds, 190 + i, Path(tmp), profile)
            print(f"# {json.dumps(r)}", file=sys.stderr, flush=True)
            results.append(r)
    print("| rate per stream (Hz) | frames recorded / played | lost in DDS | recorder CPU per frame | written MB/s |")
    print("|---|---|---|---|---|")
    for r in results:
        cpu = "-" if r["cpu_ms_per_frame"] is None else f"{r['cpu_ms_per_frame']:.2f} ms"
        print(f"| {r['rate']:g} x 2 | {r['recorded']} / {r['played']} | {r['lost_in_dds']} | {cpu} | {r['mb_per_s']:.0f} |")


if __name__ == "__main__":
    main()
