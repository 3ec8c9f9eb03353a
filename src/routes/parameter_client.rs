//! `parameter_clients`: dora nodes list, get, set and describe another ROS
//! node's parameters. Each row on a route's `request` input (`op`, `name`,
//! `value`) is one call to one of the node's parameter services, answered
//! by one row on `response` with the call's `request_id`: the parameter
//! typed as the node has it, or `error` and `error_code` (the node is not
//! there, no such parameter, a read-only one, the wrong type, ...). The
//! calls themselves are the service clients' engine: one
//! [`ServiceChannel`] per service.

use super::call_book::{Call, Failure};
use super::parameter_rows::{self, Error, Op, Request};
use super::service_channel::ServiceChannel;
use crate::codec::{CodecOptions, MessageCodec};
use crate::config::{Config, ParameterClient};
use crate::dora_side::{self, META_ERROR_CODE};
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::RosSide;
use crate::ros::rcl;
use crate::ros::services::{ClientId, ServiceHub};
use crate::stats::{Direction, RouteStats, StatsTable};
use crate::throttle::RateLimiter;
use anyhow::Context;
use arrow::array::{Array, ArrayRef, AsArray, StructArray};
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{DoraNode, MetadataParameters, Parameter};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Calls one parameter route keeps in flight per service.
const MAX_IN_FLIGHT: usize = 10;

/// Every `parameter_clients` route.
#[derive(Default)]
pub struct ParameterClientRoutes {
    routes: Vec<ParameterClientRoute>,
    by_input: HashMap<DataId, usize>,
    /// Hub client -> route and the service it is.
    by_client: HashMap<ClientId, (usize, Op)>,
}

struct ParameterClientRoute {
    /// `parameter_clients[0] (/controller)`, for log lines.
    label: String,
    /// The node whose parameters these are, fully qualified.
    node: String,
    output: DataId,
    services: HashMap<Op, ParameterService>,
    /// Calls out, by the id the route gave them in their channel.
    calls: HashMap<String, Pending>,
    next_call: u64,
    next_request_id: u64,
    stats: Arc<RouteStats>,
    warnings: RateLimiter,
    send_errors: RateLimiter,
}

/// One of the node's parameter services.
struct ParameterService {
    channel: ServiceChannel,
    request: MessageCodec,
    response: MessageCodec,
}

/// A call waiting for its answer.
struct Pending {
    request_id: String,
    request: Request,
}

impl ParameterClientRoutes {
    pub fn build(
        config: &Config,
        ros: &RosSide,
        hub: &ServiceHub,
        registry: &TypeRegistry,
        stats: &mut StatsTable,
    ) -> anyhow::Result<Self> {
        let mut routes = ParameterClientRoutes::default();
        for (i, route) in config.parameter_clients.iter().enumerate() {
            let at = format!("parameter_clients[{i}]");
            let index = routes.routes.len();
            let (clients, built) = ParameterClientRoute::build(&at, route, ros, hub, registry)?;
            stats.add(
                format!("{at} {}", built.node),
                Direction::ServiceClient,
                built.stats.clone(),
            );
            routes
                .by_input
                .insert(DataId::from(route.request.clone()), index);
            for (client, op) in clients {
                routes.by_client.insert(client, (index, op));
            }
            routes.routes.push(built);
        }
        Ok(routes)
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
        route.queue_calls(node, params, data.as_ref());
        route.pump(node);
        true
    }

    /// A response rcl took for hub client `client`.
    pub fn on_response(
        &mut self,
        node: &mut DoraNode,
        client: ClientId,
        sequence: i64,
        cdr: &[u8],
    ) {
        let Some(&(index, op)) = self.by_client.get(&client) else {
            return;
        };
        let route = &mut self.routes[index];
        route.on_response(node, op, sequence, cdr);
        route.pump(node);
    }

    /// Fails calls whose time is up; sends what may go now.
    pub fn on_tick(&mut self, node: &mut DoraNode) {
        for route in &mut self.routes {
            let mut failures = Vec::new();
            for service in route.services.values_mut() {
                failures.extend(service.channel.tick(&route.warnings, &route.label));
            }
            route.fail(node, failures);
            route.pump(node);
            route.stats.queued.set(route.calls.len());
        }
    }

    /// The graph changed: the node's services are looked for again.
    pub fn on_graph_changed(&mut self, node: &mut DoraNode) {
        for route in &mut self.routes {
            for service in route.services.values_mut() {
                service.channel.graph_changed(&route.warnings, &route.label);
            }
            route.pump(node);
        }
    }
}

impl ParameterClientRoute {
    fn build(
        at: &str,
        route: &ParameterClient,
        ros: &RosSide,
        hub: &ServiceHub,
        registry: &TypeRegistry,
    ) -> anyhow::Result<(Vec<(ClientId, Op)>, Self)> {
        let node = ros
            .resolve_topic(&route.node)
            .with_context(|| format!("{at}.node"))?;
        let mut clients = Vec::new();
        let mut services = HashMap::new();
        for op in Op::ALL {
            let service_type = TypeName {
                package: "rcl_interfaces".into(),
                kind: "srv".into(),
                name: op.service_type().into(),
            };
            let codec = |name: &TypeName| {
                MessageCodec::new(registry, name, CodecOptions::default())
                    .with_context(|| format!("{at}: the type {name}"))
            };
            let (request, response) = (
                codec(&service_type.request())?,
                codec(&service_type.response())?,
            );
            let name = format!("{}/{}", node.trim_end_matches('/'), op.service_suffix());
            let mut qos = rcl::default_qos();
            qos.depth = qos.depth.max(2 * MAX_IN_FLIGHT);
            let (client, rcl_client) = hub.add_client(&name, &service_type, qos)?;
            clients.push((client, op));
            let channel = ServiceChannel::new(rcl_client, route.timeout, MAX_IN_FLIGHT);
            let service = ParameterService {
                channel,
                request,
                response,
            };
            services.insert(op, service);
        }
        let label = format!("{at} ({node})");
        tracing::info!(
            "{label}: input `{}` lists, gets, sets and describes the parameters of {node}, \
             answers on `{}` (timeout {:?})",
            route.request,
            route.response,
            route.timeout
        );
        let built = ParameterClientRoute {
            label,
            node,
            output: DataId::from(route.response.clone()),
            services,
            calls: HashMap::new(),
            next_call: 0,
            next_request_id: 0,
            stats: Arc::new(RouteStats::default()),
            warnings: RateLimiter::new(Duration::from_secs(5)),
            send_errors: RateLimiter::new(Duration::from_secs(5)),
        };
        Ok((clients, built))
    }

    /// One call per row, in order; rows that do not fit are answered at
    /// once with their error.
    fn queue_calls(&mut self, node: &mut DoraNode, params: &MetadataParameters, data: &dyn Array) {
        let given_id = dora_side::request_id(params);
        let Some(rows) = data.as_struct_opt() else {
            self.stats.received.fetch_add(1, Ordering::Relaxed);
            let request_id = self.request_id(given_id.as_deref());
            let error = Error::new(
                "bad_request",
                format!(
                    "a request is a StructArray of {{op, name, value}} rows (got {})",
                    data.data_type()
                ),
            );
            return self.send_error(node, &request_id, None, "", error);
        };
        for read in parameter_rows::read_requests(rows) {
            self.stats.received.fetch_add(1, Ordering::Relaxed);
            let request_id = self.request_id(given_id.as_deref());
            let queued = match read {
                Ok(request) => {
                    let (op, name) = (request.op, request.name.clone());
                    let queued = self.queue(request_id.clone(), request);
                    queued.map_err(|e| (Some(op), name, e))
                }
                Err(e) => Err((None, String::new(), e)),
            };
            if let Err((op, name, error)) = queued {
                self.send_error(node, &request_id, op, &name, error);
            }
        }
    }

    fn queue(&mut self, request_id: String, request: Request) -> Result<(), Error> {
        let service = &mut self
            .services
            .get_mut(&request.op)
            .expect("a service per op");
        let cdr = service
            .request
            .encode_json(&request.to_json())
            .map_err(|e| Error::new("bad_request", format!("{e:#}")))?;
        self.next_call += 1;
        let call_id = format!("call-{}", self.next_call);
        service.channel.queue(Call {
            request_id: call_id.clone(),
            cdr,
        });
        let pending = Pending {
            request_id,
            request,
        };
        self.calls.insert(call_id, pending);
        Ok(())
    }

    /// The id a call answers with: the one dora gave, or `bridge-N`.
    fn request_id(&mut self, given: Option<&str>) -> String {
        given.map(str::to_string).unwrap_or_else(|| {
            self.next_request_id += 1;
            format!("bridge-{}", self.next_request_id)
        })
    }

    /// Sends waiting calls where there is room and the node's service.
    fn pump(&mut self, node: &mut DoraNode) {
        let mut failures = Vec::new();
        for service in self.services.values_mut() {
            failures.extend(service.channel.pump(&self.warnings, &self.label));
        }
        self.fail(node, failures);
    }

    fn on_response(&mut self, node: &mut DoraNode, op: Op, sequence: i64, cdr: &[u8]) {
        let service = self.services.get_mut(&op).expect("a service per op");
        let Some(call) = service
            .channel
            .answered(sequence)
            .and_then(|id| self.calls.remove(&id))
        else {
            self.stats.unmatched.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let answered = service
            .response
            .decode(cdr)
            .map_err(|e| e.to_string())
            .and_then(|message| parameter_rows::message_json(&message).map_err(|e| e.to_string()));
        let answer = match answered {
            Ok(response) => parameter_rows::answer(&self.node, &call.request, &response),
            Err(e) => {
                self.stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                Err(Error::new("error", format!("malformed response: {e}")))
            }
        };
        match answer {
            Ok(row) => {
                let params = dora_side::call_metadata(&call.request_id, None);
                self.send(node, params, row);
            }
            Err(error) => {
                let Pending {
                    request_id,
                    request,
                } = call;
                self.send_error(node, &request_id, Some(request.op), &request.name, error);
            }
        }
    }

    /// Calls that ended without an answer, told as the node's.
    fn fail(&mut self, node: &mut DoraNode, failures: Vec<Failure>) {
        for failure in failures {
            let Some(call) = self.calls.remove(&failure.request_id) else {
                continue;
            };
            let op = call.request.op;
            let error = self.told(op, &failure.error);
            self.send_error(node, &call.request_id, Some(op), &call.request.name, error);
        }
    }

    /// A call engine's failure in the user's terms.
    fn told(&self, op: Op, error: &str) -> Error {
        let node = &self.node;
        let service = op.service_suffix();
        if error.starts_with("no server") || error.contains("left the ROS graph") {
            let what = error.replace("the service's server", "it").replace(
                "no server for the service",
                &format!("its {service} service did not appear"),
            );
            Error::new("node_missing", format!("no node {node}: {what}"))
        } else if error.starts_with("no answer") {
            Error::new("timeout", format!("node {node} ({service}): {error}"))
        } else {
            Error::new("error", format!("node {node} ({service}): {error}"))
        }
    }

    fn send_error(
        &mut self,
        node: &mut DoraNode,
        request_id: &str,
        op: Option<Op>,
        name: &str,
        error: Error,
    ) {
        self.stats.failed.fetch_add(1, Ordering::Relaxed);
        self.warnings
            .warn(|| format!("{}: call {request_id}: {}", self.label, error.text));
        let mut params = dora_side::call_metadata(request_id, Some(&error.text));
        params.insert(META_ERROR_CODE.into(), Parameter::String(error.code.into()));
        let row = parameter_rows::error_row(&self.node, op, name);
        self.send(node, params, row);
    }

    fn send(&self, node: &mut DoraNode, params: MetadataParameters, row: StructArray) {
        let row: ArrayRef = Arc::new(row);
        match node.send_output(self.output.clone(), params, row) {
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
                });
            }
        }
    }
}
