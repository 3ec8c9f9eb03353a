//! `service_servers`: the bridge offers a ROS service that a dora node
//! answers. Each ROS call goes out on the route's `request` output with a
//! `request_id`; the handler's row on `response` with that id answers it.
//! A call unanswered within `timeout` is forgotten; answers for no waiting
//! call (unknown, repeated or late ids) and answers that do not fit the
//! response type are counted and logged, and disturb nothing else. While
//! the handler is down the service is withdrawn from the ROS graph. The
//! calls' states live in [`ServedCalls`] (pure, unit-tested); this module
//! does the rcl and dora I/O.

use super::served_calls::ServedCalls;
use crate::codec::{CodecOptions, MessageCodec};
use crate::config::Config;
use crate::dora_side;
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::RosSide;
use crate::ros::rcl::{self, RequestHeader};
use crate::ros::services::{Answered, ServerId, ServiceHub};
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

/// How many requests the bridge's servers keep before it takes them: a
/// burst from a client (50 calls at once is common) must not overflow it.
const REQUEST_HISTORY: usize = 1000;

/// Every `service_servers` route.
#[derive(Default)]
pub struct ServiceServerRoutes {
    routes: Vec<ServiceServerRoute>,
    /// The handler's answers: dora input -> route.
    by_input: HashMap<DataId, usize>,
    /// Hub server index -> route.
    by_server: HashMap<ServerId, usize>,
}

struct ServiceServerRoute {
    /// `service_servers[0] (/set_mode)`, for log lines.
    label: String,
    server: ServerId,
    request: MessageCodec,
    response: MessageCodec,
    output: DataId,
    timeout: Duration,
    /// Calls waiting for the handler.
    calls: ServedCalls<RequestHeader>,
    stats: Arc<RouteStats>,
    warnings: RateLimiter,
    /// Failed sends into dora, apart: a burst of other warnings must not
    /// hide them.
    send_errors: RateLimiter,
}

impl ServiceServerRoutes {
    pub fn build(
        config: &Config,
        ros: &RosSide,
        hub: &ServiceHub,
        registry: &TypeRegistry,
        stats: &mut StatsTable,
    ) -> anyhow::Result<Self> {
        let mut routes = ServiceServerRoutes::default();
        for (i, route) in config.service_servers.iter().enumerate() {
            let at = format!("service_servers[{i}]");
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
            let mut qos = rcl::default_qos();
            qos.depth = REQUEST_HISTORY;
            let server = hub.add_server(&service, &service_type, qos)?;
            let label = format!("{at} ({service})");
            tracing::info!(
                "{label}: offered ({}); calls go out on `{}`, answers come on `{}` (timeout {:?})",
                route.srv_type,
                route.request,
                route.response,
                route.timeout
            );
            let counters = Arc::new(RouteStats::default());
            stats.add(
                format!("{at} {service}"),
                Direction::ServiceServer,
                counters.clone(),
            );
            routes
                .by_input
                .insert(DataId::from(route.response.clone()), routes.routes.len());
            routes.by_server.insert(server, routes.routes.len());
            routes.routes.push(ServiceServerRoute {
                label,
                server,
                request,
                response,
                output: DataId::from(route.request.clone()),
                timeout: route.timeout,
                calls: ServedCalls::new(route.timeout),
                stats: counters,
                warnings: RateLimiter::new(Duration::from_secs(5)),
                send_errors: RateLimiter::new(Duration::from_secs(5)),
            });
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

    /// Whether dora input `input` carries a handler's answers.
    pub fn reads(&self, input: &DataId) -> bool {
        self.by_input.contains_key(input)
    }

    /// A ROS call rcl took for server `server`: out to the handler.
    pub fn on_request(
        &mut self,
        node: &mut DoraNode,
        server: ServerId,
        header: RequestHeader,
        cdr: &[u8],
    ) {
        if let Some(&index) = self.by_server.get(&server) {
            self.routes[index].forward_call(node, header, cdr);
        }
    }

    /// The handler's answers on dora input `input`; false if no route reads it.
    pub fn on_response(
        &mut self,
        hub: &ServiceHub,
        input: &DataId,
        params: &MetadataParameters,
        data: ArrayRef,
    ) -> bool {
        let Some(&index) = self.by_input.get(input) else {
            return false;
        };
        self.routes[index].answer(hub, params, data.as_ref());
        true
    }

    /// Forgets calls the handler did not answer in time.
    pub fn on_tick(&mut self) {
        let now = Instant::now();
        for route in &mut self.routes {
            route.expire(now);
        }
    }

    /// The handler behind `input` failed: the service leaves the ROS graph
    /// (clients see no server) and its waiting calls are dropped, counted.
    /// Returns the route's label if it was offered.
    pub fn withdraw(&mut self, hub: &ServiceHub, input: &DataId) -> Option<String> {
        let route = &mut self.routes[*self.by_input.get(input)?];
        let dropped = route.calls.drop_all() as u64;
        route.stats.failed.fetch_add(dropped, Ordering::Relaxed);
        hub.withdraw_server(route.server)
            .then(|| route.label.clone())
    }

    /// The handler behind `input` is back: the service is offered again.
    pub fn restore(&self, hub: &ServiceHub, input: &DataId) {
        let Some(&index) = self.by_input.get(input) else {
            return;
        };
        let route = &self.routes[index];
        match hub.restore_server(route.server) {
            Ok(true) => tracing::info!("{}: service offered again", route.label),
            Ok(false) => {}
            Err(e) => tracing::error!("{}: {e:#}", route.label),
        }
    }
}

impl ServiceServerRoute {
    fn forward_call(&mut self, node: &mut DoraNode, header: RequestHeader, cdr: &[u8]) {
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        let row = match self.request.decode(cdr) {
            Ok(row) => row,
            Err(e) => {
                // The caller's client times out on its own; nothing to answer with.
                self.stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                self.warnings
                    .warn(|| format!("{}: dropped a malformed request: {e}", self.label));
                return;
            }
        };
        let request_id = self.calls.next_request_id();
        let params = dora_side::call_metadata(&request_id, None);
        let row: ArrayRef = Arc::new(row);
        match node.send_output(self.output.clone(), params, row) {
            Ok(()) => {
                self.stats.forwarded.fetch_add(1, Ordering::Relaxed);
                self.calls.handed_out(request_id, header, Instant::now());
            }
            Err(e) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                self.send_errors.warn(|| {
                    format!(
                        "{}: cannot send on output `{}`: {e}",
                        self.label, self.output
                    )
                });
            }
        }
    }

    /// Answers the waiting call named by the row's `request_id`.
    fn answer(&mut self, hub: &ServiceHub, params: &MetadataParameters, data: &dyn Array) {
        let request_id = dora_side::request_id(params);
        let waiting = request_id.as_ref().filter(|id| self.calls.is_waiting(id));
        let Some(id) = waiting.cloned() else {
            self.stats.unmatched.fetch_add(1, Ordering::Relaxed);
            self.warnings.warn(|| match &request_id {
                None => format!(
                    "{}: an answer without `request_id` metadata; dropped",
                    self.label
                ),
                Some(id) => format!(
                    "{}: an answer for request_id `{id}`, which no call waits for \
                     (unknown, already answered or timed out); dropped",
                    self.label
                ),
            });
            return;
        };
        let cdr = match self.encode_answer(data) {
            Ok(cdr) => cdr,
            Err(error) => {
                // The call keeps waiting: a corrected answer may still come.
                self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
                self.warnings.warn(|| format!("{}: {error}", self.label));
                return;
            }
        };
        let Some(header) = self.calls.answer(&id) else {
            return;
        };
        match hub.respond(self.server, &header, &cdr) {
            Ok(Answered::Sent | Answered::Later) => {}
            Err(e) => {
                self.stats.publish_errors.fetch_add(1, Ordering::Relaxed);
                self.warnings
                    .warn(|| format!("{}: cannot answer call {id}: {e}", self.label));
            }
            Ok(Answered::Withdrawn) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The answer row as response CDR; exactly one row.
    fn encode_answer(&self, data: &dyn Array) -> Result<Vec<u8>, String> {
        let rows = data.as_struct_opt().ok_or_else(|| {
            format!(
                "an answer is not a StructArray of {} (got {}); dropped",
                self.response.type_name(),
                data.data_type()
            )
        })?;
        if rows.len() != 1 {
            return Err(format!(
                "an answer has {} rows, one is expected; dropped",
                rows.len()
            ));
        }
        self.response
            .encode_row(rows, 0, Vec::new())
            .map_err(|e| format!("an answer does not fit {}: {e}", self.response.type_name()))
    }

    fn expire(&mut self, now: Instant) {
        let expired = self.calls.expire(now) as u64;
        if expired > 0 {
            self.stats.failed.fetch_add(expired, Ordering::Relaxed);
            self.warnings.warn(|| {
                format!(
                    "{}: {expired} call(s) not answered within {:?}; forgotten",
                    self.label, self.timeout
                )
            });
        }
    }
}
