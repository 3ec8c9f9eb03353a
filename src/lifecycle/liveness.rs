//! Liveness of the ROS nodes a bridge stands for, from the ROS graph's node
//! list. A pure state machine: the ROS receiver feeds it the node names it
//! sees on every graph change and at the deadlines it asks for; the bridge
//! acts on the transitions it returns.
//!
//! Why debounce: a node leaving shows in the graph within milliseconds when
//! it exits cleanly, but endpoints and names flicker while a node starts or
//! stops, and a restart under the same name is not a loss.

use crate::ros::receiver::NodeObserver;
use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, Instant, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Not yet seen since the bridge started.
    Waiting,
    Alive,
    Lost,
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NodeState::Waiting => "waiting",
            NodeState::Alive => "alive",
            NodeState::Lost => "lost",
        })
    }
}

/// A watched node changed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub node: String,
    pub state: NodeState,
    pub reason: String,
    /// Wall-clock time of the observation that caused it.
    pub stamp: SystemTime,
    /// The node had been seen before it was lost: it left the graph
    /// (rather than never showing up).
    pub was_seen: bool,
}

struct Watched {
    name: String,
    state: NodeState,
    seen: bool,
    absent_since: Option<Instant>,
}

pub struct LivenessWatch {
    started: Instant,
    startup_timeout: Duration,
    grace: Duration,
    nodes: Vec<Watched>,
}

impl LivenessWatch {
    pub fn new(names: &[String], startup_timeout: Duration, grace: Duration, now: Instant) -> Self {
        LivenessWatch {
            started: now,
            startup_timeout,
            grace,
            nodes: names
                .iter()
                .map(|name| Watched {
                    name: name.clone(),
                    state: NodeState::Waiting,
                    seen: false,
                    absent_since: None,
                })
                .collect(),
        }
    }

    /// Feeds the nodes present in the graph now; returns what changed.
    pub fn observe(&mut self, present: &HashSet<String>, now: Instant) -> Vec<Transition> {
        let stamp = SystemTime::now();
        let mut changes = Vec::new();
        for node in &mut self.nodes {
            let here = present.contains(&node.name);
            let mut change = |node: &mut Watched, state: NodeState, reason: String| {
                node.state = state;
                changes.push(Transition {
                    node: node.name.clone(),
                    state,
                    reason,
                    stamp,
                    was_seen: node.seen,
                });
            };
            match (node.state, here) {
                (NodeState::Waiting, true) => {
                    node.seen = true;
                    change(node, NodeState::Alive, "appeared in the ROS graph".into());
                }
                (NodeState::Waiting, false) => {
                    if now >= self.started + self.startup_timeout {
                        change(
                            node,
                            NodeState::Lost,
                            format!(
                                "not seen in the ROS graph within {:?} of the bridge's start",
                                self.startup_timeout
                            ),
                        );
                    }
                }
                (NodeState::Alive, true) => node.absent_since = None,
                (NodeState::Alive, false) => {
                    let since = *node.absent_since.get_or_insert(now);
                    if now >= since + self.grace {
                        node.absent_since = None;
                        change(
                            node,
                            NodeState::Lost,
                            "left the ROS graph (it exited, or crashed and its DDS lease expired)"
                                .into(),
                        );
                    }
                }
                (NodeState::Lost, true) => {
                    node.seen = true;
                    change(node, NodeState::Alive, "back in the ROS graph".into());
                }
                (NodeState::Lost, false) => {}
            }
        }
        changes
    }

    /// When `observe` must run next even if the graph does not change.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.nodes
            .iter()
            .filter_map(|node| match (node.state, node.absent_since) {
                (NodeState::Waiting, _) => Some(self.started + self.startup_timeout),
                (NodeState::Alive, Some(since)) => Some(since + self.grace),
                _ => None,
            })
            .min()
    }

    /// Every watched node had been seen and is now lost.
    pub fn all_gone(&self) -> bool {
        !self.nodes.is_empty()
            && self
                .nodes
                .iter()
                .all(|n| n.seen && n.state == NodeState::Lost)
    }
}

/// What the liveness watch tells the bridge after an observation.
pub struct LivenessReport {
    pub transitions: Vec<Transition>,
    /// Every watched node was seen and has left.
    pub all_gone: bool,
}

/// A [`LivenessWatch`] run by the ROS receiver, sending each observation's
/// transitions to the bridge.
pub struct ReportingWatch {
    pub watch: LivenessWatch,
    pub reports: tokio::sync::mpsc::UnboundedSender<LivenessReport>,
}

impl NodeObserver for ReportingWatch {
    fn observe(&mut self, present: &HashSet<String>, now: Instant) {
        let transitions = self.watch.observe(present, now);
        if !transitions.is_empty() {
            let all_gone = self.watch.all_gone();
            // The bridge side may be gone already while shutting down.
            let _ = self.reports.send(LivenessReport {
                transitions,
                all_gone,
            });
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.watch.next_deadline()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> HashSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn watch(now: Instant) -> LivenessWatch {
        LivenessWatch::new(
            &["/talker".into(), "/ns/camera".into()],
            Duration::from_secs(10),
            Duration::from_millis(500),
            now,
        )
    }

    #[test]
    fn nodes_become_alive_when_seen() {
        let t0 = Instant::now();
        let mut w = watch(t0);
        let changes = w.observe(&set(&["/talker", "/other"]), t0);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].node, "/talker");
        assert_eq!(changes[0].state, NodeState::Alive);
        assert_eq!(w.next_deadline(), Some(t0 + Duration::from_secs(10)));
    }

    #[test]
    fn a_node_not_seen_by_the_startup_timeout_is_lost() {
        let t0 = Instant::now();
        let mut w = watch(t0);
        w.observe(&set(&["/talker"]), t0);
        assert!(
            w.observe(&set(&["/talker"]), t0 + Duration::from_secs(9))
                .is_empty()
        );
        let changes = w.observe(&set(&["/talker"]), t0 + Duration::from_secs(10));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].node, "/ns/camera");
        assert_eq!(changes[0].state, NodeState::Lost);
        assert!(!changes[0].was_seen);
        assert!(
            changes[0].reason.contains("not seen"),
            "{}",
            changes[0].reason
        );
        assert!(!w.all_gone());
    }

    #[test]
    fn leaving_counts_only_after_the_grace_period() {
        let t0 = Instant::now();
        let mut w = watch(t0);
        w.observe(&set(&["/talker", "/ns/camera"]), t0);
        let t1 = t0 + Duration::from_secs(1);
        assert!(w.observe(&set(&["/ns/camera"]), t1).is_empty());
        assert_eq!(w.next_deadline(), Some(t1 + Duration::from_millis(500)));
        // Back before the grace ran out: nothing happened.
        assert!(
            w.observe(
                &set(&["/talker", "/ns/camera"]),
                t1 + Duration::from_millis(300)
            )
            .is_empty()
        );
        assert_eq!(w.next_deadline(), None);
        let t2 = t1 + Duration::from_secs(1);
        assert!(w.observe(&set(&["/ns/camera"]), t2).is_empty());
        let changes = w.observe(&set(&["/ns/camera"]), t2 + Duration::from_millis(500));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].state, NodeState::Lost);
        assert!(changes[0].was_seen);
        assert!(changes[0].reason.contains("left the ROS graph"));
    }

    #[test]
    fn a_lost_node_that_returns_is_alive_again_and_all_gone_needs_every_node() {
        let t0 = Instant::now();
        let mut w = watch(t0);
        w.observe(&set(&["/talker", "/ns/camera"]), t0);
        w.observe(&set(&[]), t0 + Duration::from_secs(1));
        w.observe(&set(&[]), t0 + Duration::from_secs(2));
        assert!(w.all_gone());
        let changes = w.observe(&set(&["/talker"]), t0 + Duration::from_secs(3));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].state, NodeState::Alive);
        assert_eq!(changes[0].reason, "back in the ROS graph");
        assert!(!w.all_gone());
    }
}
