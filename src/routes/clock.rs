//! The `clock` output: a `builtin_interfaces/msg/Time` row per tick of a
//! timer in ROS time (`ros::clock` runs it), so that a dora node can keep
//! time with the simulation (dora's own timers are wall clock).

use crate::clock::{RosClock, clock_message};
use crate::codec::{CodecOptions, MessageCodec};
use crate::config::ClockSection;
use crate::dora_side::{META_ROS_TIME, META_ROS_TIME_SOURCE};
use crate::msg::{TypeName, TypeRegistry};
use crate::throttle::RateLimiter;
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{DoraNode, MetadataParameters, Parameter};
use std::sync::Arc;
use std::time::Duration;

pub struct ClockOutput {
    output: DataId,
    time: MessageCodec,
    clock: Arc<RosClock>,
    errors: RateLimiter,
}

impl ClockOutput {
    pub fn new(
        section: &ClockSection,
        registry: &TypeRegistry,
        clock: Arc<RosClock>,
    ) -> anyhow::Result<Self> {
        let time_type = TypeName {
            package: "builtin_interfaces".into(),
            kind: "msg".into(),
            name: "Time".into(),
        };
        Ok(ClockOutput {
            output: DataId::from(section.output.clone()),
            time: MessageCodec::new(registry, &time_type, CodecOptions::default())?,
            clock,
            errors: RateLimiter::new(Duration::from_secs(5)),
        })
    }

    /// Sends the tick at ROS time `ns`.
    pub fn send(&self, node: &mut DoraNode, ns: i64) {
        // A Time's CDR is a Clock's: {int32 sec, uint32 nanosec}.
        let row = match self.time.decode(&clock_message(ns)) {
            Ok(row) => row,
            Err(e) => return self.errors.warn(|| format!("clock tick: {e}")),
        };
        let mut params = MetadataParameters::default();
        params.insert(META_ROS_TIME.into(), Parameter::Integer(ns));
        let source = self.clock.source().name().to_string();
        params.insert(META_ROS_TIME_SOURCE.into(), Parameter::String(source));
        let row: arrow::array::ArrayRef = Arc::new(row);
        if let Err(e) = node.send_output(self.output.clone(), params, row) {
            let output = &self.output;
            self.errors
                .warn(|| format!("cannot send the clock tick on `{output}`: {e}"));
        }
    }
}
