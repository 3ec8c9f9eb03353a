#!/usr/bin/env bash
# Shutdown demo, one command: the rclpy talker and the dataflow run; then the
# bridge gets SIGINT twice (as from a ROS launch Ctrl-C) and the whole
# dataflow stops cleanly.
# Expects the workbench env sourced and ros2-dora-bridge on PATH (make demo-shutdown).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-44}"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST DORA_ZENOH_MULTICAST=off
source ../demo_lib.sh

python -u ../chatter/talker.py >/dev/null 2>&1 & pids+=($!)
dora run dataflow.yml --stop-after 120s >"$log/dora.txt" 2>&1 & dora_pid=$!; pids+=($dora_pid)
deadline=$((SECONDS + 60))
until grep -q "monitor: data" "$log/dora.txt"; do
  if ((SECONDS > deadline)); then echo "demo: FAILED, no data; dora output:" >&2; cat "$log/dora.txt" >&2; exit 1; fi
  sleep 0.1
done
grep "monitor: data" "$log/dora.txt" | tail -1 | sed 's/.*monitor: monitor: /  monitor: /'
bridge=$(pgrep -n -f "ros2-dora-bridge --config bridge.yaml")
echo "demo: SIGINT, SIGINT to the bridge (pid $bridge), as ROS launch does on Ctrl-C"
start=$SECONDS
kill -INT "$bridge"; sleep 0.05; kill -INT "$bridge" 2>/dev/null || true
if wait "$dora_pid"; then status=0; else status=$?; fi
grep -E "monitor: Stop|stopping the dataflow|left the ROS graph" "$log/dora.txt" |
  sed -e 's/.*monitor: monitor: /  monitor: /' -e 's/.*Z  [A-Z]* /  bridge: /'
if ((status != 0)); then echo "demo: FAILED, dora run exited with $status" >&2; cat "$log/dora.txt" >&2; exit 1; fi
echo "demo: OK, dora run ended with success in $((SECONDS - start)) s; every node got Stop(MANUAL)"
