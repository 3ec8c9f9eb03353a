//! The bridge's service clients and servers (and the subscriptions of the
//! action clients, which are services plus two topics), and the thread
//! that takes what arrives for them: one rcl wait set over all of them;
//! messages, responses and requests go to the bridge as [`ServiceEvent`]s,
//! with a
//! [`ServiceEvent::GraphChanged`] when servers may have come or gone (the
//! receiver sees graph changes and passes them on, see
//! [`RosShared::on_graph_change`]).
//! Requests and responses are sent from the bridge's own thread (rcl
//! allows sending while another thread takes).

use super::RosShared;
use super::rcl::{
    GuardCondition, QosProfile, RclClient, RclError, RclService, RclSubscription, RequestHeader,
    ServiceTypeSupport, WaitSet,
};
use crate::msg::TypeName;
use crate::throttle::RateLimiter;
use anyhow::Context;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::Sender;

/// A subscription, client or server of the hub, as its events name it:
/// typed, so that one is never taken for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionId(usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientId(usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServerId(usize);

/// What the services thread hands to the bridge.
#[derive(Debug)]
pub enum ServiceEvent {
    /// A message on subscription `subscription`.
    Message {
        subscription: SubscriptionId,
        cdr: Vec<u8>,
    },
    /// A response to a call that client `client` sent.
    Response {
        client: ClientId,
        sequence: i64,
        cdr: Vec<u8>,
    },
    /// A ROS call of server `server`.
    Request {
        server: ServerId,
        header: RequestHeader,
        cdr: Vec<u8>,
    },
    /// The graph changed: a server may have come or gone.
    GraphChanged,
}

/// A server as configured, so that it can be offered again after a
/// withdrawal.
struct ServerSpec {
    service: String,
    types: Arc<ServiceTypeSupport>,
    qos: QosProfile,
    offered: Option<Arc<RclService>>,
}

#[derive(Default)]
struct Entities {
    /// Taken by the thread only; the lock is for adding them.
    subscriptions: Vec<Arc<Mutex<RclSubscription>>>,
    clients: Vec<Arc<RclClient>>,
    servers: Vec<ServerSpec>,
}

pub struct ServiceHub {
    shared: Arc<RosShared>,
    entities: Arc<Mutex<Entities>>,
    types: Mutex<HashMap<TypeName, Arc<ServiceTypeSupport>>>,
    wake: Arc<GuardCondition>,
    /// Set by the receiver's graph listener, taken by the thread.
    graph_changed: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Answers rmw could not deliver yet, retried on each tick.
    unsent: Mutex<Vec<Unsent>>,
}

/// How long an answer is retried while the caller's response reader is not
/// matched yet. rmw_fastrtps waits 100 ms for it and then refuses the
/// answer ("client will not receive response"); a caller that called as
/// soon as it saw the server, on a loaded machine, is matched later.
const RESPONSE_RETRY: Duration = Duration::from_secs(2);
/// Between tries: each refused try blocks the bridge for rmw's 100 ms.
const RESPONSE_RETRY_EVERY: Duration = Duration::from_millis(250);

struct Unsent {
    server: ServerId,
    header: RequestHeader,
    cdr: Vec<u8>,
    next_try: Instant,
    until: Instant,
}

/// What became of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    Sent,
    /// The caller is not matched yet: retried for a while.
    Later,
    /// The server is withdrawn: the caller's call fails on its side.
    Withdrawn,
}

/// How long the thread waits before looking at its entity list again even
/// without a wake-up.
const IDLE_WAIT: Duration = Duration::from_millis(500);

impl ServiceHub {
    /// The graph changes reach the thread from the receiver (whose wait
    /// set holds the node's graph guard condition), through `shared`.
    pub fn new(shared: &Arc<RosShared>) -> anyhow::Result<Self> {
        let wake = shared.node.guard_condition()?;
        let graph_changed = Arc::new(AtomicBool::new(false));
        let (flag, poke) = (graph_changed.clone(), wake.clone());
        shared.on_graph_change(Box::new(move || {
            flag.store(true, Ordering::Release);
            let _ = poke.trigger();
        }));
        Ok(ServiceHub {
            shared: shared.clone(),
            entities: Arc::default(),
            types: Mutex::default(),
            wake,
            graph_changed,
            stop: Arc::default(),
            thread: None,
            unsent: Mutex::default(),
        })
    }

    fn type_support(&self, service_type: &TypeName) -> anyhow::Result<Arc<ServiceTypeSupport>> {
        let mut cache = self.types.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(types) = cache.get(service_type) {
            return Ok(types.clone());
        }
        let types = ServiceTypeSupport::load(
            &self.shared.prefixes,
            &service_type.package,
            &service_type.kind,
            &service_type.name,
        )
        .map_err(anyhow::Error::msg)?;
        cache.insert(service_type.clone(), types.clone());
        Ok(types)
    }

    /// The bridge's node, for graph queries.
    pub fn node(&self) -> Arc<super::rcl::RclNode> {
        self.shared.node.clone()
    }

    /// Subscribes to `topic`; returns the index its messages come with
    /// (as in [`ServiceEvent::Message`]).
    pub fn add_subscription(
        &self,
        topic: &str,
        type_name: &TypeName,
        qos: QosProfile,
    ) -> anyhow::Result<SubscriptionId> {
        let subscription = self.shared.subscription(topic, type_name, qos)?;
        let mut entities = self.lock();
        entities
            .subscriptions
            .push(Arc::new(Mutex::new(subscription)));
        self.poke();
        Ok(SubscriptionId(entities.subscriptions.len() - 1))
    }

    /// Creates a client; returns its index (as in [`ServiceEvent::Response`]).
    pub fn add_client(
        &self,
        service: &str,
        service_type: &TypeName,
        qos: QosProfile,
    ) -> anyhow::Result<(ClientId, Arc<RclClient>)> {
        let types = self.type_support(service_type)?;
        let client = RclClient::new(&self.shared.node, &types, service, qos)
            .with_context(|| format!("cannot create a client of {service} ({service_type})"))?;
        let client = Arc::new(client);
        let mut entities = self.lock();
        entities.clients.push(client.clone());
        self.poke();
        Ok((ClientId(entities.clients.len() - 1), client))
    }

    /// Offers a service; returns its index (as in [`ServiceEvent::Request`]).
    pub fn add_server(
        &self,
        service: &str,
        service_type: &TypeName,
        qos: QosProfile,
    ) -> anyhow::Result<ServerId> {
        let types = self.type_support(service_type)?;
        let mut spec = ServerSpec {
            service: service.to_string(),
            types,
            qos,
            offered: None,
        };
        spec.offered = Some(Arc::new(offer(&self.shared, &spec)?));
        let mut entities = self.lock();
        entities.servers.push(spec);
        self.poke();
        Ok(ServerId(entities.servers.len() - 1))
    }

    /// Server `id`, unless withdrawn.
    pub fn server(&self, id: ServerId) -> Option<Arc<RclService>> {
        self.lock().servers.get(id.0)?.offered.clone()
    }

    /// Answers request `header` of server `id`.
    pub fn respond(
        &self,
        id: ServerId,
        header: &RequestHeader,
        cdr: &[u8],
    ) -> Result<Answered, RclError> {
        let Some(server) = self.server(id) else {
            return Ok(Answered::Withdrawn);
        };
        match server.respond(header, cdr) {
            Ok(()) => Ok(Answered::Sent),
            Err(e) if e.is_timeout() => {
                let unsent = Unsent {
                    server: id,
                    header: *header,
                    cdr: cdr.to_vec(),
                    next_try: Instant::now() + RESPONSE_RETRY_EVERY,
                    until: Instant::now() + RESPONSE_RETRY,
                };
                self.unsent
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(unsent);
                Ok(Answered::Later)
            }
            Err(e) => Err(e),
        }
    }

    /// Tries the answers rmw refused for an unmatched caller again; those
    /// still refused after [`RESPONSE_RETRY`] are given up, logged.
    pub fn retry_responses(&self) {
        let mut unsent = self.unsent.lock().unwrap_or_else(|p| p.into_inner());
        if unsent.is_empty() {
            return;
        }
        let now = Instant::now();
        unsent.retain_mut(|answer| {
            if now < answer.next_try {
                return true;
            }
            let Some(server) = self.server(answer.server) else {
                return false;
            };
            match server.respond(&answer.header, &answer.cdr) {
                Ok(()) => false,
                Err(e) if e.is_timeout() && now < answer.until => {
                    answer.next_try = Instant::now() + RESPONSE_RETRY_EVERY;
                    true
                }
                Err(e) => {
                    tracing::warn!(
                        "an answer to a ROS call was given up after {RESPONSE_RETRY:?}: {e}"
                    );
                    false
                }
            }
        });
    }

    /// Takes server `id` out of the ROS graph; whether it was offered.
    pub fn withdraw_server(&self, id: ServerId) -> bool {
        let withdrawn = self
            .lock()
            .servers
            .get_mut(id.0)
            .and_then(|s| s.offered.take());
        self.poke();
        // Dropped here, outside the lock; the thread drops its copy after
        // its current wait.
        withdrawn.is_some()
    }

    /// Offers server `id` again; whether it was withdrawn.
    pub fn restore_server(&self, id: ServerId) -> anyhow::Result<bool> {
        let mut entities = self.lock();
        let Some(spec) = entities.servers.get_mut(id.0) else {
            return Ok(false);
        };
        if spec.offered.is_some() {
            return Ok(false);
        }
        spec.offered = Some(Arc::new(offer(&self.shared, spec)?));
        self.poke();
        Ok(true)
    }

    /// Starts the thread; what it takes goes to `events`.
    pub fn start(&mut self, events: Sender<ServiceEvent>) -> anyhow::Result<()> {
        let taker = Taker {
            node: self.shared.node.clone(),
            entities: self.entities.clone(),
            wake: self.wake.clone(),
            graph_changed: self.graph_changed.clone(),
            stop: self.stop.clone(),
            events,
        };
        let handle = std::thread::Builder::new()
            .name("ros-services".into())
            .spawn(move || taker.run())
            .context("cannot start the ROS services thread")?;
        self.thread = Some(handle);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entities> {
        self.entities.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the thread look at its entity list again.
    fn poke(&self) {
        if let Err(e) = self.wake.trigger() {
            tracing::warn!("cannot wake the ROS services thread: {e}");
        }
    }
}

impl Drop for ServiceHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.poke();
        if let Some(handle) = self.thread.take() {
            let _ = handle.join();
        }
    }
}

fn offer(shared: &RosShared, spec: &ServerSpec) -> anyhow::Result<RclService> {
    RclService::new(&shared.node, &spec.types, &spec.service, spec.qos)
        .with_context(|| format!("cannot offer the service {}", spec.service))
}

type Subscriptions = Vec<Arc<Mutex<RclSubscription>>>;

/// Offered servers with their index (as in [`ServiceEvent::Request`]).
type OfferedServers = Vec<(ServerId, Arc<RclService>)>;

/// The services thread's state.
struct Taker {
    node: Arc<super::rcl::RclNode>,
    entities: Arc<Mutex<Entities>>,
    wake: Arc<GuardCondition>,
    graph_changed: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    /// Bounded: while the bridge is behind, this thread waits, and what
    /// comes meanwhile waits in rcl (a client's requests, a server's
    /// answers) rather than piling up in memory.
    events: Sender<ServiceEvent>,
}

impl Taker {
    fn run(self) {
        let mut wait_set = match WaitSet::new(&self.node) {
            Ok(ws) => ws,
            Err(e) => {
                tracing::error!("cannot create the ROS services wait set: {e}");
                return;
            }
        };
        let errors = RateLimiter::new(Duration::from_secs(5));
        while !self.stop.load(Ordering::Acquire) {
            let (subscriptions, clients, servers) = self.snapshot();
            let mut subscriptions: Vec<_> = subscriptions
                .iter()
                .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()))
                .collect();
            let subscription_refs: Vec<&RclSubscription> =
                subscriptions.iter().map(|s| &**s).collect();
            let server_refs: Vec<&RclService> = servers.iter().map(|(_, s)| s.as_ref()).collect();
            let client_refs: Vec<&RclClient> = clients.iter().map(Arc::as_ref).collect();
            let ready = match wait_set.wait_services(
                &subscription_refs,
                &client_refs,
                &server_refs,
                &[&self.wake],
                IDLE_WAIT,
            ) {
                Ok(ready) => ready,
                Err(e) => {
                    errors.warn(|| format!("waiting for ROS services failed: {e}"));
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            let mut open = true;
            if self.graph_changed.swap(false, Ordering::AcqRel) {
                open &= self
                    .events
                    .blocking_send(ServiceEvent::GraphChanged)
                    .is_ok();
            }
            let mut responses = Vec::new();
            for index in ready.clients {
                self.take_responses(ClientId(index), &clients[index], &mut responses, &errors);
            }
            // Messages go first, every one taken by now: an action server
            // publishes its last feedback before it answers the result
            // request, and that feedback may land just after this wait.
            let with_data = match responses.is_empty() {
                true => ready.subscriptions,
                false => (0..subscriptions.len()).collect(),
            };
            for index in with_data {
                let id = SubscriptionId(index);
                open &= self.take_messages(id, &mut subscriptions[index], &errors);
            }
            for event in responses {
                open &= self.events.blocking_send(event).is_ok();
            }
            for index in ready.services {
                let (server, service) = &servers[index];
                open &= self.take_requests(*server, service, &errors);
            }
            if !open {
                return; // the bridge is gone
            }
        }
    }

    /// Every subscription and client, and every offered server with its
    /// index.
    fn snapshot(&self) -> (Subscriptions, Vec<Arc<RclClient>>, OfferedServers) {
        let entities = self.entities.lock().unwrap_or_else(|p| p.into_inner());
        let servers = entities
            .servers
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((ServerId(i), s.offered.clone()?)))
            .collect();
        (
            entities.subscriptions.clone(),
            entities.clients.clone(),
            servers,
        )
    }

    /// False once the bridge is gone.
    fn take_messages(
        &self,
        subscription: SubscriptionId,
        rcl: &mut RclSubscription,
        errors: &RateLimiter,
    ) -> bool {
        loop {
            match rcl.take(usize::MAX) {
                Ok(Some((taken, _info))) => {
                    let cdr = taken.bytes().to_vec();
                    let event = ServiceEvent::Message { subscription, cdr };
                    if self.events.blocking_send(event).is_err() {
                        return false;
                    }
                }
                Ok(None) => return true,
                Err(e) => {
                    errors.warn(|| format!("cannot take a message: {e}"));
                    return true;
                }
            }
        }
    }

    /// False once the bridge is gone.
    /// Every response client `client` has, into `responses`.
    fn take_responses(
        &self,
        client: ClientId,
        rcl: &RclClient,
        responses: &mut Vec<ServiceEvent>,
        errors: &RateLimiter,
    ) {
        loop {
            match rcl.take() {
                Ok(Some((sequence, cdr))) => responses.push(ServiceEvent::Response {
                    client,
                    sequence,
                    cdr,
                }),
                Ok(None) => return,
                Err(e) => {
                    errors.warn(|| format!("cannot take a service response: {e}"));
                    return;
                }
            }
        }
    }

    fn take_requests(&self, server: ServerId, rcl: &RclService, errors: &RateLimiter) -> bool {
        loop {
            match rcl.take() {
                Ok(Some((header, cdr))) => {
                    let event = ServiceEvent::Request {
                        server,
                        header,
                        cdr,
                    };
                    if self.events.blocking_send(event).is_err() {
                        return false;
                    }
                }
                Ok(None) => return true,
                Err(e) => {
                    errors.warn(|| format!("cannot take a service request: {e}"));
                    return true;
                }
            }
        }
    }
}
