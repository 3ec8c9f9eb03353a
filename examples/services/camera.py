"""dora node: answers every /capture call (std_srvs/Trigger) that the
bridge hands it."""
from dora import Node

from ros2_dora_bridge import ServiceServer


def main():
    node = Node()
    capture = ServiceServer(node, "std_srvs/srv/Trigger", request="capture_request", response="capture_response")
    frames = 0
    for event in node:
        if (call := capture.request(event)) is not None:
            frames += 1
            call.reply(success=True, message=f"captured frame {frames}")


if __name__ == "__main__":
    main()
