"""Costs of the Python package's numpy conversions (docs/performance.md).

  python bench/python_package.py [--repeat 200]

Prints, for each case, the median and min of `--repeat` timed calls and
the ratios the targets are about: image_to_numpy at 1080p against 64x64
(zero-copy: the same), numpy_to_image at 1080p against a plain copy of the
frame, pointcloud2_to_numpy on 1M points (a view: its address is the
message's). Needs ros2-dora-bridge on PATH or ROS2_DORA_BRIDGE_BIN.
"""
import argparse
import statistics
import time

import numpy as np

import ros2_dora_bridge as rdb


def timed(fn, repeat):
    fn()  # types fetched, caches warm
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000, min(samples) / 1000


def report(name, figures):
    median, low = figures
    print(f"{name:<46} median {median:10.1f} us   min {low:10.1f} us", flush=True)
    return median


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    repeat = parser.parse_args().repeat
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    full_hd = rng.integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    small_msg, full_hd_msg = rdb.numpy_to_image(small, "rgb8"), rdb.numpy_to_image(full_hd, "rgb8")

    a = report("image_to_numpy 64x64 rgb8", timed(lambda: rdb.image_to_numpy(small_msg), repeat))
    b = report("image_to_numpy 1920x1080 rgb8", timed(lambda: rdb.image_to_numpy(full_hd_msg), repeat))
    print(f"  ratio 1080p / 64x64: {b / a:.2f} (zero-copy: ~1; target: 1080p under 50 us)")
    assert rdb.image_to_numpy(full_hd_msg).ctypes.data == full_hd.ctypes.data

    target = np.empty_like(full_hd)
    c = report("memcpy of a 1920x1080 rgb8 frame (np.copyto)", timed(lambda: np.copyto(target, full_hd), repeat))
    d = report("numpy_to_image 1920x1080 rgb8", timed(lambda: rdb.numpy_to_image(full_hd, "rgb8"), repeat))
    print(f"  ratio numpy_to_image / memcpy: {d / c:.2f} (target: within 2)")
    cropped = full_hd[:, 8:-8]  # not contiguous: one copy is unavoidable
    e = report("numpy_to_image 1920x1064 crop (a copy)", timed(lambda: rdb.numpy_to_image(cropped, "rgb8"), repeat))
    print(f"  ratio cropped numpy_to_image / memcpy: {e / c:.2f}")

    points = np.zeros(1_000_000, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("intensity", "<f4")])
    points["x"] = rng.standard_normal(points.size)
    cloud = rdb.numpy_to_pointcloud2(points, is_dense=True)
    f = report("pointcloud2_to_numpy 1M points", timed(lambda: rdb.pointcloud2_to_numpy(cloud), repeat))
    view = rdb.pointcloud2_to_numpy(cloud)
    print(f"  zero-copy: {view.ctypes.data == points.ctypes.data} ({f:.1f} us for 16 MB)")
    g = report("numpy_to_pointcloud2 1M points (is_dense given)",
               timed(lambda: rdb.numpy_to_pointcloud2(points, is_dense=True), repeat))
    print(f"  ratio numpy_to_pointcloud2 / 16 MB memcpy: {g / (c * 16e6 / full_hd.nbytes):.2f}")
    report("message(geometry_msgs/msg/Twist, ...)",
           timed(lambda: rdb.message("geometry_msgs/msg/Twist", linear={"x": 0.5}), repeat))


if __name__ == "__main__":
    main()
