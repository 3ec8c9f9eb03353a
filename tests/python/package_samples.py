"""The samples of the package's through-the-bridge test: rclpy messages of
the kinds robots send most, and, independently of the package, the numpy
arrays each must become (built from the ROS definitions by hand).

  python package_samples.py DONE_FILE   publish every sample reliably at 5 Hz
      until DONE_FILE exists; check what comes back on /echo/image and
      /echo/cloud against the originals (`echo TOPIC exact` / `... WRONG`)
"""
import struct
import sys

import numpy as np

RGB_H, RGB_W, RGB_STEP = 5, 7, 7 * 3 + 3
MONO_H, MONO_W = 3, 5
CLOUD_POINTS = [(0.5 * i, -1.5 * i, 2.0 + i, 100 * i + 7) for i in range(4)]


def expected():
    """topic -> {name: array} the dora node must read."""
    y, x = np.mgrid[0:RGB_H, 0:RGB_W]
    rgb = np.stack([y * 7 + x, 255 - x, 3 * y], axis=-1).astype(np.uint8)
    my, mx = np.mgrid[0:MONO_H, 0:MONO_W]
    mono = (1000 * my + 37 * mx + 258).astype(np.uint16)
    cloud = {"x": np.array([p[0] for p in CLOUD_POINTS], np.float32),
             "y": np.array([p[1] for p in CLOUD_POINTS], np.float32),
             "z": np.array([p[2] for p in CLOUD_POINTS], np.float32),
             "intensity": np.array([p[3] for p in CLOUD_POINTS], np.uint16)}
    return {
        "/image_rgb8": {"pixels": rgb},
        "/image_mono16": {"pixels": mono},
        "/cloud": cloud,
        "/scan": {"ranges": np.array([1.0, 2.5, np.inf, 0.25, 4.0], np.float32),
                  "angles": -1.0 + 0.5 * np.arange(5)},
        "/map": {"data": (np.arange(12).reshape(3, 4) * 9 - 1).astype(np.int8)},
        "/odom": {"covariance": np.arange(36, dtype=np.float64).reshape(6, 6)},
    }


def ros_messages():
    """(topic, rclpy message) pairs, packed field by field as the .msg files say."""
    from nav_msgs.msg import OccupancyGrid, Odometry
    from sensor_msgs.msg import Image, LaserScan, PointCloud2, PointField

    want = expected()
    rgb = Image(height=RGB_H, width=RGB_W, encoding="rgb8", step=RGB_STEP)
    rows = [want["/image_rgb8"]["pixels"][r].tobytes() + b"\xab\xab\xab" for r in range(RGB_H)]
    rgb.data = b"".join(rows)
    rgb.header.frame_id = "rgb"
    mono = Image(height=MONO_H, width=MONO_W, encoding="mono16", is_bigendian=1, step=MONO_W * 2)
    mono.data = b"".join(struct.pack(">H", int(v)) for v in want["/image_mono16"]["pixels"].reshape(-1))
    mono.header.frame_id = "mono"
    mono.header.stamp.sec, mono.header.stamp.nanosec = 12, 345
    cloud = PointCloud2(height=1, width=len(CLOUD_POINTS), is_bigendian=False, point_step=20,
                        row_step=20 * len(CLOUD_POINTS), is_dense=True)
    cloud.fields = [PointField(name="x", offset=0, datatype=PointField.FLOAT32, count=1),
                    PointField(name="y", offset=4, datatype=PointField.FLOAT32, count=1),
                    PointField(name="z", offset=8, datatype=PointField.FLOAT32, count=1),
                    PointField(name="intensity", offset=16, datatype=PointField.UINT16, count=1)]
    cloud.data = b"".join(struct.pack("<fff4xH2x", *p) for p in CLOUD_POINTS)
    cloud.header.frame_id = "lidar"
    scan = LaserScan(angle_min=-1.0, angle_max=1.0, angle_increment=0.5, range_min=0.1, range_max=10.0)
    scan.ranges = [float(r) for r in want["/scan"]["ranges"]]
    grid = OccupancyGrid()
    grid.info.width, grid.info.height, grid.info.resolution = 4, 3, 0.25
    grid.data = [int(v) for v in want["/map"]["data"].reshape(-1)]
    odom = Odometry()
    odom.pose.covariance = [float(v) for v in range(36)]
    return [("/image_rgb8", rgb), ("/image_mono16", mono), ("/cloud", cloud), ("/scan", scan),
            ("/map", grid), ("/odom", odom)]


def main():
    import os

    import rclpy
    from rclpy.qos import QoSProfile
    from sensor_msgs.msg import Image, PointCloud2

    done_file = sys.argv[1]
    rclpy.init()
    node = rclpy.create_node("package_samples")
    samples = ros_messages()
    publishers = [(node.create_publisher(type(msg), topic, QoSProfile(depth=10)), msg) for topic, msg in samples]
    originals = dict(samples)
    reported = set()

    def echoed(topic, original):
        def check(msg):
            if topic not in reported:
                reported.add(topic)
                print(f"echo {topic} {'exact' if msg == original else 'WRONG: ' + repr(msg)[:400]}", flush=True)
        return check

    node.create_subscription(Image, "/echo/image", echoed("/echo/image", originals["/image_mono16"]), 10)
    node.create_subscription(PointCloud2, "/echo/cloud", echoed("/echo/cloud", originals["/cloud"]), 10)

    def publish():
        for publisher, msg in publishers:
            publisher.publish(msg)

    node.create_timer(0.2, publish)
    try:
        while rclpy.ok() and not (os.path.exists(done_file) and len(reported) == 2):
            rclpy.spin_once(node, timeout_sec=0.1)
    except KeyboardInterrupt:
        pass
    print("done", flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
