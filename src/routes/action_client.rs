//! `action_clients`: dora nodes send goals to ROS action servers through
//! the bridge. An action is three services and two topics under
//! `<action>/_action/`; the bridge speaks that protocol as rcl_action does:
//! a goal request, then at once the result request, feedback and status
//! from the topics, cancels on request. Each row on `goal` is one goal and
//! ends with exactly one row on `result` (metadata `goal_id`, `status`, and
//! `error` when the status is `rejected` or `error`).

use super::goal_book::{Effect, Ending, GoalBook, Unsent};
use crate::codec::action::{self, GoalId, GoalStatus, Stamp};
use crate::codec::{CodecOptions, MessageCodec};
use crate::config::{ActionClient, Config};
use crate::dora_side::{self, META_GOAL_ID};
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::RosSide;
use crate::ros::rcl::{self, RclClient, RclNode};
use crate::ros::services::{ClientId, ServiceHub, SubscriptionId};
use crate::stats::{Direction, RouteStats, StatsTable};
use crate::throttle::RateLimiter;
use anyhow::Context;
use arrow::array::{Array, ArrayRef, AsArray, StringArray, StructArray};
use arrow::datatypes::{DataType, Field};
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{DoraNode, MetadataParameters};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Every `action_clients` route.
#[derive(Default)]
pub struct ActionClientRoutes {
    routes: Vec<ActionClientRoute>,
    by_goal_input: HashMap<DataId, usize>,
    by_cancel_input: HashMap<DataId, usize>,
    /// Hub client index -> route and which of its services.
    by_client: HashMap<ClientId, (usize, Call)>,
    /// Hub subscription index -> route and which of its topics.
    by_subscription: HashMap<SubscriptionId, (usize, Topic)>,
}

#[derive(Debug, Clone, Copy)]
enum Call {
    SendGoal,
    Cancel,
    GetResult,
}

#[derive(Debug, Clone, Copy)]
enum Topic {
    Feedback,
    Status,
}

struct ActionClientRoute {
    /// `action_clients[0] (/fibonacci)`, for log lines.
    label: String,
    server: Server,
    goal: MessageCodec,
    feedback: MessageCodec,
    /// `_GetResult_Response`: `{status, result}`.
    result: MessageCodec,
    outputs: Outputs,
    /// The goals, as a pure state machine; this route carries out its effects.
    book: GoalBook,
    stats: Arc<RouteStats>,
    warnings: RateLimiter,
    /// Failed sends into dora, apart: a burst of other warnings must not
    /// hide them.
    send_errors: RateLimiter,
}

/// The action's server as the route reaches and sees it.
struct Server {
    send_goal: Arc<RclClient>,
    cancel: Arc<RclClient>,
    get_result: Arc<RclClient>,
    /// The feedback and status topics: a server is there when the three
    /// services and both topics are (as rcl_action clients judge it).
    topics: [String; 2],
    /// The bridge's node, to ask the graph.
    graph: Arc<RclNode>,
    /// As for service clients: asked again after each graph change.
    known: bool,
}

struct Outputs {
    feedback: DataId,
    status: Option<DataId>,
    result: DataId,
}

impl ActionClientRoutes {
    pub fn build(
        config: &Config,
        ros: &RosSide,
        hub: &ServiceHub,
        registry: &TypeRegistry,
        stats: &mut StatsTable,
    ) -> anyhow::Result<Self> {
        let mut routes = ActionClientRoutes::default();
        for (i, route) in config.action_clients.iter().enumerate() {
            let index = routes.routes.len();
            let at = format!("action_clients[{i}]");
            let built = ActionClientRoute::build(&at, route, ros, hub, registry, stats)
                .with_context(|| at.clone())?;
            routes
                .by_goal_input
                .insert(DataId::from(route.goal.clone()), index);
            if let Some(cancel) = &route.cancel {
                routes
                    .by_cancel_input
                    .insert(DataId::from(cancel.clone()), index);
            }
            for (client, call) in built.clients {
                routes.by_client.insert(client, (index, call));
            }
            for (subscription, topic) in built.subscriptions {
                routes.by_subscription.insert(subscription, (index, topic));
            }
            routes.routes.push(built.route);
        }
        Ok(routes)
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The hub clients whose responses are for these routes.
    pub fn hub_clients(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.by_client.keys().copied()
    }

    /// Goals or cancels from dora input `input`; false if no route reads it.
    pub fn on_input(
        &mut self,
        node: &mut DoraNode,
        input: &DataId,
        params: &MetadataParameters,
        data: ArrayRef,
    ) -> bool {
        if let Some(&index) = self.by_goal_input.get(input) {
            let route = &mut self.routes[index];
            route.queue_goals(node, params, data.as_ref());
            route.pump(node);
            return true;
        }
        if let Some(&index) = self.by_cancel_input.get(input) {
            self.routes[index].cancel(node, params);
            return true;
        }
        false
    }

    /// A response rcl took for hub client `client`.
    pub fn on_response(
        &mut self,
        node: &mut DoraNode,
        client: ClientId,
        sequence: i64,
        cdr: &[u8],
    ) {
        let Some(&(index, call)) = self.by_client.get(&client) else {
            return;
        };
        let route = &mut self.routes[index];
        match call {
            Call::SendGoal => route.on_goal_response(node, sequence, cdr),
            Call::GetResult => route.on_result_response(node, sequence, cdr),
            Call::Cancel => route.on_cancel_response(sequence, cdr),
        }
        route.pump(node);
    }

    /// A message on hub subscription `subscription`.
    pub fn on_message(&mut self, node: &mut DoraNode, subscription: SubscriptionId, cdr: &[u8]) {
        let Some(&(index, topic)) = self.by_subscription.get(&subscription) else {
            return;
        };
        let route = &mut self.routes[index];
        match topic {
            Topic::Feedback => route.on_feedback(node, cdr),
            Topic::Status => route.on_status(node, cdr),
        }
    }

    /// Fails goals whose time is up; sends what may go now.
    pub fn on_tick(&mut self, node: &mut DoraNode) {
        let now = Instant::now();
        for route in &mut self.routes {
            let server = &mut route.server;
            let (warnings, label) = (&route.warnings, &route.label);
            let effects = route
                .book
                .tick(now, || server.is_available(warnings, label));
            route.apply(node, effects);
            route.pump(node);
            route.stats.queued.set(route.book.open());
        }
    }

    /// The graph changed: goals of a server that left end with `error`
    /// SERVER_LEFT_GRACE later (an answer already on its way still counts)
    /// rather than never; waiting goals go if a server came.
    pub fn on_graph_changed(&mut self, node: &mut DoraNode) {
        let now = Instant::now();
        for route in &mut self.routes {
            route.server.known = false;
            if route.book.is_following() {
                let there = route.server.is_available(&route.warnings, &route.label);
                route.book.graph_changed(there, now);
            }
            route.pump(node);
        }
    }
}

/// A route and the hub entities its events come from.
struct Built {
    route: ActionClientRoute,
    clients: Vec<(ClientId, Call)>,
    subscriptions: Vec<(SubscriptionId, Topic)>,
}

impl ActionClientRoute {
    fn build(
        at: &str,
        config: &ActionClient,
        ros: &RosSide,
        hub: &ServiceHub,
        registry: &TypeRegistry,
        stats: &mut StatsTable,
    ) -> anyhow::Result<Built> {
        let action_type = config.action_type.clone();
        let codec = |suffix: &str| {
            MessageCodec::new(
                registry,
                &action_type.suffixed(suffix),
                CodecOptions::default(),
            )
            .context("type")
        };
        let (goal, feedback, result) = (
            codec("_Goal")?,
            codec("_Feedback")?,
            codec("_GetResult_Response")?,
        );
        let action = ros.resolve_topic(&config.action).context("action")?;
        let (server, clients, subscriptions) = Server::connect(hub, &action, &action_type)?;
        let label = format!("{at} ({action})");
        tracing::info!(
            "{label}: goals from `{}` to {} ({}), feedback on `{}`, results on `{}` (timeout {:?})",
            config.goal,
            action,
            config.action_type,
            config.feedback,
            config.result,
            config.timeout
        );
        let counters = Arc::new(RouteStats::default());
        stats.add(
            format!("{at} {action}"),
            Direction::ActionClient,
            counters.clone(),
        );
        let route = ActionClientRoute {
            label,
            server,
            goal,
            feedback,
            result,
            outputs: Outputs {
                feedback: DataId::from(config.feedback.clone()),
                status: config.status.clone().map(DataId::from),
                result: DataId::from(config.result.clone()),
            },
            book: GoalBook::new(config.timeout),
            stats: counters,
            warnings: RateLimiter::new(Duration::from_secs(5)),
            send_errors: RateLimiter::new(Duration::from_secs(5)),
        };
        Ok(Built {
            route,
            clients,
            subscriptions,
        })
    }

    /// One goal per row. A row that does not fit, or a bad or repeated
    /// `goal_id`, ends at once with `error`.
    fn queue_goals(&mut self, node: &mut DoraNode, params: &MetadataParameters, data: &dyn Array) {
        let given = dora_side::text_parameter(params, META_GOAL_ID);
        let Some(rows) = data.as_struct_opt() else {
            self.stats.received.fetch_add(1, Ordering::Relaxed);
            self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
            let error = format!(
                "the goal is not a StructArray of {} (got {})",
                self.goal.type_name(),
                data.data_type()
            );
            self.end_unknown(node, given.as_deref(), error);
            return;
        };
        let now = Instant::now();
        for row in 0..rows.len() {
            self.stats.received.fetch_add(1, Ordering::Relaxed);
            let id = match given.as_deref().map(GoalId::parse) {
                None => GoalId::random(),
                Some(Ok(id)) => id,
                Some(Err(e)) => {
                    self.end_unknown(node, given.as_deref(), e);
                    continue;
                }
            };
            let cdr = match self.goal.encode_row(rows, row, Vec::new()) {
                Ok(cdr) => action::wrap(id, &cdr),
                Err(e) => {
                    self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
                    let why = Ending::Failed("error", format!("bad goal: {e}"));
                    self.emit_result(node, id, why);
                    continue;
                }
            };
            if let Err(e) = self.book.queue(Unsent { id, cdr }, now) {
                self.end_unknown(node, given.as_deref(), e);
            }
        }
    }

    /// Sends the waiting goals once there is a server.
    fn pump(&mut self, node: &mut DoraNode) {
        if !self.book.has_waiting() || !self.server.is_available(&self.warnings, &self.label) {
            return;
        }
        for goal in self.book.take_waiting() {
            match self.server.send_goal.send(&goal.cdr) {
                Ok(sequence) => {
                    self.stats.goals.fetch_add(1, Ordering::Relaxed);
                    self.book.sent(goal.id, sequence, Instant::now());
                }
                Err(e) => {
                    let effect = self.book.not_sent(goal.id, e.to_string());
                    self.apply(node, vec![effect]);
                }
            }
        }
    }

    /// Carries out what the goal book decided.
    fn apply(&mut self, node: &mut DoraNode, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::RequestResult(id) => {
                    let message = action::goal_id_message(id);
                    let sent = self.server.get_result.send(&message);
                    let failed = self
                        .book
                        .result_requested(id, sent.map_err(|e| e.to_string()));
                    self.apply(node, failed.into_iter().collect());
                }
                Effect::SendCancel(id) => self.send_cancel(id),
                Effect::Status(id, status) => {
                    if let Some(output) = self.outputs.status.clone() {
                        self.send_status_row(node, &output, id, status.name());
                    }
                }
                Effect::End(id, ending) => self.emit_result(node, id, ending),
                Effect::Unmatched => {
                    self.stats.unmatched.fetch_add(1, Ordering::Relaxed);
                }
                Effect::Warn(text) => self.warnings.warn(|| format!("{}: {text}", self.label)),
            }
        }
    }

    fn on_goal_response(&mut self, node: &mut DoraNode, sequence: i64, cdr: &[u8]) {
        let accepted = action::read_send_goal_response(cdr)
            .map(|(accepted, _)| accepted)
            .map_err(|e| {
                self.stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                e.to_string()
            });
        let effects = self.book.goal_answered(sequence, accepted);
        self.apply(node, effects);
    }

    fn on_result_response(&mut self, node: &mut DoraNode, sequence: i64, cdr: &[u8]) {
        let ending = match self.result.decode(cdr) {
            Ok(response) => read_result(&response),
            Err(e) => {
                self.stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                Ending::Failed("error", format!("malformed result: {e}"))
            }
        };
        let effect = self.book.result_answered(sequence, ending);
        self.apply(node, vec![effect]);
    }

    fn on_cancel_response(&mut self, sequence: i64, cdr: &[u8]) {
        let Some(id) = self.book.cancel_answered(sequence) else {
            return;
        };
        let refused = match action::read_cancel_response(cdr) {
            Ok((action::cancel_code::NONE, _)) => return,
            Ok((action::cancel_code::REJECTED, _)) => "the server refused",
            Ok((action::cancel_code::UNKNOWN_GOAL_ID, _)) => "the server does not know the goal",
            Ok((action::cancel_code::GOAL_TERMINATED, _)) => "the goal had already ended",
            Ok(_) => "the server answered an unknown return code",
            Err(_) => "the server's answer was malformed",
        };
        self.warnings
            .warn(|| format!("{}: cancel of goal {id} not done: {refused}", self.label));
    }

    /// Feedback of one of this route's goals goes out; feedback of other
    /// clients' goals (the topic is shared) is not ours.
    fn on_feedback(&mut self, node: &mut DoraNode, cdr: &[u8]) {
        let Ok(id) = action::goal_id_of(cdr) else {
            self.stats.decode_errors.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if !self.book.follows(id) {
            return;
        }
        let row = action::unwrap(cdr).and_then(|(_, inner)| self.feedback.decode(&inner));
        match row {
            Ok(row) => {
                let params = dora_side::goal_metadata(&id.to_string(), None, None);
                self.send(node, &self.outputs.feedback, params, Arc::new(row));
            }
            Err(e) => {
                self.stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                self.warnings
                    .warn(|| format!("{}: dropped malformed feedback: {e}", self.label));
            }
        }
    }

    fn on_status(&mut self, node: &mut DoraNode, cdr: &[u8]) {
        match action::read_status_array(cdr) {
            Ok(statuses) => {
                let effects = statuses
                    .into_iter()
                    .filter_map(|(id, status)| self.book.set_status(id, status))
                    .collect();
                self.apply(node, effects);
            }
            Err(e) => {
                self.stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                self.warnings
                    .warn(|| format!("{}: dropped a malformed status: {e}", self.label));
            }
        }
    }

    fn send_status_row(&self, node: &mut DoraNode, output: &DataId, id: GoalId, status: &str) {
        let goal_id = id.to_string();
        let row = StructArray::from(vec![
            (
                Arc::new(Field::new("goal_id", DataType::Utf8, false)),
                Arc::new(StringArray::from(vec![goal_id.as_str()])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("status", DataType::Utf8, false)),
                Arc::new(StringArray::from(vec![status])) as ArrayRef,
            ),
        ]);
        let params = dora_side::goal_metadata(&goal_id, Some(status), None);
        self.send(node, output, params, Arc::new(row));
    }

    /// A row on `cancel`: the goal in its `goal_id`, or every goal of the
    /// route.
    fn cancel(&mut self, node: &mut DoraNode, params: &MetadataParameters) {
        let named = match dora_side::text_parameter(params, META_GOAL_ID).map(|t| GoalId::parse(&t))
        {
            Some(Err(e)) => {
                self.warnings
                    .warn(|| format!("{}: cancel: {e}", self.label));
                return;
            }
            Some(Ok(id)) => Some(id),
            None => None,
        };
        let effects = self.book.cancel(named);
        self.apply(node, effects);
    }

    fn send_cancel(&mut self, id: GoalId) {
        let request = action::goal_info(id, Stamp::default());
        match self.server.cancel.send(&request) {
            Ok(sequence) => self.book.cancel_sent(id, sequence),
            Err(e) => self
                .warnings
                .warn(|| format!("{}: cannot cancel goal {id}: {e}", self.label)),
        }
    }

    /// The goal's one `result` row.
    fn emit_result(&mut self, node: &mut DoraNode, id: GoalId, ending: Ending) {
        let goal_id = id.to_string();
        let (params, row) = match ending {
            Ending::Answered(status, row) => {
                let counter = match status {
                    GoalStatus::Succeeded => &self.stats.succeeded,
                    GoalStatus::Canceled => &self.stats.canceled,
                    _ => &self.stats.aborted,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                (
                    dora_side::goal_metadata(&goal_id, Some(status.name()), None),
                    row,
                )
            }
            Ending::CanceledUnsent => {
                self.stats.canceled.fetch_add(1, Ordering::Relaxed);
                let canceled = GoalStatus::Canceled.name();
                (
                    dora_side::goal_metadata(&goal_id, Some(canceled), None),
                    arrow::array::new_empty_array(&self.result_type()),
                )
            }
            Ending::Failed(status, error) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                self.warnings
                    .warn(|| format!("{}: goal {goal_id} {status}: {error}", self.label));
                let empty = arrow::array::new_empty_array(&self.result_type());
                (
                    dora_side::goal_metadata(&goal_id, Some(status), Some(&error)),
                    empty,
                )
            }
        };
        let output = self.outputs.result.clone();
        self.send(node, &output, params, row);
    }

    /// An `error` result for a goal that never got an id of its own.
    fn end_unknown(&mut self, node: &mut DoraNode, given: Option<&str>, error: String) {
        let id = given.map(str::to_string).unwrap_or_default();
        self.stats.failed.fetch_add(1, Ordering::Relaxed);
        self.warnings
            .warn(|| format!("{}: goal {id:?} not sent: {error}", self.label));
        let empty = arrow::array::new_empty_array(&self.result_type());
        let params = dora_side::goal_metadata(&id, Some("error"), Some(&error));
        let output = self.outputs.result.clone();
        self.send(node, &output, params, empty);
    }

    /// The action's `_Result` row type (the `result` field of
    /// `_GetResult_Response`).
    fn result_type(&self) -> DataType {
        match self.result.data_type() {
            DataType::Struct(fields) => fields
                .find("result")
                .map(|(_, f)| f.data_type().clone())
                .unwrap_or(DataType::Null),
            other => other,
        }
    }

    fn send(
        &self,
        node: &mut DoraNode,
        output: &DataId,
        params: MetadataParameters,
        row: ArrayRef,
    ) {
        match node.send_output(output.clone(), params, row) {
            Ok(()) => {
                if *output == self.outputs.feedback {
                    self.stats.forwarded.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) => {
                self.stats.dora_send_errors.fetch_add(1, Ordering::Relaxed);
                self.send_errors
                    .warn(|| format!("{}: cannot send on output `{output}`: {e}", self.label))
            }
        }
    }
}

/// A `_GetResult_Response` row: the status the server gave and the result.
fn read_result(response: &StructArray) -> Ending {
    let status = response
        .column_by_name("status")
        .and_then(|c| c.as_primitive_opt::<arrow::datatypes::Int8Type>())
        .filter(|c| !c.is_empty())
        .map(|c| GoalStatus::from_code(c.value(0)))
        .unwrap_or(GoalStatus::Unknown);
    let Some(result) = response.column_by_name("result").cloned() else {
        return Ending::Failed("error", "the result response has no result".into());
    };
    match status {
        GoalStatus::Succeeded | GoalStatus::Canceled | GoalStatus::Aborted => {
            Ending::Answered(status, result)
        }
        other => Ending::Failed(
            "error",
            format!(
                "the server answered the result request with status {} (the goal expired or is unknown to it)",
                other.name()
            ),
        ),
    }
}

/// The hub entities of an action's server, and which events they bring.
type Connected = (Server, Vec<(ClientId, Call)>, Vec<(SubscriptionId, Topic)>);

impl Server {
    /// The action protocol's three clients and two subscriptions.
    fn connect(
        hub: &ServiceHub,
        action: &str,
        action_type: &TypeName,
    ) -> anyhow::Result<Connected> {
        let protocol = |part: &str| format!("{action}/_action/{part}");
        let mut clients = Vec::new();
        let mut client = |part: &str, service_type: TypeName, call: Call| {
            let (index, client) =
                hub.add_client(&protocol(part), &service_type, rcl::default_qos())?;
            clients.push((index, call));
            anyhow::Ok(client)
        };
        let send_goal = client(
            "send_goal",
            action_type.suffixed("_SendGoal"),
            Call::SendGoal,
        )?;
        let cancel_type = TypeName::parse("action_msgs/srv/CancelGoal")?;
        let cancel = client("cancel_goal", cancel_type, Call::Cancel)?;
        let get_result = client(
            "get_result",
            action_type.suffixed("_GetResult"),
            Call::GetResult,
        )?;
        let feedback = hub.add_subscription(
            &protocol("feedback"),
            &action_type.suffixed("_FeedbackMessage"),
            crate::ros::qos::action_feedback(),
        )?;
        let status = hub.add_subscription(
            &protocol("status"),
            &TypeName::msg("action_msgs", "GoalStatusArray"),
            crate::ros::qos::action_status(),
        )?;
        let server = Server {
            send_goal,
            cancel,
            get_result,
            topics: [protocol("feedback"), protocol("status")],
            graph: hub.node(),
            known: false,
        };
        let subscriptions = vec![(feedback, Topic::Feedback), (status, Topic::Status)];
        Ok((server, clients, subscriptions))
    }

    fn is_available(&mut self, warnings: &RateLimiter, label: &str) -> bool {
        if !self.known {
            let services = [&self.send_goal, &self.get_result, &self.cancel]
                .iter()
                .try_fold(true, |all, c| Ok(all && c.server_is_available()?));
            let topics = self.topics.iter().try_fold(true, |all, topic| {
                Ok(all && !self.graph.publishers_info(topic)?.is_empty())
            });
            let known = services.and_then(|s| Ok(s && topics?));
            self.known = known.unwrap_or_else(|e: rcl::RclError| {
                warnings.warn(|| format!("{label}: {e}"));
                false
            });
        }
        self.known
    }
}
