"""Test helper, a real rclpy parameter client: `ros_param_client.py NODE`
waits for NODE's parameter services, then prints one JSON line with the
names it lists, the values of those names (by get_parameters), their
descriptors' read_only flags, whether setting use_sim_time (to true) and
dora_node_id succeeded, and use_sim_time read back after."""
import json
import sys

import rclpy
from rclpy.node import Node
from rclpy.parameter import Parameter, parameter_value_to_python
from rclpy.parameter_client import AsyncParameterClient


def wait(node, future):
    rclpy.spin_until_future_complete(node, future, timeout_sec=20.0)
    return future.result()


def main():
    target = sys.argv[1]
    rclpy.init()
    node = Node("param_client")
    client = AsyncParameterClient(node, target)
    if not client.wait_for_services(timeout_sec=60.0):
        print(json.dumps({"services": False}), flush=True)
        return
    names = list(wait(node, client.list_parameters()).result.names)
    values = wait(node, client.get_parameters(names)).values
    descriptors = wait(node, client.describe_parameters(names)).descriptors
    sim, other = wait(node, client.set_parameters([
        Parameter("use_sim_time", value=True),
        Parameter("dora_node_id", value="renamed"),
    ])).results
    after = wait(node, client.get_parameters(["use_sim_time"])).values[0]
    print(json.dumps({
        "names": names,
        "values": {n: parameter_value_to_python(v) for n, v in zip(names, values)},
        "read_only": {d.name: d.read_only for d in descriptors},
        "set_sim_time_successful": sim.successful,
        "use_sim_time_after": parameter_value_to_python(after),
        "set_successful": other.successful,
        "set_reason": other.reason,
    }), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
