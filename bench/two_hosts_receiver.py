"""dora node for bench/two_hosts.py: receives sensor_msgs/Image rows from a
bridge and writes one line per frame to RESULT_FILE:

  <sequence> <latency ns> <receive time ns>

The sequence is the little-endian uint32 in the first 4 bytes of `data`
(bench/two_hosts_image_pub.py puts it there); the latency is the wall clock
now minus header.stamp (the publisher's wall-clock send time; both hosts of
the bench are namespaces of one machine, so they share the clock). Only
those few values are read from the Arrow arrays, never the pixels.
"""
import os
import struct
import sys
import time

from dora import Node


def main():
    out = open(os.environ["RESULT_FILE"], "w", buffering=1)
    node = Node()
    for event in node:
        if event["type"] == "STOP":
            break
        if event["type"] != "INPUT":
            # Anything else (an ERROR, an input closed) goes to the node's log.
            print(f"receiver: {event['type']} event: {event}", file=sys.stderr, flush=True)
            continue
        now = time.time_ns()
        rows = event["value"]
        stamps = rows.field("header").field("stamp")
        secs, nanos = stamps.field("sec"), stamps.field("nanosec")
        data = rows.field("data")
        for i in range(len(rows)):
            row = data[i].values  # this row's pixels (zero-copy)
            first = row.slice(0, 4).to_pylist()
            seq = struct.unpack("<I", bytes(first))[0]
            stamp = secs[i].as_py() * 1_000_000_000 + nanos[i].as_py()
            out.write(f"{seq} {now - stamp} {now}\n")
    out.close()


if __name__ == "__main__":
    main()
