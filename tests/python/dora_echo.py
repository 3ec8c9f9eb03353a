"""Test helper, a real dora node that sends every input straight back out on
the output of the same id (metadata included). ECHO_DELAY (seconds, default
0) makes it that slow per message.

With ECHO_REPORT_ROWS=1 it also checks each multi-row message (a `batch`
route's) against docs/arrow-mapping.md and prints
  rows N                       for a message of N > 1 rows, the first time N is seen
  bad rows N: WHAT             when its per-row metadata does not fit
"""
import os
import time

from dora import Node

PER_ROW = ["ros_source_timestamps_ns", "ros_received_timestamps_ns", "ros_publication_sequence_numbers"]


def check_rows(value, metadata, seen):
    rows = len(value)
    if rows < 2:
        return
    if rows not in seen:
        seen.add(rows)
        print(f"rows {rows}", flush=True)
    for key in PER_ROW:
        listed = metadata.get(key)
        if not isinstance(listed, list) or len(listed) != rows:
            print(f"bad rows {rows}: {key} = {listed!r}", flush=True)
    sequences = metadata.get("ros_publication_sequence_numbers") or []
    if sequences and sequences[0] != metadata.get("ros_publication_sequence_number"):
        print(f"bad rows {rows}: first sequence {sequences[0]} is not the scalar's", flush=True)
    if any(b <= a for a, b in zip(sequences, sequences[1:])):
        print(f"bad rows {rows}: sequence numbers out of order {sequences}", flush=True)


def main():
    delay = float(os.environ.get("ECHO_DELAY", "0"))
    report_rows = os.environ.get("ECHO_REPORT_ROWS") == "1"
    seen = set()
    node = Node()
    for event in node:
        if event["type"] == "INPUT":
            if delay:
                time.sleep(delay)
            if report_rows:
                check_rows(event["value"], event["metadata"], seen)
            node.send_output(event["id"], event["value"], event["metadata"])


if __name__ == "__main__":
    main()
