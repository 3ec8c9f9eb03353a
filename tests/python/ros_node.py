"""What the rclpy test helpers share: message classes by type name, filling
a message from JSON-like values, and spinning until interrupted."""
import importlib

import rclpy
from rclpy.executors import ExternalShutdownException


def message_class(type_name):
    """`pkg/msg/Type` (or `pkg/srv/...`) -> the rclpy class."""
    pkg, kind, name = type_name.split("/")
    return getattr(importlib.import_module(f"{pkg}.{kind}"), name)


def fill(msg, values):
    """Sets fields from a dict, nested dicts for nested messages."""
    for key, value in values.items():
        current = getattr(msg, key)
        if isinstance(value, dict):
            fill(current, value)
        else:
            setattr(msg, key, value)
    return msg


def spin_until_stopped(node):
    """Spins until Ctrl-C or an external shutdown, then leaves the graph."""
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
