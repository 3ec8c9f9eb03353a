//! `service_clients`: dora nodes call ROS services through the bridge.
//! Each row on a route's `request` input is one call, answered by exactly
//! one row on `response` carrying the call's `request_id`: the server's
//! answer, or an empty row with `error` (no server within `timeout`, no
//! answer within `timeout`, the server left the graph, a row that does not
//! fit the request type). At most `max_in_flight` calls are outstanding
//! (a server keeps only its last 10 requests by default and would drop
//! the rest); the others wait in order.

use super::call_book::{Call, Failure};
use super::service_channel::ServiceChannel;
use crate::codec::{CodecOptions, MessageCodec};
use crate::config::Config;
use crate::dora_side;
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::RosSide;
use crate::ros::rcl;
use crate::ros::services::{ClientId, ServiceHub};
use crate::stats::{Direction, RouteStats, StatsTable};
use crate::throttle::RateLimiter;
use anyhow::Context;
use arrow::array::{Array, ArrayRef, AsArray};
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{DoraNode, MetadataParameters};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Every `service_clients` route.
#[derive(Default)]
pub struct ServiceClientRoutes {
    routes: Vec<ServiceClientRoute>,
    by_input: HashMap<DataId, usize>,
    /// Hub client index -> route.
    by_client: HashMap<ClientId, usize>,
}

struct ServiceClientRoute {
    /// `service_clients[0] (/add)`, for log lines.
    label: String,
    channel: ServiceChannel,
    request: MessageCodec,
    response: MessageCodec,
    output: DataId,
    stats: Arc<RouteStats>,
    warnings: RateLimiter,
    /// Failed sends into dora, apart: a burst of other warnings must not
    /// hide them.
    send_errors: RateLimiter,
}

/// One row going out on a route's `response` output.
struct Answer {
    request_id: String,
    outcome: Result<ArrayRef, String>,
}

impl From<Failure> for Answer {
    fn from(failure: Failure) -> Self {
        Answer {
            request_id: failure.request_id,
            outcome: Err(failure.error),
        }
    }
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
            let (client_index, built) =
                ServiceClientRoute::build(&at, route, ros, hub, registry, stats)?;
            routes
                .by_input
                .insert(DataId::from(route.request.clone()), routes.routes.len());
            routes.by_client.insert(client_index, routes.routes.len());
            routes.routes.push(built);
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
    pub fn on_response(
        &mut self,
        node: &mut DoraNode,
        client: ClientId,
        sequence: i64,
        cdr: &[u8],
    ) {
        let Some(&index) = self.by_client.get(&client) else {
            return;
        };
        let route = &mut self.routes[index];
        let Some(request_id) = route.channel.answered(sequence) else {
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
            request_id,
            outcome,
        };
        route.send_answers(node, vec![answer]);
        route.pump(node);
    }

    /// Fails calls whose time is up; sends what may go now.
    pub fn on_tick(&mut self, node: &mut DoraNode) {
        for route in &mut self.routes {
            let failures = route.channel.tick(&route.warnings, &route.label);
            route.send_failures(node, failures);
            route.pump(node);
            route.stats.queued.set(route.channel.open());
        }
    }

    /// The graph changed: calls in flight to a server that left fail
    /// SERVER_LEFT_GRACE later rather than at their timeout; waiting calls
    /// go if one came.
    pub fn on_graph_changed(&mut self, node: &mut DoraNode) {
        for route in &mut self.routes {
            route.channel.graph_changed(&route.warnings, &route.label);
            route.pump(node);
        }
    }
}

impl ServiceClientRoute {
    /// The route and the hub index of its client.
    fn build(
        at: &str,
        route: &crate::config::ServiceClient,
        ros: &RosSide,
        hub: &ServiceHub,
        registry: &TypeRegistry,
        stats: &mut StatsTable,
    ) -> anyhow::Result<(ClientId, Self)> {
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
        let built = ServiceClientRoute {
            label,
            channel: ServiceChannel::new(client, route.timeout, route.max_in_flight),
            request,
            response,
            output: DataId::from(route.response.clone()),
            stats: counters,
            warnings: RateLimiter::new(Duration::from_secs(5)),
            send_errors: RateLimiter::new(Duration::from_secs(5)),
        };
        Ok((client_index, built))
    }

    /// One call per row, in order. Rows that do not fit are answered at
    /// once with an error naming the field.
    fn queue_calls(&mut self, params: &MetadataParameters, data: &dyn Array) -> Vec<Answer> {
        let given_id = dora_side::request_id(params);
        let Some(rows) = data.as_struct_opt() else {
            self.stats.received.fetch_add(1, Ordering::Relaxed);
            self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
            let error = format!(
                "the request is not a StructArray of {} (got {})",
                self.request.type_name(),
                data.data_type()
            );
            let request_id = self.channel.request_id(given_id.as_deref());
            return vec![Answer {
                request_id,
                outcome: Err(error),
            }];
        };
        let mut answers = Vec::new();
        for row in 0..rows.len() {
            self.stats.received.fetch_add(1, Ordering::Relaxed);
            let request_id = self.channel.request_id(given_id.as_deref());
            match self.request.encode_row(rows, row, Vec::new()) {
                Ok(cdr) => self.channel.queue(Call { request_id, cdr }),
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

    /// Sends waiting calls while there is room and a server.
    fn pump(&mut self, node: &mut DoraNode) {
        let failures = self.channel.pump(&self.warnings, &self.label);
        self.send_failures(node, failures);
    }

    fn send_failures(&self, node: &mut DoraNode, failures: Vec<Failure>) {
        let failed = failures.len() as u64;
        self.stats.failed.fetch_add(failed, Ordering::Relaxed);
        self.send_answers(node, failures.into_iter().map(Answer::from).collect());
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
                Err(e) => {
                    self.stats.dora_send_errors.fetch_add(1, Ordering::Relaxed);
                    self.send_errors.warn(|| {
                        format!(
                            "{}: cannot send on output `{}`: {e}",
                            self.label, self.output
                        )
                    })
                }
            }
        }
    }
}
