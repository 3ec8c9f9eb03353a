# The two commands the README promises, plus the steps they are made of.
#   make demo   set up if needed, build, run the chatter demo (ROS <-> dora)
#   make test   set up if needed, build, lint, run every test
#   (make demo-liveness, demo-shutdown, demo-services, demo-actions, demo-two-hosts: the other demos)
SHELL := /bin/bash
# The workbench scripts/setup.sh uses: ROS2_DORA_BRIDGE_WORKBENCH if set
# (another clone's env.sh exports it), else this clone's.
ENV := source "$${ROS2_DORA_BRIDGE_WORKBENCH:-$(CURDIR)/.workbench}/env.sh"
CARGO_TARGET_DIR ?= $(CURDIR)/target
export CARGO_TARGET_DIR

.PHONY: setup build demo demo-liveness demo-shutdown demo-services demo-actions demo-two-hosts lint test bench clean

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

# Needs root: it makes two hosts from network namespaces.
demo-two-hosts: build
	$(ENV) && PATH="$(CARGO_TARGET_DIR)/debug:$$PATH" examples/two_hosts/run.sh

lint: setup
	$(ENV) && cargo fmt --check && cargo clippy --all-targets -- -D warnings

test: build lint
	$(ENV) && cargo test --no-fail-fast -- --test-threads=4

clean:
	cargo clean
