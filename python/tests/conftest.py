"""The package asks the bridge binary for types: tests use the one cargo
built (`$ROS2_DORA_BRIDGE_BIN`, or target/debug), with a fresh type cache."""

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bridge() -> str | None:
    if os.environ.get("ROS2_DORA_BRIDGE_BIN"):
        return os.environ["ROS2_DORA_BRIDGE_BIN"]
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    for candidate in (target / "debug" / "ros2-dora-bridge", target / "release" / "ros2-dora-bridge"):
        if candidate.is_file():
            return str(candidate)
    return shutil.which("ros2-dora-bridge")


@pytest.fixture(autouse=True, scope="session")
def bridge_binary(tmp_path_factory):
    found = _bridge()
    if found is None:
        pytest.exit("no ros2-dora-bridge binary: run cargo build first or set ROS2_DORA_BRIDGE_BIN", 2)
    os.environ["ROS2_DORA_BRIDGE_BIN"] = found
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    return found
