"""dora node: answers every /capture call (std_srvs/Trigger) that the
bridge hands it, echoing the call's request_id."""
import pyarrow as pa
from dora import Node

ANSWER = pa.struct([("success", pa.bool_()), ("message", pa.string())])


def main():
    node = Node()
    frames = 0
    for event in node:
        if event["type"] == "INPUT" and event["id"] == "capture_request":
            frames += 1
            answer = pa.array([{"success": True, "message": f"captured frame {frames}"}], type=ANSWER)
            node.send_output("capture_response", answer, {"request_id": event["metadata"]["request_id"]})


if __name__ == "__main__":
    main()
