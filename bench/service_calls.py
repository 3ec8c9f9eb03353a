"""What the service benchmark's callers share: the payloads and the
summary of round trips."""
import statistics

SERVICES = {
    # payload: (service type, dora row, rclpy request fields)
    "small": ("std_srvs/srv/SetBool", {"data": True}),
    "1MB": ("test_msgs/srv/BasicTypes", {"string_value": "x" * (1 << 20)}),
}


def summary(rtts_ms, elapsed_s, errors):
    rtts = sorted(rtts_ms)
    if not rtts:
        return {"errors": errors, "calls": 0}
    return {
        "calls": len(rtts),
        "errors": errors,
        "p50_ms": statistics.median(rtts),
        "p90_ms": rtts[min(len(rtts) - 1, int(len(rtts) * 0.9))],
        "calls_per_s": len(rtts) / elapsed_s if elapsed_s > 0 else None,
    }
