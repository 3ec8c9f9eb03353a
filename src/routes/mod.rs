//! Routes: one module per route kind, each owning its ROS entity, its dora
//! ids and its counters. The bridge builds them from the config and hands
//! each dora input or ROS message to the route it belongs to.
//!
//! - [`from_ros`]: ROS topic(s) -> dora output.
//! - [`to_ros`]: dora input -> ROS topic.
//! - [`service_client`]: dora calls a ROS service.
//! - [`service_server`]: ROS calls a service a dora node answers.
//! - [`parameter_client`]: dora lists, gets and sets another node's parameters.
//! - [`action_client`]: dora sends goals to a ROS action server.
//! - [`action_server`]: ROS sends goals to an action a dora node carries out.

pub mod action_client;
pub mod action_server;
pub mod call_book;
pub mod calls;
pub mod clock;
pub mod from_ros;
pub mod goal_book;
pub mod goal_decisions;
pub mod parameter_client;
pub mod parameter_rows;
pub mod served_calls;
pub mod served_goals;
pub mod service_channel;
pub mod service_client;
pub mod service_server;
pub mod tf_lookup;
pub mod to_ros;

use std::time::{Duration, Instant};

/// `now + duration`, or a time far enough out when that overflows (a
/// timeout of many years in the config).
fn later(now: Instant, duration: Duration) -> Instant {
    now.checked_add(duration)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}
