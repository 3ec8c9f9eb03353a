//! `service_clients`: dora nodes call ROS services through the bridge.
//! Each row on a route's `request` input is one call, answered by exactly
//! one row on `response` carrying the call's `request_id`: the server's
//! answer, or an empty row with `error` (no server within `timeout`, no
//! answer within `timeout`, the server left the graph, a row that does not
//! fit the request type). At most `max_in_flight` calls are outstanding
//! (a server keeps only its last 10 requests by default and would drop
//! the rest); the others wait in order.

use super::calls::{ServerLeft, Waiting};
use crate::codec::{CodecOptions, MessageCodec};
use crate::config::Config;
use crate::dora_side;
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::RosSide;
use crate::ros::rcl::{self, RclClient};
use crate::ros::services::ServiceHub;
use crate::stats::{Direction, RouteStats, StatsTable};
use crate::throttle::RateLimiter;
use anyhow::Context;
use arrow::array::{Array, ArrayRef, AsArray};
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{DoraNode, MetadataParameters};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Every `service_clients` route.
#[derive(Default)]
pub struct ServiceClientRoutes {
    routes: Vec<ServiceClientRoute>,
    by_input: HashMap<DataId, usize>,
    /// Hub client index -> route.
    by_client: HashMap<usize, usize>,
}

struct ServiceClientRoute {
    /// `service_clients[0] (/add)`, for log lines.
    label: String,
    client: Arc<RclClient>,
    request: MessageCodec,
    response: MessageCodec,
    output: DataId,
    timeout: Duration,
    max_in_flight: usize,
    /// Calls not sent yet, in order.
    waiting: Waiting<Call>,
    /// Sent calls by the sequence number rcl gave them.
    in_flight: HashMap<i64, InFlight>,
    stats: Arc<RouteStats>,
    /// For `request_id`s the bridge makes.
    next_id: u64,
    /// Whether a server was there when last asked: asked again on every
    /// graph change, and while none is known (asking the graph on every
    /// call would cost each call a graph query).
    server_known: bool,
    /// When the graph showed no server while calls were in flight: they
    /// fail SERVER_LEFT_GRACE later unless it comes back.
    server_left: ServerLeft,
    warnings: RateLimiter,
}

struct Call {
    request_id: String,
    cdr: Vec<u8>,
}

struct InFlight {
    request_id: String,
    deadline: Instant,
}

/// One row going out on a route's `response` output.
struct Answer {
    request_id: String,
    outcome: Result<ArrayRef, String>,
}

impl ServiceClientRoutes {
    pub fn build(
        config: &Config,
        ros: &RosSide,
        hub: &ServiceHub,
        registry: &TypeRegistry,
        stats: &mut StatsTable,
    ) -> anyhow::Result<Self> {
        let mut routes = ServiceClientRoutes::default();
        for (i, route) in config.service_clients.iter().enumerate() {
            let at = format!("service_clients[{i}]");
            let service_type = route.srv_type.clone();
            let codec = |name: &TypeName| {
                MessageCodec::new(registry, name, CodecOptions::default())
                    .with_context(|| format!("{at}.type"))
            };
            let (request, response) = (
                codec(&service_type.request())?,
                codec(&service_type.response())?,
            );
            let service = ros
                .resolve_topic(&route.service)
                .with_context(|| format!("{at}.service"))?;
            // Room for the answers of every call in flight, and then some.
            let mut qos = rcl::default_qos();
            qos.depth = qos.depth.max(2 * route.max_in_flight);
            let (client_index, client) = hub.add_client(&service, &service_type, qos)?;
            let label = format!("{at} ({service})");
            tracing::info!(
                "{label}: input `{}` calls {} ({}), answers on `{}` (timeout {:?}, {} in flight)",
                route.request,
                service,
                route.srv_type,
                route.response,
                route.timeout,
                route.max_in_flight
            );
            let counters = Arc::new(RouteStats::default());
            stats.add(
                format!("{at} {service}"),
                Direction::ServiceClient,
                counters.clone(),
            );
            routes
                .by_input
                .insert(DataId::from(route.request.clone()), routes.routes.len());
            routes.by_client.insert(client_index, routes.routes.len());
            routes.routes.push(ServiceClientRoute {
                label,
                client,
                request,
                response,
                output: DataId::from(route.response.clone()),
                timeout: route.timeout,
                max_in_flight: route.max_in_flight,
                waiting: Waiting::new(route.timeout),
                in_flight: HashMap::new(),
                stats: counters,
                next_id: 0,
                server_known: false,
                server_left: ServerLeft::default(),
                warnings: RateLimiter::new(Duration::from_secs(5)),
            });
        }
        Ok(routes)
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Calls from dora input `input`; false if no route reads it.
    pub fn on_request(
        &mut self,
        node: &mut DoraNode,
        input: &DataId,
        params: &MetadataParameters,
        data: ArrayRef,
    ) -> bool {
        let Some(&index) = self.by_input.get(input) else {
            return false;
        };
        let route = &mut self.routes[index];
        let answers = route.queue_calls(params, data.as_ref());
        route.send_answers(node, answers);
        route.pump(node);
        true
    }

    /// A response rcl took for client `client`.
    pub fn on_response(&mut self, node: &mut DoraNode, client: usize, sequence: i64, cdr: &[u8]) {
        let Some(&index) = self.by_client.get(&client) else {
            return;
        };
        let route = &mut self.routes[index];
        let Some(call) = route.in_flight.remove(&sequence) else {
            // Its call already failed (timed out): counted, not answered twice.
            route.stats.unmatched.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let outcome = match route.response.decode(cdr) {
            Ok(row) => Ok(Arc::new(row) as ArrayRef),
            Err(e) => {
                route.stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                Err(format!("malformed response: {e}"))
            }
        };
        let answer = Answer {
            request_id: call.request_id,
            outcome,
        };
        route.send_answers(node, vec![answer]);
        route.pump(node);
    }

    /// Fails calls whose time is up; sends what may go now.
    pub fn on_tick(&mut self, node: &mut DoraNode) {
        let now = Instant::now();
        for route in &mut self.routes {
            let mut answers = route.fail_if_the_server_left(now);
            answers.extend(route.expire_in_flight(now));
            answers.extend(route.expire_waiting(now));
            route.send_answers(node, answers);
            route.pump(node);
        }
    }

    /// The graph changed: calls in flight to a server that left fail
    /// SERVER_LEFT_GRACE later rather than at their timeout; waiting calls
    /// go if one came.
    pub fn on_graph_changed(&mut self, node: &mut DoraNode) {
        for route in &mut self.routes {
            route.server_known = false;
            if !route.in_flight.is_empty() && !route.server_is_available() {
                route.server_left.seen_gone(Instant::now());
            }
            route.pump(node);
        }
    }
}

impl ServiceClientRoute {
    /// One call per row, in order. Rows that do not fit are answered at
    /// once with an error naming the field.
    fn queue_calls(&mut self, params: &MetadataParameters, data: &dyn Array) -> Vec<Answer> {
        let given_id = dora_side::request_id(params);
        let mut answers = Vec::new();
        let rows = match data.as_struct_opt() {
            Some(rows) => rows,
            None => {
                self.stats.received.fetch_add(1, Ordering::Relaxed);
                self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
                let request_id = given_id.unwrap_or_else(|| self.make_id());
                let error = format!(
                    "the request is not a StructArray of {} (got {})",
                    self.request.type_name(),
                    data.data_type()
                );
                answers.push(Answer {
                    request_id,
                    outcome: Err(error),
                });
                return answers;
            }
        };
        for row in 0..rows.len() {
            self.stats.received.fetch_add(1, Ordering::Relaxed);
            let request_id = given_id.clone().unwrap_or_else(|| self.make_id());
            match self.request.encode_row(rows, row, Vec::new()) {
                Ok(cdr) => self.waiting.push(Call { request_id, cdr }, Instant::now()),
                Err(e) => {
                    self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
                    answers.push(Answer {
                        request_id,
                        outcome: Err(format!("bad request: {e}")),
                    });
                }
            }
        }
        answers
    }

    fn make_id(&mut self) -> String {
        self.next_id += 1;
        format!("bridge-{}", self.next_id)
    }

    fn server_is_available(&mut self) -> bool {
        if !self.server_known {
            self.server_known = self.client.server_is_available().unwrap_or_else(|e| {
                self.warnings.warn(|| format!("{}: {e}", self.label));
                false
            });
        }
        self.server_known
    }

    /// Sends waiting calls while there is room and a server.
    fn pump(&mut self, node: &mut DoraNode) {
        if self.waiting.is_empty()
            || self.in_flight.len() >= self.max_in_flight
            || !self.server_is_available()
        {
            return;
        }
        let mut answers = Vec::new();
        while self.in_flight.len() < self.max_in_flight {
            let Some(call) = self.waiting.pop() else {
                break;
            };
            match self.client.send(&call.cdr) {
                Ok(sequence) => {
                    let deadline = super::later(Instant::now(), self.timeout);
                    let request_id = call.request_id;
                    self.in_flight.insert(
                        sequence,
                        InFlight {
                            request_id,
                            deadline,
                        },
                    );
                }
                Err(e) => {
                    self.stats.failed.fetch_add(1, Ordering::Relaxed);
                    answers.push(Answer {
                        request_id: call.request_id,
                        outcome: Err(format!("cannot send the request: {e}")),
                    });
                }
            }
        }
        self.send_answers(node, answers);
    }

    /// The calls in flight, failed, once the server has been gone for
    /// SERVER_LEFT_GRACE (and is still gone).
    fn fail_if_the_server_left(&mut self, now: Instant) -> Vec<Answer> {
        if !self.server_left.grace_over(now, !self.in_flight.is_empty()) {
            return Vec::new();
        }
        self.server_known = false;
        if self.server_is_available() {
            return Vec::new();
        }
        self.fail_in_flight("the service's server left the ROS graph")
    }

    fn expire_in_flight(&mut self, now: Instant) -> Vec<Answer> {
        let expired: Vec<i64> = self
            .in_flight
            .iter()
            .filter(|(_, call)| call.deadline <= now)
            .map(|(sequence, _)| *sequence)
            .collect();
        let error = format!("no answer within {:?}", self.timeout);
        let calls: Vec<InFlight> = expired
            .into_iter()
            .filter_map(|sequence| self.in_flight.remove(&sequence))
            .collect();
        calls
            .into_iter()
            .map(|call| self.failed(call.request_id, error.clone()))
            .collect()
    }

    /// Waiting calls fail once they waited `timeout` for a server (not for
    /// room: calls in flight free it by their own timeout).
    fn expire_waiting(&mut self, now: Instant) -> Vec<Answer> {
        if !self.waiting.any_overdue(now) || self.server_is_available() {
            return Vec::new();
        }
        let error = format!("no server for the service within {:?}", self.timeout);
        let expired = self.waiting.take_overdue(now);
        expired
            .into_iter()
            .map(|call| self.failed(call.request_id, error.clone()))
            .collect()
    }

    fn fail_in_flight(&mut self, why: &str) -> Vec<Answer> {
        let calls: Vec<InFlight> = self.in_flight.drain().map(|(_, call)| call).collect();
        calls
            .into_iter()
            .map(|call| self.failed(call.request_id, why.to_string()))
            .collect()
    }

    fn failed(&self, request_id: String, error: String) -> Answer {
        self.stats.failed.fetch_add(1, Ordering::Relaxed);
        Answer {
            request_id,
            outcome: Err(error),
        }
    }

    /// One response row per answer; an error's row is empty (0 rows of the
    /// response type) with the reason in `error`.
    fn send_answers(&self, node: &mut DoraNode, answers: Vec<Answer>) {
        for answer in answers {
            let (params, data) = match answer.outcome {
                Ok(row) => (dora_side::call_metadata(&answer.request_id, None), row),
                Err(error) => {
                    self.warnings
                        .warn(|| format!("{}: call {}: {error}", self.label, answer.request_id));
                    let empty = arrow::array::new_empty_array(&self.response.data_type());
                    (
                        dora_side::call_metadata(&answer.request_id, Some(&error)),
                        empty,
                    )
                }
            };
            match node.send_output(self.output.clone(), params, data) {
                Ok(()) => {
                    self.stats.forwarded.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => self.warnings.warn(|| {
                    format!(
                        "{}: cannot send on output `{}`: {e}",
                        self.label, self.output
                    )
                }),
            }
        }
    }
}
