//! Per-route counters: every way a message can be lost has its counter,
//! shared between the threads that count; and the table of all routes'
//! counters as the bridge logs them, sends them on `stats.output` and sums
//! them for `/diagnostics`.

use arrow::array::{ArrayRef, StringArray, StructArray, UInt64Array};
use arrow::datatypes::{DataType, Field};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A route's counters, shared between threads.
#[derive(Debug, Default)]
pub struct RouteStats {
    /// from_ros: messages taken from ROS. to_ros: rows received from dora.
    pub received: AtomicU64,
    /// from_ros: sent to dora. to_ros: published to ROS.
    pub forwarded: AtomicU64,
    /// from_ros: dropped because the route's queue was full (drop_oldest).
    pub dropped_queue_full: AtomicU64,
    /// from_ros: lost by the middleware before the bridge could take them
    /// (gaps in the publishers' sequence numbers, or the RMW's
    /// MESSAGE_LOST event where it does not number samples).
    pub dropped_by_middleware: AtomicU64,
    /// from_ros: malformed CDR.
    pub decode_errors: AtomicU64,
    /// to_ros: Arrow data that does not fit the ROS type.
    pub encode_errors: AtomicU64,
    /// to_ros: rcl refused to publish.
    pub publish_errors: AtomicU64,
    /// to_ros: messages a bridge sent into dora that never came back on
    /// this route (gaps in the `bridge_seq` metadata that a dora node
    /// passed on).
    pub lost_in_dora: AtomicU64,
    /// service_clients: calls answered with an `error` (no server, no
    /// answer in time, the server left, a request row that does not fit).
    /// service_servers: ROS calls left unanswered (no answer in time, the
    /// handler failed).
    pub failed: AtomicU64,
    /// service_servers: answers from dora for no call waiting (unknown,
    /// repeated or late `request_id`). service_clients: answers from ROS
    /// for a call already failed.
    pub unmatched: AtomicU64,
    /// Action routes: goals sent (action_clients) or accepted
    /// (action_servers); `forwarded` counts their feedback messages, and
    /// `failed` the goals rejected or ended with an error.
    pub goals: AtomicU64,
    /// Action routes: goals that ended so.
    pub succeeded: AtomicU64,
    pub canceled: AtomicU64,
    pub aborted: AtomicU64,
}

/// A moment's values of a route's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub received: u64,
    pub forwarded: u64,
    pub dropped_queue_full: u64,
    pub dropped_by_middleware: u64,
    pub decode_errors: u64,
    pub encode_errors: u64,
    pub publish_errors: u64,
    pub lost_in_dora: u64,
    pub failed: u64,
    pub unmatched: u64,
    pub goals: u64,
    pub succeeded: u64,
    pub canceled: u64,
    pub aborted: u64,
}

impl RouteStats {
    pub fn snapshot(&self) -> StatsSnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StatsSnapshot {
            received: load(&self.received),
            forwarded: load(&self.forwarded),
            dropped_queue_full: load(&self.dropped_queue_full),
            dropped_by_middleware: load(&self.dropped_by_middleware),
            decode_errors: load(&self.decode_errors),
            encode_errors: load(&self.encode_errors),
            publish_errors: load(&self.publish_errors),
            lost_in_dora: load(&self.lost_in_dora),
            failed: load(&self.failed),
            unmatched: load(&self.unmatched),
            goals: load(&self.goals),
            succeeded: load(&self.succeeded),
            canceled: load(&self.canceled),
            aborted: load(&self.aborted),
        }
    }
}

impl StatsSnapshot {
    /// Every counter with its name, in the order of the stats rows.
    pub fn named(&self) -> [(&'static str, u64); 14] {
        [
            ("received", self.received),
            ("forwarded", self.forwarded),
            ("dropped_queue_full", self.dropped_queue_full),
            ("dropped_by_middleware", self.dropped_by_middleware),
            ("decode_errors", self.decode_errors),
            ("encode_errors", self.encode_errors),
            ("publish_errors", self.publish_errors),
            ("lost_in_dora", self.lost_in_dora),
            ("failed", self.failed),
            ("unmatched", self.unmatched),
            ("goals", self.goals),
            ("succeeded", self.succeeded),
            ("canceled", self.canceled),
            ("aborted", self.aborted),
        ]
    }

    /// Messages lost on the way (queue, middleware, dora).
    pub fn lost(&self) -> u64 {
        self.dropped_queue_full + self.dropped_by_middleware + self.lost_in_dora
    }

    /// Messages dropped as bad data (decode, encode, publish), calls
    /// failed and answers matching no call.
    pub fn errors(&self) -> u64 {
        self.decode_errors + self.encode_errors + self.publish_errors + self.failed + self.unmatched
    }
}

/// Which way a route carries messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    FromRos,
    ToRos,
    /// dora calls a ROS service.
    ServiceClient,
    /// ROS calls a service a dora node serves.
    ServiceServer,
    /// dora sends goals to a ROS action server.
    ActionClient,
    /// ROS sends goals to an action a dora node carries out.
    ActionServer,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::FromRos => "from_ros",
            Direction::ToRos => "to_ros",
            Direction::ServiceClient => "service_client",
            Direction::ServiceServer => "service_server",
            Direction::ActionClient => "action_client",
            Direction::ActionServer => "action_server",
        }
    }
}

struct Entry {
    /// As reported: `from_ros[0] /chatter`.
    route: String,
    direction: Direction,
    stats: Arc<RouteStats>,
    last_logged: StatsSnapshot,
}

/// Every route's counters, in route order.
#[derive(Default)]
pub struct StatsTable {
    entries: Vec<Entry>,
}

impl StatsTable {
    pub fn add(&mut self, route: String, direction: Direction, stats: Arc<RouteStats>) {
        self.entries.push(Entry {
            route,
            direction,
            stats,
            last_logged: StatsSnapshot::default(),
        });
    }

    /// One line per route whose counters moved since the last one.
    pub fn log_changes(&mut self) {
        for entry in &mut self.entries {
            let now = entry.stats.snapshot();
            if now == entry.last_logged {
                continue;
            }
            let counters: Vec<String> = now
                .named()
                .iter()
                .filter(|(name, value)| *value > 0 || *name == "forwarded")
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            tracing::info!("stats {}: {}", entry.route, counters.join(" "));
            entry.last_logged = now;
        }
    }

    /// Per route, the one-line summary `/diagnostics` shows.
    pub fn summaries(&self) -> Vec<(String, String)> {
        self.entries
            .iter()
            .map(|e| {
                let s = e.stats.snapshot();
                (
                    e.route.clone(),
                    format!(
                        "received={} forwarded={} dropped={} errors={}",
                        s.received,
                        s.forwarded,
                        s.lost(),
                        s.errors()
                    ),
                )
            })
            .collect()
    }

    /// The counters as Arrow rows: `{route, direction, received, ...}`.
    pub fn rows(&self) -> StructArray {
        let mut fields = vec![
            Field::new("route", DataType::Utf8, false),
            Field::new("direction", DataType::Utf8, false),
        ];
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                self.entries.iter().map(|e| e.route.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                self.entries.iter().map(|e| e.direction.as_str()),
            )),
        ];
        let snapshots: Vec<StatsSnapshot> =
            self.entries.iter().map(|e| e.stats.snapshot()).collect();
        let names = StatsSnapshot::default().named().map(|(name, _)| name);
        for (i, name) in names.into_iter().enumerate() {
            fields.push(Field::new(name, DataType::UInt64, false));
            columns.push(Arc::new(UInt64Array::from_iter_values(
                snapshots.iter().map(|s| s.named()[i].1),
            )));
        }
        StructArray::new(fields.into(), columns, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};

    #[test]
    fn rows_have_one_column_per_counter_in_order() {
        let mut table = StatsTable::default();
        let stats = Arc::new(RouteStats::default());
        stats.received.store(5, Ordering::Relaxed);
        stats.lost_in_dora.store(2, Ordering::Relaxed);
        table.add("to_ros[0] /back".into(), Direction::ToRos, stats);
        let rows = table.rows();
        assert_eq!(rows.len(), 1);
        let names: Vec<&str> = rows.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "route",
                "direction",
                "received",
                "forwarded",
                "dropped_queue_full",
                "dropped_by_middleware",
                "decode_errors",
                "encode_errors",
                "publish_errors",
                "lost_in_dora",
                "failed",
                "unmatched",
                "goals",
                "succeeded",
                "canceled",
                "aborted"
            ]
        );
        let lost = rows
            .column_by_name("lost_in_dora")
            .unwrap()
            .as_primitive::<arrow::datatypes::UInt64Type>();
        assert_eq!(lost.value(0), 2);
        assert_eq!(
            table.summaries()[0].1,
            "received=5 forwarded=0 dropped=2 errors=0"
        );
    }
}
