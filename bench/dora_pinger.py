"""dora node: the same ping-pong as ros_pinger.py but between two dora
nodes, no ROS (the dora loop's own share). Payload: the same Image or
String layout as the bridge produces. Writes its JSON result to RESULT_FILE.
"""
import json
import os
import statistics
import time

import pyarrow as pa
from dora import Node


_PIXELS = {}


def pixels(n):
    """The image bytes as a List<UInt8>, built once from one buffer (building
    it from a Python bytes object element by element would dominate)."""
    if n not in _PIXELS:
        values = pa.UInt8Array.from_buffers(pa.uint8(), n, [None, pa.py_buffer(bytes(n))])
        _PIXELS[n] = pa.ListArray.from_arrays(pa.array([0, n], pa.int32()), values)
    return _PIXELS[n]


def make(size, seq):
    if size == "64":
        return pa.array([{"data": f"{seq:08d}".ljust(64, "x")}])
    w, h = (int(v) for v in size.split("x"))
    data = pixels(w * h * 3)
    header = pa.StructArray.from_arrays(
        [pa.array([{"sec": 0, "nanosec": 0}]), pa.array([str(seq)])], names=["stamp", "frame_id"])
    return pa.StructArray.from_arrays(
        [header, pa.array([h], pa.uint32()), pa.array([w], pa.uint32()), pa.array(["rgb8"]),
         pa.array([0], pa.uint8()), pa.array([w * 3], pa.uint32()), data],
        names=["header", "height", "width", "encoding", "is_bigendian", "step", "data"])


def seq_of(value, size):
    row = value[0]
    return int(row["data"].as_py()[:8]) if size == "64" else int(row["header"]["frame_id"].as_py())


def main():
    size, samples = os.environ["SIZE"], int(os.environ["SAMPLES"])
    node = Node()

    def round_trip(seq, timeout):
        message = make(size, seq)
        start = time.perf_counter()
        node.send_output("ping", message)
        deadline = start + timeout
        while time.perf_counter() < deadline:
            event = node.next(timeout=max(0.001, deadline - time.perf_counter()))
            if event is None:
                continue
            if event["type"] == "INPUT" and seq_of(event["value"], size) == seq:
                return time.perf_counter() - start
            if event["type"] == "STOP":
                break
        return None

    seq = 0
    while seq < 100 and round_trip(seq + 1, 1.0) is None:
        seq += 1
    seq += 1
    times, lost = [], 0
    for _ in range(samples + 3):
        seq += 1
        rtt = round_trip(seq, 5.0)
        if rtt is None:
            lost += 1
        else:
            times.append(rtt * 1000)
    times = sorted(times[3:])
    q = lambda p: times[min(len(times) - 1, int(p * len(times)))] if times else None
    with open(os.environ["RESULT_FILE"], "w") as f:
        json.dump({"size": size, "samples": samples, "lost": lost,
                   "p50_ms": statistics.median(times) if times else None,
                   "p90_ms": q(0.9), "p99_ms": q(0.99)}, f)


if __name__ == "__main__":
    main()
