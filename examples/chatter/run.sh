#!/usr/bin/env bash
# Runs the chatter demo: rclpy talker -> bridge -> dora `upper` -> bridge ->
# rclpy listener, until the listener has heard MESSAGES (default 5) messages.
# Expects the workbench env sourced and ros2-dora-bridge on PATH (make demo).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
MESSAGES="${MESSAGES:-5}"
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-42}"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST DORA_ZENOH_MULTICAST=off
source ../demo_lib.sh

# Made here: the background job's redirection may not have run yet when
# the loop below first reads it (seen on a loaded machine).
: >"$log/listener.txt"
python -u listener.py >"$log/listener.txt" 2>"$log/listener.err" & pids+=($!)
python -u talker.py 2>"$log/talker.err" >/dev/null & pids+=($!)
dora run dataflow.yml --stop-after 60s >"$log/dora.txt" 2>&1 & dora_pid=$!; pids+=($dora_pid)

echo "demo: talker -> /chatter -> bridge -> dora upper -> bridge -> /chatter_upper -> listener"
deadline=$((SECONDS + 60))
shown=0
while ((SECONDS < deadline)); do
  heard=$(wc -l <"$log/listener.txt")
  if ((heard > shown)); then
    sed -n "$((shown + 1)),${heard}p" "$log/listener.txt"
    shown=$heard
  fi
  ((shown >= MESSAGES)) && break
  if ! kill -0 "$dora_pid" 2>/dev/null; then
    echo "demo: dora exited early; its output:" >&2; cat "$log/dora.txt" >&2; exit 1
  fi
  sleep 0.2
done
if ((shown < MESSAGES)); then
  echo "demo: FAILED, the listener heard $shown of $MESSAGES messages; dora output:" >&2
  cat "$log/dora.txt" >&2
  exit 1
fi
kill -INT "$dora_pid"; wait "$dora_pid" || true
echo "demo: OK, $shown upper-cased messages made the round trip"
