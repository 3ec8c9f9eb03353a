#!/usr/bin/env bash
# Liveness demo, one command: starts the rclpy talker (/talker, under the
# shipped fast-liveness Fast DDS profile) and the dataflow, SIGKILLs the
# talker, shows the bridge failing and being restarted by dora, restarts the
# talker and shows the data flowing again.
# Expects the workbench env sourced and ros2-dora-bridge on PATH (make demo-liveness).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-43}"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST DORA_ZENOH_MULTICAST=off
export FASTRTPS_DEFAULT_PROFILES_FILE="$PWD/../../config/fastdds_fast_liveness.xml"
# Fast DDS 3 (Kilted) reads this one instead.
export FASTDDS_DEFAULT_PROFILES_FILE="$FASTRTPS_DEFAULT_PROFILES_FILE"
source ../demo_lib.sh

# Wait until the dora output has a line matching $1 (60 s at most).
await() {
  local deadline=$((SECONDS + 60))
  until grep -q "$1" "$log/dora.txt"; do
    if ((SECONDS > deadline)); then
      echo "demo: FAILED waiting for: $1; dora output:" >&2; cat "$log/dora.txt" >&2; exit 1
    fi
    sleep 0.1
  done
  grep "$1" "$log/dora.txt" | tail -1 | sed -e 's/.*monitor: /  monitor: /' -e 's/.*Z  [A-Z]* /  bridge: /'
}

python -u ../chatter/talker.py >/dev/null 2>&1 & talker=$!; pids+=($talker)
dora run dataflow.yml --stop-after 120s >"$log/dora.txt" 2>&1 & dora_pid=$!; pids+=($dora_pid)

echo "demo: /talker -> bridge -> dora monitor"
await "monitor: data"
await "ROS node /talker alive"
echo "demo: SIGKILL /talker (detected through its 2 s DDS lease)"
kill -KILL "$talker"; wait "$talker" 2>/dev/null || true
await "monitor: NodeRestarted"
echo "demo: the bridge failed naming /talker; dora restarted it; it waits for /talker"
grep -m1 "ROS node /talker lost" "$log/dora.txt" | sed 's/.*Z  [A-Z]* /  bridge: /'
python -u ../chatter/talker.py >/dev/null 2>&1 & pids+=($!)
echo "demo: /talker restarted"
lines=$(grep -c "monitor: data" "$log/dora.txt")
deadline=$((SECONDS + 60))
until (($(grep -c "monitor: data" "$log/dora.txt") > lines)); do
  if ((SECONDS > deadline)); then echo "demo: FAILED, no data after the restart" >&2; cat "$log/dora.txt" >&2; exit 1; fi
  sleep 0.1
done
grep "monitor: data" "$log/dora.txt" | tail -1 | sed 's/.*monitor: /  monitor: /'
kill -INT "$dora_pid"; wait "$dora_pid" || true
echo "demo: OK, liveness carried across: lost -> bridge restarted -> data resumed"
