"""What the action benchmark's ends share (bench/action_roundtrip.py).

Goals are test_msgs/action/Fibonacci goals with a benchmark meaning:
- order 0: finish at once, result sequence [0] (the latency goal);
- order n > 0: stream feedback as fast as possible for n milliseconds, the
  k-th feedback (k = 1, 2, ...) being sequence [k], then wait DRAIN seconds
  (feedback still on its way is not overtaken by the result), then succeed
  with sequence [count, elapsed_us]: how many feedbacks were produced in
  how long. The streamers take a rate (Hz; 0, the default: as fast as
  they can) from their command line or env RATE.
"""
import os
import sys
import time

import pyarrow as pa

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from service_calls import summary  # noqa: E402,F401  (round trips: same summary as services)

DRAIN = 1.0  # seconds between the last feedback and the result


def stream(publish, ms, rate=0.0):
    """Calls publish(k) for k = 1, 2, ... for `ms` milliseconds, as fast as
    it goes or at `rate` per second; returns (count, elapsed seconds)."""
    k = 0
    started = time.perf_counter()
    end = started + ms / 1000
    now = started
    while now < end:
        k += 1
        publish(k)
        now = time.perf_counter()
        if rate > 0:
            ahead = started + k / rate - now
            if ahead > 0:
                time.sleep(ahead)
                now = time.perf_counter()
    return k, time.perf_counter() - started


def goal_row(order):
    return pa.StructArray.from_arrays([pa.array([order], type=pa.int32())], names=["order"])


def sequence_row(sequence):
    return pa.StructArray.from_arrays([pa.array([sequence], type=pa.list_(pa.int32()))], names=["sequence"])


def first_numbers(value):
    """The first number of each row's `sequence` (rows of a dora or dora
    Ros2 feedback array)."""
    return [row["sequence"][0] if row["sequence"] else None for row in value.to_pylist()]


class FeedbackCount:
    """The receiving end of a stream: which k arrived when."""

    def __init__(self):
        self.seen = set()
        self.rows = 0
        self.duplicates = 0
        self.out_of_order = 0
        self.last_k = 0
        self.first_at = None
        self.last_at = None

    def add(self, k, at):
        self.rows += 1
        if k in self.seen:
            self.duplicates += 1
            return
        self.seen.add(k)
        if k < self.last_k:
            self.out_of_order += 1
        self.last_k = max(self.last_k, k)
        if self.first_at is None:
            self.first_at = at
        self.last_at = at

    def summary(self, produced, produced_elapsed_s, status="succeeded"):
        received = len(self.seen)
        window = (self.last_at - self.first_at) if received > 1 else None
        produced_rate = produced / produced_elapsed_s if produced and produced_elapsed_s else None
        received_rate = received / window if window else None
        return {
            "status": status,
            "produced": produced,
            "produced_per_s": produced_rate,
            "received": received,
            "received_per_s": received_rate,
            "lost": produced - received if produced is not None else None,
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "rate_ratio": received_rate / produced_rate if received_rate and produced_rate else None,
        }
