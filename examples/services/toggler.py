"""dora node: every tick, asks the ROS node behind /set_mode to switch its
mode on or off (std_srvs/SetBool), and prints each answer."""
from dora import Node

from ros2_dora_bridge import ServiceClient


def main():
    node = Node()
    set_mode = ServiceClient(node, "std_srvs/srv/SetBool", request="set_mode_request", response="set_mode_response")
    modes = {}  # request_id -> "mode-on" / "mode-off"
    for event in node:
        if event["type"] == "INPUT" and event["id"] == "tick":
            on = not modes or list(modes.values())[-1] == "mode-off"
            modes[set_mode.call(data=on)] = "mode-on" if on else "mode-off"
        elif (answer := set_mode.answer(event)) is not None:
            mode = modes[answer.request_id]
            if answer.ok:
                print(f"toggler: {mode} -> success={answer.response.success} message={answer.response.message!r}", flush=True)
            else:
                print(f"toggler: call {mode} failed: {answer.error}", flush=True)


if __name__ == "__main__":
    main()
