//! `tf:` for dora nodes: lookups answered from the bridge's transform
//! buffer (which `ros::tf_listener` fills from `/tf` and `/tf_static`), and
//! streams of chosen transforms at a rate. An answer is a
//! `geometry_msgs/msg/TransformStamped` row; a failed lookup is an empty
//! answer whose metadata says why (`error`, `error_code` as tf2 names it).

use crate::codec::tf::write_transform_stamped;
use crate::codec::{CodecOptions, MessageCodec};
use crate::config::{TfSection, TfStream};
use crate::dora_side::{META_ERROR, META_REQUEST_ID, request_id};
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::tf_listener::{SharedBuffer, TfListener};
use crate::stats::{Direction, RouteStats, StatsTable};
use crate::tf::buffer::{LookupError, StampedTransform};
use crate::throttle::RateLimiter;
use arrow::array::{Array, ArrayRef, AsArray, StructArray};
use arrow::datatypes::{DataType, Int64Type};
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{DoraNode, MetadataParameters, Parameter};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Which tf2 error a failed lookup is (`TF2Error` names, lower case).
pub use crate::dora_side::META_ERROR_CODE;

/// One lookup a dora node asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupRequest {
    pub target: String,
    pub source: String,
    /// 0: the latest time every link of the chain is known.
    pub time_ns: i64,
}

pub struct TfRoutes {
    listener: TfListener,
    answer: MessageCodec,
    lookup: Option<(DataId, DataId)>,
    lookup_stats: Arc<RouteStats>,
    next_request: u64,
    streams: Vec<Stream>,
    errors: RateLimiter,
}

struct Stream {
    config: TfStream,
    output: DataId,
    timer: tokio::time::Interval,
    stats: Arc<RouteStats>,
}

impl TfRoutes {
    pub fn build(
        section: &TfSection,
        listener: TfListener,
        registry: &TypeRegistry,
        stats: &mut StatsTable,
    ) -> anyhow::Result<Self> {
        let transform_stamped = TypeName::parse("geometry_msgs/msg/TransformStamped")?;
        let answer = MessageCodec::new(registry, &transform_stamped, CodecOptions::default())?;
        stats.add(
            "tf: /tf + /tf_static".into(),
            Direction::FromRos,
            listener.stats.clone(),
        );
        let lookup = section
            .lookup_request
            .clone()
            .zip(section.lookup_response.clone())
            .map(|(request, response)| (DataId::from(request), DataId::from(response)));
        let lookup_stats = Arc::new(RouteStats::default());
        if let Some((request, _)) = &lookup {
            stats.add(
                format!("tf lookups: {request}"),
                Direction::ServiceClient,
                lookup_stats.clone(),
            );
        }
        let streams = section.streams.iter().map(|s| stream(s, stats)).collect();
        Ok(TfRoutes {
            listener,
            answer,
            lookup,
            lookup_stats,
            next_request: 0,
            streams,
            errors: RateLimiter::new(Duration::from_secs(5)),
        })
    }

    pub fn buffer(&self) -> &SharedBuffer {
        self.listener.buffer()
    }

    /// Whether `input` is the lookup requests' input.
    pub fn reads(&self, input: &DataId) -> bool {
        self.lookup
            .as_ref()
            .is_some_and(|(request, _)| request == input)
    }

    /// Answers each row of a lookup request, in order.
    pub fn on_request(&mut self, node: &mut DoraNode, params: &MetadataParameters, data: ArrayRef) {
        let Some((_, response)) = self.lookup.clone() else {
            return;
        };
        let requests = match parse_requests(data.as_ref()) {
            Ok(requests) => requests,
            Err(e) => {
                self.lookup_stats
                    .encode_errors
                    .fetch_add(1, Ordering::Relaxed);
                let id = self.request_id(params);
                return self.send(node, &response, Err((id, "invalid_argument_error", e)));
            }
        };
        for request in requests {
            self.lookup_stats.received.fetch_add(1, Ordering::Relaxed);
            let id = self.request_id(params);
            let answer = self.lookup(&request);
            match &answer {
                Ok(_) => self.lookup_stats.forwarded.fetch_add(1, Ordering::Relaxed),
                Err(_) => self.lookup_stats.failed.fetch_add(1, Ordering::Relaxed),
            };
            let answer = answer
                .map(|t| (id.clone(), t))
                .map_err(|e| (id, e.name(), e.to_string()));
            self.send(node, &response, answer);
        }
    }

    /// Waits for the next stream that is due; its index.
    pub async fn next_stream(&mut self) -> usize {
        if self.streams.is_empty() {
            return std::future::pending().await;
        }
        let ticks = self.streams.iter_mut().map(|s| Box::pin(s.timer.tick()));
        futures::future::select_all(ticks).await.1
    }

    /// Sends stream `index`'s transform (latest); a failure is counted and
    /// said (rate-limited), not sent.
    pub fn send_stream(&mut self, node: &mut DoraNode, index: usize) {
        let Some(stream) = self.streams.get(index) else {
            return;
        };
        let request = LookupRequest {
            target: stream.config.target.clone(),
            source: stream.config.source.clone(),
            time_ns: 0,
        };
        let (output, stats) = (stream.output.clone(), stream.stats.clone());
        stats.received.fetch_add(1, Ordering::Relaxed);
        match self.lookup(&request) {
            Ok(t) => {
                stats.forwarded.fetch_add(1, Ordering::Relaxed);
                self.send(node, &output, Ok((String::new(), t)));
            }
            Err(e) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                self.errors.warn(|| format!("tf stream `{output}`: {e}"));
            }
        }
    }

    fn lookup(&self, request: &LookupRequest) -> Result<StampedTransform, LookupError> {
        let buffer = self.buffer().lock().unwrap_or_else(|p| p.into_inner());
        buffer.lookup(&request.target, &request.source, request.time_ns)
    }

    fn request_id(&mut self, params: &MetadataParameters) -> String {
        request_id(params).unwrap_or_else(|| {
            self.next_request += 1;
            format!("tf-{}", self.next_request)
        })
    }

    /// A TransformStamped row, or an empty one with the error.
    fn send(
        &self,
        node: &mut DoraNode,
        output: &DataId,
        answer: Result<(String, StampedTransform), (String, &str, String)>,
    ) {
        let mut params = MetadataParameters::default();
        let row = match answer {
            Ok((id, t)) => {
                if !id.is_empty() {
                    params.insert(META_REQUEST_ID.into(), Parameter::String(id));
                }
                self.answer
                    .decode(&write_transform_stamped(&crate::tf::to_wire(&t)))
            }
            Err((id, code, message)) => {
                params.insert(META_REQUEST_ID.into(), Parameter::String(id));
                params.insert(META_ERROR.into(), Parameter::String(message));
                params.insert(META_ERROR_CODE.into(), Parameter::String(code.into()));
                Ok(self.empty_answer())
            }
        };
        let row: ArrayRef = match row {
            Ok(row) => Arc::new(row),
            Err(e) => return self.errors.warn(|| format!("tf answer: {e}")),
        };
        if let Err(e) = node.send_output(output.clone(), params, row) {
            self.errors
                .warn(|| format!("cannot send on `{output}`: {e}"));
        }
    }

    fn empty_answer(&self) -> StructArray {
        let fields = self.answer.schema().fields().clone();
        StructArray::new_null(fields, 0)
    }
}

fn stream(config: &TfStream, stats: &mut StatsTable) -> Stream {
    let mut timer = tokio::time::interval(config.period);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let route_stats = Arc::new(RouteStats::default());
    let label = format!(
        "tf stream: {} <- {} -> {}",
        config.target, config.source, config.output
    );
    stats.add(label, Direction::FromRos, route_stats.clone());
    Stream {
        config: config.clone(),
        output: DataId::from(config.output.clone()),
        timer,
        stats: route_stats,
    }
}

/// The rows of a lookup request: string columns `target_frame` and
/// `source_frame`, and optionally `time_ns` (int64, 0 = latest) or `time`
/// (a builtin_interfaces/Time struct).
pub fn parse_requests(data: &dyn Array) -> Result<Vec<LookupRequest>, String> {
    let DataType::Struct(_) = data.data_type() else {
        return Err(format!(
            "a lookup request is a StructArray with target_frame and source_frame, got {}",
            data.data_type()
        ));
    };
    let rows = data.as_struct();
    let target = string_column(rows, "target_frame")?;
    let source = string_column(rows, "source_frame")?;
    let times = time_column(rows)?;
    Ok((0..rows.len())
        .map(|i| LookupRequest {
            target: target[i].clone(),
            source: source[i].clone(),
            time_ns: times.as_ref().map_or(0, |t| t[i]),
        })
        .collect())
}

fn string_column(rows: &StructArray, name: &str) -> Result<Vec<String>, String> {
    let column = rows
        .column_by_name(name)
        .ok_or_else(|| format!("a lookup request needs a `{name}` column"))?;
    let strings = match column.data_type() {
        DataType::Utf8 => column.as_string::<i32>(),
        other => return Err(format!("`{name}` must be a string column, got {other}")),
    };
    Ok((0..strings.len())
        .map(|i| strings.value(i).to_string())
        .collect())
}

fn time_column(rows: &StructArray) -> Result<Option<Vec<i64>>, String> {
    if let Some(column) = rows.column_by_name("time_ns") {
        let values = column
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| format!("`time_ns` must be int64, got {}", column.data_type()))?;
        return Ok(Some(values.values().to_vec()));
    }
    let Some(column) = rows.column_by_name("time") else {
        return Ok(None);
    };
    let time = column.as_struct_opt().ok_or_else(|| {
        "`time` must be a builtin_interfaces/Time struct {sec, nanosec}".to_string()
    })?;
    let sec = time
        .column_by_name("sec")
        .and_then(|c| c.as_primitive_opt::<arrow::datatypes::Int32Type>());
    let nanosec = time
        .column_by_name("nanosec")
        .and_then(|c| c.as_primitive_opt::<arrow::datatypes::UInt32Type>());
    let (Some(sec), Some(nanosec)) = (sec, nanosec) else {
        return Err("`time` must have sec (int32) and nanosec (uint32)".into());
    };
    Ok(Some(
        (0..time.len())
            .map(|i| sec.value(i) as i64 * 1_000_000_000 + nanosec.value(i) as i64)
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{Field, Fields};

    fn request(columns: Vec<(&str, ArrayRef)>) -> StructArray {
        let fields: Fields = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), false))
            .collect();
        StructArray::new(fields, columns.into_iter().map(|(_, a)| a).collect(), None)
    }

    #[test]
    fn requests_are_read_with_or_without_a_time() {
        let frames = |v: &[&str]| -> ArrayRef { Arc::new(StringArray::from(v.to_vec())) };
        let rows = request(vec![
            ("target_frame", frames(&["map", "odom"])),
            ("source_frame", frames(&["laser", "base"])),
            ("time_ns", Arc::new(Int64Array::from(vec![0, 5]))),
        ]);
        let parsed = parse_requests(&rows).unwrap();
        assert_eq!(
            parsed[1],
            LookupRequest {
                target: "odom".into(),
                source: "base".into(),
                time_ns: 5
            }
        );
        let latest = request(vec![
            ("target_frame", frames(&["map"])),
            ("source_frame", frames(&["laser"])),
        ]);
        assert_eq!(parse_requests(&latest).unwrap()[0].time_ns, 0);
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let frames: ArrayRef = Arc::new(StringArray::from(vec!["map"]));
        let no_source = request(vec![("target_frame", frames.clone())]);
        assert!(
            parse_requests(&no_source)
                .unwrap_err()
                .contains("source_frame")
        );
        let bad_time = request(vec![
            ("target_frame", frames.clone()),
            ("source_frame", frames.clone()),
            ("time_ns", frames.clone()),
        ]);
        assert!(parse_requests(&bad_time).unwrap_err().contains("int64"));
        let not_struct = Int64Array::from(vec![1]);
        assert!(
            parse_requests(&not_struct)
                .unwrap_err()
                .contains("StructArray")
        );
    }
}
