//! `action_servers`: ROS action clients send goals that a dora node carries
//! out. The bridge is the action server as rcl_action makes one: the three
//! services and two topics under `<action>/_action/`, the goal state
//! machine, cancels, and results kept for late result requests until
//! `result_timeout` after the goal ended.
//!
//! Every goal goes out on `goal` (metadata `goal_id`) and is accepted at
//! once, executing; or, with `accept:`, it waits for the handler's row on
//! that input (`status: accepted | rejected`) before the client is
//! answered ([`GoalDecisions`]), and is rejected after `accept_timeout`.
//! A cancel request for active goals is accepted and each goes
//! out on `cancel`. The handler's `feedback` rows are published, and its
//! `result` row (metadata `status`: `succeeded` by default, `aborted`,
//! `canceled`) ends the goal. The goals' states live in [`ServedGoals`]
//! (pure, unit-tested); this module does the rcl and dora I/O.

use super::goal_decisions::{GoalDecisions, Held};
use super::served_goals::{ResultRequest, ServedGoals};
use crate::codec::action::{self, GoalId, GoalStatus, Stamp, cancel_code};
use crate::codec::{CodecOptions, MessageCodec};
use crate::config::{ActionServer, Config};
use crate::dora_side::{self, META_GOAL_ID, META_STATUS};
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::rcl::{self, RequestHeader};
use crate::ros::services::{ServerId, ServiceHub};
use crate::ros::{Publisher, RosSide};
use crate::stats::{Direction, RouteStats, StatsTable};
use crate::throttle::RateLimiter;
use anyhow::Context;
use arrow::array::{Array, ArrayRef, AsArray, Int8Array, StringArray, StructArray};
use arrow::datatypes::{DataType, Field};
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{DoraNode, MetadataParameters};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Every `action_servers` route.
#[derive(Default)]
pub struct ActionServerRoutes {
    routes: Vec<ActionServerRoute>,
    by_feedback_input: HashMap<DataId, usize>,
    by_result_input: HashMap<DataId, usize>,
    by_accept_input: HashMap<DataId, usize>,
    /// Hub server index -> route and which of its services.
    by_server: HashMap<ServerId, (usize, Service)>,
}

#[derive(Debug, Clone, Copy)]
enum Service {
    SendGoal,
    Cancel,
    GetResult,
}

struct ActionServerRoute {
    /// `action_servers[0] (/count)`, for log lines.
    label: String,
    /// Hub indices of the three services.
    services: [(ServerId, Service); 3],
    feedback_topic: Publisher,
    status_topic: Publisher,
    goal: MessageCodec,
    feedback: MessageCodec,
    /// `_GetResult_Response`: `{status, result}`.
    result: MessageCodec,
    goal_output: DataId,
    cancel_output: DataId,
    goals: ServedGoals<RequestHeader>,
    /// With `accept:`: goal requests waiting for the handler.
    decisions: Option<GoalDecisions<RequestHeader>>,
    stats: Arc<RouteStats>,
    warnings: RateLimiter,
    /// Failed sends into dora, apart: a burst of other warnings must not
    /// hide them.
    send_errors: RateLimiter,
    /// Its handler failed: when the server leaves the graph (see
    /// [`RESULT_GRACE`]).
    withdraw_at: Option<Instant>,
}

/// How long an action server whose handler failed stays offered after its
/// goals were aborted, so that the `aborted` results reach their clients:
/// a server destroyed right after answering took the answer with it (seen
/// on Kilted: the client's result request timed out), and a result request
/// still on its way is answered too. As long as the hub retries answers
/// rmw refused.
const RESULT_GRACE: Duration = Duration::from_secs(2);

impl ActionServerRoutes {
    pub fn build(
        config: &Config,
        ros: &RosSide,
        hub: &ServiceHub,
        registry: &TypeRegistry,
        stats: &mut StatsTable,
    ) -> anyhow::Result<Self> {
        let mut routes = ActionServerRoutes::default();
        for (i, route) in config.action_servers.iter().enumerate() {
            let index = routes.routes.len();
            let at = format!("action_servers[{i}]");
            let built = ActionServerRoute::build(&at, route, ros, hub, registry, stats)
                .with_context(|| at.clone())?;
            routes
                .by_feedback_input
                .insert(DataId::from(route.feedback.clone()), index);
            routes
                .by_result_input
                .insert(DataId::from(route.result.clone()), index);
            if let Some(accept) = &route.accept {
                routes
                    .by_accept_input
                    .insert(DataId::from(accept.clone()), index);
            }
            for (server, service) in built.services {
                routes.by_server.insert(server, (index, service));
            }
            routes.routes.push(built);
        }
        Ok(routes)
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The hub servers whose requests are for these routes.
    pub fn hub_servers(&self) -> impl Iterator<Item = ServerId> + '_ {
        self.by_server.keys().copied()
    }

    /// Whether a route reads dora input `input` (the handler's rows).
    pub fn reads(&self, input: &DataId) -> bool {
        self.route_reading(input).is_some()
    }

    /// A ROS request rcl took for hub server `server`.
    pub fn on_request(
        &mut self,
        node: &mut DoraNode,
        hub: &ServiceHub,
        server: ServerId,
        header: RequestHeader,
        cdr: &[u8],
    ) {
        let Some(&(index, service)) = self.by_server.get(&server) else {
            return;
        };
        if hub.server(server).is_none() {
            // Taken just before a withdrawal: its handler is gone, and the
            // client sees no server.
            return;
        }
        let route = &mut self.routes[index];
        let answer = match service {
            Service::SendGoal => route.on_goal_request(node, header, cdr),
            Service::Cancel => route.on_cancel_request(node, cdr),
            Service::GetResult => route.on_result_request(header, cdr),
        };
        if let Some(answer) = answer {
            route.respond(hub, server, &header, &answer);
        }
        // After the answer: clients ignore the status of a goal whose
        // acceptance they have not seen yet.
        if !matches!(service, Service::GetResult) {
            route.publish_status();
        }
    }

    /// The handler's rows on dora input `input`; false if no route reads it.
    pub fn on_input(
        &mut self,
        hub: &ServiceHub,
        input: &DataId,
        params: &MetadataParameters,
        data: ArrayRef,
    ) -> bool {
        if let Some(&index) = self.by_feedback_input.get(input) {
            self.routes[index].publish_feedback(params, data.as_ref());
            return true;
        }
        if let Some(&index) = self.by_result_input.get(input) {
            self.routes[index].finish(hub, params, data.as_ref());
            return true;
        }
        if let Some(&index) = self.by_accept_input.get(input) {
            self.routes[index].decide(hub, params);
            return true;
        }
        false
    }

    /// Forgets results older than `result_timeout`; withdraws the servers
    /// whose grace is over.
    pub fn on_tick(&mut self, hub: &ServiceHub) {
        let now = Instant::now();
        for route in &mut self.routes {
            if route.withdraw_at.is_some_and(|at| now >= at) {
                route.withdraw_at = None;
                route.leave_graph(hub);
            }
            if route.goals.forget_expired(now) {
                route.publish_status();
            }
            route.reject_undecided(hub, now);
        }
    }

    /// The handler behind `input` failed or stalled: its goals end aborted
    /// (clients told), and the action server leaves the ROS graph
    /// [`RESULT_GRACE`] later (on a tick). Returns the route's label if it
    /// was offered.
    pub fn withdraw(&mut self, hub: &ServiceHub, input: &DataId, why: &str) -> Option<String> {
        let index = self.route_reading(input)?;
        let route = &mut self.routes[index];
        route.abort_all(hub, why);
        let offered = !route.status_topic.is_withdrawn() && route.withdraw_at.is_none();
        route.withdraw_at = Some(Instant::now() + RESULT_GRACE);
        offered.then(|| route.label.clone())
    }

    /// The goals in flight of the route `input` belongs to end aborted
    /// (their handler lost them).
    pub fn abort_goals(&mut self, hub: &ServiceHub, input: &DataId, why: &str) {
        if let Some(index) = self.route_reading(input) {
            self.routes[index].abort_all(hub, why);
        }
    }

    /// The handler behind `input` is back: the action server is offered
    /// again.
    pub fn restore(&mut self, hub: &ServiceHub, input: &DataId) {
        let Some(index) = self.route_reading(input) else {
            return;
        };
        let route = &mut self.routes[index];
        // Back within its grace: it never left.
        route.withdraw_at = None;
        let mut restored = false;
        for (server, _) in route.services {
            match hub.restore_server(server) {
                Ok(offered) => restored |= offered,
                Err(e) => tracing::error!("{}: {e:#}", route.label),
            }
        }
        for topic in [&route.feedback_topic, &route.status_topic] {
            if let Err(e) = topic.restore() {
                tracing::error!("{}: {e:#}", route.label);
            }
        }
        route.publish_status();
        if restored {
            tracing::info!("{}: action server offered again", route.label);
        }
    }

    /// The bridge stops: every goal in flight ends aborted, and clients are
    /// told before the bridge leaves the graph.
    pub fn abort_all(&mut self, hub: &ServiceHub, why: &str) {
        for route in &mut self.routes {
            route.abort_all(hub, why);
            route
                .status_topic
                .wait_for_all_acked(Duration::from_millis(500));
        }
    }

    fn route_reading(&self, input: &DataId) -> Option<usize> {
        self.by_result_input
            .get(input)
            .or_else(|| self.by_feedback_input.get(input))
            .or_else(|| self.by_accept_input.get(input))
            .copied()
    }
}

/// Hub server indexes by service, the feedback and the status publisher.
type Offered = ([(ServerId, Service); 3], Publisher, Publisher);

/// The action protocol's three services and two topics: what the server
/// offers under `<action>/_action/`.
fn offer_protocol(
    ros: &RosSide,
    hub: &ServiceHub,
    registry: &TypeRegistry,
    action: &str,
    action_type: &TypeName,
) -> anyhow::Result<Offered> {
    let codec = |name: &TypeName| {
        MessageCodec::new(registry, name, CodecOptions::default()).context("type")
    };
    let protocol = |part: &str| format!("{action}/_action/{part}");
    let offer = |part: &str, service_type: TypeName, service: Service| {
        let index = hub.add_server(&protocol(part), &service_type, rcl::default_qos())?;
        anyhow::Ok((index, service))
    };
    let cancel_type = TypeName::parse("action_msgs/srv/CancelGoal")?;
    let services = [
        offer(
            "send_goal",
            action_type.suffixed("_SendGoal"),
            Service::SendGoal,
        )?,
        offer("cancel_goal", cancel_type, Service::Cancel)?,
        offer(
            "get_result",
            action_type.suffixed("_GetResult"),
            Service::GetResult,
        )?,
    ];
    let feedback_topic = ros.advertise(
        &protocol("feedback"),
        codec(&action_type.suffixed("_FeedbackMessage"))?,
        crate::ros::qos::action_feedback(),
    )?;
    let status_topic = ros.advertise(
        &protocol("status"),
        codec(&TypeName::msg("action_msgs", "GoalStatusArray"))?,
        crate::ros::qos::action_status(),
    )?;
    Ok((services, feedback_topic, status_topic))
}

impl ActionServerRoute {
    fn build(
        at: &str,
        config: &ActionServer,
        ros: &RosSide,
        hub: &ServiceHub,
        registry: &TypeRegistry,
        stats: &mut StatsTable,
    ) -> anyhow::Result<Self> {
        let action_type = config.action_type.clone();
        let codec = |name: &TypeName| {
            MessageCodec::new(registry, name, CodecOptions::default()).context("type")
        };
        let (goal, feedback, result) = (
            codec(&action_type.suffixed("_Goal"))?,
            codec(&action_type.suffixed("_Feedback"))?,
            codec(&action_type.suffixed("_GetResult_Response"))?,
        );
        let action = ros.resolve_topic(&config.action).context("action")?;
        let (services, feedback_topic, status_topic) =
            offer_protocol(ros, hub, registry, &action, &action_type)?;
        let label = format!("{at} ({action})");
        let accepts = config.accept.as_ref().map_or(String::new(), |a| {
            format!(
                ", accepts or rejects on `{a}` (within {:?})",
                config.accept_timeout
            )
        });
        tracing::info!(
            "{label}: goals of {} ({}) out on `{}`, cancels on `{}`; the handler answers on `{}` and `{}`{accepts}",
            action,
            config.action_type,
            config.goal,
            config.cancel,
            config.feedback,
            config.result
        );
        let counters = Arc::new(RouteStats::default());
        stats.add(
            format!("{at} {action}"),
            Direction::ActionServer,
            counters.clone(),
        );
        let route = ActionServerRoute {
            label,
            services,
            feedback_topic,
            status_topic,
            goal,
            feedback,
            result,
            goal_output: DataId::from(config.goal.clone()),
            cancel_output: DataId::from(config.cancel.clone()),
            goals: ServedGoals::new(config.result_timeout),
            decisions: config
                .accept
                .as_ref()
                .map(|_| GoalDecisions::new(config.accept_timeout)),
            stats: counters,
            warnings: RateLimiter::new(Duration::from_secs(5)),
            send_errors: RateLimiter::new(Duration::from_secs(5)),
            withdraw_at: None,
        };
        route.publish_status();
        Ok(route)
    }

    /// Hands the goal to the handler and accepts it; or, with `accept:`,
    /// holds the request for the handler's decision (no answer yet).
    fn on_goal_request(
        &mut self,
        node: &mut DoraNode,
        header: RequestHeader,
        cdr: &[u8],
    ) -> Option<Vec<u8>> {
        let now = Stamp::now();
        let decoded =
            action::unwrap(cdr).and_then(|(id, inner)| Ok((id, self.goal.decode(&inner)?)));
        let (id, row) = match decoded {
            Ok(decoded) => decoded,
            Err(e) => {
                self.stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                self.warnings
                    .warn(|| format!("{}: rejected a malformed goal: {e}", self.label));
                return Some(action::send_goal_response(false, now));
            }
        };
        let held = |d: &GoalDecisions<RequestHeader>| d.is_held(id);
        if self.goals.is_in_use(id) || self.decisions.as_ref().is_some_and(held) {
            self.warnings
                .warn(|| format!("{}: rejected goal {id}: its id is in use", self.label));
            return Some(action::send_goal_response(false, now));
        }
        let params = dora_side::goal_metadata(&id.to_string(), None, None);
        let row: ArrayRef = Arc::new(row);
        if let Err(e) = node.send_output(self.goal_output.clone(), params, row) {
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
            self.send_errors.warn(|| {
                format!(
                    "{}: rejected goal {id}: cannot hand it to dora: {e}",
                    self.label
                )
            });
            return Some(action::send_goal_response(false, now));
        }
        if let Some(decisions) = &mut self.decisions {
            decisions.hold(id, header, now, Instant::now());
            return None;
        }
        self.stats.goals.fetch_add(1, Ordering::Relaxed);
        self.goals.accepted(id, now);
        Some(action::send_goal_response(true, now))
    }

    /// The handler's row on `accept`: the held goal is accepted (and runs)
    /// or rejected, and its client answered.
    fn decide(&mut self, hub: &ServiceHub, params: &MetadataParameters) {
        let given = dora_side::text_parameter(params, META_GOAL_ID);
        let id = given.as_deref().map(GoalId::parse);
        let held = match (id, &mut self.decisions) {
            (Some(Ok(id)), Some(decisions)) => decisions.decide(id),
            _ => None,
        };
        let Some(held) = held else {
            self.stats.unmatched.fetch_add(1, Ordering::Relaxed);
            self.warnings.warn(|| {
                format!(
                    "{}: decision dropped: goal_id {given:?} names no goal waiting for one",
                    self.label
                )
            });
            return;
        };
        match dora_side::text_parameter(params, META_STATUS).as_deref() {
            Some("accepted") => self.accept_held(hub, held),
            Some("rejected") => {
                let why = dora_side::text_parameter(params, dora_side::META_ERROR)
                    .unwrap_or_else(|| "no reason given".into());
                tracing::info!(
                    "{}: the handler rejected goal {}: {why}",
                    self.label,
                    held.id
                );
                self.reject_held(hub, held);
            }
            other => {
                self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
                self.warnings.warn(|| {
                    format!(
                        "{}: goal {}: decision `status: {other:?}` is not accepted or rejected: rejected",
                        self.label, held.id
                    )
                });
                self.reject_held(hub, held);
            }
        }
    }

    fn accept_held(&mut self, hub: &ServiceHub, held: Held<RequestHeader>) {
        self.stats.goals.fetch_add(1, Ordering::Relaxed);
        self.goals.accepted(held.id, held.stamp);
        let answer = action::send_goal_response(true, held.stamp);
        self.respond(hub, self.send_goal_server(), &held.request, &answer);
        self.publish_status();
    }

    fn reject_held(&mut self, hub: &ServiceHub, held: Held<RequestHeader>) {
        self.stats.failed.fetch_add(1, Ordering::Relaxed);
        let answer = action::send_goal_response(false, held.stamp);
        self.respond(hub, self.send_goal_server(), &held.request, &answer);
    }

    /// Goals the handler did not decide on in time are rejected.
    fn reject_undecided(&mut self, hub: &ServiceHub, now: Instant) {
        let Some(decisions) = &mut self.decisions else {
            return;
        };
        let (overdue, timeout) = (decisions.overdue(now), decisions.timeout());
        for held in overdue {
            // Each one said: the rate limit of the other warnings must not hide it.
            tracing::warn!(
                "{}: goal {}: the handler neither accepted nor rejected it within {timeout:?}: rejected",
                self.label,
                held.id
            );
            self.reject_held(hub, held);
        }
    }

    fn send_goal_server(&self) -> ServerId {
        let send_goal = self
            .services
            .iter()
            .find(|(_, service)| matches!(service, Service::SendGoal));
        send_goal.expect("the protocol has a send_goal service").0
    }

    /// Cancels what the request names, by rcl_action's rules: an id alone
    /// is that goal (`GOAL_TERMINATED` if it cannot be canceled,
    /// `UNKNOWN_GOAL_ID` if unknown); a zero id with a zero stamp is every
    /// goal; a stamp adds every goal accepted at or before it (then the
    /// answer is `NONE`, even for no goal). Only accepted or executing goals
    /// can be canceled; each newly canceling goal goes out on `cancel`.
    fn on_cancel_request(&mut self, node: &mut DoraNode, cdr: &[u8]) -> Option<Vec<u8>> {
        let (named, before) = match action::read_goal_info(cdr) {
            Ok(request) => request,
            Err(e) => {
                self.stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                self.warnings
                    .warn(|| format!("{}: malformed cancel request: {e}", self.label));
                return Some(action::cancel_response(cancel_code::REJECTED, &[]));
            }
        };
        let (code, canceling) = self.goals.cancel(named, before);
        for (id, _) in &canceling {
            let params = dora_side::goal_metadata(&id.to_string(), None, None);
            let row: ArrayRef = Arc::new(StringArray::from(vec![id.to_string()]));
            if let Err(e) = node.send_output(self.cancel_output.clone(), params, row) {
                self.stats.dora_send_errors.fetch_add(1, Ordering::Relaxed);
                self.send_errors
                    .warn(|| format!("{}: cannot pass a cancel on: {e}", self.label));
            }
        }
        Some(action::cancel_response(code, &canceling))
    }

    /// Answers at once for an ended or unknown goal; otherwise when it ends.
    fn on_result_request(&mut self, header: RequestHeader, cdr: &[u8]) -> Option<Vec<u8>> {
        let id = match action::goal_id_of(cdr) {
            Ok(id) => id,
            Err(e) => {
                self.stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                self.warnings
                    .warn(|| format!("{}: malformed result request: {e}", self.label));
                return None;
            }
        };
        match self.goals.result_request(id, header) {
            ResultRequest::Ended(answer) => Some(answer),
            ResultRequest::Later => None,
            ResultRequest::Unknown => self.result_answer(GoalStatus::Unknown, None).ok(),
        }
    }

    fn publish_feedback(&mut self, params: &MetadataParameters, data: &dyn Array) {
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        let Some(id) = self.active_goal(params, "feedback") else {
            return;
        };
        let Some(rows) = data.as_struct_opt().filter(|r| r.len() == 1) else {
            self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
            self.warnings.warn(|| {
                format!(
                    "{}: feedback of goal {id} dropped: not one row of {} (got {})",
                    self.label,
                    self.feedback.type_name(),
                    data.data_type()
                )
            });
            return;
        };
        let published = self
            .feedback
            .encode_row(rows, 0, Vec::new())
            .map_err(anyhow::Error::from)
            .and_then(|cdr| self.feedback_topic.publish_cdr(&action::wrap(id, &cdr)));
        match published {
            Ok(()) => {
                self.stats.forwarded.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
                self.warnings
                    .warn(|| format!("{}: feedback of goal {id} dropped: {e:#}", self.label));
            }
        }
    }

    /// The handler's result ends the goal.
    fn finish(&mut self, hub: &ServiceHub, params: &MetadataParameters, data: &dyn Array) {
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        let Some(id) = self.active_goal(params, "result") else {
            return;
        };
        let status = match dora_side::text_parameter(params, META_STATUS).as_deref() {
            None | Some("succeeded") => GoalStatus::Succeeded,
            Some("aborted") => GoalStatus::Aborted,
            Some("canceled") => GoalStatus::Canceled,
            Some(other) => {
                self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
                self.warnings.warn(|| {
                    format!(
                        "{}: goal {id}: status `{other}` is not succeeded, aborted or canceled: aborted",
                        self.label
                    )
                });
                GoalStatus::Aborted
            }
        };
        let row = match data.as_struct_opt() {
            Some(rows) if rows.len() == 1 => Some(rows),
            // No row at all: the result type's defaults.
            _ if data.is_empty() || data.null_count() == data.len() => None,
            _ => {
                self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
                self.warnings.warn(|| {
                    format!(
                        "{}: goal {id}: the result is not one row of {} (got {} rows of {}): aborted",
                        self.label,
                        self.result.type_name(),
                        data.len(),
                        data.data_type()
                    )
                });
                let Ok(answer) = self.result_answer(GoalStatus::Aborted, None) else {
                    return;
                };
                self.end(hub, id, GoalStatus::Aborted, answer);
                return;
            }
        };
        let (status, answer) = match self.result_answer(status, row) {
            Ok(answer) => (status, answer),
            Err(e) => {
                self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
                self.warnings.warn(|| {
                    format!(
                        "{}: goal {id}: the result does not fit ({e}): aborted",
                        self.label
                    )
                });
                match self.result_answer(GoalStatus::Aborted, None) {
                    Ok(answer) => (GoalStatus::Aborted, answer),
                    Err(_) => return,
                }
            }
        };
        self.end(hub, id, status, answer);
    }

    /// Takes the action server off the graph; goals accepted during the
    /// grace (no handler to carry them out) end aborted first.
    fn leave_graph(&mut self, hub: &ServiceHub) {
        self.abort_all(hub, "its dora handler is gone");
        // What the clients were told goes out before the topics go.
        self.status_topic
            .wait_for_all_acked(Duration::from_millis(500));
        for (server, _) in self.services {
            hub.withdraw_server(server);
        }
        // `ros2 action list` finds actions by their feedback publisher.
        self.feedback_topic.withdraw();
        self.status_topic.withdraw();
    }

    /// Ends every goal in flight as aborted (and rejects those waiting for
    /// a decision).
    fn abort_all(&mut self, hub: &ServiceHub, why: &str) {
        let undecided = self
            .decisions
            .as_mut()
            .map(|d| d.drain())
            .unwrap_or_default();
        for held in undecided {
            self.reject_held(hub, held);
        }
        let active = self.goals.active();
        if active.is_empty() {
            return;
        }
        tracing::warn!("{}: {} goal(s) aborted: {why}", self.label, active.len());
        let Ok(answer) = self.result_answer(GoalStatus::Aborted, None) else {
            return;
        };
        for id in active {
            self.end(hub, id, GoalStatus::Aborted, answer.clone());
        }
    }

    /// Records the end, answers the result requests waiting, publishes the
    /// new status.
    fn end(&mut self, hub: &ServiceHub, id: GoalId, status: GoalStatus, answer: Vec<u8>) {
        let Some(waiters) = self.goals.end(id, status, answer.clone(), Instant::now()) else {
            return;
        };
        let counter = match status {
            GoalStatus::Succeeded => &self.stats.succeeded,
            GoalStatus::Canceled => &self.stats.canceled,
            _ => &self.stats.aborted,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        // The end's status first: a client reading its goal's status when
        // the result comes sees it ended.
        self.publish_status();
        let server = self.services[2].0;
        for header in waiters {
            self.respond(hub, server, &header, &answer);
        }
    }

    /// The goal a handler row names, if active; counted and logged if not.
    fn active_goal(&self, params: &MetadataParameters, what: &str) -> Option<GoalId> {
        let given = dora_side::text_parameter(params, META_GOAL_ID);
        let id = given.as_deref().map(GoalId::parse);
        match id {
            Some(Ok(id)) if self.goals.is_active(id) => Some(id),
            Some(Ok(id)) if self.decisions.as_ref().is_some_and(|d| d.is_held(id)) => {
                self.stats.unmatched.fetch_add(1, Ordering::Relaxed);
                self.warnings.warn(|| {
                    format!(
                        "{}: {what} dropped: goal {id} is not accepted yet (answer on `accept` first)",
                        self.label
                    )
                });
                None
            }
            _ => {
                self.stats.unmatched.fetch_add(1, Ordering::Relaxed);
                self.warnings.warn(|| {
                    format!(
                        "{}: {what} dropped: goal_id {given:?} names no goal in flight",
                        self.label
                    )
                });
                None
            }
        }
    }

    /// `_GetResult_Response` with `status` and the handler's row (every
    /// field at its default when `row` is `None`).
    fn result_answer(
        &self,
        status: GoalStatus,
        row: Option<&StructArray>,
    ) -> Result<Vec<u8>, crate::codec::CodecError> {
        let result: ArrayRef = match row {
            Some(row) => Arc::new(row.clone()),
            None => Arc::new(StructArray::new_empty_fields(1, None)),
        };
        let response = StructArray::from(vec![
            (
                Arc::new(Field::new("status", DataType::Int8, false)),
                Arc::new(Int8Array::from(vec![status.code()])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("result", result.data_type().clone(), false)),
                result,
            ),
        ]);
        self.result.encode_row(&response, 0, Vec::new())
    }

    fn respond(&self, hub: &ServiceHub, server: ServerId, header: &RequestHeader, cdr: &[u8]) {
        // Withdrawn: the client's call fails on its side.
        if let Err(e) = hub.respond(server, header, cdr) {
            self.warnings
                .warn(|| format!("{}: cannot answer a request: {e}", self.label));
        }
    }

    fn publish_status(&self) {
        if self.status_topic.is_withdrawn() {
            return;
        }
        let goals = self.goals.statuses();
        if let Err(e) = self.status_topic.publish_cdr(&action::status_array(&goals)) {
            self.warnings
                .warn(|| format!("{}: cannot publish the status: {e:#}", self.label));
        }
    }
}
