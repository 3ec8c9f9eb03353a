//! Messages on their way from a source (a ROS subscription, a bag) to a
//! sink (a dora output): the decoded message with where it came from, and
//! the bounded per-route queues that carry it across threads. Below both
//! the ROS and the dora side, so that neither imports the other.

pub mod queue;
pub mod rate_limit;

use arrow::array::StructArray;
use std::sync::Arc;

/// What the middleware (or the bag) says about one message.
#[derive(Debug, Clone, Default)]
pub struct MessageInfo {
    pub source_timestamp_ns: i64,
    pub received_timestamp_ns: i64,
    pub publication_sequence_number: u64,
    pub publisher_gid: Vec<u8>,
    /// The bridge's ROS time when it took the message, and which clock.
    pub ros_time: Option<(i64, crate::clock::TimeSource)>,
}

/// A decoded message on its way to a dora output.
pub struct Received {
    /// Index of the `from_ros` route.
    pub route: usize,
    pub topic: Arc<str>,
    pub type_name: Arc<str>,
    pub message: StructArray,
    pub info: MessageInfo,
    /// The publishing node, when the graph knows the publisher's GID.
    pub publisher_node: Option<Arc<str>>,
    /// The bag it was replayed from (`replay:`), none for live traffic.
    pub bag: Option<Arc<str>>,
}
