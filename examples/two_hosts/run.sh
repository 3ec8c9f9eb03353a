#!/usr/bin/env bash
# Two-host demo, topology A (docs/deployment.md): one bridge per ROS host,
# the data crossing between the hosts through dora.
#
#   robot    rclpy talker --/chatter (5 Hz)--> bridge_robot
#                                                  | dora, zenoh over TCP
#   compute  rclpy listener <--/chatter_back-- bridge_compute <-- mark (dora node)
#
# The two hosts are made on this machine from network namespaces, as the
# tests do (tests/common/hosts.rs): `robot` (10.200.D.1) and `compute`
# (10.200.D.2, D = ROS_DOMAIN_ID % 250) joined by a Linux bridge in a third
# namespace, each with its own loopback (ROS discovery stays on the host:
# ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) and its own /dev/shm (a tmpfs in a
# private mount namespace, held by one `sleep` per host that the host's
# processes enter with nsenter). A dora coordinator runs on robot, a daemon
# on each host. Runs until the listener on compute has heard MESSAGES
# messages that went robot -> dora on compute -> ROS on compute, then tears
# everything down (also on Ctrl-C or failure).
#
# Needs root (network namespaces), iproute2 and util-linux (nsenter,
# unshare), the workbench env sourced and ros2-dora-bridge on PATH
# (make demo-two-hosts does both). Environment:
#   MESSAGES        messages the listener must hear (default 5)
#   ROS_DOMAIN_ID   default 45; also picks the subnet 10.200.<id % 250>.0/24
#   KEEP_LOGS=1     keep the log directory (printed at the end)
# Namespaces: r2dex_robot, r2dex_compute, r2dex_switch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [[ $(id -u) -ne 0 ]]; then
  echo "this demo makes two hosts from network namespaces and needs root (sudo)" >&2
  exit 1
fi
for tool in ip nsenter unshare dora python ros2-dora-bridge; do
  command -v "$tool" >/dev/null || { echo "demo: \`$tool\` not found on PATH" >&2; exit 1; }
done
MESSAGES="${MESSAGES:-5}"
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-45}"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST DORA_ZENOH_MULTICAST=off
dir="$PWD"
prefix=r2dex
net="10.200.$((ROS_DOMAIN_ID % 250))"
robot_addr="$net.1" compute_addr="$net.2"
hosts=(robot compute)
source ../demo_lib.sh   # $log, pids+=(...), cleanup (INT, then TERM, then KILL)

# Every process still in one of our network namespaces (nodes a daemon
# started and did not stop), by pid.
ns_pids() { for ns in "${prefix}_robot" "${prefix}_compute" "${prefix}_switch"; do ip netns pids "$ns" 2>/dev/null || true; done; }
remove_namespaces() { for ns in "${prefix}_robot" "${prefix}_compute" "${prefix}_switch"; do ip netns del "$ns" 2>/dev/null || true; done; }

teardown() {
  # The holders first: a `sleep` started in the background of a script
  # ignores SIGINT, and the hosts' namespaces outlive it while processes
  # are in them.
  for pid in "${holder[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  cleanup   # dora start, ROS nodes, daemons, coordinator (demo_lib.sh)
  local left
  left=$(ns_pids)
  if [[ -n $left ]]; then kill -9 $left 2>/dev/null || true; fi
  for _ in {1..50}; do [[ -z $(ns_pids) ]] && break; sleep 0.1; done
  remove_namespaces
  if [[ -n ${KEEP_LOGS:-} ]]; then echo "demo: logs in $log"; else rm -rf "$log"; fi
}
declare -A holder
trap teardown EXIT
trap 'exit 130' INT   # also when only this script gets the Ctrl-C
trap 'exit 143' TERM

# Leftovers of a killed run: empty namespaces are removed; ones that still
# hold processes mean another run is going on.
if ip netns list | grep -q "^${prefix}_"; then
  if [[ -n $(ns_pids) ]]; then
    echo "demo: namespaces ${prefix}_* are in use (another run of this demo?); nothing changed" >&2
    trap - EXIT; rm -rf "$log"; exit 1
  fi
  remove_namespaces
fi

# The network: a bridge in ${prefix}_switch, one veth pair per host.
ip netns add "${prefix}_switch"
ip -n "${prefix}_switch" link add br0 type bridge
ip -n "${prefix}_switch" link set br0 up
for i in 0 1; do
  host=${hosts[$i]} ns="${prefix}_${hosts[$i]}"
  ip netns add "$ns"
  ip link add "${prefix}v$i" type veth peer name "${prefix}p$i"
  ip link set "${prefix}v$i" netns "${prefix}_switch"
  ip -n "${prefix}_switch" link set "${prefix}v$i" master br0 up
  ip link set "${prefix}p$i" netns "$ns"
  ip -n "$ns" link set "${prefix}p$i" name eth0
  ip -n "$ns" addr add "$net.$((i + 1))/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done

# One holder per host: its network namespace plus a private mount namespace
# with its own /dev/shm. Everything of the host is started inside them.
for host in "${hosts[@]}"; do
  ip netns exec "${prefix}_$host" unshare --mount --propagation private sh -c \
    'mount -t tmpfs -o size=512m tmpfs /dev/shm && echo ready && exec sleep infinity' \
    >"$log/holder_$host.txt" 2>&1 &
  holder[$host]=$!
  disown "$!"   # killed by pid in teardown, without a "Killed" notice
  for _ in {1..100}; do grep -q ready "$log/holder_$host.txt" && break; sleep 0.1; done
  grep -q ready "$log/holder_$host.txt" || { echo "demo: host $host did not come up:" >&2; cat "$log/holder_$host.txt" >&2; exit 1; }
  mkdir -p "$log/$host"
done

# "${on_robot[@]}" CMD...: runs CMD on robot (its network, its /dev/shm), in
# $log/robot; nsenter execs CMD, so $! is CMD's pid.
on_robot=(nsenter -t "${holder[robot]}" -n -m --wd="$log/robot" --)
on_compute=(nsenter -t "${holder[compute]}" -n -m --wd="$log/compute" --)

# Wait until file $1 has a line matching $2 ($3 seconds at most).
await() {
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1"; do
    if ((SECONDS > deadline)); then echo "demo: FAILED waiting for \"$2\" in $1:" >&2; cat "$1" >&2; exit 1; fi
    sleep 0.1
  done
}

# dora: a coordinator on robot, a daemon per host, each daemon listening on
# its own address and compute's dialing robot's (no multicast needed).
"${on_robot[@]}" dora coordinator --interface "$robot_addr" --port 6013 --store memory >"$log/coordinator.txt" 2>&1 &
coordinator=$!
await "$log/coordinator.txt" "Listening on port" 20
"${on_robot[@]}" dora daemon --machine-id robot --coordinator-addr "$robot_addr" \
  --zenoh-listen "$robot_addr:5456" >"$log/daemon_robot.txt" 2>&1 &
daemon_robot=$!
await "$log/daemon_robot.txt" "Connected to dora-coordinator" 30
"${on_compute[@]}" dora daemon --machine-id compute --coordinator-addr "$robot_addr" \
  --zenoh-listen "$compute_addr:5456" --zenoh-connect "tcp/$robot_addr:5456" >"$log/daemon_compute.txt" 2>&1 &
daemon_compute=$!
await "$log/daemon_compute.txt" "Connected to dora-coordinator" 30

# ROS on each host, then the dataflow.
"${on_robot[@]}" python -u "$dir/talker.py" >"$log/talker.txt" 2>&1 & talker=$!
"${on_compute[@]}" python -u "$dir/listener.py" >"$log/listener.txt" 2>&1 & listener=$!
sed -e "s|@DIR@|$dir|g" -e "s|@ROBOT_ADDR@|$robot_addr|g" dataflow.yml >"$log/dataflow.yml"
"${on_robot[@]}" dora start "$log/dataflow.yml" --coordinator-addr "$robot_addr" --attach >"$log/dora.txt" 2>&1 &
dora_pid=$!
# cleanup signals in this order: the dataflow first, the coordinator last.
pids=("$dora_pid" "$talker" "$listener" "$daemon_compute" "$daemon_robot" "$coordinator")

echo "demo: robot ($robot_addr): talker -> /chatter -> bridge_robot ==dora==> compute ($compute_addr): mark -> bridge_compute -> /chatter_back -> listener"
deadline=$((SECONDS + 90))
shown=0
while ((SECONDS < deadline)); do
  heard=$(grep -c "listener on compute heard" "$log/listener.txt" || true)
  if ((heard > shown)); then
    grep "listener on compute heard" "$log/listener.txt" | sed -n "$((shown + 1)),${heard}p"
    shown=$heard
  fi
  ((shown >= MESSAGES)) && break
  if ! running "$dora_pid"; then
    echo "demo: the dataflow ended early; dora start's output:" >&2; cat "$log/dora.txt" >&2; exit 1
  fi
  sleep 0.2
done
if ((shown < MESSAGES)); then
  echo "demo: FAILED, the listener on compute heard $shown of $MESSAGES messages" >&2
  for f in dora talker listener daemon_robot daemon_compute; do echo "--- $f" >&2; tail -n 40 "$log/$f.txt" >&2; done
  exit 1
fi
published=$(grep -c "talker published" "$log/talker.txt" || true)
# Ctrl-C to `dora start --attach` stops the dataflow on both hosts; each
# daemon keeps its nodes' logs under its working directory.
kill -INT "$dora_pid"
for _ in {1..150}; do
  left=$(cat "$log"/*/_work/*/out/*/log_bridge_*.jsonl 2>/dev/null | grep -c "left the ROS graph" || true)
  ((left >= 2)) && break
  sleep 0.1
done
echo "demo: dataflow stopped, $left of 2 bridges left their ROS graphs"
echo "demo: OK, $shown messages went from ROS on robot through dora on compute back to ROS on compute ($published published)"
