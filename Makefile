# The two commands the README promises, plus the steps they are made of.
#   make demo   set up if needed, build, run the chatter demo (ROS <-> dora)
#   make test   set up if needed, build, lint, run every test
#   (ROS_DISTRO=kilted on either: the same on ROS 2 Kilted)
#   (make demo-liveness, demo-shutdown, demo-services, demo-actions, demo-camera, demo-two-hosts: the other demos;
#    make soak: the 30-minute endurance run, see bench/soak.py)
SHELL := /bin/bash
# The ROS 2 distro: Jazzy unless ROS_DISTRO says otherwise (a sourced ROS
# install sets it; `make test ROS_DISTRO=kilted` picks Kilted's wheels).
# Each distro has its own workbench and cargo target dir: their headers and
# libraries differ, and sharing one target dir would rebuild on every switch.
ROS_DISTRO ?= jazzy
DISTRO_SUFFIX := $(if $(filter jazzy,$(ROS_DISTRO)),,-$(ROS_DISTRO))
# The workbench scripts/setup.sh writes: ROS2_DORA_BRIDGE_WORKBENCH if set.
WORKBENCH := $(or $(ROS2_DORA_BRIDGE_WORKBENCH),$(CURDIR)/.workbench$(DISTRO_SUFFIX))
ENV := source "$(WORKBENCH)/env.sh"
CARGO_TARGET_DIR ?= $(CURDIR)/target
override CARGO_TARGET_DIR := $(CARGO_TARGET_DIR)$(DISTRO_SUFFIX)
export CARGO_TARGET_DIR ROS_DISTRO

.PHONY: setup build demo demo-liveness demo-shutdown demo-services demo-actions demo-camera demo-two-hosts lint test soak bench clean

setup:
	@scripts/setup.sh

build: setup
	$(ENV) && cargo build --bins

demo: build
	$(ENV) && PATH="$(CARGO_TARGET_DIR)/debug:$$PATH" examples/chatter/run.sh

demo-liveness: build
	$(ENV) && PATH="$(CARGO_TARGET_DIR)/debug:$$PATH" examples/liveness/run.sh

demo-shutdown: build
	$(ENV) && PATH="$(CARGO_TARGET_DIR)/debug:$$PATH" examples/shutdown/run.sh

demo-services: build
	$(ENV) && PATH="$(CARGO_TARGET_DIR)/debug:$$PATH" examples/services/run.sh

demo-actions: build
	$(ENV) && PATH="$(CARGO_TARGET_DIR)/debug:$$PATH" examples/actions/run.sh

demo-camera: build
	$(ENV) && PATH="$(CARGO_TARGET_DIR)/debug:$$PATH" examples/camera/run.sh

# Needs root: it makes two hosts from network namespaces.
demo-two-hosts: build
	$(ENV) && PATH="$(CARGO_TARGET_DIR)/debug:$$PATH" examples/two_hosts/run.sh

lint: setup
	$(ENV) && cargo fmt --check && cargo clippy --all-targets -- -D warnings

test: build lint
	$(ENV) && cargo test --no-fail-fast -- --test-threads=4

# A mixed load through one bridge for SOAK_SECONDS (30 min by default):
# soak.csv and soak.png in out/soak; fails if memory grows or anything is lost.
SOAK_SECONDS ?= 1800
soak: setup
	$(ENV) && cargo build --release --bins --examples && \
	  python3 bench/soak.py --duration $(SOAK_SECONDS) --out "$(CURDIR)/out/soak$(DISTRO_SUFFIX)"

clean:
	cargo clean
