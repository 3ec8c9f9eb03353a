//! One watcher of the ROS graph, for the receiver (routes and liveness)
//! and `bag record`: told when the wait set's graph condition fires, it
//! looks again at most every [`LOOK_INTERVAL`] (a node starting creates
//! several endpoints at once) and turns what changed into [`GraphEvent`]s.

use super::rcl::{EndpointInfo, RclNode};
use crate::topics::TopicMatcher;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Graph changes come in bursts: look at most this often.
pub const LOOK_INTERVAL: Duration = Duration::from_millis(100);

/// What changed in the graph since the last look.
#[derive(Debug)]
pub enum GraphEvent {
    /// A wanted topic seen for the first time (with or without publishers
    /// yet), or its types or publishers changed.
    Topic(TopicState),
    /// The fully qualified names of the nodes in the graph, after any change.
    Nodes(HashSet<String>),
}

/// One topic as the graph shows it now.
#[derive(Debug)]
pub struct TopicState {
    pub topic: String,
    /// Its types (a topic can have several, which is an error for us).
    pub types: Vec<String>,
    /// Every publisher, the bridge's own included.
    pub publishers: Vec<EndpointInfo>,
    own_node: String,
}

impl TopicState {
    /// Publishers other than the bridge's own node (it publishes `to_ros`
    /// topics, which patterns must not loop back into dora).
    pub fn foreign_publishers(&self) -> Vec<&EndpointInfo> {
        self.publishers
            .iter()
            .filter(|p| p.node() != self.own_node)
            .collect()
    }

    /// The GIDs of every publisher: the ones a subscription is matched to.
    pub fn publisher_gids(&self) -> HashSet<Vec<u8>> {
        self.publishers.iter().map(|p| p.gid.clone()).collect()
    }
}

pub struct GraphWatcher {
    wanted: TopicMatcher,
    own_node: String,
    /// What each wanted topic looked like at the last look.
    seen: HashMap<String, TopicFingerprint>,
    look_at: Option<Instant>,
    last_look: Option<Instant>,
}

/// What decides whether a topic changed: its types and, per publisher,
/// the GID, node and offered QoS.
#[derive(Debug, PartialEq, Eq)]
struct TopicFingerprint {
    types: Vec<String>,
    publishers: Vec<(Vec<u8>, String, String)>,
}

impl TopicFingerprint {
    fn of(types: &[String], publishers: &[EndpointInfo]) -> Self {
        let mut publishers: Vec<_> = publishers
            .iter()
            .map(|p| (p.gid.clone(), p.node(), super::graph::describe_qos(&p.qos)))
            .collect();
        publishers.sort();
        let mut types = types.to_vec();
        types.sort();
        TopicFingerprint { types, publishers }
    }
}

impl GraphWatcher {
    /// Watches the topics `wanted` takes; the first look is due at once.
    pub fn new(wanted: TopicMatcher, own_node: &str) -> Self {
        GraphWatcher {
            wanted,
            own_node: own_node.to_string(),
            seen: HashMap::new(),
            look_at: Some(Instant::now()),
            last_look: None,
        }
    }

    /// The wait set's graph condition fired.
    pub fn graph_changed(&mut self) {
        if self.look_at.is_none() {
            let earliest = self
                .last_look
                .map_or_else(Instant::now, |at| at + LOOK_INTERVAL);
            self.look_at = Some(earliest.max(Instant::now()));
        }
    }

    /// When the next look is due, if one is.
    pub fn deadline(&self) -> Option<Instant> {
        self.look_at
    }

    /// Looks at the graph if a look is due: the wanted topics that are new
    /// or changed, then the nodes.
    pub fn look(&mut self, node: &RclNode) -> Vec<GraphEvent> {
        if self.look_at.is_none_or(|at| Instant::now() < at) {
            return Vec::new();
        }
        self.look_at = None;
        self.last_look = Some(Instant::now());
        let graph = match node.topic_names_and_types() {
            Ok(topics) => topics,
            Err(e) => {
                tracing::warn!("cannot read the ROS graph: {e}");
                return Vec::new();
            }
        };
        let types: HashMap<&str, &Vec<String>> =
            graph.iter().map(|(t, ty)| (t.as_str(), ty)).collect();
        let mut events = Vec::new();
        for topic in self.wanted.select(graph.iter().map(|(t, _)| t.as_str())) {
            let publishers = match node.publishers_info(&topic) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!("{topic}: cannot list publishers: {e}");
                    continue;
                }
            };
            let types = types
                .get(topic.as_str())
                .map_or_else(Vec::new, |t| t.to_vec());
            let fingerprint = TopicFingerprint::of(&types, &publishers);
            if self.seen.get(&topic) == Some(&fingerprint) {
                continue;
            }
            self.seen.insert(topic.clone(), fingerprint);
            events.push(GraphEvent::Topic(TopicState {
                topic,
                types,
                publishers,
                own_node: self.own_node.clone(),
            }));
        }
        // A topic gone from the graph is new again when it comes back (and
        // topics that come and go do not pile up here).
        // Named topics stay: they are selected whether present or not.
        let named = self.wanted.named();
        self.seen
            .retain(|topic, _| types.contains_key(topic.as_str()) || named.contains(topic));
        match node.node_names() {
            Ok(names) => events.push(GraphEvent::Nodes(names.into_iter().collect())),
            Err(e) => tracing::warn!("cannot list ROS nodes: {e}"),
        }
        events
    }
}
