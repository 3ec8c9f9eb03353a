//! The bridge's health as ROS diagnostics (`diagnostic_msgs/msg/DiagnosticArray`),
//! like a `diagnostic_updater`: one status for the bridge itself at 1 Hz,
//! plus one per dora node that failed, so `rqt_runtime_monitor`, the
//! diagnostic aggregator and `ros2 topic echo /diagnostics` show dora's
//! failures in ROS terms.

use crate::codec::MessageCodec;
use crate::ros::Publisher;
use crate::throttle::RateLimiter;
use arrow::array::{
    Array, ArrayRef, Int32Array, ListArray, StringArray, StructArray, UInt8Array, UInt32Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Fields};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const DIAGNOSTIC_ARRAY: &str = "diagnostic_msgs/msg/DiagnosticArray";

/// `diagnostic_msgs/msg/DiagnosticStatus` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    Ok = 0,
    Warn = 1,
    Error = 2,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub level: Level,
    pub name: String,
    pub message: String,
    pub hardware_id: String,
    pub values: Vec<(String, String)>,
}

/// What the bridge knows about one upstream dora node that failed.
#[derive(Debug, Clone)]
struct DoraNodeHealth {
    level: Level,
    message: String,
    inputs: Vec<String>,
}

pub struct Diagnostics {
    publisher: Publisher,
    /// `<bridge's ROS node name>`: status names are `<this>: <part>`.
    prefix: String,
    hardware_id: String,
    dora_nodes: BTreeMap<String, DoraNodeHealth>,
    limiter: RateLimiter,
}

impl Diagnostics {
    pub fn new(publisher: Publisher, ros_node_name: &str, dataflow_id: &str) -> Self {
        Diagnostics {
            publisher,
            prefix: ros_node_name.trim_start_matches('/').to_string(),
            hardware_id: format!("dora dataflow {dataflow_id}"),
            dora_nodes: BTreeMap::new(),
            limiter: RateLimiter::new(std::time::Duration::from_secs(5)),
        }
    }

    pub fn topic(&self) -> &str {
        &self.publisher.topic
    }

    pub fn node_failed(&mut self, node: &str, inputs: Vec<String>, error: &str) {
        // The daemon's error carries the tail of the node's stderr: keep the
        // message readable in a one-line monitor.
        let error = error.trim();
        let short: String = if error.chars().count() > 400 {
            let tail: Vec<char> = error.chars().rev().take(400).collect();
            format!("...{}", tail.into_iter().rev().collect::<String>())
        } else {
            error.to_string()
        };
        self.dora_nodes.insert(
            node.to_string(),
            DoraNodeHealth {
                level: Level::Error,
                message: format!("dora node `{node}` failed: {short}"),
                inputs,
            },
        );
    }

    /// A node stopped sending for longer than its input's `input_timeout`.
    pub fn node_stalled(&mut self, node: &str, input: &str, timeout_s: f64) {
        let health = self
            .dora_nodes
            .entry(node.to_string())
            .or_insert_with(|| DoraNodeHealth {
                level: Level::Warn,
                message: String::new(),
                inputs: Vec::new(),
            });
        if health.level == Level::Error {
            return;
        }
        health.level = Level::Warn;
        health.message = format!(
            "dora node `{node}` sent nothing on `{input}` for {timeout_s} s (input_timeout)"
        );
        if !health.inputs.iter().any(|i| i == input) {
            health.inputs.push(input.to_string());
        }
    }

    /// dora restarted a node after it failed (`restart_policy`).
    pub fn node_restarted(&mut self, node: &str) {
        let health = self
            .dora_nodes
            .entry(node.to_string())
            .or_insert_with(|| DoraNodeHealth {
                level: Level::Ok,
                message: String::new(),
                inputs: Vec::new(),
            });
        health.level = Level::Ok;
        health.message = format!("dora node `{node}` restarted after a failure (restart_policy)");
    }

    /// A failed or stalled node is back (its inputs recovered, data flows).
    pub fn node_recovered(&mut self, node: &str, how: &str) {
        if let Some(health) = self.dora_nodes.get_mut(node)
            && health.level != Level::Ok
        {
            health.level = Level::Ok;
            health.message = format!("dora node `{node}` {how}");
        }
    }

    /// Dora nodes currently counted as failed.
    pub fn failed_nodes(&self) -> Vec<String> {
        self.dora_nodes
            .iter()
            .filter(|(_, h)| h.level == Level::Error)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Failed or stalled nodes that fed `input`.
    pub fn unhealthy_nodes_feeding(&self, input: &str) -> Vec<String> {
        self.dora_nodes
            .iter()
            .filter(|(_, h)| h.level != Level::Ok && h.inputs.iter().any(|i| i == input))
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The statuses of one report: the bridge, then each dora node it has
    /// heard about. `summary` and `values` describe the bridge itself.
    pub fn statuses(&self, summary: &str, values: Vec<(String, String)>) -> Vec<Status> {
        let failed = self.failed_nodes();
        let stalled: Vec<&String> = self
            .dora_nodes
            .iter()
            .filter(|(_, h)| h.level == Level::Warn)
            .map(|(n, _)| n)
            .collect();
        let (level, message) = if !failed.is_empty() {
            (
                Level::Error,
                format!("{summary}; failed dora node(s): {}", failed.join(", ")),
            )
        } else if !stalled.is_empty() {
            let names: Vec<&str> = stalled.iter().map(|n| n.as_str()).collect();
            (
                Level::Warn,
                format!("{summary}; stalled dora node(s): {}", names.join(", ")),
            )
        } else {
            (Level::Ok, summary.to_string())
        };
        let mut statuses = vec![Status {
            level,
            name: format!("{}: bridge", self.prefix),
            message,
            hardware_id: self.hardware_id.clone(),
            values,
        }];
        for (node, health) in &self.dora_nodes {
            statuses.push(Status {
                level: health.level,
                name: format!("{}: dora node {node}", self.prefix),
                message: health.message.clone(),
                hardware_id: self.hardware_id.clone(),
                values: vec![("inputs".into(), health.inputs.join(", "))],
            });
        }
        statuses
    }

    pub fn publish(&self, statuses: &[Status]) {
        match diagnostic_array(
            &self.publisher.codec,
            statuses,
            self.publisher.ros_time_ns(),
        ) {
            Ok(array) => {
                self.publisher.publish_all(&array);
            }
            Err(e) => self
                .limiter
                .warn(|| format!("cannot build diagnostics message: {e}")),
        }
    }
}

/// One `DiagnosticArray` message as a one-row `StructArray` in the codec's
/// layout, so it goes out through the same encoder as any dora input.
pub fn diagnostic_array(
    codec: &MessageCodec,
    statuses: &[Status],
    stamp_ns: i64,
) -> Result<StructArray, arrow::error::ArrowError> {
    let DataType::Struct(top) = codec.data_type() else {
        return Err(arrow::error::ArrowError::SchemaError(
            "DiagnosticArray is not a struct".into(),
        ));
    };
    let header_fields = struct_fields(&top, "header")?;
    let stamp_fields = struct_fields(&header_fields, "stamp")?;
    let status_item = list_item(&top, "status")?;
    let DataType::Struct(status_fields) = status_item.data_type().clone() else {
        return Err(schema_error("status items are not structs"));
    };
    let value_item = list_item(&status_fields, "values")?;
    let DataType::Struct(value_fields) = value_item.data_type().clone() else {
        return Err(schema_error("values items are not structs"));
    };

    let header = header_row(header_fields, stamp_fields, stamp_ns)?;
    let all_values: Vec<&(String, String)> = statuses.iter().flat_map(|s| &s.values).collect();
    let key_values = StructArray::try_new(
        value_fields,
        vec![
            Arc::new(StringArray::from_iter_values(
                all_values.iter().map(|kv| kv.0.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                all_values.iter().map(|kv| kv.1.as_str()),
            )),
        ],
        None,
    )?;
    let values = ListArray::try_new(
        value_item.clone(),
        OffsetBuffer::from_lengths(statuses.iter().map(|s| s.values.len())),
        Arc::new(key_values),
        None,
    )?;
    let strings = |f: fn(&Status) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(statuses.iter().map(f)))
    };
    let status = StructArray::try_new(
        status_fields,
        vec![
            Arc::new(UInt8Array::from_iter_values(
                statuses.iter().map(|s| s.level as u8),
            )),
            strings(|s| &s.name),
            strings(|s| &s.message),
            strings(|s| &s.hardware_id),
            Arc::new(values),
        ],
        None,
    )?;
    let status_list = ListArray::try_new(
        status_item,
        OffsetBuffer::from_lengths([status.len()]),
        Arc::new(status),
        None,
    )?;
    StructArray::try_new(top, vec![Arc::new(header), Arc::new(status_list)], None)
}

/// `std_msgs/Header` with `stamp` and an empty `frame_id`.
fn header_row(
    header_fields: Fields,
    stamp_fields: Fields,
    stamp_ns: i64,
) -> Result<StructArray, arrow::error::ArrowError> {
    let (sec, nanosec) = crate::clock::sec_nanosec(stamp_ns);
    let stamp_array = StructArray::try_new(
        stamp_fields,
        vec![
            Arc::new(Int32Array::from(vec![sec])),
            Arc::new(UInt32Array::from(vec![nanosec])),
        ],
        None,
    )?;
    StructArray::try_new(
        header_fields,
        vec![Arc::new(stamp_array), Arc::new(StringArray::from(vec![""]))],
        None,
    )
}

fn schema_error(what: &str) -> arrow::error::ArrowError {
    arrow::error::ArrowError::SchemaError(format!("unexpected DiagnosticArray layout: {what}"))
}

fn field<'a>(fields: &'a Fields, name: &str) -> Result<&'a Arc<Field>, arrow::error::ArrowError> {
    fields
        .iter()
        .find(|f| f.name() == name)
        .ok_or_else(|| schema_error(&format!("no field `{name}`")))
}

fn struct_fields(fields: &Fields, name: &str) -> Result<Fields, arrow::error::ArrowError> {
    match field(fields, name)?.data_type() {
        DataType::Struct(inner) => Ok(inner.clone()),
        _ => Err(schema_error(&format!("`{name}` is not a struct"))),
    }
}

fn list_item(fields: &Fields, name: &str) -> Result<Arc<Field>, arrow::error::ArrowError> {
    match field(fields, name)?.data_type() {
        DataType::List(item) => Ok(item.clone()),
        _ => Err(schema_error(&format!("`{name}` is not a list"))),
    }
}
