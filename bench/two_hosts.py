#!/usr/bin/env python3
"""Images from a ROS host to a dora node on another host: the two
topologies of docs/deployment.md, measured.

  A  robot: rclpy publisher -> bridge_robot (Fast DDS shared memory on the host)
       ==dora (zenoh, TCP between the daemons)==> compute: receiver
  B  robot: rclpy publisher --DDS over UDP (ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET)-->
       compute: bridge_compute -> receiver

For each size (rgb8, 30 Hz, SECONDS each): frames sent and delivered, lost
(sequence numbers that never arrived), the delivered rate, latency p50/p90
(publisher's wall-clock stamp to the receiver's clock; the hosts share the
machine's clock) and CPU per delivered frame of the bridge process (and,
for the full picture, of the two dora daemons, which carry topology A's
frames between the hosts), each from /proc/<pid>/stat (utime+stime) between
the publisher's first frame and the drain of the last.

The hosts are network namespaces on this machine, as in the tests
(tests/common/hosts.rs), built and torn down here: r2dbn_robot and
r2dbn_compute on 10.200.247.0/24 joined by a bridge in r2dbn_switch, each
with its own loopback and its own /dev/shm; a dora coordinator on robot and
a daemon per host. Needs root.

Large messages (docs/configuration.md, "Large messages"): the bridge uses
its own 32 MB Fast DDS segment by itself; the publisher gets the shipped
profile (config/fastdds_large_messages.xml), as the docs advise for ROS
nodes publishing large topics the bridge takes in; the bridge's dora pool
is 64 MB. Over UDP (topology B) a 1080p frame is about 100 UDP datagrams
of 64 KB (Fast DDS fragments), sent at once into the receiver's socket
buffer: with the default 208 KB most are dropped there and repaired by
DDS's reliability protocol (the bench reports the drops, from the compute
host's /proc/net/snmp). Topology "B+udp" is B with the publisher and the
bridge on the shipped profile plus UDP socket buffers as large as the hosts'
net.core.rmem_max and wmem_max allow (Fast DDS asks for them; the kernel
caps them there; nothing of the machine's settings is changed).

As root, with the workbench env sourced (a release build of the bridge):

  source .workbench/env.sh
  python3 bench/two_hosts.py [--seconds 10] [--sizes 640x480,1920x1080] [--bridge PATH]
      [--topologies A,B,B+udp] [--repeat N] [--keep]
"""
import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TICK = os.sysconf("SC_CLK_TCK")
PREFIX = "r2dbn"
NET = "10.200.247"
HOSTS = ("robot", "compute")
ADDR = {"robot": f"{NET}.1", "compute": f"{NET}.2"}
RATE = 30.0
LARGE_MESSAGES_PROFILE = ROOT / "config/fastdds_large_messages.xml"


def log(text):
    print(text, file=sys.stderr, flush=True)


def ip(*args, check=True):
    out = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and out.returncode != 0:
        raise RuntimeError(f"`ip {' '.join(args)}` failed: {out.stderr.strip()}")
    return out.stdout


def machine_busy():
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def alive(pid):
    try:
        return ") Z " not in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False


def stop(proc, name, grace=5.0):
    """SIGINT, then TERM, then KILL, each after `grace` s; by pid."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            if sig != signal.SIGKILL:
                log(f"  {name} (pid {proc.pid}) still running after {sig.name}")


def wait_for(path, text, timeout, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


class Hosts:
    """robot and compute from network namespaces, with dora running."""

    def __init__(self, work):
        self.work = work
        self.holders = {}
        self.dora = []  # coordinator, daemons (stopped last, in reverse)
        self.daemon_pids = []

    def setup(self):
        self.remove_namespaces()  # leftovers of a killed run
        self.make_network()
        for host in HOSTS:
            (self.work / host).mkdir()
            out = open(self.work / f"holder_{host}.txt", "w")
            holder = subprocess.Popen(
                ["ip", "netns", "exec", f"{PREFIX}_{host}", "unshare", "--mount", "--propagation", "private",
                 "sh", "-c", "mount -t tmpfs -o size=1g tmpfs /dev/shm && echo ready && exec sleep infinity"],
                stdout=out, stderr=subprocess.STDOUT)
            self.holders[host] = holder
            if not wait_for(self.work / f"holder_{host}.txt", "ready", 10, holder):
                raise RuntimeError(f"host {host} did not come up: {(self.work / f'holder_{host}.txt').read_text()}")

    def namespaces(self):
        return [f"{PREFIX}_{h}" for h in (*HOSTS, "switch")]

    def make_network(self):
        switch = f"{PREFIX}_switch"
        ip("netns", "add", switch)
        ip("-n", switch, "link", "add", "br0", "type", "bridge")
        ip("-n", switch, "link", "set", "br0", "up")
        for i, host in enumerate(HOSTS):
            ns = f"{PREFIX}_{host}"
            outer, inner = f"{PREFIX}v{i}", f"{PREFIX}p{i}"
            ip("netns", "add", ns)
            ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            ip("link", "set", outer, "netns", switch)
            ip("-n", switch, "link", "set", outer, "master", "br0", "up")
            ip("link", "set", inner, "netns", ns)
            ip("-n", ns, "link", "set", inner, "name", "eth0")
            ip("-n", ns, "addr", "add", f"{ADDR[host]}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")

    @staticmethod
    def sysctl(ns, key):
        return subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-n", key], capture_output=True,
                              text=True).stdout.strip()

    def udp_profile(self):
        """The shipped large-messages profile with UDP socket buffers as large
        as the hosts allow: Fast DDS asks for them with setsockopt, which the
        kernel caps at net.core.rmem_max / wmem_max (the hosts' own values,
        per network namespace; not changed here)."""
        ns = f"{PREFIX}_compute"
        receive, send = int(self.sysctl(ns, "net.core.rmem_max")), int(self.sysctl(ns, "net.core.wmem_max"))
        text = LARGE_MESSAGES_PROFILE.read_text()
        udp = "<type>UDPv4</type>"
        assert udp in text, "config/fastdds_large_messages.xml changed: no UDPv4 descriptor"
        text = text.replace(udp, f"{udp}\n        <sendBufferSize>{send}</sendBufferSize>"
                                 f"\n        <receiveBufferSize>{receive}</receiveBufferSize>")
        path = self.work / "fastdds_large_messages_udp.xml"
        path.write_text(text)
        return path, receive, send

    def command(self, host, *args):
        """argv running `args` on `host`; nsenter execs it (same pid)."""
        return ["nsenter", "-t", str(self.holders[host].pid), "-n", "-m", f"--wd={self.work / host}", "--", *args]

    def spawn(self, host, name, args, env=None):
        out = open(self.work / f"{name}.txt", "w")
        return subprocess.Popen(self.command(host, *args), stdout=out, stderr=subprocess.STDOUT, env=env)

    def start_dora(self):
        coordinator = self.spawn("robot", "coordinator", ["dora", "coordinator", "--interface", ADDR["robot"],
                                                          "--port", "6013", "--store", "memory"])
        self.dora.append(coordinator)
        if not wait_for(self.work / "coordinator.txt", "Listening on port", 20, coordinator):
            raise RuntimeError("coordinator did not start: " + (self.work / "coordinator.txt").read_text())
        for host in HOSTS:
            args = ["dora", "daemon", "--machine-id", host, "--coordinator-addr", ADDR["robot"],
                    "--zenoh-listen", f"{ADDR[host]}:5456"]
            if host == "compute":
                args += ["--zenoh-connect", f"tcp/{ADDR['robot']}:5456"]
            daemon = self.spawn(host, f"daemon_{host}", args)
            self.dora.append(daemon)
            self.daemon_pids.append(daemon.pid)
            if not wait_for(self.work / f"daemon_{host}.txt", "Connected to dora-coordinator", 30, daemon):
                raise RuntimeError(f"daemon {host} did not connect: " + (self.work / f"daemon_{host}.txt").read_text())

    def dora_cli(self, *args):
        return subprocess.run(self.command("robot", "dora", *args, "--coordinator-addr", ADDR["robot"]),
                              capture_output=True, text=True, timeout=60)

    def net_counters(self, host):
        """The host's UDP receive-buffer drops and failed IP reassemblies (/proc/net/snmp of its namespace)."""
        text = subprocess.run(self.command(host, "cat", "/proc/net/snmp"), capture_output=True, text=True).stdout
        rows = [line.split() for line in text.splitlines()]
        table = {}
        for names, values in zip(rows[::2], rows[1::2]):
            for name, value in zip(names[1:], values[1:]):
                table[names[0] + name] = int(value)
        return {"udp_rcvbuf_errors": table.get("Udp:RcvbufErrors", 0), "ip_reasm_fails": table.get("Ip:ReasmFails", 0)}

    def pids_in_namespaces(self):
        pids = []
        for ns in self.namespaces():
            pids += ip("netns", "pids", ns, check=False).split()
        return [int(p) for p in pids]

    def remove_namespaces(self):
        for ns in self.namespaces():
            ip("netns", "del", ns, check=False)

    def close(self):
        for proc in reversed(self.dora):  # daemons first, the coordinator last
            stop(proc, "dora")
        holders = {h.pid for h in self.holders.values()}
        for pid in self.pids_in_namespaces():
            if pid not in holders:
                log(f"  killing pid {pid} left in the hosts")
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for holder in self.holders.values():
            holder.kill()
            holder.wait()
        deadline = time.time() + 5
        while self.pids_in_namespaces() and time.time() < deadline:
            time.sleep(0.05)
        self.remove_namespaces()


def dataflow(topology, bridge, config, result, domain, bridge_profile):
    bridge_host = "robot" if topology == "A" else "compute"
    discovery = "LOCALHOST" if topology == "A" else "SUBNET"
    bridge_profile = bridge_profile if topology == "B+udp" else None
    bridge_id = f"bridge_{bridge_host}"
    return f"""nodes:
  - id: {bridge_id}
    path: {bridge}
    args: --config {config}
    deploy: {{machine: {bridge_host}}}
    shared_memory_pool_size: 64MB
    env: {{ROS_DOMAIN_ID: {domain}, ROS_AUTOMATIC_DISCOVERY_RANGE: {discovery}{
        f", FASTRTPS_DEFAULT_PROFILES_FILE: {bridge_profile}, FASTDDS_DEFAULT_PROFILES_FILE: {bridge_profile}" if bridge_profile else ""}}}
    inputs:
      keepalive: dora/timer/secs/1
    outputs: [img]
  - id: receiver
    path: {BENCH / 'two_hosts_receiver.py'}
    deploy: {{machine: compute}}
    env: {{RESULT_FILE: {result}}}
    inputs:
      img: {{source: {bridge_id}/img, queue_policy: backpressure, queue_size: 100}}
"""


def percentile(values, q):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def node_logs(run_dir, dataflow_id, name):
    """A node's log lines of one dataflow (each daemon keeps them under its working directory)."""
    lines = []
    for path in run_dir.glob(f"*/_work/*/out/{dataflow_id}/log_{name}.jsonl"):
        for line in path.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(line).get("msg", line))
            except ValueError:
                lines.append(line)
    return lines


def run(hosts, topology, width, height, seconds, bridge, domain, depth, profile):
    """One run. The publisher gets the shipped large-messages profile and
    the bridge uses its own (the same 32 MB segment), but in "B+udp", where
    both get `profile` (the same plus large UDP socket buffers)."""
    run_dir = hosts.work
    tag = f"{topology.replace('+', '')}_{width}x{height}_{domain}"
    profile = profile if topology == "B+udp" else None
    config = run_dir / f"{tag}.yaml"
    result = run_dir / f"{tag}.frames"
    config.write_text("from_ros:\n  - topic: /bench/image\n    type: sensor_msgs/msg/Image\n    output: img\n"
                      "    qos: {reliability: reliable}\n")
    flow = run_dir / f"{tag}.yml"
    flow.write_text(dataflow(topology, bridge, config, result, domain, profile))
    dora = hosts.spawn("robot", f"dora_{tag}", ["dora", "start", str(flow), "--coordinator-addr", ADDR["robot"],
                                                "--attach"])
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain),
               ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST" if topology == "A" else "SUBNET",
               FASTRTPS_DEFAULT_PROFILES_FILE=str(profile or LARGE_MESSAGES_PROFILE),
               FASTDDS_DEFAULT_PROFILES_FILE=str(profile or LARGE_MESSAGES_PROFILE))
    pub, bridge_pids = None, []
    try:
        if not wait_for(run_dir / f"dora_{tag}.txt", "bridging ", 60, dora):
            raise RuntimeError(f"{tag}: the bridge did not start:\n" + (run_dir / f"dora_{tag}.txt").read_text())
        found = subprocess.run(["pgrep", "-f", str(config)], capture_output=True, text=True).stdout.split()
        bridge_pids = [int(p) for p in found]
        if not bridge_pids:
            raise RuntimeError(f"{tag}: no bridge process found for {config}")
        pub = hosts.spawn("robot", f"pub_{tag}", ["python", "-u", str(BENCH / "two_hosts_image_pub.py"),
                                                  "/bench/image", str(width), str(height), str(RATE), str(seconds),
                                                  "--depth", str(depth)], env=env)
        pub_out = run_dir / f"pub_{tag}.txt"
        if not wait_for(pub_out, '"matched"', 70, pub) or '"matched": 0' in pub_out.read_text():
            raise RuntimeError(f"{tag}: the publisher found no subscriber:\n{pub_out.read_text()}")
        # From the first frame (the publisher sleeps 1 s after matching).
        bridge_cpu0 = sum((cpu_seconds(p) or 0.0) for p in bridge_pids)
        busy0 = machine_busy()
        net0 = hosts.net_counters("compute")
        daemons_cpu0 = sum((cpu_seconds(p) or 0.0) for p in hosts.daemon_pids)
        pub.wait(seconds + 90)
        published = [json.loads(line) for line in pub_out.read_text().splitlines() if line.startswith("{")]
        sent = next(p for p in published if "sent" in p)
        acked = next((p["acked"] for p in published if "acked" in p), None)
        # Drain: until every frame arrived or nothing came for 3 s.
        count, last_change, deadline = -1, time.time(), time.time() + 30
        while time.time() < deadline:
            now_count = len(result.read_text().splitlines()) if result.exists() else 0
            if now_count != count:
                count, last_change = now_count, time.time()
            if count >= sent["sent"] or time.time() - last_change > 3:
                break
            time.sleep(0.2)
        bridge_cpu = sum((cpu_seconds(p) or 0.0) for p in bridge_pids) - bridge_cpu0
        daemons_cpu = sum((cpu_seconds(p) or 0.0) for p in hosts.daemon_pids) - daemons_cpu0
        busy1 = machine_busy()
        net1 = hosts.net_counters("compute")
    finally:
        if pub is not None:
            stop(pub, "publisher")
        out = hosts.dora_cli("stop", "--all")
        if out.returncode != 0:
            log(f"  dora stop: {out.stdout}{out.stderr}")
        try:
            dora.wait(30)
        except subprocess.TimeoutExpired:
            stop(dora, "dora start")
        for _ in range(100):  # the nodes' exit (the bridge leaves its ROS graph)
            if not any(alive(p) for p in bridge_pids):
                break
            time.sleep(0.1)
    frames = [tuple(int(x) for x in line.split()) for line in result.read_text().splitlines()] \
        if result.exists() else []
    seqs = [f[0] for f in frames]
    delivered = len(set(seqs))
    lost = sent["sent"] - len(set(s for s in seqs if s < sent["sent"]))
    latencies = [f[1] / 1e6 for f in frames]
    # Delivered rate: frames over the time from the first frame's send to
    # the last frame's arrival (start-up delays count against it).
    span = (max(f[2] for f in frames) - min(f[2] - f[1] for f in frames)) / 1e9 if frames else 0.0
    rate = delivered / span if span > 0 else 0.0
    # The bridge's own counters (its last stats line): what DDS lost before
    # it (dropped_by_middleware) and what it handed to dora (forwarded).
    started = (run_dir / f"dora_{tag}.txt").read_text(errors="replace")
    dataflow_id = started.split("dataflow start triggered: ", 1)[-1].split()[0] if "triggered: " in started else "*"
    stats = [line for line in node_logs(run_dir, dataflow_id, f"bridge_{'robot' if topology == 'A' else 'compute'}")
             if "stats from_ros" in line]
    counters = {k: int(v) for k, v in (kv.split("=") for kv in stats[-1].split(": ", 1)[-1].split() if "=" in kv)} \
        if stats else {}
    return {
        "topology": topology, "size": f"{width}x{height}", "sent": sent["sent"],
        "sent_rate": sent["sent"] / sent["seconds"], "delivered": delivered, "lost": lost,
        "duplicates": len(seqs) - delivered, "out_of_order": sum(1 for a, b in zip(seqs, seqs[1:]) if b < a),
        "rate": rate, "p50": percentile(latencies, 0.5), "p90": percentile(latencies, 0.9),
        "max": max(latencies, default=float("nan")),
        "bridge_cpu": bridge_cpu * 1000 / max(1, delivered), "daemons_cpu": daemons_cpu * 1000 / max(1, delivered),
        "acked": acked, "bridge_counters": counters,
        "machine_busy": 100.0 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
        "net_drops": {k: net1[k] - net0[k] for k in net1},
        "lost_in_dds": counters.get("dropped_by_middleware", 0) if counters else None,
        "lost_in_dora": counters["forwarded"] - delivered if "forwarded" in counters else None,
    }


def main():
    default_bridge = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "ros2-dora-bridge"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="publishing time per run (default 10)")
    parser.add_argument("--sizes", default="640x480,1920x1080", help="WxH,... rgb8 frames (default 640x480,1920x1080)")
    parser.add_argument("--bridge", default=str(default_bridge),
                        help="ros2-dora-bridge binary (default $CARGO_TARGET_DIR/release or target/release)")
    parser.add_argument("--topologies", default="A,B,B+udp",
                        help="A, B, B+udp (B with large UDP socket buffers); default all three")
    parser.add_argument("--depth", type=int, default=10, help="the publisher's keep-last depth (default 10)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per topology and size, one row each (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, per-frame files)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("this benchmark makes two hosts from network namespaces and needs root (run it as root with the workbench env sourced)")
    bridge = Path(args.bridge).resolve()
    if not os.access(bridge, os.X_OK):
        sys.exit(f"no bridge binary at {bridge} (build it with `cargo build --release`, or pass --bridge)")
    for tool in ("dora", "python", "nsenter", "unshare", "pgrep"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            sys.exit(f"`{tool}` not on PATH (source .workbench/env.sh)")
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    topologies = args.topologies.split(",")
    if not set(topologies) <= {"A", "B", "B+udp"}:
        sys.exit(f"unknown topology in {args.topologies!r}: A, B, B+udp")

    print("```\n" + " ".join(["python3", "bench/two_hosts.py", *map(shlex.quote, sys.argv[1:])]) + "\n```")
    print(f"\nrgb8 at {RATE:g} Hz for {args.seconds:g} s per run; reliable QoS, publisher keep last {args.depth}, "
          f"dora input backpressure/100; bridge {bridge}; "
          f"{os.cpu_count()} CPUs\n")
    work = Path(tempfile.mkdtemp(prefix="r2dbn_"))
    hosts = Hosts(work)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    results = []
    try:
        hosts.setup()
        hosts.start_dora()
        profile, receive, send = hosts.udp_profile()
        domain = 60
        for width, height in sizes:
            for _ in range(args.repeat):
                for topology in topologies:
                    domain += 1
                    log(f"run: topology {topology}, {width}x{height}")
                    try:
                        r = run(hosts, topology, width, height, args.seconds, bridge, domain, args.depth, profile)
                    except (RuntimeError, StopIteration, subprocess.TimeoutExpired) as e:
                        log(f"  failed: {e}")
                        r = {"topology": topology, "size": f"{width}x{height}", "error": str(e).splitlines()[0]}
                    log(f"  {json.dumps(r)}")
                    results.append(r)
    finally:
        hosts.close()
        if args.keep:
            log(f"work directory: {work}")
        else:
            subprocess.run(["rm", "-rf", str(work)])
    names = {"A": "A: bridge on robot, dora link", "B": "B: bridge on compute, DDS/UDP",
             "B+udp": f"B+udp: B, UDP buffers {receive // 1024} KB"}
    print("| topology | size | sent (publisher's rate) | delivered | lost (in DDS / in dora) | rate (Hz) | "
          "latency p50 / p90 (ms) | bridge CPU (ms/frame) | dora daemons CPU (ms/frame) | machine CPU busy |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            print(f"| {names[r['topology']]} | {r['size']} | failed: {r['error']} |")
            continue
        where = f" ({r['lost_in_dds']} / {r['lost_in_dora']})" if r["lost"] else ""
        print(f"| {names[r['topology']]} | {r['size']} | {r['sent']} ({r['sent_rate']:.1f} Hz) | {r['delivered']} | "
              f"{r['lost']}{where} | {r['rate']:.1f} | {r['p50']:.1f} / {r['p90']:.1f} | {r['bridge_cpu']:.2f} | "
              f"{r['daemons_cpu']:.2f} | {r['machine_busy']:.0f}% |")
    print(f"\nB+udp: publisher and bridge on {LARGE_MESSAGES_PROFILE.name} plus <sendBufferSize>{send}</sendBufferSize> "
          f"<receiveBufferSize>{receive}</receiveBufferSize> in its UDPv4 transport (the hosts' wmem_max / rmem_max).")
    print(f"\nmachine CPU busy: all {os.cpu_count()} CPUs of this machine (both hosts share them) from the first "
          "frame to the drain. lost: sequence numbers that never reached the receiver; in DDS = the bridge's "
          "dropped_by_middleware, in dora = frames the bridge forwarded that the receiver never got.")
    notes = [r for r in results if "error" not in r and r["duplicates"] or r["out_of_order"] or r["acked"] is False or any(r["net_drops"].values())]
    for r in notes:
        print(f"\n{names[r['topology']].split(':')[0]} {r['size']}: {r['duplicates']} duplicate(s), {r['out_of_order']} out of order, "
              f"publisher's frames all acknowledged: {r['acked']}, on compute: {r['net_drops']['udp_rcvbuf_errors']} UDP "
              f"datagram(s) dropped for a full receive buffer, {r['net_drops']['ip_reasm_fails']} failed IP reassemblies")


if __name__ == "__main__":
    main()
