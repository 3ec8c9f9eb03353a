//! Goals an `action_servers` route holds for its handler's decision (with
//! `accept:`): the goal request stays unanswered until the handler accepts
//! or rejects it, or its `accept_timeout` passes. Pure: `H` is whatever
//! answers the request later (rcl's request header in the route).

use crate::codec::action::{GoalId, Stamp};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A goal request held for the handler.
#[derive(Debug, PartialEq)]
pub struct Held<H> {
    pub id: GoalId,
    /// Answers the goal request.
    pub request: H,
    /// When the request came: the goal's acceptance stamp if accepted.
    pub stamp: Stamp,
}

pub struct GoalDecisions<H> {
    timeout: Duration,
    held: HashMap<GoalId, (Held<H>, Instant)>,
}

impl<H> GoalDecisions<H> {
    pub fn new(timeout: Duration) -> Self {
        GoalDecisions {
            timeout,
            held: HashMap::new(),
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn is_held(&self, id: GoalId) -> bool {
        self.held.contains_key(&id)
    }

    pub fn hold(&mut self, id: GoalId, request: H, stamp: Stamp, now: Instant) {
        let deadline = super::later(now, self.timeout);
        let held = Held { id, request, stamp };
        self.held.insert(id, (held, deadline));
    }

    /// The handler decided on `id`: the request to answer, if it waits.
    pub fn decide(&mut self, id: GoalId) -> Option<Held<H>> {
        self.held.remove(&id).map(|(held, _)| held)
    }

    /// The goals whose decision did not come in time, oldest first.
    pub fn overdue(&mut self, now: Instant) -> Vec<Held<H>> {
        let ids: Vec<GoalId> = self
            .held
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        let mut overdue: Vec<(Held<H>, Instant)> =
            ids.iter().filter_map(|id| self.held.remove(id)).collect();
        overdue.sort_by_key(|(_, deadline)| *deadline);
        overdue.into_iter().map(|(held, _)| held).collect()
    }

    /// Every held goal (the handler is gone).
    pub fn drain(&mut self) -> Vec<Held<H>> {
        self.held.drain().map(|(_, (held, _))| held).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> GoalId {
        GoalId::parse(&format!("{n:032x}")).unwrap()
    }

    #[test]
    fn a_goal_is_decided_once_or_overdue() {
        let start = Instant::now();
        let mut decisions = GoalDecisions::new(Duration::from_secs(5));
        decisions.hold(id(1), "first", Stamp::default(), start);
        decisions.hold(
            id(2),
            "second",
            Stamp::default(),
            start + Duration::from_secs(1),
        );
        assert!(decisions.is_held(id(1)));
        assert_eq!(decisions.decide(id(1)).map(|h| h.request), Some("first"));
        assert_eq!(decisions.decide(id(1)), None, "decided once");
        assert!(decisions.overdue(start + Duration::from_secs(5)).is_empty());
        let late = decisions.overdue(start + Duration::from_secs(6));
        assert_eq!(
            late.iter().map(|h| h.request).collect::<Vec<_>>(),
            ["second"]
        );
        assert!(decisions.drain().is_empty());
    }
}
