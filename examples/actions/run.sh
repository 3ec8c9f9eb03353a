#!/usr/bin/env bash
# Runs the actions demo: a dora planner sends Fibonacci goals to an rclpy
# action server (one finishes, one it cancels), and an rclpy client sends
# goals that a dora node carries out, until the planner has both results
# and the client GOALS (default 2) results.
# Expects the workbench env sourced and ros2-dora-bridge on PATH (make demo-actions).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
GOALS="${GOALS:-2}"
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-44}"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST DORA_ZENOH_MULTICAST=off
source ../demo_lib.sh

python -u fibonacci_server.py >"$log/fibonacci_server.txt" 2>&1 & pids+=($!)
python -u count_client.py >"$log/count_client.txt" 2>&1 & pids+=($!)
dora run dataflow.yml --stop-after 90s >"$log/dora.txt" 2>&1 & dora_pid=$!; pids+=($dora_pid)

echo "demo: dora planner -> bridge -> /fibonacci (rclpy); rclpy count_client -> /count -> bridge -> dora counter"
deadline=$((SECONDS + 90))
while ((SECONDS < deadline)); do
  succeeded=$(grep -c "planner: result .* succeeded" "$log/dora.txt" 2>/dev/null || true)
  canceled=$(grep -c "planner: result .* canceled" "$log/dora.txt" 2>/dev/null || true)
  counted=$(grep -c "count_client: result succeeded" "$log/count_client.txt" 2>/dev/null || true)
  ((succeeded >= 1 && canceled >= 1 && counted >= GOALS)) && break
  if ! kill -0 "$dora_pid" 2>/dev/null; then
    echo "demo: dora exited early; its output:" >&2; cat "$log/dora.txt" >&2; exit 1
  fi
  sleep 0.2
done
grep -ho "planner: .*" "$log/dora.txt" || true
cat "$log/fibonacci_server.txt" "$log/count_client.txt"
if ((succeeded < 1 || canceled < 1 || counted < GOALS)); then
  echo "demo: FAILED, planner results: $succeeded succeeded, $canceled canceled; count_client results: $counted of $GOALS; dora output:" >&2
  cat "$log/dora.txt" >&2
  exit 1
fi
kill -INT "$dora_pid"; wait "$dora_pid" || true
echo "demo: OK, the planner's goals succeeded and canceled through the bridge, and $counted goals from rclpy carried out by dora"
