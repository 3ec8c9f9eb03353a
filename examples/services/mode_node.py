"""rclpy node serving std_srvs/SetBool on /set_mode: prints each switch."""
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from std_srvs.srv import SetBool


def main():
    rclpy.init(args=sys.argv)
    node = rclpy.create_node("mode_node")

    def switch(request, response):
        response.success = True
        response.message = "mode " + ("on" if request.data else "off")
        print(f"mode_node: {response.message}", flush=True)
        return response

    node.create_service(SetBool, "set_mode", switch)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
