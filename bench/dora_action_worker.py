"""The action benchmark's dora node carrying out goals: each row on input
`goal` (metadata goal_id) is done as bench/action_goals.py says, order 0
answered at once with a `result` row [0], order n > 0 streamed as fast as
send_output goes (or at RATE per second) on output `feedback` for n ms ([1], [2], ...), then after
DRAIN seconds a `result` row [count, elapsed_us]. Result rows carry
metadata goal_id only (status: the default, succeeded). Rows on input
`cancel` are ignored (the benchmark cancels nothing)."""
import os
import sys
import time

from dora import Node

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from action_goals import DRAIN, sequence_row, stream  # noqa: E402


def main():
    drain = float(os.environ.get("DRAIN", DRAIN))
    rate = float(os.environ.get("RATE") or 0)
    node = Node()
    done = sequence_row([0])
    for event in node:
        if event["type"] == "STOP":
            break
        if event["type"] != "INPUT" or event["id"] != "goal":
            continue
        metadata = {"goal_id": event["metadata"]["goal_id"]}
        order = event["value"].to_pylist()[0]["order"]
        if order <= 0:
            node.send_output("result", done, metadata)
            continue
        k, elapsed = stream(lambda k: node.send_output("feedback", sequence_row([k]), metadata), order, rate)
        print(f"streamed {k} feedbacks in {elapsed:.3f} s ({k / elapsed:.0f}/s)", file=sys.stderr, flush=True)
        time.sleep(drain)
        node.send_output("result", sequence_row([k, int(elapsed * 1e6)]), metadata)


if __name__ == "__main__":
    main()
