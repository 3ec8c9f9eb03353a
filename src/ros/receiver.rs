//! The ROS receiver: one thread that owns every subscription, blocks on an
//! rcl wait set (messages, events, graph changes, a wake-up guard
//! condition), and keeps the set of subscriptions matched to the graph:
//! types learned from publishers, pattern routes extended to new topics,
//! `qos: auto` re-chosen when publishers change.

use super::RosShared;
use super::graph::{auto_subscription_qos, describe_qos, same_qos};
use super::graph_watch::{GraphEvent, GraphWatcher, TopicState};
use super::rcl::{EndpointInfo, QosProfile, RclSubscription, Ready, SubscriptionEvent, WaitSet};
use super::sink::{NewTopic, Sample, Sink, SinkTopic};
use super::watched::{ProbeOutcome, Take, WatchedSubscription, describe_wedge};
use crate::codec::CodecOptions;
use crate::config::QosSetting;
use crate::msg::TypeName;
use crate::stats::RouteStats;
use crate::throttle::{RateLimiter, SayOnce};
use crate::topics::TopicMatcher;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub struct FromRosRoute {
    /// The topic (expanded and remapped) or pattern it listens to.
    pub target: TopicMatcher,
    pub type_name: Option<TypeName>,
    pub qos: QosSetting,
    pub options: CodecOptions,
    pub stats: Arc<RouteStats>,
    /// For log lines: `from_ros[0] (/chatter)`.
    pub label: String,
    /// A reliable subscription keeps every sample it cannot hand on yet
    /// (KEEP_ALL) instead of overwriting the oldest: a `block` route then
    /// holds a reliable publisher back through DDS flow control rather
    /// than losing what waits in a keep-last history.
    pub reader_keeps_all: bool,
    /// A best-effort reader's history depth, when not the publishers'
    /// (`bag record`: room for bursts while the writer is behind).
    pub reader_depth: Option<usize>,
}

struct Active {
    route: usize,
    topic: Arc<str>,
    type_text: Arc<str>,
    type_name: TypeName,
    sink_topic: SinkTopic,
    watched: WatchedSubscription,
    /// Publisher GID -> fully qualified node name, from the graph.
    publisher_nodes: HashMap<Vec<u8>, Arc<str>>,
    /// Last time `publisher_nodes` was refreshed for an unknown GID.
    nodes_refreshed: Option<Instant>,
    /// Since when a pattern's topic has had no publisher but the bridge's.
    orphaned_since: Option<Instant>,
}

/// What a new subscription of a route gets.
struct Subscribing {
    type_name: TypeName,
    qos: QosProfile,
    /// Publisher GID -> node name, from the graph.
    publisher_nodes: HashMap<Vec<u8>, Arc<str>>,
    /// The publishers it is matched to.
    matched: HashSet<Vec<u8>>,
    /// Its publishers but the bridge's own, for the sink.
    offered: Vec<EndpointInfo>,
}

/// A message from a publisher the graph did not name yet triggers a
/// refresh of the names, at most this often per subscription.
const NODE_REFRESH_INTERVAL: Duration = Duration::from_millis(50);

pub struct Receiver {
    shared: Arc<RosShared>,
    routes: Vec<FromRosRoute>,
    sink: Box<dyn Sink>,
    active: Vec<Active>,
    /// Problems already logged, so a graph change does not repeat them.
    told: SayOnce,
    nodes: Option<Box<dyn NodeObserver>>,
    /// Its own limiter, so that losses are never hidden behind bad data.
    loss_warnings: RateLimiter,
    /// (route, topic) -> publishers on it but the bridge, as the graph
    /// last showed; summed per route into its `peers` gauge.
    peer_counts: HashMap<(usize, String), usize>,
}

/// Watches which ROS nodes exist (the liveness of watched nodes): shown
/// the graph's node names on every graph change, debounced like
/// re-planning, and at its own deadlines.
pub trait NodeObserver: Send {
    fn observe(&mut self, present: &HashSet<String>, now: Instant);
    /// When it wants to look again even without a graph change.
    fn next_deadline(&self) -> Option<Instant>;
}

/// One turn of the receiver's loop: the subscriptions (by index into
/// `active`) it waits on, then the probes.
struct Turn {
    waiting_on: Vec<usize>,
    probing: Vec<usize>,
}

impl Turn {
    /// In the wait set's order: subscriptions, then probes.
    fn subscriptions<'a>(&self, active: &'a [Active]) -> Vec<&'a RclSubscription> {
        let subscriptions = self
            .waiting_on
            .iter()
            .map(|&i| active[i].watched.subscription());
        let probes = self
            .probing
            .iter()
            .filter_map(|&i| active[i].watched.probe_to_wait_on());
        subscriptions.chain(probes).collect()
    }
}

/// How a drain of one subscription ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drained {
    /// Nothing more waiting.
    Empty,
    /// The route's `block` queue is full: the rest waits in DDS.
    QueueFull,
    /// A take failed (logged); the next wait-up tries again.
    TakeFailed,
    /// The sink's consumer (the dora side, the bag writer) has shut down.
    SinkGone,
}

/// Graph changes (and retirements) are applied at most this long at a time
/// before the subscriptions are served again: creating a subscription
/// takes about a millisecond, and 200 nodes starting at once would
/// otherwise hold every route's messages back for a quarter of a second
/// (measured in tests/scale.rs, graph churn).
const GRAPH_WORK_SLICE: Duration = Duration::from_millis(5);

/// How often reliable subscriptions are checked for a wedged reader.
const STALL_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// A topic a pattern picked up is unsubscribed once it has had no
/// publisher for this long (and everything it received is handed on), so
/// that nodes coming and going do not leave subscriptions behind. Long
/// enough for a restarting node to come back to the same subscription.
const ORPHAN_GRACE: Duration = Duration::from_secs(5);

impl Receiver {
    pub fn new(shared: Arc<RosShared>, routes: Vec<FromRosRoute>, sink: Box<dyn Sink>) -> Self {
        // No publisher until the graph shows one.
        for route in &routes {
            route.stats.peers.set(0);
        }
        Receiver {
            shared,
            routes,
            sink,
            active: Vec::new(),
            told: SayOnce::default(),
            nodes: None,
            loss_warnings: RateLimiter::new(Duration::from_secs(5)),
            peer_counts: HashMap::new(),
        }
    }

    /// Also show the graph's nodes to `observer`.
    pub fn with_node_observer(mut self, observer: Box<dyn NodeObserver>) -> Self {
        self.nodes = Some(observer);
        self
    }

    /// Shows the graph's nodes to the observer at its own deadline.
    fn observe_liveness(&mut self) {
        if self.nodes.is_none() {
            return;
        }
        match self.shared.node.node_names() {
            Ok(names) => self.observe_nodes(&names.into_iter().collect()),
            Err(e) => tracing::warn!("cannot list ROS nodes: {e}"),
        }
    }

    fn observe_nodes(&mut self, present: &HashSet<String>) {
        if let Some(observer) = &mut self.nodes {
            observer.observe(present, Instant::now());
        }
    }

    /// Applies graph events in order for [`GRAPH_WORK_SLICE`] at most;
    /// the rest waits for the next turn of the loop.
    fn apply_graph_events(&mut self, pending: &mut VecDeque<GraphEvent>) {
        let started = Instant::now();
        while started.elapsed() < GRAPH_WORK_SLICE {
            let Some(event) = pending.pop_front() else {
                break;
            };
            self.graph_event(event);
        }
    }

    fn graph_event(&mut self, event: GraphEvent) {
        match event {
            GraphEvent::Topic(state) => {
                for route_index in 0..self.routes.len() {
                    if self.routes[route_index].target.matches(&state.topic) {
                        self.plan(route_index, &state);
                    }
                }
            }
            GraphEvent::Nodes(present) => self.observe_nodes(&present),
        }
    }

    fn liveness_deadline(&self) -> Option<Instant> {
        self.nodes.as_ref().and_then(|o| o.next_deadline())
    }

    fn tell(&mut self, key: String, message: impl FnOnce() -> String, warn: bool) {
        if self.told.first(key) {
            if warn {
                tracing::warn!("{}", message());
            } else {
                tracing::info!("{}", message());
            }
        }
    }

    pub fn run(mut self) {
        let mut wait_set = match WaitSet::new(&self.shared.node) {
            Ok(ws) => ws,
            Err(e) => {
                tracing::error!("cannot create the ROS wait set: {e}");
                return;
            }
        };
        let limiter = RateLimiter::new(Duration::from_secs(5));
        let wanted = self
            .routes
            .iter()
            .fold(TopicMatcher::default(), |all, r| all.union(&r.target));
        let mut graph = GraphWatcher::new(wanted, &self.shared.node_name);
        let mut graph_work = VecDeque::new();
        let mut last_stall_check = Instant::now();
        while !self.shared.stop.load(Ordering::Acquire) {
            self.graph_turn(&mut graph, &mut graph_work);
            let timeout = self.wait_timeout(&graph, &graph_work);
            if last_stall_check.elapsed() >= STALL_CHECK_INTERVAL {
                last_stall_check = Instant::now();
                if !self.stall_turn(&limiter) {
                    return; // the sink's consumer has shut down
                }
            }
            let turn = self.waited_on();
            let subs = turn.subscriptions(&self.active);
            let ready = match wait_set.wait(&subs, &[&self.shared.wake], timeout) {
                Ok(ready) => ready,
                Err(e) => {
                    limiter.warn(|| format!("waiting for ROS messages failed: {e}"));
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            if ready.graph_changed {
                graph.graph_changed();
                self.shared.graph_changed();
            }
            if !self.serve(ready, &turn, &limiter) {
                return; // the sink's consumer has shut down
            }
        }
    }

    /// New graph events, applied a slice at a time; else the liveness
    /// observer's own deadline.
    fn graph_turn(&mut self, graph: &mut GraphWatcher, work: &mut VecDeque<GraphEvent>) {
        let looked = graph.look(&self.shared.node);
        if !looked.is_empty() || !work.is_empty() {
            work.extend(looked);
            self.apply_graph_events(work);
        } else if self
            .liveness_deadline()
            .is_some_and(|at| Instant::now() >= at)
        {
            self.observe_liveness();
        }
    }

    /// At once while graph work is left; else until the next deadline, at
    /// most STALL_CHECK_INTERVAL.
    fn wait_timeout(&self, graph: &GraphWatcher, work: &VecDeque<GraphEvent>) -> Duration {
        let wake_at = [graph.deadline(), self.liveness_deadline()]
            .into_iter()
            .flatten()
            .min();
        match wake_at {
            _ if !work.is_empty() => Duration::ZERO,
            Some(at) => at.saturating_duration_since(Instant::now()),
            None => STALL_CHECK_INTERVAL,
        }
        .min(STALL_CHECK_INTERVAL)
    }

    /// Probes started and resolved, orphans retired. False once the sink's
    /// consumer is gone.
    fn stall_turn(&mut self, limiter: &RateLimiter) -> bool {
        self.start_probes(limiter);
        self.resolve_probes(limiter) && self.retire_orphans(limiter)
    }

    /// What this turn waits on. Subscriptions of a route whose sink is full
    /// are left out (their messages wait in DDS) until it has room, which
    /// triggers the wake guard condition.
    fn waited_on(&mut self) -> Turn {
        let mut waiting_on = Vec::with_capacity(self.active.len());
        for (i, active) in self.active.iter_mut().enumerate() {
            if self.sink.has_room(active.route) {
                waiting_on.push(i);
            } else {
                active.watched.held(Instant::now());
            }
        }
        // Probes are waited on, never taken from: whether one has data
        // while its subscription stays silent is what tells a wedge.
        let probing = (0..self.active.len())
            .filter(|&i| self.active[i].watched.probe_to_wait_on().is_some())
            .collect();
        Turn {
            waiting_on,
            probing,
        }
    }

    /// Acts on what the wait found. False once the sink's consumer is gone.
    fn serve(&mut self, ready: Ready, turn: &Turn, limiter: &RateLimiter) -> bool {
        let subscribed = turn.waiting_on.len();
        for (sub, event) in ready.events {
            match sub.checked_sub(subscribed) {
                None => self.handle_event(turn.waiting_on[sub], event),
                Some(k) => self.active[turn.probing[k]]
                    .watched
                    .discard_probe_event(event),
            }
        }
        // Probes first: a sample both readers got in this wait must not
        // look as if the old one spoke before the probe heard it.
        let woke = Instant::now();
        let (probes, olds): (Vec<usize>, Vec<usize>) = ready
            .subscriptions
            .into_iter()
            .partition(|&index| index >= subscribed);
        for index in probes {
            self.active[turn.probing[index - subscribed]]
                .watched
                .probe_heard(woke);
        }
        olds.into_iter()
            .all(|index| self.drain(turn.waiting_on[index], limiter) != Drained::SinkGone)
    }

    /// Unsubscribes the pattern topics without a publisher for
    /// ORPHAN_GRACE, once what they received is handed on. False when the
    /// dora side has shut down.
    fn retire_orphans(&mut self, limiter: &RateLimiter) -> bool {
        let now = Instant::now();
        for index in (0..self.active.len()).rev() {
            if now.elapsed() >= GRAPH_WORK_SLICE {
                break; // the rest at the next check, messages first
            }
            let due = self.active[index]
                .orphaned_since
                .is_some_and(|since| now.duration_since(since) >= ORPHAN_GRACE);
            if !due {
                continue;
            }
            // The graph lags DDS: a publisher that has just matched keeps
            // the subscription (the next look will say so too).
            if self.active[index]
                .watched
                .subscription()
                .publisher_count()
                .map_or(true, |count| count > 0)
            {
                self.active[index].orphaned_since = None;
                continue;
            }
            match self.drain(index, limiter) {
                Drained::Empty => {
                    let retired = self.active.remove(index);
                    tracing::info!(
                        "{}: {} has had no publisher for {} s: unsubscribed (a new publisher subscribes it again)",
                        self.routes[retired.route].label,
                        retired.topic,
                        ORPHAN_GRACE.as_secs()
                    );
                }
                Drained::SinkGone => return false,
                Drained::QueueFull | Drained::TakeFailed => {} // next time
            }
        }
        true
    }

    /// Takes every waiting message of subscription `index`, or as many as
    /// its route's queue has room for.
    fn drain(&mut self, index: usize, limiter: &RateLimiter) -> Drained {
        let active = &mut self.active[index];
        let stats = &self.routes[active.route].stats;
        loop {
            if !self.sink.has_room(active.route) {
                return Drained::QueueFull;
            }
            let (taken, info, lost) = match active.watched.take(self.sink.adopt_from_bytes()) {
                Ok(Take::Sample {
                    taken,
                    info,
                    lost_before,
                }) => {
                    self.shared.segment_advice.check_received(
                        &active.topic,
                        taken.bytes().len(),
                        super::fastdds::transit(
                            info.source_timestamp_ns,
                            info.received_timestamp_ns,
                        ),
                    );
                    (taken, info, lost_before)
                }
                Ok(Take::Repeat) => continue,
                Ok(Take::Empty) => return Drained::Empty,
                Err(e) => {
                    limiter.warn(|| format!("{}: take failed: {e}", active.topic));
                    return Drained::TakeFailed;
                }
            };
            stats.count_received(taken.bytes().len());
            if lost > 0 {
                stats
                    .dropped_by_middleware
                    .fetch_add(lost, Ordering::Relaxed);
                self.loss_warnings.warn(|| {
                    format!(
                        "{}: DDS lost {lost} message(s) before the bridge could take them \
                         (publication sequence numbers skipped; counted as dropped_by_middleware)",
                        active.topic
                    )
                });
            }
            if !active.publisher_nodes.contains_key(&info.publisher_gid)
                && active
                    .nodes_refreshed
                    .is_none_or(|at| at.elapsed() >= NODE_REFRESH_INTERVAL)
            {
                // New publisher, not yet seen by a re-plan: ask the graph now.
                active.nodes_refreshed = Some(Instant::now());
                if let Ok(publishers) = self.shared.node.publishers_info(&active.topic) {
                    active.publisher_nodes = publisher_names(&publishers);
                }
            }
            let sample = Sample {
                route: active.route,
                sink_topic: active.sink_topic,
                topic: &active.topic,
                type_text: &active.type_text,
                taken: &taken,
                publisher_node: active.publisher_nodes.get(&info.publisher_gid).cloned(),
                info,
                stats,
            };
            if self.sink.deliver(sample).is_err() {
                return Drained::SinkGone;
            }
        }
    }

    /// Starts a probe for every reliable subscription a publisher of which
    /// fell silent against its cadence (see [`super::watched`]).
    fn start_probes(&mut self, limiter: &RateLimiter) {
        let now = Instant::now();
        for active in &mut self.active {
            if !self.sink.has_room(active.route) {
                continue;
            }
            let shared = &self.shared;
            let started = active.watched.check_stall(now, |qos| {
                shared.subscription(&active.topic, &active.type_name, qos)
            });
            match started {
                Ok(Some(stall)) => tracing::debug!(
                    "{}: a publisher silent for {:.1?} (usually every {:.1?}): probing",
                    active.topic,
                    stall.silent_for,
                    stall.usual_interval
                ),
                Ok(None) => {}
                Err(e) => limiter.warn(|| format!("{}: cannot probe: {e:#}", active.topic)),
            }
        }
    }

    /// Replaces each wedged subscription by its probe, after taking what
    /// the old one can still deliver. False once the dora side is gone.
    fn resolve_probes(&mut self, limiter: &RateLimiter) -> bool {
        let now = Instant::now();
        for index in 0..self.active.len() {
            if self.active[index].watched.resolve_probe(now) != ProbeOutcome::Wedged {
                continue;
            }
            match self.drain(index, limiter) {
                Drained::SinkGone => return false,
                Drained::Empty => {
                    let active = &mut self.active[index];
                    active.watched.promote();
                    tracing::warn!("{}", describe_wedge(&active.topic));
                }
                // Next time: the old one may still hold deliverable samples.
                Drained::QueueFull | Drained::TakeFailed => {}
            }
        }
        true
    }

    fn handle_event(&mut self, index: usize, event: usize) {
        let active = &mut self.active[index];
        match active.watched.subscription_mut().take_event(event) {
            Ok(Some(SubscriptionEvent::IncompatibleQos { policy, .. }))
                if self.routes[active.route].qos == QosSetting::Auto =>
            {
                // The graph event that brought the publisher re-plans the
                // subscription to match it; this event only comes first.
                tracing::info!(
                    "{}: a new publisher offers another {policy}; `qos: auto` re-subscribes to match",
                    active.topic
                );
            }
            Ok(Some(SubscriptionEvent::IncompatibleQos { total, policy })) => {
                let offered = self
                    .shared
                    .node
                    .publishers_info(&active.topic)
                    .map(|pubs| {
                        pubs.iter()
                            .map(|p| format!("{}: {}", p.node(), describe_qos(&p.qos)))
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                    .unwrap_or_default();
                tracing::error!(
                    "{}: INCOMPATIBLE QoS ({policy}), {total} publisher(s) so far cannot reach the bridge. \
                     Bridge subscribes with {}; publishers offer: {offered}. \
                     Use `qos: auto` or a matching profile.",
                    active.topic,
                    describe_qos(active.watched.qos())
                );
            }
            Ok(Some(SubscriptionEvent::MessageLost { lost }))
                if active.watched.counts_message_lost_events() =>
            {
                self.routes[active.route]
                    .stats
                    .dropped_by_middleware
                    .fetch_add(lost, Ordering::Relaxed);
                let topic = &active.topic;
                self.loss_warnings.warn(|| {
                    format!(
                        "{topic}: the middleware reports {lost} message(s) lost before the bridge \
                         could take them (MESSAGE_LOST; counted as dropped_by_middleware)"
                    )
                });
            }
            Ok(Some(SubscriptionEvent::MessageLost { .. })) | Ok(None) => {}
            Err(e) => tracing::debug!("{}: cannot take event: {e}", active.topic),
        }
    }

    /// Matches route `route_index`'s subscription on a topic to what the
    /// graph now shows of it.
    fn plan(&mut self, route_index: usize, state: &TopicState) {
        let foreign = state.foreign_publishers();
        self.count_peers(route_index, &state.topic, foreign.len());
        let route = &self.routes[route_index];
        let by_pattern = !route.target.named().contains(&state.topic);
        if by_pattern && foreign.is_empty() {
            // A pattern's topic only the bridge (or nobody) publishes: an
            // existing subscription is retired after ORPHAN_GRACE.
            if let Some(existing) = self
                .active
                .iter_mut()
                .find(|a| a.route == route_index && *a.topic == *state.topic)
            {
                // The publishers that left are not silent ones to probe.
                existing.watched.set_matched(state.publisher_gids());
                existing.orphaned_since.get_or_insert_with(Instant::now);
            }
            return;
        }
        let Some(type_name) = self.route_type(route_index, state) else {
            return;
        };
        let route = &self.routes[route_index];
        let qos = match &route.qos {
            QosSetting::Auto => {
                auto_subscription_qos(&foreign.iter().map(|p| p.qos).collect::<Vec<_>>())
            }
            setting => super::qos::profile(setting),
        };
        let qos = reader_history(qos, route.reader_keeps_all);
        let qos = reader_depth(qos, route.reader_depth);
        let publisher_nodes = publisher_names(&state.publishers);
        if let Some(existing) = self
            .active
            .iter_mut()
            .find(|a| a.route == route_index && *a.topic == *state.topic)
            && existing.type_name == type_name
            && same_qos(existing.watched.qos(), &qos)
        {
            existing.watched.set_matched(state.publisher_gids());
            existing.publisher_nodes = publisher_nodes;
            existing.orphaned_since = None;
            tracing::debug!(
                "{}: {} publisher(s) matched",
                state.topic,
                state.publishers.len()
            );
            return;
        }
        let subscription = Subscribing {
            type_name,
            qos,
            publisher_nodes,
            matched: state.publisher_gids(),
            offered: foreign.into_iter().cloned().collect(),
        };
        self.subscribe(route_index, &state.topic, subscription);
    }

    /// Sets the route's `peers` gauge: the publishers but the bridge on
    /// each of its topics, summed.
    fn count_peers(&mut self, route_index: usize, topic: &str, publishers: usize) {
        self.peer_counts
            .insert((route_index, topic.to_string()), publishers);
        let total = self
            .peer_counts
            .iter()
            .filter(|((route, _), _)| *route == route_index)
            .map(|(_, count)| count)
            .sum();
        self.routes[route_index].stats.peers.set(total);
    }

    /// The route's type, or the one type the graph shows for the topic.
    /// None (said once) while it cannot be known.
    fn route_type(&mut self, route_index: usize, state: &TopicState) -> Option<TypeName> {
        let route = &self.routes[route_index];
        if let Some(t) = &route.type_name {
            return Some(t.clone());
        }
        let label = route.label.clone();
        let topic = &state.topic;
        match state.types.as_slice() {
            [] => {
                let key = format!("pending {route_index} {topic}");
                let say =
                    || format!("{label}: waiting for a publisher on {topic} to learn its type");
                self.tell(key, say, false);
                None
            }
            [one] => match TypeName::parse(one) {
                Ok(t) => Some(t),
                Err(e) => {
                    let say = || format!("{label}: {topic}: {e}");
                    self.tell(format!("badtype {topic} {one}"), say, true);
                    None
                }
            },
            many => {
                let many = many.join(", ");
                let say = || {
                    format!("{label}: {topic} has several types ({many}); give `type:` to choose")
                };
                self.tell(format!("multi {topic} {many}"), say, true);
                None
            }
        }
    }

    fn subscribe(&mut self, route_index: usize, topic: &str, new: Subscribing) {
        let Subscribing {
            type_name,
            qos,
            publisher_nodes,
            matched,
            offered,
        } = new;
        let label = self.routes[route_index].label.clone();
        let publishers: Vec<&EndpointInfo> = offered.iter().collect();
        let new_topic = NewTopic {
            route: route_index,
            topic,
            type_name: &type_name,
            qos: &qos,
            publishers: &publishers,
        };
        let sink_topic = match self.sink.new_topic(&new_topic) {
            Ok(t) => t,
            Err(e) => {
                self.tell(
                    format!("codec {route_index} {topic} {type_name}"),
                    || format!("{label}: {topic}: {e}"),
                    true,
                );
                return;
            }
        };
        let replaced = self
            .active
            .iter()
            .position(|a| a.route == route_index && *a.topic == *topic);
        // Drop the old subscription first: one subscription per topic and
        // route. Its publishers' numbering carries over.
        let mut numbering = None;
        if let Some(i) = replaced {
            let old = self.active.remove(i);
            tracing::info!(
                "{label}: re-subscribing {topic}: {} {} -> {} {}",
                old.type_name,
                describe_qos(old.watched.qos()),
                type_name,
                describe_qos(&qos)
            );
            numbering = Some(old.watched.into_numbering());
        }
        match self.shared.subscription(topic, &type_name, qos) {
            Ok(subscription) => {
                let reliable = qos.reliability
                    != super::rcl::Reliability::RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT;
                self.routes[route_index]
                    .stats
                    .reliable_reader
                    .set(usize::from(reliable));
                if replaced.is_none() {
                    tracing::info!(
                        "{label}: subscribed to {topic} ({type_name}, {})",
                        describe_qos(&qos)
                    );
                }
                let mut watched = match numbering {
                    Some(n) => WatchedSubscription::continuing(n, subscription, qos),
                    None => WatchedSubscription::new(subscription, qos),
                };
                watched.set_matched(matched);
                self.active.push(Active {
                    route: route_index,
                    topic: Arc::from(topic),
                    type_text: Arc::from(type_name.to_string()),
                    type_name,
                    sink_topic,
                    watched,
                    publisher_nodes,
                    nodes_refreshed: None,
                    orphaned_since: None,
                });
            }
            Err(e) => {
                self.tell(
                    format!("sub {route_index} {topic} {type_name}"),
                    || format!("{label}: {e:#}"),
                    true,
                );
            }
        }
    }
}

/// KEEP_ALL for a reliable subscription whose route asks for it; the
/// profile as it is otherwise (a best-effort reader cannot hold a
/// publisher back, so its history stays as configured).
fn reader_history(mut qos: QosProfile, keeps_all: bool) -> QosProfile {
    if keeps_all && qos.reliability == super::rcl::Reliability::RMW_QOS_POLICY_RELIABILITY_RELIABLE
    {
        qos.history = super::rcl::History::RMW_QOS_POLICY_HISTORY_KEEP_ALL;
    }
    qos
}

/// A best-effort reader keeps `depth` samples when a depth is given.
fn reader_depth(mut qos: QosProfile, depth: Option<usize>) -> QosProfile {
    if let Some(depth) = depth
        && qos.reliability != super::rcl::Reliability::RMW_QOS_POLICY_RELIABILITY_RELIABLE
    {
        qos.history = super::rcl::History::RMW_QOS_POLICY_HISTORY_KEEP_LAST;
        qos.depth = depth;
    }
    qos
}

/// GID -> node name for the publishers whose node the graph knows.
fn publisher_names(publishers: &[super::rcl::EndpointInfo]) -> HashMap<Vec<u8>, Arc<str>> {
    publishers
        .iter()
        .filter_map(|p| Some((p.gid.clone(), Arc::from(p.known_node()?))))
        .collect()
}
