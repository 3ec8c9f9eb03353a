//! Routes: one module per route kind, each owning its ROS entity, its dora
//! ids and its counters. The bridge builds them from the config and hands
//! each dora input or ROS message to the route it belongs to.
//!
//! - [`from_ros`]: ROS topic(s) -> dora output.
//! - [`to_ros`]: dora input -> ROS topic.

pub mod from_ros;
pub mod to_ros;
