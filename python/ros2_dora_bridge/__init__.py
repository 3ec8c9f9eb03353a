"""Python helpers for dora nodes that talk to ROS 2 through ros2-dora-bridge.

Types come from the bridge binary (`ros2-dora-bridge schema TYPE --format
arrow-ipc`), so they match what it sends and expects. See docs/python.md.
"""

from .actions import ActionClient, ActionServer, ActionUpdate, GoalHandle, ServerEvent, ServerGoal
from .arrays import (
    LaserScanArrays,
    OccupancyGridArrays,
    covariance_to_numpy,
    laserscan_to_numpy,
    numpy_to_covariance,
    numpy_to_occupancy_grid,
    occupancy_grid_to_numpy,
)
from .image import (
    ImageError,
    compressed_image_to_numpy,
    encoding_layout,
    image_to_numpy,
    numpy_to_compressed_image,
    numpy_to_image,
)
from .metadata import Metadata, SequenceCheck
from .parameters import ParameterAnswer, ParameterClient
from .pointcloud import (
    PointCloudError,
    numpy_to_pointcloud2,
    pointcloud2_to_numpy,
    pointcloud2_xyz,
    pointcloud_dtype,
)
from .schema import (
    BridgeNotFound,
    MessageError,
    RowView,
    arrow_type,
    constants,
    default_message,
    message,
    message_array,
    messages,
    row,
    rows,
)
from .services import ServiceAnswer, ServiceClient, ServiceRequest, ServiceServer
from .tf import LookupFailed, lookup_request, transform_of, transform_to_matrix
from .time import header, now_ns, ns_to_stamp, stamp_to_ns

__all__ = [
    "ActionClient", "ActionServer", "ActionUpdate", "BridgeNotFound", "GoalHandle", "ImageError",
    "LaserScanArrays", "LookupFailed", "MessageError", "Metadata", "OccupancyGridArrays", "ParameterAnswer",
    "ParameterClient", "PointCloudError", "RowView",
    "SequenceCheck", "ServerEvent", "ServerGoal", "ServiceAnswer", "ServiceClient", "ServiceRequest",
    "ServiceServer", "arrow_type", "compressed_image_to_numpy", "constants", "covariance_to_numpy",
    "default_message", "encoding_layout", "header", "image_to_numpy", "laserscan_to_numpy", "message",
    "message_array", "messages", "now_ns", "ns_to_stamp", "numpy_to_compressed_image", "numpy_to_covariance",
    "numpy_to_image", "numpy_to_occupancy_grid", "numpy_to_pointcloud2", "occupancy_grid_to_numpy",
    "pointcloud2_to_numpy", "pointcloud2_xyz", "pointcloud_dtype", "row", "rows", "stamp_to_ns",
    "lookup_request", "transform_of", "transform_to_matrix",
]
__version__ = "0.1.0"
