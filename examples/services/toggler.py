"""dora node: every tick, asks the ROS node behind /set_mode to switch its
mode on or off (std_srvs/SetBool), and prints each answer."""
import pyarrow as pa
from dora import Node

REQUEST = pa.struct([("data", pa.bool_())])


def main():
    node = Node()
    on = False
    for event in node:
        if event["type"] != "INPUT":
            continue
        if event["id"] == "tick":
            on = not on
            call = pa.array([{"data": on}], type=REQUEST)
            node.send_output("set_mode_request", call, {"request_id": f"mode-{'on' if on else 'off'}"})
        elif event["id"] == "set_mode_response":
            metadata = event["metadata"]
            if "error" in metadata:
                print(f"toggler: call {metadata['request_id']} failed: {metadata['error']}", flush=True)
            else:
                answer = event["value"].to_pylist()[0]
                print(f"toggler: {metadata['request_id']} -> success={answer['success']} "
                      f"message={answer['message']!r}", flush=True)


if __name__ == "__main__":
    main()
