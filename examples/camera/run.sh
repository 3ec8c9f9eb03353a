#!/usr/bin/env bash
# Runs the camera demo: rclpy camera (640x480 rgb8, 30 Hz) -> bridge -> dora
# `process` (numpy, with the Python package) -> bridge -> the camera checks
# every processed frame pixel for pixel, until FRAMES (default 60) are exact.
# Expects the workbench env sourced and ros2-dora-bridge on PATH (make demo-camera).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
FRAMES="${FRAMES:-60}"
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-43}"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST DORA_ZENOH_MULTICAST=off
source ../demo_lib.sh

dora run dataflow.yml --stop-after 120s >"$log/dora.txt" 2>&1 & dora_pid=$!; pids+=($dora_pid)
echo "demo: camera -> /camera/image_raw -> bridge -> dora process (numpy) -> bridge -> /camera/processed, /cmd_vel"
if ! timeout 110 python -u camera.py --frames "$FRAMES" 2>"$log/camera.err"; then
  echo "demo: FAILED; camera errors and dora output:" >&2
  cat "$log/camera.err" "$log/dora.txt" >&2
  exit 1
fi
kill -INT "$dora_pid"; wait "$dora_pid" || true
echo "demo: OK, $FRAMES processed frames came back pixel-exact"
