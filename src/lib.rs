//! ros2_dora_bridge: ROS 2 topics <-> dora-rs dataflows as typed Arrow.
//!
//! - [`config`]: the YAML config file.
//! - [`msg`]: ROS interface definitions, resolved at run time.
//! - [`codec`]: CDR <-> Arrow for any resolved type.
//! - [`flow`]: a decoded message on its way from a source (ROS, a bag)
//!   to dora, and the per-route queues that carry it.
//! - [`ros`]: the ROS side, one rcl node (all `unsafe` is in `ros::rcl`).
//! - [`dora_side`]: the dora side: connection, dataflow checks, metadata.
//! - [`lifecycle`]: liveness, diagnostics, stopping both worlds together.
//! - [`routes`]: one module per route kind (`from_ros`, `to_ros`).
//! - [`bridge`]: the running bridge: set-up, a thin event loop, teardown.
//! - [`bag`]: rosbag2 bags: play onto ROS, replay into dora.
//! - [`admin`]: the live view: the admin endpoint, `status` and `top`.
//! - [`check`]: the `check` command: a config against types and a dataflow.
//! - [`discover`]: the `discover` command.
//! - [`sequence`]: loss detection from sequence numbers.
//! - [`stats`]: per-route counters and their table.
//! - [`rates`]: rates and peer presence from counters sampled over time.
//! - [`suggest`]: "did you mean" for misspelled names.
//! - [`logging`]: the log's format and what is kept out of it.
//! - [`throttle`]: rate-limited and say-once log messages.
//! - [`topics`]: which topics a route, a recording or a replay takes.
//! - [`node_helpers`]: for Rust dora nodes: typed views of the bridge's
//!   messages (images); not used by the bridge.

// `unsafe` is allowed in one module only (`ros::rcl`), which states its
// invariants; anywhere else it does not compile.
#![deny(unsafe_code)]

pub mod admin;
pub mod bag;
pub mod bridge;
pub mod check;
pub mod clock;
pub mod codec;
pub mod config;
pub mod discover;
pub mod dora_side;
pub mod flow;
pub mod lifecycle;
pub mod logging;
pub mod msg;
pub mod node_helpers;
pub mod rates;
pub mod ros;
pub mod routes;
pub mod sequence;
pub mod stats;
pub mod suggest;
pub mod tf;
pub mod throttle;
pub mod topics;
