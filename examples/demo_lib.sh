# Shared by the demos' run.sh: source it after `cd` into the demo's
# directory. It sets up a log dir ($log), a list of started processes
# (`pids+=($!)`) and a cleanup on exit that stops them all.

log="$(mktemp -d)"
pids=()

running() { [[ -e /proc/$1 ]] && ! grep -q ') Z ' "/proc/$1/stat" 2>/dev/null; }

# SIGINT first, as Ctrl-C would; escalate to TERM, then KILL, for a process
# still there 5 s later (seen: an rclpy node that had taken the SIGINT never
# exited, and the demo hung here).
cleanup() {
  for sig in INT TERM KILL; do
    for pid in "${pids[@]}"; do running "$pid" && { kill -"$sig" "$pid" 2>/dev/null || true; }; done
    for _ in {1..50}; do
      alive=0
      for pid in "${pids[@]}"; do running "$pid" && alive=1; done
      ((alive)) || break 2
      sleep 0.1
    done
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT
