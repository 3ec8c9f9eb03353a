//! The bridge's ROS services: the service routes, the parameter services of
//! its node, and the hub their rcl clients and servers live in.

use crate::config::Config;
use crate::config::table::RouteKind;
use crate::msg::TypeRegistry;
use crate::ros::RosSide;
use crate::ros::parameters::{ParameterValue, Parameters};
use crate::ros::services::{ClientId, ServerId, ServiceEvent, ServiceHub};
use crate::routes::action_client::ActionClientRoutes;
use crate::routes::action_server::ActionServerRoutes;
use crate::routes::parameter_client::ParameterClientRoutes;
use crate::routes::service_client::ServiceClientRoutes;
use crate::routes::service_server::ServiceServerRoutes;
use crate::stats::StatsTable;
use arrow::array::ArrayRef;
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{DoraNode, MetadataParameters};
use std::collections::{BTreeMap, HashMap};
use tokio::sync::mpsc::Receiver;

/// The service routes and the hub their ROS clients and servers live in.
pub(super) struct Services {
    pub(super) hub: ServiceHub,
    events: Receiver<ServiceEvent>,
    pub(super) clients: ServiceClientRoutes,
    pub(super) servers: ServiceServerRoutes,
    parameter_clients: ParameterClientRoutes,
    pub(super) action_clients: ActionClientRoutes,
    pub(super) action_servers: ActionServerRoutes,
    /// The standard parameter services of the bridge's node.
    parameters: Parameters,
    /// Who each hub client and server belongs to: an event goes straight
    /// to its owner.
    owners: HubOwners,
}

/// What a hub client's responses or a hub server's requests are for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Owner {
    Route(RouteKind),
    Parameters,
}

#[derive(Default)]
struct HubOwners {
    clients: HashMap<ClientId, Owner>,
    servers: HashMap<ServerId, Owner>,
}

impl HubOwners {
    fn clients(&mut self, owner: Owner, ids: impl Iterator<Item = ClientId>) {
        self.clients.extend(ids.map(|id| (id, owner)));
    }

    fn servers(&mut self, owner: Owner, ids: impl Iterator<Item = ServerId>) {
        self.servers.extend(ids.map(|id| (id, owner)));
    }
}

impl Drop for Services {
    /// First of all: a services thread waiting for room in the (bounded)
    /// events channel is let go, so that the hub can join it.
    fn drop(&mut self) {
        self.events.close();
    }
}

/// Service events in flight from the services thread to the loop: room for
/// a burst of calls (tests/services.rs sends 50 at once).
const SERVICE_EVENTS: usize = 256;

impl Services {
    /// The service routes, and the parameter services every ROS node has.
    pub(super) fn set_up(
        config: &Config,
        ros: &RosSide,
        registry: &TypeRegistry,
        node: &DoraNode,
        stats: &mut StatsTable,
    ) -> anyhow::Result<Option<Self>> {
        let mut hub = ServiceHub::new(ros.shared())?;
        let clients = ServiceClientRoutes::build(config, ros, &hub, registry, stats)?;
        let servers = ServiceServerRoutes::build(config, ros, &hub, registry, stats)?;
        let parameter_clients = ParameterClientRoutes::build(config, ros, &hub, registry, stats)?;
        let action_clients = ActionClientRoutes::build(config, ros, &hub, registry, stats)?;
        let action_servers = ActionServerRoutes::build(config, ros, &hub, registry, stats)?;
        let values = parameter_values(config, node);
        let clock = ros.clock().clone();
        let parameters = Parameters::offer(&hub, registry, ros.node_name(), values, clock)?;
        let mut owners = HubOwners::default();
        owners.clients(
            Owner::Route(RouteKind::ServiceClient),
            clients.hub_clients(),
        );
        owners.clients(
            Owner::Route(RouteKind::ParameterClient),
            parameter_clients.hub_clients(),
        );
        owners.clients(
            Owner::Route(RouteKind::ActionClient),
            action_clients.hub_clients(),
        );
        owners.servers(
            Owner::Route(RouteKind::ServiceServer),
            servers.hub_servers(),
        );
        owners.servers(
            Owner::Route(RouteKind::ActionServer),
            action_servers.hub_servers(),
        );
        owners.servers(Owner::Parameters, parameters.servers());
        let (events_tx, events) = tokio::sync::mpsc::channel(SERVICE_EVENTS);
        hub.start(events_tx)?;
        Ok(Some(Services {
            hub,
            events,
            clients,
            servers,
            parameter_clients,
            action_clients,
            action_servers,
            parameters,
            owners,
        }))
    }

    pub(super) async fn next_event(services: &mut Option<Services>) -> Option<ServiceEvent> {
        match services {
            Some(s) => s.events.recv().await,
            None => std::future::pending().await,
        }
    }

    pub(super) fn on_event(&mut self, node: &mut DoraNode, event: ServiceEvent) {
        match event {
            ServiceEvent::Response {
                client,
                sequence,
                cdr,
            } => match self.owners.clients.get(&client) {
                Some(Owner::Route(RouteKind::ActionClient)) => {
                    self.action_clients
                        .on_response(node, client, sequence, &cdr);
                }
                Some(Owner::Route(RouteKind::ParameterClient)) => {
                    self.parameter_clients
                        .on_response(node, client, sequence, &cdr);
                }
                Some(_) => self.clients.on_response(node, client, sequence, &cdr),
                None => {}
            },
            ServiceEvent::Message { subscription, cdr } => {
                // Only action clients subscribe through the hub.
                self.action_clients.on_message(node, subscription, &cdr);
            }
            ServiceEvent::Request {
                server,
                header,
                cdr,
            } => match self.owners.servers.get(&server) {
                Some(Owner::Parameters) => self.parameters.answer(&self.hub, server, header, &cdr),
                Some(Owner::Route(RouteKind::ActionServer)) => {
                    self.action_servers
                        .on_request(node, &self.hub, server, header, &cdr);
                }
                Some(_) => self.servers.on_request(node, server, header, &cdr),
                None => {}
            },
            ServiceEvent::GraphChanged => {
                self.clients.on_graph_changed(node);
                self.parameter_clients.on_graph_changed(node);
                self.action_clients.on_graph_changed(node);
            }
        }
    }

    /// Calls and goals whose time is up.
    pub(super) fn on_tick(&mut self, node: &mut DoraNode) {
        self.hub.retry_responses();
        self.clients.on_tick(node);
        self.parameter_clients.on_tick(node);
        self.servers.on_tick();
        self.action_clients.on_tick(node);
        self.action_servers.on_tick(&self.hub);
    }

    /// A dora input of a service or action route of `kind` (from the
    /// route table); false if no route of that kind reads it.
    pub(super) fn on_input(
        &mut self,
        node: &mut DoraNode,
        kind: RouteKind,
        id: &DataId,
        params: &MetadataParameters,
        data: ArrayRef,
    ) -> bool {
        match kind {
            RouteKind::ServiceClient => self.clients.on_request(node, id, params, data),
            RouteKind::ParameterClient => self.parameter_clients.on_request(node, id, params, data),
            RouteKind::ServiceServer => self.servers.on_response(&self.hub, id, params, data),
            RouteKind::ActionClient => self.action_clients.on_input(node, id, params, data),
            RouteKind::ActionServer => self.action_servers.on_input(&self.hub, id, params, data),
            RouteKind::FromRos | RouteKind::ToRos | RouteKind::Tf => false,
        }
    }
}

/// What the bridge runs with, as read-only ROS parameters.
fn parameter_values(config: &Config, node: &DoraNode) -> BTreeMap<String, ParameterValue> {
    let strings = |items: Vec<String>| ParameterValue::StringArray(items);
    let table = config.route_table();
    let mut values = BTreeMap::new();
    values.insert(
        "bridge_version".into(),
        ParameterValue::String(env!("CARGO_PKG_VERSION").into()),
    );
    values.insert(
        "dora_node_id".into(),
        ParameterValue::String(node.id().to_string()),
    );
    values.insert(
        "dora_dataflow_id".into(),
        ParameterValue::String(node.dataflow_id().to_string()),
    );
    for kind in RouteKind::ALL {
        let routes = table.iter().filter(|e| e.id.kind == kind);
        let summaries = routes.map(|e| e.summary.clone()).collect();
        values.insert(kind.section().into(), strings(summaries));
    }
    values
}
