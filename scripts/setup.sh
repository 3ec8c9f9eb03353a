#!/usr/bin/env bash
# Workbench set-up: installs everything the bridge needs to build, run its
# demo and run its tests, idempotently. A second run only verifies.
#
#   scripts/setup.sh                      # Jazzy: writes .workbench/env.sh
#   ROS_DISTRO=kilted scripts/setup.sh    # Kilted: writes .workbench-kilted/env.sh
#   source .workbench/env.sh              # then build / run by hand
#
# Two modes:
#  * a ROS 2 install is already sourced (AMENT_PREFIX_PATH set, e.g. from
#    /opt/ros/jazzy/setup.bash): use it; the venv only adds dora, pyarrow,
#    colcon and rosbags, and sees the system's rclpy.
#  * no ROS: ROS 2 from the PyPI wheels (ROS_DISTRO: jazzy, the default, or
#    kilted) into a project-local venv, plus the workarounds r2r needs to
#    build and run against it.
# Each distro has its own workbench (.workbench for Jazzy, .workbench-<distro>
# otherwise): the ros-jazzy-* and ros-kilted-* wheels pin the same underlying
# packages at different versions, so they cannot share a venv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WHEEL_DISTROS=(jazzy kilted)
# The distros r2r 0.9.7's build script accepts (r2r_common's list).
R2R_DISTROS=(foxy galactic humble iron jazzy lyrical rolling)

# Bump when the package list below changes so existing workbenches update.
SETUP_VERSION=7
DORA_VERSION="1.1.0"
TOOL_WHEELS=(
  "dora-rs-cli==$DORA_VERSION" "dora-rs==$DORA_VERSION"
  pyarrow numpy rosbags
  # The Python package's CompressedImage extra; wheel: its editable install.
  pillow wheel
  colcon-core colcon-cargo colcon-ros-cargo colcon-ros
  # Builds interfaces/ (tf2_msgs, which has no wheel) with the rosidl generators.
  cmake
)
# iproute2: the two-host tests make hosts from network namespaces (`ip netns`).
# prometheus: the live-view tests scrape the bridge's /metrics with a real
# server; tmux: they run `top` in a terminal.
DEBIAN_PACKAGES=(libclang-dev clang pkg-config iproute2 prometheus tmux)

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

system_ros=""
if [[ -n "${AMENT_PREFIX_PATH:-}" && -z "${ROS2_DORA_BRIDGE_WHEEL_ROS:-}" ]]; then
  # A sourced ROS install; skip our own venvs' prefixes if an env.sh was sourced.
  for p in ${AMENT_PREFIX_PATH//:/ }; do
    [[ "$p" == "${ROS2_DORA_BRIDGE_WHEEL_VENV:-}" || "$p" == "$ROOT"/.workbench*/venv ]] && continue
    system_ros="$p"
  done
fi
DISTRO="${ROS_DISTRO:-jazzy}"
if [[ -z "$system_ros" && ! " ${WHEEL_DISTROS[*]} " =~ " $DISTRO " ]]; then
  die "no PyPI wheels for ROS 2 '$DISTRO' (there are for: ${WHEEL_DISTROS[*]}); source your ROS install first (e.g. /opt/ros/$DISTRO/setup.bash) and rerun"
fi
[[ "$DISTRO" == jazzy ]] && suffix="" || suffix="-$DISTRO"
WB="${ROS2_DORA_BRIDGE_WORKBENCH:-$ROOT/.workbench$suffix}"
VENV="$WB/venv"
ENV_FILE="$WB/env.sh"
STAMP="$WB/setup.stamp"
CONSTRAINTS="$ROOT/scripts/python-constraints$suffix.txt"
[[ -e "$CONSTRAINTS" ]] || CONSTRAINTS="$ROOT/scripts/python-constraints.txt"
ROS_WHEELS=(
  "ros-$DISTRO-rclpy[fastrtps]"
  "ros-$DISTRO-std-msgs" "ros-$DISTRO-builtin-interfaces" "ros-$DISTRO-geometry-msgs"
  "ros-$DISTRO-sensor-msgs" "ros-$DISTRO-nav-msgs" "ros-$DISTRO-diagnostic-msgs"
  "ros-$DISTRO-test-msgs" "ros-$DISTRO-std-srvs"
  # rosidl's CMake generators, to build interfaces/ (tf2_msgs).
  "ros-$DISTRO-ament-cmake" "ros-$DISTRO-ament-package" "ros-$DISTRO-ament-cmake-ros"
  "ros-$DISTRO-ament-cmake-include-directories" "ros-$DISTRO-ament-cmake-gmock"
  "ros-$DISTRO-ament-cmake-gtest" "ros-$DISTRO-ament-cmake-pytest"
  "ros-$DISTRO-rosidl-core-generators" "ros-$DISTRO-rosidl-default-generators"
)
# Jazzy's rosidl_generator_py finds Python through python_cmake_module
# (Kilted's no longer does, and has no wheel of it); Kilted's type support
# generators need ament_cmake_ros_core.
case "$DISTRO" in
  jazzy) ROS_WHEELS+=("ros-$DISTRO-python-cmake-module") ;;
  kilted) ROS_WHEELS+=("ros-$DISTRO-ament-cmake-ros-core") ;;
esac
INTERFACES="$WB/interfaces"

install_debian_packages() {
  local missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null || die "missing Debian packages ${missing[*]} and no apt-get"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  log "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

create_venv() {
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV"
    if [[ -n "$system_ros" ]]; then
      "$PYTHON" -m venv --system-site-packages "$VENV"
    else
      "$PYTHON" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install -q --upgrade pip
  fi
}

pip_install() {
  local wheels=("${TOOL_WHEELS[@]}")
  [[ -n "$system_ros" ]] || wheels+=("${ROS_WHEELS[@]}")
  log "installing Python packages (${#wheels[@]} requirements)"
  # Every package, dependencies included, at the versions pinned there.
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    -c "$CONSTRAINTS" "${wheels[@]}"
}

# The project's Python package for dora nodes (python/), editable so that
# the workbench always runs the checkout's code.
install_python_package() {
  log "installing the ros2_dora_bridge Python package (editable)"
  # (setuptools 65 prints beta/info warnings about pyproject.toml: noise)
  PYTHONWARNINGS=ignore "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    --no-build-isolation --no-deps -e "$ROOT/python"
}

# The wheels link rcl straight to librmw_fastrtps_cpp and ship no
# librmw_implementation.so, which r2r_rcl links against.
rmw_symlink() {
  [[ -n "$system_ros" ]] && return 0
  local lib="$VENV/lib"
  if [[ ! -e "$lib/librmw_implementation.so" ]]; then
    [[ -e "$lib/librmw_fastrtps_cpp.so" ]] || die "$lib/librmw_fastrtps_cpp.so not found: did the ROS wheels install?"
    ln -sf librmw_fastrtps_cpp.so "$lib/librmw_implementation.so"
  fi
}

write_env_file() {
  local pyver pylib libpath="" d
  pyver="$("$VENV/bin/python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
  pylib="$("$VENV/bin/python" -c 'import sysconfig, os; print(os.path.join(sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("LDLIBRARY")))')"
  {
    echo "# Written by scripts/setup.sh; source it: . $ENV_FILE"
    echo "export VIRTUAL_ENV='$VENV'"
    echo "export PATH='$VENV/bin':\"\$PATH\""
    echo "export DORA_ZENOH_MULTICAST=\${DORA_ZENOH_MULTICAST:-off}"
    echo "export ROS_AUTOMATIC_DISCOVERY_RANGE=\${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
    if [[ -n "$system_ros" ]]; then
      echo "# Using the sourced ROS install: $system_ros"
      echo "export ROS_DISTRO='$DISTRO'"
      echo "export AMENT_PREFIX_PATH='$AMENT_PREFIX_PATH'"
      echo "export CMAKE_PREFIX_PATH='${CMAKE_PREFIX_PATH:-$AMENT_PREFIX_PATH}'"
      echo "export LD_LIBRARY_PATH='${LD_LIBRARY_PATH:-}'"
      echo "export PYTHONPATH='${PYTHONPATH:-}'"
    else
      libpath="$VENV/lib"
      for d in "$VENV/lib/python$pyver/site-packages"/ros_*.libs; do
        [[ -d "$d" ]] && libpath="$libpath:$d"
      done
      echo "export ROS_DISTRO=$DISTRO"
      echo "export ROS2_DORA_BRIDGE_WHEEL_VENV='$VENV'"
      echo "# interfaces/ built here (tf2_msgs), before the wheels' own."
      echo "export AMENT_PREFIX_PATH='$INTERFACES:$VENV'"
      echo "export CMAKE_PREFIX_PATH='$INTERFACES:$VENV'"
      echo "export PYTHONPATH='$INTERFACES/lib/python$pyver/site-packages'\${PYTHONPATH:+:\$PYTHONPATH}"
      echo "export LD_LIBRARY_PATH='$INTERFACES/lib:$libpath'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
      echo "# Some rosidl_generator_py libraries in the chain need Python's symbols:"
      echo "# preloaded for Python and tools, linked into the bridge by build.rs"
      echo "# (dora strips LD_PRELOAD from the nodes it spawns)."
      echo "export LD_PRELOAD='$pylib'"
      echo "export ROS2_DORA_BRIDGE_LINK_LIBPYTHON='$pylib'"
      echo "export RMW_IMPLEMENTATION=rmw_fastrtps_cpp"
    fi
    echo "export ROS2_DORA_BRIDGE_ROS_DISTRO=$DISTRO"
    if [[ ! " ${R2R_DISTROS[*]} " =~ " $DISTRO " ]]; then
      echo "# r2r 0.9.7's build script stops at a ROS_DISTRO it does not list ($DISTRO"
      echo "# is not). It uses the name only for a cfg flag r2r_rcl never reads; the"
      echo "# bindings come from the installed headers. So cargo alone is told"
      echo "# 'rolling' (colcon too: ROS_DISTRO=\$ROS2_DORA_BRIDGE_R2R_DISTRO colcon build)."
      echo "export ROS2_DORA_BRIDGE_R2R_DISTRO=rolling"
      echo "cargo() { ROS_DISTRO=rolling command cargo \"\$@\"; }"
    fi
  } >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# The interface packages the wheels lack (tf2_msgs), built from interfaces/
# with the wheels' rosidl generators. A sourced ROS install has its own.
build_interfaces() {
  [[ -n "$system_ros" ]] && return 0
  local pkg build
  for pkg in "$ROOT"/interfaces/*/; do
    pkg="$(basename "$pkg")"
    build="$WB/interfaces-build/$pkg"
    mkdir -p "$build"
    log "building interface package $pkg"
    # shellcheck disable=SC1090
    ( . "$ENV_FILE"
      cmake -S "$ROOT/interfaces/$pkg" -B "$build" -DCMAKE_INSTALL_PREFIX="$INTERFACES" \
        -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$VENV/bin/python" >"$build.log" 2>&1 \
        && cmake --build "$build" -j"$(nproc)" >>"$build.log" 2>&1 \
        && cmake --install "$build" >>"$build.log" 2>&1
    ) || die "building $pkg failed: see $build.log"
  done
}

verify() {
  # shellcheck disable=SC1090
  ( . "$ENV_FILE"
    python -c 'import rclpy, std_msgs.msg, sensor_msgs.msg, test_msgs.msg, std_srvs.srv, tf2_msgs.msg, pyarrow, dora, ros2_dora_bridge' \
      || die "Python imports failed: rerun with ROS2_DORA_BRIDGE_REINSTALL=1"
    dora --version >/dev/null || die "dora CLI not working"
    [[ -n "$system_ros" ]] || [[ -e "$VENV/lib/librmw_implementation.so" ]] || die "rmw symlink missing"
    command -v cargo >/dev/null || die "cargo not found: install Rust (rustup) first"
  )
}

mkdir -p "$WB"
# Cheap (dpkg-query), so checked on every run: a package added here reaches
# workbenches made before it.
install_debian_packages
want_stamp="v$SETUP_VERSION $DISTRO ros=${system_ros:-wheels} py=$("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" && -z "${ROS2_DORA_BRIDGE_REINSTALL:-}" ]]; then
  verify
  log "workbench ready (verified): $ENV_FILE"
  exit 0
fi

create_venv
pip_install
install_python_package
rmw_symlink
write_env_file
build_interfaces
verify
echo "$want_stamp" >"$STAMP"
log "workbench ready: source $ENV_FILE"
