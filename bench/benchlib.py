"""What the bench scripts share: processes (spawn, stop), waiting on a
condition, CPU time from /proc, the loopback-only environment, dora input
settings. Import it from a script in this folder: `from benchlib import ...`.
"""
import os
import signal
import subprocess
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def env_for(domain, **extra):
    """os.environ with DDS and dora kept on loopback, on ROS domain `domain`."""
    env = dict(os.environ)
    env.update(ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               DORA_ZENOH_MULTICAST="off")
    env.update({key: str(value) for key, value in extra.items()})
    return env


def with_fastdds_profile(env, profile):
    """`env` using Fast DDS profile file `profile` (both variable names)."""
    if profile:
        env["FASTRTPS_DEFAULT_PROFILES_FILE"] = env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(profile)
    return env


def spawn(cmd, env, log, cwd=None):
    """A process in a session of its own (so `stop` reaches its children),
    its output into the file `log`."""
    return subprocess.Popen([str(c) for c in cmd], env=env, cwd=cwd, stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc, sig=signal.SIGINT, timeout=60):
    """`sig` to the process (its whole group if `spawn` started it), then
    SIGKILL after `timeout` s; its exit status. SIGINT makes `dora run`
    stop its dataflow."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        os.killpg(proc.pid, sig)
        group = True
    except ProcessLookupError:  # not a group leader: started without spawn()
        proc.send_signal(sig)
        group = False
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait()
    return proc.returncode


def wait_for(predicate, timeout, poll=0.1):
    """True as soon as `predicate()` is, False after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return predicate()


def cpu_seconds(pid):
    """User + system CPU time of process `pid`, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError):
        return None


def lossless(source, queue_size=100):
    """A dora input that waits rather than drops."""
    return {"source": source, "queue_policy": "backpressure", "queue_size": queue_size}
