"""Test helper, a real dora node that sends Arrow messages.

On every input event (wire it to a dora timer) sends SEND_JSON, a list of
rows (dicts), as one pyarrow StructArray on output SEND_OUTPUT. With
SEND_BAD_JSON set, every other tick sends that instead (for bad-input tests).
With SEND_EXIT_AFTER=N, exits with code SEND_EXIT_CODE (default 1) after N
sends, writing SEND_EXIT_MESSAGE to stderr first (for failure tests).
With SEND_PAUSE="N:S", stops sending for S seconds after N sends (a stall);
with SEND_PAUSE_FILE="NAME:S", once, when file NAME appears in its working
directory (so a test can stall it when it is ready to watch).
With SEND_TYPE=pkg/msg/Type the rows are made in that type's exact Arrow
types by the ros2_dora_bridge package (fields left out take defaults).
"""
import json
import os
import sys
import time

import pyarrow as pa
from dora import Node


def main():
    if "SEND_TYPE" in os.environ:
        import ros2_dora_bridge as rdb
        good = rdb.messages(os.environ["SEND_TYPE"], json.loads(os.environ["SEND_JSON"]))
    else:
        good = pa.array(json.loads(os.environ["SEND_JSON"]))
    assert isinstance(good, pa.StructArray), good.type
    bad = pa.array(json.loads(os.environ["SEND_BAD_JSON"])) if "SEND_BAD_JSON" in os.environ else None
    output = os.environ.get("SEND_OUTPUT", "out")
    node = Node()
    ticks = 0
    pause_after, pause_s = (os.environ.get("SEND_PAUSE") or "0:0").split(":")
    pause_file, pause_file_s = (os.environ.get("SEND_PAUSE_FILE") or ":0").split(":")
    for event in node:
        if event["type"] == "INPUT":
            ticks += 1
            node.send_output(output, bad if bad is not None and ticks % 2 == 0 else good)
            if ticks == int(pause_after):
                time.sleep(float(pause_s))
            if pause_file and os.path.exists(pause_file):
                pause_file = ""
                time.sleep(float(pause_file_s))
            if ticks == int(os.environ.get("SEND_EXIT_AFTER", "0")):
                print(os.environ.get("SEND_EXIT_MESSAGE", "sender exits on purpose"), file=sys.stderr, flush=True)
                sys.exit(int(os.environ.get("SEND_EXIT_CODE", "1")))


if __name__ == "__main__":
    main()
