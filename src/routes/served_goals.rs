//! The goals an `action_servers` route serves, as a pure state machine by
//! rcl_action's rules: goals accepted under unique ids, cancels by id, by
//! stamp or all, results answered at once for ended goals and later for
//! running ones, and ended goals kept for late result requests until
//! `result_timeout`. No rcl, no dora: `H` is whatever identifies a waiting
//! result request (rcl's request header in the route), times come in.

use crate::codec::action::{GoalId, GoalStatus, Stamp, cancel_code};
use std::collections::HashMap;
use std::time::{Duration, Instant};

struct ServedGoal<H> {
    accepted_at: Stamp,
    status: GoalStatus,
    /// Once ended: the `_GetResult_Response` and when it may be forgotten.
    result: Option<(Vec<u8>, Instant)>,
    /// Result requests that came before the end.
    result_waiters: Vec<H>,
}

/// What to do with a result request.
#[derive(Debug, PartialEq)]
pub enum ResultRequest {
    /// The goal ended: answer with its `_GetResult_Response`.
    Ended(Vec<u8>),
    /// The goal runs: the answer goes out when it ends.
    Later,
    /// No such goal (never, or forgotten): answer `STATUS_UNKNOWN`.
    Unknown,
}

pub struct ServedGoals<H> {
    result_timeout: Duration,
    goals: HashMap<GoalId, ServedGoal<H>>,
}

impl<H> ServedGoals<H> {
    pub fn new(result_timeout: Duration) -> Self {
        ServedGoals {
            result_timeout,
            goals: HashMap::new(),
        }
    }

    /// Whether a goal of this id is still known (running, or ended and
    /// kept): a new goal may not reuse it.
    pub fn is_in_use(&self, id: GoalId) -> bool {
        self.goals.contains_key(&id)
    }

    /// The handler has the goal: it executes.
    pub fn accepted(&mut self, id: GoalId, at: Stamp) {
        let goal = ServedGoal {
            accepted_at: at,
            status: GoalStatus::Executing,
            result: None,
            result_waiters: Vec::new(),
        };
        self.goals.insert(id, goal);
    }

    /// Whether `id` runs (rows of the handler may name it).
    pub fn is_active(&self, id: GoalId) -> bool {
        self.goals.get(&id).is_some_and(|g| !g.status.is_terminal())
    }

    /// The running goals, oldest first.
    pub fn active(&self) -> Vec<GoalId> {
        let mut active: Vec<(Stamp, GoalId)> = self
            .goals
            .iter()
            .filter(|(_, g)| !g.status.is_terminal())
            .map(|(id, g)| (g.accepted_at, *id))
            .collect();
        active.sort();
        active.into_iter().map(|(_, id)| id).collect()
    }

    /// A cancel request: `named` alone is that goal (`GOAL_TERMINATED` if
    /// it cannot be canceled, `UNKNOWN_GOAL_ID` if unknown); zero id and
    /// zero stamp is every goal; a stamp adds every goal accepted at or
    /// before it (then the code is `NONE`, even for no goal). Only
    /// accepted or executing goals move to canceling; they are returned,
    /// oldest first, with the code to answer.
    pub fn cancel(&mut self, named: GoalId, before: Stamp) -> (i8, Vec<(GoalId, Stamp)>) {
        let cancelable =
            |g: &ServedGoal<H>| matches!(g.status, GoalStatus::Accepted | GoalStatus::Executing);
        if !named.is_zero() && before.is_zero() {
            match self.goals.get(&named) {
                Some(goal) if cancelable(goal) => {}
                Some(_) => return (cancel_code::GOAL_TERMINATED, Vec::new()),
                None => return (cancel_code::UNKNOWN_GOAL_ID, Vec::new()),
            }
        }
        let every = named.is_zero() && before.is_zero();
        let mut canceling: Vec<(GoalId, Stamp)> = self
            .goals
            .iter_mut()
            .filter(|(id, g)| {
                cancelable(g)
                    && (every || **id == named || (!before.is_zero() && g.accepted_at <= before))
            })
            .map(|(id, g)| {
                g.status = GoalStatus::Canceling;
                (*id, g.accepted_at)
            })
            .collect();
        canceling.sort_by_key(|(id, at)| (*at, *id));
        (cancel_code::NONE, canceling)
    }

    /// A result request for `id` from `waiter`.
    pub fn result_request(&mut self, id: GoalId, waiter: H) -> ResultRequest {
        match self.goals.get_mut(&id) {
            Some(ServedGoal {
                result: Some((answer, _)),
                ..
            }) => ResultRequest::Ended(answer.clone()),
            Some(goal) => {
                goal.result_waiters.push(waiter);
                ResultRequest::Later
            }
            None => ResultRequest::Unknown,
        }
    }

    /// The goal ended with `status` and `answer` (its `_GetResult_Response`):
    /// kept until `result_timeout` from `now`. Returns the result requests
    /// waiting for it, to answer now; `None` if `id` was not running.
    pub fn end(
        &mut self,
        id: GoalId,
        status: GoalStatus,
        answer: Vec<u8>,
        now: Instant,
    ) -> Option<Vec<H>> {
        let goal = self
            .goals
            .get_mut(&id)
            .filter(|g| !g.status.is_terminal())?;
        goal.status = status;
        goal.result = Some((answer, super::later(now, self.result_timeout)));
        Some(std::mem::take(&mut goal.result_waiters))
    }

    /// Forgets ended goals kept `result_timeout`; true if any went (the
    /// status array changed).
    pub fn forget_expired(&mut self, now: Instant) -> bool {
        let before = self.goals.len();
        self.goals
            .retain(|_, g| g.result.as_ref().is_none_or(|(_, until)| *until > now));
        self.goals.len() != before
    }

    /// Every goal known, for the status array: oldest first.
    pub fn statuses(&self) -> Vec<(GoalId, Stamp, GoalStatus)> {
        let mut goals: Vec<(GoalId, Stamp, GoalStatus)> = self
            .goals
            .iter()
            .map(|(id, g)| (*id, g.accepted_at, g.status))
            .collect();
        goals.sort_by_key(|(id, stamp, _)| (*stamp, *id));
        goals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: Duration = Duration::from_secs(10);

    fn id(n: u8) -> GoalId {
        GoalId([n; 16])
    }

    fn at(sec: i32) -> Stamp {
        Stamp { sec, nanosec: 0 }
    }

    const ZERO: GoalId = GoalId([0; 16]);

    /// Goals 1, 2, 3 accepted at seconds 1, 2, 3.
    fn three_goals() -> ServedGoals<&'static str> {
        let mut goals = ServedGoals::new(KEEP);
        for n in 1..=3 {
            goals.accepted(id(n), at(n as i32));
        }
        goals
    }

    fn canceled(answer: (i8, Vec<(GoalId, Stamp)>)) -> (i8, Vec<GoalId>) {
        (answer.0, answer.1.into_iter().map(|(id, _)| id).collect())
    }

    #[test]
    fn a_cancel_by_id_cancels_that_goal_and_says_why_it_cannot() {
        let t0 = Instant::now();
        let mut goals = three_goals();
        let none = cancel_code::NONE;
        assert_eq!(
            canceled(goals.cancel(id(2), Stamp::default())),
            (none, vec![id(2)])
        );
        // Canceling is not cancelable again; an ended goal neither.
        let terminated = (cancel_code::GOAL_TERMINATED, vec![]);
        assert_eq!(canceled(goals.cancel(id(2), Stamp::default())), terminated);
        goals.end(id(1), GoalStatus::Succeeded, vec![1], t0);
        assert_eq!(canceled(goals.cancel(id(1), Stamp::default())), terminated);
        let unknown = (cancel_code::UNKNOWN_GOAL_ID, vec![]);
        assert_eq!(canceled(goals.cancel(id(9), Stamp::default())), unknown);
    }

    #[test]
    fn a_cancel_by_stamp_takes_every_goal_accepted_until_then_and_zero_takes_all() {
        let mut goals = three_goals();
        assert_eq!(
            canceled(goals.cancel(ZERO, at(2))),
            (cancel_code::NONE, vec![id(1), id(2)])
        );
        // A stamp before every goal: NONE, and nothing.
        assert_eq!(
            canceled(goals.cancel(ZERO, Stamp { sec: 0, nanosec: 1 })),
            (cancel_code::NONE, vec![])
        );
        // An id and a stamp: that goal and those before the stamp.
        let mut goals = three_goals();
        assert_eq!(
            canceled(goals.cancel(id(3), at(1))),
            (cancel_code::NONE, vec![id(1), id(3)])
        );
        let mut goals = three_goals();
        assert_eq!(
            canceled(goals.cancel(ZERO, Stamp::default())),
            (cancel_code::NONE, vec![id(1), id(2), id(3)])
        );
        let statuses: Vec<GoalStatus> = goals.statuses().iter().map(|s| s.2).collect();
        assert_eq!(statuses, [GoalStatus::Canceling; 3]);
    }

    #[test]
    fn a_result_request_before_the_end_is_answered_at_the_end_and_after_it_at_once() {
        let t0 = Instant::now();
        let mut goals = three_goals();
        assert_eq!(goals.result_request(id(1), "early"), ResultRequest::Later);
        assert_eq!(
            goals.result_request(id(1), "early too"),
            ResultRequest::Later
        );
        let waiters = goals.end(id(1), GoalStatus::Aborted, vec![6], t0);
        assert_eq!(waiters, Some(vec!["early", "early too"]));
        assert_eq!(
            goals.result_request(id(1), "late"),
            ResultRequest::Ended(vec![6])
        );
        assert_eq!(goals.result_request(id(7), "lost"), ResultRequest::Unknown);
    }

    #[test]
    fn a_goal_ends_once_and_its_result_is_kept_until_the_result_timeout() {
        let t0 = Instant::now();
        let mut goals = three_goals();
        assert!(
            goals
                .end(id(2), GoalStatus::Succeeded, vec![4], t0)
                .is_some()
        );
        assert!(!goals.is_active(id(2)));
        assert_eq!(
            goals.end(id(2), GoalStatus::Aborted, vec![6], t0),
            None,
            "ended once"
        );
        assert_eq!(goals.active(), [id(1), id(3)]);
        assert!(!goals.forget_expired(t0 + KEEP - Duration::from_millis(1)));
        assert!(goals.is_in_use(id(2)), "kept: its id may not be reused yet");
        assert!(goals.forget_expired(t0 + KEEP));
        assert!(!goals.is_in_use(id(2)));
        assert_eq!(goals.result_request(id(2), "late"), ResultRequest::Unknown);
        assert_eq!(
            goals.statuses().len(),
            2,
            "running goals are never forgotten"
        );
    }

    #[test]
    fn a_repeated_goal_id_is_in_use_while_its_goal_is_known() {
        let mut goals: ServedGoals<()> = ServedGoals::new(KEEP);
        assert!(!goals.is_in_use(id(1)));
        goals.accepted(id(1), at(1));
        assert!(goals.is_in_use(id(1)));
        assert!(goals.is_active(id(1)));
        assert!(!goals.is_active(id(2)));
    }
}
