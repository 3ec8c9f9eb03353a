#!/usr/bin/env bash
# Runs the services demo: a dora node switches an rclpy node's mode through
# std_srvs/SetBool, and an rclpy client calls std_srvs/Trigger served by a
# dora node, until each side has seen CALLS (default 3) answers.
# Expects the workbench env sourced and ros2-dora-bridge on PATH (make demo-services).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
CALLS="${CALLS:-3}"
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-43}"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST DORA_ZENOH_MULTICAST=off
source ../demo_lib.sh

python -u mode_node.py >"$log/mode_node.txt" 2>&1 & pids+=($!)
python -u capture_client.py >"$log/capture_client.txt" 2>&1 & pids+=($!)
dora run dataflow.yml --stop-after 90s >"$log/dora.txt" 2>&1 & dora_pid=$!; pids+=($dora_pid)

echo "demo: dora toggler -> bridge -> /set_mode (rclpy); rclpy capture_client -> /capture -> bridge -> dora camera"
deadline=$((SECONDS + 90))
while ((SECONDS < deadline)); do
  switched=$(grep -c "mode_node: mode" "$log/mode_node.txt" || true)
  captured=$(grep -c "capture_client: captured" "$log/capture_client.txt" || true)
  ((switched >= CALLS && captured >= CALLS)) && break
  if ! kill -0 "$dora_pid" 2>/dev/null; then
    echo "demo: dora exited early; its output:" >&2; cat "$log/dora.txt" >&2; exit 1
  fi
  sleep 0.2
done
cat "$log/mode_node.txt" "$log/capture_client.txt"
grep -ho "toggler: mode-.*" "$log/dora.txt" | head -"$CALLS" || true
if ((switched < CALLS || captured < CALLS)); then
  echo "demo: FAILED, $switched mode switch(es) and $captured capture(s) of $CALLS each; dora output:" >&2
  cat "$log/dora.txt" >&2
  exit 1
fi
kill -INT "$dora_pid"; wait "$dora_pid" || true
echo "demo: OK, $switched mode switches called from dora and $captured captures served by dora"
