//! The goals an `action_clients` route follows, as a pure state machine:
//! every method takes what happened (a goal queued, an answer with the
//! sequence number rcl gave its request, a tick with the time) and returns
//! the [`Effect`]s for the route to carry out (send a request, emit a row).
//! No rcl, no dora: the races are unit-tested here.

use super::calls::{ServerLeft, Waiting};
use crate::codec::action::{GoalId, GoalStatus};
use arrow::array::ArrayRef;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What the route does next.
#[derive(Debug)]
pub enum Effect {
    /// Ask for the goal's result (at once after acceptance, as rcl_action
    /// clients do: the server answers when the goal ends). Report the
    /// request with [`GoalBook::result_requested`].
    RequestResult(GoalId),
    /// Cancel the goal. Report the request with [`GoalBook::cancel_sent`].
    SendCancel(GoalId),
    /// The goal's status moved forward: a row on `status`.
    Status(GoalId, GoalStatus),
    /// The goal's one `result` row; the book forgot the goal.
    End(GoalId, Ending),
    /// An answer no goal waits for (counted as unmatched).
    Unmatched,
    /// Something to tell the user.
    Warn(String),
}

/// How a goal ended.
#[derive(Debug)]
pub enum Ending {
    /// The server's answer: status and result row.
    Answered(GoalStatus, ArrayRef),
    /// Canceled before it was sent: an empty result row.
    CanceledUnsent,
    /// `rejected` or `error`, with the reason.
    Failed(&'static str, String),
}

impl Ending {
    fn error(why: impl Into<String>) -> Self {
        Ending::Failed("error", why.into())
    }
}

/// A goal not sent yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsent {
    pub id: GoalId,
    /// `_SendGoal_Request`.
    pub cdr: Vec<u8>,
}

struct Goal {
    /// Until the server accepts the goal; then the result may take as long
    /// as the goal takes.
    answer_by: Option<Instant>,
    status: GoalStatus,
    /// Canceled before the server accepted it: the cancel goes out with
    /// the acceptance (sent earlier, it could overtake the goal request).
    cancel_pending: bool,
}

pub struct GoalBook {
    timeout: Duration,
    waiting: Waiting<Unsent>,
    /// Goals sent and not ended.
    goals: HashMap<GoalId, Goal>,
    /// Requests in flight by the sequence number rcl gave them.
    goal_requests: HashMap<i64, GoalId>,
    result_requests: HashMap<i64, GoalId>,
    cancel_requests: HashMap<i64, GoalId>,
    /// Goal requests given up (no answer in time): if the server accepts
    /// one after all, it is canceled, so no goal runs that nobody follows.
    abandoned: HashMap<i64, GoalId>,
    server_left: ServerLeft,
}

impl GoalBook {
    /// Goals waiting to be sent, or sent and not ended.
    pub fn open(&self) -> usize {
        self.waiting.len() + self.goals.len()
    }

    pub fn new(timeout: Duration) -> Self {
        GoalBook {
            timeout,
            waiting: Waiting::new(timeout),
            goals: HashMap::new(),
            goal_requests: HashMap::new(),
            result_requests: HashMap::new(),
            cancel_requests: HashMap::new(),
            abandoned: HashMap::new(),
            server_left: ServerLeft::default(),
        }
    }

    /// A goal from dora, in order behind the others; refused when its id
    /// is one this route still follows.
    pub fn queue(&mut self, goal: Unsent, now: Instant) -> Result<(), String> {
        let id = goal.id;
        if self.goals.contains_key(&id) || self.waiting.iter().any(|g| g.id == id) {
            return Err(format!(
                "goal id {id} is already in use by a goal of this route"
            ));
        }
        self.waiting.push(goal, now);
        Ok(())
    }

    pub fn has_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Whether the route follows anything a server still has to answer.
    pub fn is_following(&self) -> bool {
        !self.goals.is_empty() || !self.abandoned.is_empty()
    }

    /// The waiting goals, to send now (there is a server). Report each with
    /// [`sent`](Self::sent) or [`not_sent`](Self::not_sent).
    pub fn take_waiting(&mut self) -> Vec<Unsent> {
        std::iter::from_fn(|| self.waiting.pop()).collect()
    }

    pub fn sent(&mut self, id: GoalId, sequence: i64, now: Instant) {
        self.goal_requests.insert(sequence, id);
        let goal = Goal {
            answer_by: Some(super::later(now, self.timeout)),
            status: GoalStatus::Unknown,
            cancel_pending: false,
        };
        self.goals.insert(id, goal);
    }

    pub fn not_sent(&mut self, id: GoalId, why: String) -> Effect {
        self.end(id, Ending::error(format!("cannot send the goal: {why}")))
    }

    /// The server's answer to a goal request: accepted, rejected, or
    /// `Err` when the answer was malformed.
    pub fn goal_answered(&mut self, sequence: i64, accepted: Result<bool, String>) -> Vec<Effect> {
        let Some(id) = self.goal_requests.remove(&sequence) else {
            let mut effects = vec![Effect::Unmatched];
            if let Some(id) = self.abandoned.remove(&sequence)
                && accepted == Ok(true)
            {
                // Accepted after the route gave it up: nobody follows it.
                effects.push(Effect::SendCancel(id));
            }
            return effects;
        };
        match accepted {
            Ok(true) => self.accepted(id),
            Ok(false) => {
                let why = "the action server rejected the goal".to_string();
                vec![self.end(id, Ending::Failed("rejected", why))]
            }
            Err(e) => {
                let why = format!("malformed answer to the goal request: {e}");
                vec![self.end(id, Ending::error(why))]
            }
        }
    }

    fn accepted(&mut self, id: GoalId) -> Vec<Effect> {
        let mut effects: Vec<Effect> = self
            .set_status(id, GoalStatus::Accepted)
            .into_iter()
            .collect();
        if let Some(goal) = self.goals.get_mut(&id) {
            goal.answer_by = None;
            if goal.cancel_pending {
                effects.push(Effect::SendCancel(id));
            }
        }
        effects.push(Effect::RequestResult(id));
        effects
    }

    pub fn result_requested(
        &mut self,
        id: GoalId,
        sequence: Result<i64, String>,
    ) -> Option<Effect> {
        match sequence {
            Ok(sequence) => {
                self.result_requests.insert(sequence, id);
                None
            }
            Err(e) => Some(self.end(id, Ending::error(format!("cannot ask for the result: {e}")))),
        }
    }

    /// The server's answer to a result request, as the route read it.
    pub fn result_answered(&mut self, sequence: i64, ending: Ending) -> Effect {
        match self.result_requests.remove(&sequence) {
            Some(id) => self.end(id, ending),
            None => Effect::Unmatched,
        }
    }

    pub fn cancel_sent(&mut self, id: GoalId, sequence: i64) {
        self.cancel_requests.insert(sequence, id);
    }

    /// The goal a cancel answer is about, if it is one of ours.
    pub fn cancel_answered(&mut self, sequence: i64) -> Option<GoalId> {
        self.cancel_requests.remove(&sequence)
    }

    /// Whether feedback or status of `id` is ours (the topics are shared
    /// by every client of the action).
    pub fn follows(&self, id: GoalId) -> bool {
        self.goals.contains_key(&id)
    }

    /// A status from the server. The status topic and the goal response
    /// race (`accepted` may come after `executing`): a goal's status only
    /// moves forward.
    pub fn set_status(&mut self, id: GoalId, status: GoalStatus) -> Option<Effect> {
        let goal = self.goals.get_mut(&id)?;
        if status.progress() <= goal.status.progress() {
            return None;
        }
        goal.status = status;
        Some(Effect::Status(id, status))
    }

    /// Cancel the goal `named`, or every goal. Goals not sent yet end at
    /// once; goals not accepted yet are canceled with their acceptance.
    pub fn cancel(&mut self, named: Option<GoalId>) -> Vec<Effect> {
        let wanted = |id: &GoalId| named.is_none_or(|n| n == *id);
        let unsent = self.waiting.take_where(|g| wanted(&g.id));
        let mut effects: Vec<Effect> = unsent
            .into_iter()
            .map(|g| self.end(g.id, Ending::CanceledUnsent))
            .collect();
        let mut sent: Vec<GoalId> = self.goals.keys().copied().filter(wanted).collect();
        sent.sort();
        if let Some(id) = named
            && sent.is_empty()
            && effects.is_empty()
        {
            effects.push(Effect::Warn(format!("cancel: no goal {id} in flight")));
        }
        for id in sent {
            let goal = self.goals.get_mut(&id).expect("listed above");
            if goal.status == GoalStatus::Unknown {
                goal.cancel_pending = true;
            } else {
                effects.push(Effect::SendCancel(id));
            }
        }
        effects
    }

    /// The graph changed; `server_there` says whether it shows the server.
    pub fn graph_changed(&mut self, server_there: bool, now: Instant) {
        if self.is_following() && !server_there {
            self.server_left.seen_gone(now);
        }
    }

    /// Ends what is overdue: goal requests without an answer in `timeout`,
    /// waiting goals without a server in `timeout`, and every goal once
    /// their server has been gone for the grace. `server_there` asks the
    /// graph (a query: only when it matters).
    pub fn tick(&mut self, now: Instant, mut server_there: impl FnMut() -> bool) -> Vec<Effect> {
        let mut effects = self.expire_goal_requests(now);
        if self.server_left.grace_over(now, self.is_following()) && !server_there() {
            // Whatever it had not answered, it never will.
            self.abandoned.clear();
            effects.extend(self.fail_all("the action server left the ROS graph"));
        }
        if self.waiting.any_overdue(now) && !server_there() {
            let why = format!("no action server within {:?}", self.timeout);
            let expired = self.waiting.take_overdue(now);
            effects.extend(
                expired
                    .into_iter()
                    .map(|g| self.end(g.id, Ending::error(why.clone()))),
            );
        }
        effects
    }

    fn expire_goal_requests(&mut self, now: Instant) -> Vec<Effect> {
        let mut overdue: Vec<GoalId> = self
            .goals
            .iter()
            .filter(|(_, g)| g.answer_by.is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        overdue.sort();
        let why = format!("no answer to the goal request within {:?}", self.timeout);
        overdue
            .into_iter()
            .map(|id| {
                if let Some((&sequence, _)) = self.goal_requests.iter().find(|(_, g)| **g == id) {
                    self.abandoned.insert(sequence, id);
                }
                self.end(id, Ending::error(why.clone()))
            })
            .collect()
    }

    fn fail_all(&mut self, why: &str) -> Vec<Effect> {
        let mut ids: Vec<GoalId> = self.goals.keys().copied().collect();
        ids.sort();
        ids.into_iter()
            .map(|id| self.end(id, Ending::error(why)))
            .collect()
    }

    /// Forgets the goal; its `result` row.
    fn end(&mut self, id: GoalId, ending: Ending) -> Effect {
        self.goals.remove(&id);
        self.goal_requests.retain(|_, g| *g != id);
        self.result_requests.retain(|_, g| *g != id);
        self.cancel_requests.retain(|_, g| *g != id);
        Effect::End(id, ending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::calls::SERVER_LEFT_GRACE;
    use arrow::array::{Array, Int32Array};
    use std::sync::Arc;

    const TIMEOUT: Duration = Duration::from_secs(2);

    fn id(n: u8) -> GoalId {
        GoalId([n; 16])
    }

    fn unsent(n: u8) -> Unsent {
        Unsent {
            id: id(n),
            cdr: vec![n],
        }
    }

    /// A book with goal `n` sent as request `sequence` at `t0`.
    fn sent(book: &mut GoalBook, n: u8, sequence: i64, t0: Instant) {
        book.queue(unsent(n), t0).unwrap();
        let goals = book.take_waiting();
        assert_eq!(goals, vec![unsent(n)]);
        book.sent(id(n), sequence, t0);
    }

    fn ends(effects: &[Effect]) -> Vec<(GoalId, String)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::End(id, Ending::Failed(status, why)) => {
                    Some((*id, format!("{status}: {why}")))
                }
                Effect::End(id, Ending::Answered(status, _)) => Some((*id, status.name().into())),
                Effect::End(id, Ending::CanceledUnsent) => Some((*id, "canceled unsent".into())),
                _ => None,
            })
            .collect()
    }

    fn row() -> ArrayRef {
        Arc::new(Int32Array::from(vec![7]))
    }

    #[test]
    fn a_cancel_before_acceptance_goes_out_with_the_acceptance() {
        let t0 = Instant::now();
        let mut book = GoalBook::new(TIMEOUT);
        sent(&mut book, 1, 10, t0);
        assert!(book.cancel(Some(id(1))).is_empty(), "held until accepted");
        let effects = book.goal_answered(10, Ok(true));
        assert!(
            matches!(
                effects.as_slice(),
                [
                    Effect::Status(_, GoalStatus::Accepted),
                    Effect::SendCancel(c),
                    Effect::RequestResult(r)
                ] if *c == id(1) && *r == id(1)
            ),
            "{effects:?}"
        );
        // Accepted: a later cancel goes at once.
        assert!(matches!(
            book.cancel(None).as_slice(),
            [Effect::SendCancel(_)]
        ));
    }

    #[test]
    fn a_result_that_comes_within_the_grace_after_the_server_left_counts() {
        let t0 = Instant::now();
        let mut book = GoalBook::new(TIMEOUT);
        sent(&mut book, 1, 10, t0);
        book.goal_answered(10, Ok(true));
        book.result_requested(id(1), Ok(11));
        book.graph_changed(false, t0);
        let early = book.tick(t0 + Duration::from_millis(100), || false);
        assert!(early.is_empty(), "{early:?}");
        let answer = book.result_answered(11, Ending::Answered(GoalStatus::Succeeded, row()));
        assert!(
            matches!(answer, Effect::End(g, Ending::Answered(GoalStatus::Succeeded, ref r)) if g == id(1) && r.len() == 1)
        );
        assert!(book.tick(t0 + SERVER_LEFT_GRACE, || false).is_empty());
    }

    #[test]
    fn goals_fail_once_their_server_stayed_gone_for_the_grace() {
        let t0 = Instant::now();
        let mut book = GoalBook::new(TIMEOUT);
        sent(&mut book, 1, 10, t0);
        sent(&mut book, 2, 11, t0);
        book.goal_answered(10, Ok(true));
        book.graph_changed(false, t0);
        let failed = book.tick(t0 + SERVER_LEFT_GRACE, || false);
        let why = "error: the action server left the ROS graph".to_string();
        assert_eq!(ends(&failed), vec![(id(1), why.clone()), (id(2), why)]);
        // A late answer finds nothing: counted, not a second row.
        assert!(matches!(
            book.result_answered(12, Ending::CanceledUnsent),
            Effect::Unmatched
        ));
        // Back within the grace: nothing fails.
        sent(&mut book, 3, 13, t0);
        book.graph_changed(false, t0);
        assert!(book.tick(t0 + SERVER_LEFT_GRACE, || true).is_empty());
    }

    #[test]
    fn a_repeated_goal_id_is_refused_while_its_goal_runs() {
        let t0 = Instant::now();
        let mut book = GoalBook::new(TIMEOUT);
        book.queue(unsent(1), t0).unwrap();
        assert!(
            book.queue(unsent(1), t0)
                .unwrap_err()
                .contains("already in use")
        );
        book.take_waiting();
        book.sent(id(1), 10, t0);
        assert!(book.queue(unsent(1), t0).is_err());
        book.goal_answered(10, Ok(false));
        assert!(
            book.queue(unsent(1), t0).is_ok(),
            "ended: the id is free again"
        );
    }

    #[test]
    fn an_unanswered_goal_request_fails_and_is_canceled_if_accepted_late() {
        let t0 = Instant::now();
        let mut book = GoalBook::new(TIMEOUT);
        sent(&mut book, 1, 10, t0);
        assert!(
            book.tick(t0 + TIMEOUT - Duration::from_millis(1), || true)
                .is_empty()
        );
        let failed = book.tick(t0 + TIMEOUT, || true);
        assert_eq!(
            ends(&failed),
            vec![(
                id(1),
                "error: no answer to the goal request within 2s".into()
            )]
        );
        let late = book.goal_answered(10, Ok(true));
        assert!(
            matches!(late.as_slice(), [Effect::Unmatched, Effect::SendCancel(g)] if *g == id(1))
        );
    }

    #[test]
    fn waiting_goals_fail_without_a_server_and_end_canceled_if_canceled() {
        let t0 = Instant::now();
        let mut book = GoalBook::new(TIMEOUT);
        book.queue(unsent(1), t0).unwrap();
        book.queue(unsent(2), t0 + Duration::from_secs(1)).unwrap();
        assert!(
            book.tick(t0 + TIMEOUT, || true).is_empty(),
            "a server came: they go"
        );
        let failed = book.tick(t0 + TIMEOUT, || false);
        assert_eq!(
            ends(&failed),
            vec![(id(1), "error: no action server within 2s".into())]
        );
        let canceled = book.cancel(Some(id(2)));
        assert_eq!(ends(&canceled), vec![(id(2), "canceled unsent".into())]);
        assert!(matches!(
            book.cancel(Some(id(9))).as_slice(),
            [Effect::Warn(_)]
        ));
    }

    #[test]
    fn a_status_only_moves_forward() {
        let t0 = Instant::now();
        let mut book = GoalBook::new(TIMEOUT);
        sent(&mut book, 1, 10, t0);
        assert!(book.set_status(id(1), GoalStatus::Executing).is_some());
        // The acceptance arrives after `executing`: no step back.
        let effects = book.goal_answered(10, Ok(true));
        assert!(
            matches!(effects.as_slice(), [Effect::RequestResult(_)]),
            "{effects:?}"
        );
        assert!(book.set_status(id(1), GoalStatus::Succeeded).is_some());
        assert!(
            book.set_status(id(2), GoalStatus::Executing).is_none(),
            "not ours"
        );
    }
}
