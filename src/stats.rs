//! Per-route counters: every way a message can be lost has its counter,
//! shared between the threads that count; and the table of all routes'
//! counters, rates and peers as the bridge logs them, sends them on
//! `stats.output`, sums them for `/diagnostics` and shows them on its
//! admin endpoint.

use crate::rates::{Presence, PresenceChange, RateMeter, Rates};
use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, StructArray, UInt64Array};
use arrow::datatypes::{DataType, Field};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

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
    /// Rows (messages, answers, goals' feedback and results) the bridge
    /// could not hand to dora: its `send_output` failed.
    pub dora_send_errors: AtomicU64,
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
    /// Skipped on purpose by the route's `max_rate` / `min_interval`
    /// (a newer message went instead): not a loss.
    pub throttled: AtomicU64,
    /// from_ros: CDR bytes taken from ROS. to_ros: CDR bytes published.
    pub cdr_bytes: AtomicU64,
    /// Gauges, set by whoever knows them (-1: not known): the publishers
    /// (from_ros) or subscribers (to_ros) on the route's topics besides
    /// the bridge, and the messages or calls waiting on the route.
    pub peers: Gauge,
    pub queued: Gauge,
    /// from_ros: 1 while the route's subscription is reliable, 0 while
    /// best effort (`qos: auto` follows the publishers).
    pub reliable_reader: Gauge,
}

/// A value someone sets now and then; not known until first set.
#[derive(Debug)]
pub struct Gauge(AtomicI64);

impl Default for Gauge {
    fn default() -> Self {
        Gauge(AtomicI64::new(-1))
    }
}

impl Gauge {
    pub fn set(&self, value: usize) {
        self.0.store(value as i64, Ordering::Relaxed);
    }

    pub fn get(&self) -> Option<u64> {
        u64::try_from(self.0.load(Ordering::Relaxed)).ok()
    }
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
    pub dora_send_errors: u64,
    pub failed: u64,
    pub unmatched: u64,
    pub goals: u64,
    pub succeeded: u64,
    pub canceled: u64,
    pub aborted: u64,
    pub throttled: u64,
    pub cdr_bytes: u64,
}

impl RouteStats {
    /// One message (`bytes` of CDR) came in.
    pub fn count_received(&self, bytes: usize) {
        self.received.fetch_add(1, Ordering::Relaxed);
        self.cdr_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

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
            dora_send_errors: load(&self.dora_send_errors),
            failed: load(&self.failed),
            unmatched: load(&self.unmatched),
            goals: load(&self.goals),
            succeeded: load(&self.succeeded),
            canceled: load(&self.canceled),
            aborted: load(&self.aborted),
            throttled: load(&self.throttled),
            cdr_bytes: load(&self.cdr_bytes),
        }
    }
}

impl StatsSnapshot {
    /// Every counter with its name, in the order of the stats rows.
    pub fn named(&self) -> [(&'static str, u64); 17] {
        [
            ("received", self.received),
            ("forwarded", self.forwarded),
            ("dropped_queue_full", self.dropped_queue_full),
            ("dropped_by_middleware", self.dropped_by_middleware),
            ("decode_errors", self.decode_errors),
            ("encode_errors", self.encode_errors),
            ("publish_errors", self.publish_errors),
            ("lost_in_dora", self.lost_in_dora),
            ("dora_send_errors", self.dora_send_errors),
            ("failed", self.failed),
            ("unmatched", self.unmatched),
            ("goals", self.goals),
            ("succeeded", self.succeeded),
            ("canceled", self.canceled),
            ("aborted", self.aborted),
            ("throttled", self.throttled),
            ("cdr_bytes", self.cdr_bytes),
        ]
    }

    /// Messages lost on the way (queue, middleware, dora).
    pub fn lost(&self) -> u64 {
        self.dropped_queue_full
            + self.dropped_by_middleware
            + self.lost_in_dora
            + self.dora_send_errors
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

/// Who is on the other end of a route, in log lines: `publisher`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerRole {
    Publisher,
    Subscriber,
}

impl PeerRole {
    fn name(self) -> &'static str {
        match self {
            PeerRole::Publisher => "publisher",
            PeerRole::Subscriber => "subscriber",
        }
    }
}

struct Entry {
    /// As reported: `from_ros[0] /chatter`.
    route: String,
    direction: Direction,
    stats: Arc<RouteStats>,
    last_logged: StatsSnapshot,
    meter: RateMeter,
    /// Routes whose peers the bridge counts.
    presence: Option<(PeerRole, Presence)>,
    /// Counters whose first move was explained.
    explained: Vec<&'static str>,
}

/// A route at one moment, as the admin endpoint shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RouteView {
    pub route: String,
    pub direction: String,
    /// Messages (or calls, goals) and CDR bytes per second, over the
    /// last [`crate::rates::RATE_WINDOW`].
    pub messages_per_s: f64,
    pub bytes_per_s: f64,
    /// Publishers (from_ros) or subscribers (to_ros) besides the bridge.
    pub peers: Option<u64>,
    pub queued: Option<u64>,
    /// Every counter by name.
    pub counters: Vec<(String, u64)>,
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
            meter: RateMeter::default(),
            presence: None,
            explained: Vec::new(),
        });
    }

    /// A route whose `peers` gauge is kept: said when they stay away.
    pub fn add_watched(
        &mut self,
        route: String,
        direction: Direction,
        stats: Arc<RouteStats>,
        role: PeerRole,
    ) {
        self.add(route, direction, stats);
        if let Some(entry) = self.entries.last_mut() {
            entry.presence = Some((role, Presence::new(Instant::now())));
        }
    }

    /// Takes a sample of every counter for the rates, and says which
    /// routes lost or got back their peers. Call about once a second.
    pub fn sample(&mut self, now: Instant) {
        for entry in &mut self.entries {
            let s = entry.stats.snapshot();
            entry.meter.sample(now, s.received, s.cdr_bytes);
            let (Some((role, presence)), Some(peers)) =
                (&mut entry.presence, entry.stats.peers.get())
            else {
                continue;
            };
            let role = role.name();
            match presence.observe(peers, now) {
                Some(PresenceChange::Gone { had }) => tracing::warn!(
                    "{}: no {role} any more (had {had}); nothing flows until one comes back",
                    entry.route
                ),
                Some(PresenceChange::NeverCame) => {
                    tracing::info!("{}: no {role} yet", entry.route)
                }
                Some(PresenceChange::Back { now }) => {
                    tracing::info!("{}: {now} {role}(s) again", entry.route)
                }
                None => {}
            }
        }
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
            tracing::info!(
                "stats {}: {} {}",
                entry.route,
                describe_rates(entry.meter.rates()),
                counters.join(" ")
            );
            explain_first_moves(entry, &now);
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
                        "{} received={} forwarded={} dropped={} errors={}",
                        describe_rates(e.meter.rates()),
                        s.received,
                        s.forwarded,
                        s.lost(),
                        s.errors()
                    ),
                )
            })
            .collect()
    }

    pub fn views(&self) -> Vec<RouteView> {
        self.entries
            .iter()
            .map(|e| {
                let rates = e.meter.rates();
                RouteView {
                    route: e.route.clone(),
                    direction: e.direction.as_str().to_string(),
                    messages_per_s: rates.messages,
                    bytes_per_s: rates.bytes,
                    peers: e.stats.peers.get(),
                    queued: e.stats.queued.get(),
                    counters: e
                        .stats
                        .snapshot()
                        .named()
                        .iter()
                        .map(|(name, value)| (name.to_string(), *value))
                        .collect(),
                }
            })
            .collect()
    }

    /// The counters as Arrow rows: `{route, direction, received, ...,
    /// messages_per_s, bytes_per_s, peers}` (peers -1 where not known).
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
        let rates: Vec<Rates> = self.entries.iter().map(|e| e.meter.rates()).collect();
        fields.push(Field::new("messages_per_s", DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from_iter_values(
            rates.iter().map(|r| r.messages),
        )));
        fields.push(Field::new("bytes_per_s", DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from_iter_values(
            rates.iter().map(|r| r.bytes),
        )));
        fields.push(Field::new("peers", DataType::Int64, false));
        columns.push(Arc::new(Int64Array::from_iter_values(
            self.entries
                .iter()
                .map(|e| e.stats.peers.get().map_or(-1, |p| p as i64)),
        )));
        StructArray::new(fields.into(), columns, None)
    }
}

/// What a loss or error counter counts and what to do about it, said
/// once per route when it first moves (it may move where nothing else
/// logs, such as a full drop_oldest queue).
const EXPLANATIONS: [(&str, &str); 9] = [
    (
        "dropped_queue_full",
        "dropped because the route's queue was full (drop_oldest): dora took them slower \
         than ROS sent them. A larger `queue.size`, `queue.policy: block` or a lower rate helps",
    ),
    (
        "dropped_by_middleware",
        "lost by DDS before the bridge took them (gaps in the publishers' sequence numbers, \
         or MESSAGE_LOST): the subscription's history overflowed or the network dropped them. \
         A deeper history (`qos: {depth: 100}`) on both ends helps",
    ),
    (
        "lost_in_dora",
        "sent into dora by a bridge and never back on this route (gaps in `bridge_seq`): a \
         dora input on the way dropped them; give those inputs `queue_policy: backpressure` \
         (`ros2-dora-bridge check --dataflow` names them)",
    ),
    (
        "dora_send_errors",
        "could not be handed to dora: the node API's send_output failed (each failure \
         logged with dora's reason; the dora daemon may be gone or out of shared memory)",
    ),
    (
        "decode_errors",
        "malformed CDR from a publisher, dropped (each logged with its topic)",
    ),
    (
        "encode_errors",
        "rows from dora that do not fit the ROS type, dropped (logged with every field that \
         does not fit)",
    ),
    (
        "publish_errors",
        "refused by rcl when published (logged with rcl's reason)",
    ),
    (
        "failed",
        "calls or goals that failed: each was answered with an error saying why",
    ),
    (
        "unmatched",
        "answers that matched no call waiting (late, repeated or unknown request ids), dropped",
    ),
];

fn explain_first_moves(entry: &mut Entry, now: &StatsSnapshot) {
    let (before, after) = (entry.last_logged.named(), now.named());
    for ((name, old), (_, new)) in before.iter().zip(after.iter()) {
        let Some((_, meaning)) = EXPLANATIONS.iter().find(|(n, _)| n == name) else {
            continue;
        };
        if new > old && !entry.explained.contains(name) {
            entry.explained.push(name);
            tracing::warn!("{}: {name}={new}: {meaning}", entry.route);
        }
    }
}

/// `10.0 msg/s 1.2 kB/s` (no bytes for routes that move no CDR of their
/// own, such as lookups).
pub fn describe_rates(rates: Rates) -> String {
    match rates.bytes > 0.0 {
        true => format!(
            "{:.1} msg/s {}/s",
            rates.messages,
            describe_bytes(rates.bytes)
        ),
        false => format!("{:.1} msg/s", rates.messages),
    }
}

/// `512 B`, `1.2 kB`, `3.4 MB` (decimal units, as network rates are told).
pub fn describe_bytes(bytes: f64) -> String {
    match bytes {
        b if b < 1e3 => format!("{b:.0} B"),
        b if b < 1e6 => format!("{:.1} kB", b / 1e3),
        b if b < 1e9 => format!("{:.1} MB", b / 1e6),
        b => format!("{:.2} GB", b / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};

    #[test]
    fn a_loss_counter_is_explained_once_when_it_first_moves() {
        let mut table = StatsTable::default();
        let stats = Arc::new(RouteStats::default());
        table.add("from_ros[0] /a".into(), Direction::FromRos, stats.clone());
        stats.received.store(3, Ordering::Relaxed);
        table.log_changes();
        assert!(table.entries[0].explained.is_empty());
        stats.dropped_queue_full.store(2, Ordering::Relaxed);
        table.log_changes();
        assert_eq!(table.entries[0].explained, ["dropped_queue_full"]);
        stats.dropped_queue_full.store(5, Ordering::Relaxed);
        stats.lost_in_dora.store(1, Ordering::Relaxed);
        table.log_changes();
        assert_eq!(
            table.entries[0].explained,
            ["dropped_queue_full", "lost_in_dora"]
        );
        assert!(EXPLANATIONS.iter().all(|(name, _)| {
            StatsSnapshot::default()
                .named()
                .iter()
                .any(|(n, _)| n == name)
        }));
    }

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
                "dora_send_errors",
                "failed",
                "unmatched",
                "goals",
                "succeeded",
                "canceled",
                "aborted",
                "throttled",
                "cdr_bytes",
                "messages_per_s",
                "bytes_per_s",
                "peers"
            ]
        );
        let lost = rows
            .column_by_name("lost_in_dora")
            .unwrap()
            .as_primitive::<arrow::datatypes::UInt64Type>();
        assert_eq!(lost.value(0), 2);
        assert_eq!(
            table.summaries()[0].1,
            "0.0 msg/s received=5 forwarded=0 dropped=2 errors=0"
        );
    }
}
