//! The one module with `unsafe`: rcl through `r2r_rcl`'s bindings, and
//! `dlopen` of rosidl type support libraries.
//!
//! Invariants every type here keeps:
//! - Each rcl handle is zero-initialised, then `*_init`ed exactly once; a
//!   failed init leaves nothing to finalise. It is `*_fini`ed exactly once,
//!   in `Drop`, and never moved after init: handles live in a `Box`, since
//!   rcl and the rmw keep pointers to them.
//! - Ownership follows rcl's dependency order: an entity holds an `Arc` of the
//!   [`RclNode`] it was created on (which holds the [`RclContext`]), and of the
//!   [`TypeSupport`] whose library must stay loaded while the entity exists.
//!   Dropping therefore always finalises entity, node, context in that order.
//! - rcl entity creation and destruction on one node are serialised by the
//!   node's mutex (rcl does not promise thread safety there). Publishing is
//!   thread-safe in rcl/rmw for a publisher that is alive, so `RclPublisher`
//!   is `Sync`. A subscription and a wait set are used by one thread at a time
//!   (`Send`, not `Sync`): `&mut self` on take and wait.
//! - The node's graph guard condition is in one wait set only (the
//!   receiver's): a trigger is consumed by the first wait that sees it, so a
//!   second wait set on it would miss graph changes at random.
//! - Buffers passed to rcl are valid for the duration of the call only; rcl
//!   copies what it keeps. The one block that goes the other way, a take
//!   buffer handed over to Arrow, is detached from rcl first ([`Taken`]).

mod services;
pub use services::{RclClient, RclService, RequestHeader, ServiceTypeSupport, ServicesReady};

use r2r_rcl as sys;
use std::ffi::{CStr, CString, c_char};
use std::path::PathBuf;
use std::ptr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An rcl call failed; the message is rcl's own error string.
#[derive(Debug, thiserror::Error)]
#[error("{call} failed (rcl code {code}): {message}")]
pub struct RclError {
    pub call: &'static str,
    pub code: i32,
    pub message: String,
}

impl RclError {
    /// rcl gave up waiting (e.g. rmw_fastrtps's "client will not receive
    /// response": the caller's reader is not matched yet).
    pub fn is_timeout(&self) -> bool {
        self.code == sys::RCL_RET_TIMEOUT as i32
    }
}

fn check(call: &'static str, ret: sys::rcl_ret_t) -> Result<(), RclError> {
    if ret == sys::RCL_RET_OK as sys::rcl_ret_t {
        return Ok(());
    }
    // SAFETY: rcutils' error state is thread-local; reading and resetting it
    // right after the failing call on the same thread is what rcutils expects.
    let message = unsafe {
        let state = sys::rcutils_get_error_string();
        let text = CStr::from_ptr(state.str_.as_ptr())
            .to_string_lossy()
            .into_owned();
        sys::rcutils_reset_error();
        text
    };
    Err(RclError {
        call,
        code: ret,
        message,
    })
}

fn cstring(what: &str, s: &str) -> Result<CString, RclError> {
    CString::new(s).map_err(|_| RclError {
        call: "argument check",
        code: -1,
        message: format!("{what} `{s}` contains a NUL byte"),
    })
}

/// The RMW this process runs on, e.g. `rmw_fastrtps_cpp`.
pub fn rmw_implementation() -> String {
    // SAFETY: returns a pointer to a static NUL-terminated string (or null),
    // valid for the life of the process; we copy it.
    unsafe {
        let id = sys::rmw_get_implementation_identifier();
        if id.is_null() {
            return String::new();
        }
        CStr::from_ptr(id).to_string_lossy().into_owned()
    }
}

/// An initialised rcl context (one DDS participant per process).
pub struct RclContext {
    context: Box<sys::rcl_context_t>,
    init_options: Box<sys::rcl_init_options_t>,
}

// SAFETY: the context is only read by rcl after init (entity creation takes a
// pointer to it); shutdown happens in Drop when nothing else references it.
unsafe impl Send for RclContext {}
unsafe impl Sync for RclContext {}

impl RclContext {
    /// `args` are the process arguments: rcl applies `--ros-args` from them
    /// (remapping, `__node`, `__ns`, log levels).
    pub fn new(args: &[String]) -> Result<Arc<Self>, RclError> {
        let c_args: Vec<CString> = args
            .iter()
            .map(|a| cstring("argument", a))
            .collect::<Result<_, _>>()?;
        let argv: Vec<*const c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
        // SAFETY: zero-initialised structs are the documented starting state;
        // argv outlives rcl_init, which copies what it parses.
        unsafe {
            let mut init_options = Box::new(sys::rcl_get_zero_initialized_init_options());
            check(
                "rcl_init_options_init",
                sys::rcl_init_options_init(
                    init_options.as_mut(),
                    sys::rcutils_get_default_allocator(),
                ),
            )?;
            let mut context = Box::new(sys::rcl_get_zero_initialized_context());
            let ret = sys::rcl_init(
                argv.len() as i32,
                argv.as_ptr(),
                init_options.as_ref(),
                context.as_mut(),
            );
            if let Err(e) = check("rcl_init", ret) {
                sys::rcl_init_options_fini(init_options.as_mut());
                return Err(e);
            }
            Ok(Arc::new(RclContext {
                context,
                init_options,
            }))
        }
    }
}

impl RclContext {
    /// A boolean parameter given on the command line (`--ros-args -p
    /// NAME:=true`, or in a `--params-file`) for node `node` (fully
    /// qualified) or for every node (`/**`); `None` when not given or not
    /// a boolean.
    pub fn bool_parameter_override(&self, node: &str, name: &str) -> Option<bool> {
        let mut params: *mut sys::rcl_params_t = ptr::null_mut();
        // SAFETY: the context is initialised; rcl allocates `params` (or
        // leaves it null when nothing was given) and we free it below.
        let ret = unsafe {
            sys::rcl_arguments_get_param_overrides(&self.context.global_arguments, &mut params)
        };
        if ret != sys::RCL_RET_OK as sys::rcl_ret_t || params.is_null() {
            return None;
        }
        // SAFETY: `params` is a valid rcl_params_t until the fini below;
        // every array holds the count rcl says.
        let value = unsafe { find_bool(&*params, node, name) };
        // SAFETY: allocated by rcl_arguments_get_param_overrides, freed once.
        unsafe { sys::rcl_yaml_node_struct_fini(params) };
        value
    }
}

/// Looks `name` up for `node`, then for `/**` (a node's own value wins).
///
/// # Safety
/// `params` must be a valid rcl_params_t.
unsafe fn find_bool(params: &sys::rcl_params_t, node: &str, name: &str) -> Option<bool> {
    let mut found = None;
    for n in 0..params.num_nodes {
        // SAFETY: n < num_nodes; names are NUL-terminated strings.
        let (node_name, node_params) = unsafe {
            let node_name = CStr::from_ptr(*params.node_names.add(n)).to_string_lossy();
            (node_name.into_owned(), &*params.params.add(n))
        };
        let own = node_name == node || node_name == node.trim_start_matches('/');
        if !own && node_name != "/**" {
            continue;
        }
        for p in 0..node_params.num_params {
            // SAFETY: p < num_params; the value's bool pointer is null or valid.
            let value = unsafe {
                let param = CStr::from_ptr(*node_params.parameter_names.add(p));
                let variant = &*node_params.parameter_values.add(p);
                (param.to_bytes() == name.as_bytes() && !variant.bool_value.is_null())
                    .then(|| *variant.bool_value)
            };
            if value.is_some() && (own || found.is_none()) {
                found = value;
            }
        }
    }
    found
}

impl Drop for RclContext {
    fn drop(&mut self) {
        // SAFETY: every node holds an Arc of the context, so none is alive.
        unsafe {
            sys::rcl_shutdown(self.context.as_mut());
            sys::rcl_context_fini(self.context.as_mut());
            sys::rcl_init_options_fini(self.init_options.as_mut());
        }
    }
}

/// One ROS node: the bridge's single presence in the ROS graph.
pub struct RclNode {
    node: Box<sys::rcl_node_t>,
    /// Serialises entity creation/destruction on this node.
    entities: Mutex<()>,
    context: Arc<RclContext>,
}

// SAFETY: see the module invariants: mutation of the node goes through the
// `entities` mutex; graph queries are read-only and thread-safe in rcl.
unsafe impl Send for RclNode {}
unsafe impl Sync for RclNode {}

impl RclNode {
    pub fn new(
        context: &Arc<RclContext>,
        name: &str,
        namespace: &str,
    ) -> Result<Arc<Self>, RclError> {
        let c_name = cstring("node name", name)?;
        let c_namespace = cstring("namespace", namespace)?;
        // SAFETY: zero-initialised node, valid context, strings outlive the call.
        unsafe {
            let mut node = Box::new(sys::rcl_get_zero_initialized_node());
            let options = sys::rcl_node_get_default_options();
            check(
                "rcl_node_init",
                sys::rcl_node_init(
                    node.as_mut(),
                    c_name.as_ptr(),
                    c_namespace.as_ptr(),
                    context.context.as_ref() as *const _ as *mut _,
                    &options,
                ),
            )?;
            Ok(Arc::new(RclNode {
                node,
                entities: Mutex::new(()),
                context: context.clone(),
            }))
        }
    }

    /// The node's name after remapping (`__node:=`).
    pub fn name(&self) -> String {
        // SAFETY: valid node; rcl returns a string owned by the node.
        unsafe { CStr::from_ptr(sys::rcl_node_get_name(self.node.as_ref())) }
            .to_string_lossy()
            .into_owned()
    }

    pub fn namespace(&self) -> String {
        // SAFETY: as above.
        unsafe { CStr::from_ptr(sys::rcl_node_get_namespace(self.node.as_ref())) }
            .to_string_lossy()
            .into_owned()
    }

    /// The topic name after expansion and remapping, as rcl will use it.
    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.entities.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for RclNode {
    fn drop(&mut self) {
        // SAFETY: every entity holds an Arc of the node, so none is alive.
        unsafe {
            sys::rcl_node_fini(self.node.as_mut());
        }
    }
}

/// A message type's `rosidl_typesupport_c` handle, loaded at run time.
pub struct TypeSupport {
    handle: *const sys::rosidl_message_type_support_t,
    /// Keeps the library (and so `handle`) loaded.
    _library: libloading::Library,
}

// SAFETY: the handle points to static, immutable data inside the library.
unsafe impl Send for TypeSupport {}
unsafe impl Sync for TypeSupport {}

impl TypeSupport {
    /// Loads `lib<package>__rosidl_typesupport_c.so`, searching the `lib/`
    /// folder of each ROS prefix first, then the dynamic loader's path.
    pub fn load(
        prefixes: &[PathBuf],
        package: &str,
        kind: &str,
        name: &str,
    ) -> Result<Arc<Self>, String> {
        let file = format!("lib{package}__rosidl_typesupport_c.so");
        let symbol = format!(
            "rosidl_typesupport_c__get_message_type_support_handle__{package}__{kind}__{name}\0"
        );
        let library = open_library(prefixes, &file)
            .map_err(|e| format!("no type support for {package}/{kind}/{name}: {e}"))?;
        // SAFETY: rosidl generates this symbol with exactly this signature.
        let handle = unsafe {
            let get: libloading::Symbol<
                unsafe extern "C" fn() -> *const sys::rosidl_message_type_support_t,
            > = library
                .get(symbol.as_bytes())
                .map_err(|e| format!("no type support for {package}/{kind}/{name}: {e}"))?;
            get()
        };
        if handle.is_null() {
            return Err(format!(
                "{package}/{kind}/{name}: type support handle is null"
            ));
        }
        Ok(Arc::new(TypeSupport {
            handle,
            _library: library,
        }))
    }
}

/// Opens a rosidl library, searching the `lib/` folder of each ROS prefix
/// first, then the dynamic loader's path.
fn open_library(prefixes: &[PathBuf], file: &str) -> Result<libloading::Library, String> {
    let candidates = prefixes
        .iter()
        .map(|p| p.join("lib").join(file))
        .filter(|p| p.is_file())
        .chain(std::iter::once(PathBuf::from(file)));
    let mut errors = Vec::new();
    for candidate in candidates {
        // SAFETY: loading a rosidl library runs only its static
        // initialisers, which register type support and nothing else.
        match unsafe { libloading::Library::new(&candidate) } {
            Ok(library) => return Ok(library),
            Err(e) => errors.push(format!("{}: {e}", candidate.display())),
        }
    }
    Err(errors.join("; "))
}

/// QoS as rmw sees it; built by `ros::qos`.
pub type QosProfile = sys::rmw_qos_profile_t;
pub use sys::{
    rmw_qos_durability_policy_e as Durability, rmw_qos_history_policy_e as History,
    rmw_qos_liveliness_policy_e as Liveliness, rmw_qos_reliability_policy_e as Reliability,
    rmw_time_t as RmwTime,
};

/// rmw's default QoS (`rmw_qos_profile_default`, a header-only constant):
/// reliable, volatile, keep last 10, no deadline/lifespan/lease.
pub fn default_qos() -> QosProfile {
    let unset = RmwTime { sec: 0, nsec: 0 };
    QosProfile {
        history: History::RMW_QOS_POLICY_HISTORY_KEEP_LAST,
        depth: 10,
        reliability: Reliability::RMW_QOS_POLICY_RELIABILITY_RELIABLE,
        durability: Durability::RMW_QOS_POLICY_DURABILITY_VOLATILE,
        deadline: unset,
        lifespan: unset,
        liveliness: Liveliness::RMW_QOS_POLICY_LIVELINESS_SYSTEM_DEFAULT,
        liveliness_lease_duration: unset,
        avoid_ros_namespace_conventions: false,
    }
}

pub fn rmw_time(d: Duration) -> RmwTime {
    RmwTime {
        sec: d.as_secs(),
        nsec: u64::from(d.subsec_nanos()),
    }
}

/// What rmw puts in `publication_sequence_number` when the RMW does not
/// number samples (`RMW_MESSAGE_INFO_SEQUENCE_NUMBER_UNSUPPORTED`).
pub const SEQUENCE_NUMBER_UNSUPPORTED: u64 = 0;

/// What rmw reports about one received message (the type lives with the
/// messages it describes, below the ROS layer).
pub use crate::flow::MessageInfo;

/// Subscription events the bridge listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionEventKind {
    /// A publisher offers QoS this subscription cannot match.
    IncompatibleQos,
    /// The middleware lost samples before they reached this subscription.
    MessageLost,
}

/// What an event reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionEvent {
    /// `total` so far; the QoS policy that last did not match.
    IncompatibleQos { total: i32, policy: &'static str },
    /// Samples lost since the last event.
    MessageLost { lost: u64 },
}

pub struct RclSubscription {
    subscription: Box<sys::rcl_subscription_t>,
    buffer: Box<sys::rcl_serialized_message_t>,
    /// Events set up on this subscription (those the RMW supports).
    events: Vec<(SubscriptionEventKind, Box<sys::rcl_event_t>)>,
    node: Arc<RclNode>,
    _type_support: Arc<TypeSupport>,
}

// SAFETY: used by one thread at a time (take/wait need &mut self).
unsafe impl Send for RclSubscription {}

impl RclSubscription {
    pub fn new(
        node: &Arc<RclNode>,
        type_support: &Arc<TypeSupport>,
        topic: &str,
        qos: QosProfile,
    ) -> Result<Self, RclError> {
        let c_topic = cstring("topic", topic)?;
        let _guard = node.lock();
        // SAFETY: zero-initialised handles; valid node and type support; the
        // serialized buffer is initialised before use and finalised in Drop.
        unsafe {
            let mut subscription = Box::new(sys::rcl_get_zero_initialized_subscription());
            let mut options = sys::rcl_subscription_get_default_options();
            options.qos = qos;
            check(
                "rcl_subscription_init",
                sys::rcl_subscription_init(
                    subscription.as_mut(),
                    node.node.as_ref(),
                    type_support.handle,
                    c_topic.as_ptr(),
                    &options,
                ),
            )?;
            let mut buffer = Box::new(sys::rcutils_get_zero_initialized_uint8_array());
            let allocator = sys::rcutils_get_default_allocator();
            if let Err(e) = check(
                "rcutils_uint8_array_init",
                sys::rcutils_uint8_array_init(buffer.as_mut(), 0, &allocator),
            ) {
                sys::rcl_subscription_fini(
                    subscription.as_mut(),
                    node.node.as_ref() as *const _ as *mut _,
                );
                return Err(e);
            }
            let mut events = Vec::new();
            for (kind, rcl_kind) in [
                (
                    SubscriptionEventKind::IncompatibleQos,
                    sys::rcl_subscription_event_type_t::RCL_SUBSCRIPTION_REQUESTED_INCOMPATIBLE_QOS,
                ),
                (
                    SubscriptionEventKind::MessageLost,
                    sys::rcl_subscription_event_type_t::RCL_SUBSCRIPTION_MESSAGE_LOST,
                ),
            ] {
                let mut event = Box::new(sys::rcl_get_zero_initialized_event());
                // An RMW without this event answers UNSUPPORTED: go without it.
                if check(
                    "rcl_subscription_event_init",
                    sys::rcl_subscription_event_init(
                        event.as_mut(),
                        subscription.as_ref(),
                        rcl_kind,
                    ),
                )
                .is_ok()
                {
                    events.push((kind, event));
                }
            }
            Ok(RclSubscription {
                subscription,
                buffer,
                events,
                node: node.clone(),
                _type_support: type_support.clone(),
            })
        }
    }

    /// Takes one message if one is waiting: its CDR bytes and rmw's info
    /// about it. A message of `adopt_from` bytes or more comes as the take
    /// buffer itself, handed over as an Arrow [`Buffer`] (no copy; rmw
    /// allocates a new one on the next take); a smaller one is borrowed
    /// until the next take.
    pub fn take(
        &mut self,
        adopt_from: usize,
    ) -> Result<Option<(Taken<'_>, MessageInfo)>, RclError> {
        // SAFETY: valid subscription and buffer; rmw resizes the buffer through
        // its allocator as needed. A borrowed slice borrows self mutably, so
        // no take can invalidate it while it is in use. An adopted block is
        // detached from the serialized message before anyone else can see
        // it, so exactly one owner (the Buffer) frees it.
        unsafe {
            let mut info = sys::rmw_get_zero_initialized_message_info();
            let ret = sys::rcl_take_serialized_message(
                self.subscription.as_ref(),
                self.buffer.as_mut(),
                &mut info,
                ptr::null_mut(),
            );
            if ret == sys::RCL_RET_SUBSCRIPTION_TAKE_FAILED as sys::rcl_ret_t {
                return Ok(None);
            }
            check("rcl_take_serialized_message", ret)?;
            let gid = &info.publisher_gid.data;
            let info = MessageInfo {
                source_timestamp_ns: info.source_timestamp,
                received_timestamp_ns: info.received_timestamp,
                publication_sequence_number: info.publication_sequence_number,
                publisher_gid: gid.to_vec(),
                ros_time: None,
            };
            let length = self.buffer.buffer_length;
            let taken = match ptr::NonNull::new(self.buffer.buffer) {
                Some(block) if length > 0 && length >= adopt_from => {
                    let owner = Arc::new(RcutilsBlock {
                        block,
                        allocator: self.buffer.allocator,
                    });
                    // Detach: rmw sees an empty buffer (as right after
                    // init) and allocates afresh on the next take.
                    self.buffer.buffer = ptr::null_mut();
                    self.buffer.buffer_length = 0;
                    self.buffer.buffer_capacity = 0;
                    Taken::Adopted(arrow::buffer::Buffer::from_custom_allocation(
                        block, length, owner,
                    ))
                }
                Some(block) if length > 0 => {
                    Taken::Borrowed(std::slice::from_raw_parts(block.as_ptr(), length))
                }
                _ => Taken::Borrowed(&[]),
            };
            Ok(Some((taken, info)))
        }
    }
}

/// A taken message's CDR: borrowed from the subscription's take buffer, or
/// that buffer itself, now owned by an Arrow [`Buffer`](arrow::buffer::Buffer).
pub enum Taken<'a> {
    Borrowed(&'a [u8]),
    Adopted(arrow::buffer::Buffer),
}

impl Taken<'_> {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Taken::Borrowed(bytes) => bytes,
            Taken::Adopted(buffer) => buffer.as_slice(),
        }
    }
}

/// A block rmw allocated for a take buffer, owned by the Arrow buffer that
/// adopted it and freed through the rcutils allocator that made it.
struct RcutilsBlock {
    block: ptr::NonNull<u8>,
    allocator: sys::rcutils_allocator_t,
}

// SAFETY: the block has exactly one owner (this value); the allocator is
// rcutils' default (malloc/free, state null), which may free from any
// thread, and nothing reads the block through this value.
unsafe impl Send for RcutilsBlock {}
unsafe impl Sync for RcutilsBlock {}

impl Drop for RcutilsBlock {
    fn drop(&mut self) {
        if let Some(deallocate) = self.allocator.deallocate {
            // SAFETY: allocated by this allocator (rmw resized the take buffer
            // through it) and detached from rcl before adoption: freed once.
            unsafe { deallocate(self.block.as_ptr().cast(), self.allocator.state) };
        }
    }
}

impl RclSubscription {
    /// Takes the pending status of event `index` (as reported by
    /// [`Ready::events`]).
    pub fn take_event(&mut self, index: usize) -> Result<Option<SubscriptionEvent>, RclError> {
        let Some((kind, event)) = self.events.get(index) else {
            return Ok(None);
        };
        // SAFETY: valid event; the status struct matches the event kind as
        // rcl documents for rcl_take_event.
        unsafe {
            match kind {
                SubscriptionEventKind::IncompatibleQos => {
                    // Read into a mirror with the enum as a plain integer:
                    // bindgen's Rust enum has no zero value and must never
                    // hold a value rmw might add later.
                    let mut status = IncompatibleQosStatus::default();
                    check(
                        "rcl_take_event",
                        sys::rcl_take_event(event.as_ref(), &mut status as *mut _ as *mut _),
                    )?;
                    Ok(Some(SubscriptionEvent::IncompatibleQos {
                        total: status.total_count,
                        policy: qos_policy_name(status.last_policy_kind),
                    }))
                }
                SubscriptionEventKind::MessageLost => {
                    let mut status =
                        std::mem::MaybeUninit::<sys::rmw_message_lost_status_t>::uninit();
                    check(
                        "rcl_take_event",
                        sys::rcl_take_event(event.as_ref(), status.as_mut_ptr() as *mut _),
                    )?;
                    let status = status.assume_init();
                    Ok(Some(SubscriptionEvent::MessageLost {
                        lost: status.total_count_change as u64,
                    }))
                }
            }
        }
    }

    /// How many publishers are matched right now.
    pub fn publisher_count(&self) -> Result<usize, RclError> {
        let mut count = 0usize;
        // SAFETY: valid subscription, out-pointer to a local.
        unsafe {
            check(
                "rcl_subscription_get_publisher_count",
                sys::rcl_subscription_get_publisher_count(self.subscription.as_ref(), &mut count),
            )?;
        }
        Ok(count)
    }
}

/// `rmw_qos_incompatible_event_status_t` with its enum field as the C int
/// it is (same layout; checked below).
#[repr(C)]
#[derive(Default)]
struct IncompatibleQosStatus {
    total_count: i32,
    total_count_change: i32,
    last_policy_kind: u32,
}

const _: () = assert!(
    std::mem::size_of::<IncompatibleQosStatus>()
        == std::mem::size_of::<sys::rmw_requested_qos_incompatible_event_status_t>()
);

fn qos_policy_name(kind: u32) -> &'static str {
    use sys::rmw_qos_policy_kind_t as K;
    match kind {
        k if k == K::RMW_QOS_POLICY_DURABILITY as u32 => "durability",
        k if k == K::RMW_QOS_POLICY_DEADLINE as u32 => "deadline",
        k if k == K::RMW_QOS_POLICY_LIVELINESS as u32 => "liveliness",
        k if k == K::RMW_QOS_POLICY_RELIABILITY as u32 => "reliability",
        k if k == K::RMW_QOS_POLICY_HISTORY as u32 => "history",
        k if k == K::RMW_QOS_POLICY_LIFESPAN as u32 => "lifespan",
        k if k == K::RMW_QOS_POLICY_DEPTH as u32 => "depth",
        _ => "another policy",
    }
}

impl Drop for RclSubscription {
    fn drop(&mut self) {
        let _guard = self.node.lock();
        // SAFETY: initialised in new(), finalised once here; events before
        // the subscription they watch.
        unsafe {
            for (_, event) in &mut self.events {
                sys::rcl_event_fini(event.as_mut());
            }
            sys::rcutils_uint8_array_fini(self.buffer.as_mut());
            sys::rcl_subscription_fini(
                self.subscription.as_mut(),
                self.node.node.as_ref() as *const _ as *mut _,
            );
        }
    }
}

pub struct RclPublisher {
    publisher: Box<sys::rcl_publisher_t>,
    node: Arc<RclNode>,
    _type_support: Arc<TypeSupport>,
}

// SAFETY: rcl_publish_serialized_message is thread-safe for a live publisher.
unsafe impl Send for RclPublisher {}
unsafe impl Sync for RclPublisher {}

impl RclPublisher {
    pub fn new(
        node: &Arc<RclNode>,
        type_support: &Arc<TypeSupport>,
        topic: &str,
        qos: QosProfile,
    ) -> Result<Self, RclError> {
        let c_topic = cstring("topic", topic)?;
        let _guard = node.lock();
        // SAFETY: zero-initialised handle; valid node and type support.
        unsafe {
            let mut publisher = Box::new(sys::rcl_get_zero_initialized_publisher());
            let mut options = sys::rcl_publisher_get_default_options();
            options.qos = qos;
            check(
                "rcl_publisher_init",
                sys::rcl_publisher_init(
                    publisher.as_mut(),
                    node.node.as_ref(),
                    type_support.handle,
                    c_topic.as_ptr(),
                    &options,
                ),
            )?;
            Ok(RclPublisher {
                publisher,
                node: node.clone(),
                _type_support: type_support.clone(),
            })
        }
    }

    /// Publishes one CDR-encoded message (with its encapsulation header).
    pub fn publish(&self, cdr: &[u8]) -> Result<(), RclError> {
        // SAFETY: rmw only reads the buffer during the call; the allocator is
        // never used because rmw does not resize a message it publishes.
        unsafe {
            let message = sys::rcl_serialized_message_t {
                buffer: cdr.as_ptr() as *mut u8,
                buffer_length: cdr.len(),
                buffer_capacity: cdr.len(),
                allocator: sys::rcutils_get_default_allocator(),
            };
            check(
                "rcl_publish_serialized_message",
                sys::rcl_publish_serialized_message(
                    self.publisher.as_ref(),
                    &message,
                    ptr::null_mut(),
                ),
            )
        }
    }

    /// How many subscriptions are matched right now.
    pub fn subscription_count(&self) -> Result<usize, RclError> {
        let mut count = 0usize;
        // SAFETY: valid publisher, out-pointer to a local.
        unsafe {
            check(
                "rcl_publisher_get_subscription_count",
                sys::rcl_publisher_get_subscription_count(self.publisher.as_ref(), &mut count),
            )?;
        }
        Ok(count)
    }

    /// Blocks until every matched reliable subscription acknowledged what
    /// was published, or `timeout`; true when all were acknowledged.
    pub fn wait_for_all_acked(&self, timeout: Duration) -> bool {
        let nanos = i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX);
        // SAFETY: valid publisher; rcl only reads it while blocking.
        let ret = unsafe { sys::rcl_publisher_wait_for_all_acked(self.publisher.as_ref(), nanos) };
        if ret != sys::RCL_RET_OK as sys::rcl_ret_t {
            // SAFETY: resets rcutils' thread-local error state only.
            unsafe { sys::rcutils_reset_error() };
            return false;
        }
        true
    }
}

impl Drop for RclPublisher {
    fn drop(&mut self) {
        let _guard = self.node.lock();
        // SAFETY: initialised in new(), finalised once here.
        unsafe {
            sys::rcl_publisher_fini(
                self.publisher.as_mut(),
                self.node.node.as_ref() as *const _ as *mut _,
            );
        }
    }
}

/// Wakes a blocked [`WaitSet::wait`] from another thread.
pub struct GuardCondition {
    condition: Box<sys::rcl_guard_condition_t>,
    _context: Arc<RclContext>,
}

// SAFETY: rcl_trigger_guard_condition is thread-safe.
unsafe impl Send for GuardCondition {}
unsafe impl Sync for GuardCondition {}

impl GuardCondition {
    pub fn new(context: &Arc<RclContext>) -> Result<Arc<Self>, RclError> {
        // SAFETY: zero-initialised handle, valid context.
        unsafe {
            let mut condition = Box::new(sys::rcl_get_zero_initialized_guard_condition());
            check(
                "rcl_guard_condition_init",
                sys::rcl_guard_condition_init(
                    condition.as_mut(),
                    context.context.as_ref() as *const _ as *mut _,
                    sys::rcl_guard_condition_get_default_options(),
                ),
            )?;
            Ok(Arc::new(GuardCondition {
                condition,
                _context: context.clone(),
            }))
        }
    }

    pub fn trigger(&self) -> Result<(), RclError> {
        // SAFETY: valid guard condition; triggering is thread-safe.
        unsafe {
            check(
                "rcl_trigger_guard_condition",
                sys::rcl_trigger_guard_condition(self.condition.as_ref() as *const _ as *mut _),
            )
        }
    }
}

impl Drop for GuardCondition {
    fn drop(&mut self) {
        // SAFETY: initialised in new(), finalised once here.
        unsafe {
            sys::rcl_guard_condition_fini(self.condition.as_mut());
        }
    }
}

/// Which entities of a wait became ready.
#[derive(Debug, Default)]
pub struct Ready {
    pub subscriptions: Vec<usize>,
    pub guard_conditions: Vec<usize>,
    /// (subscription index, event index) of events with news.
    pub events: Vec<(usize, usize)>,
    pub graph_changed: bool,
}

/// A reusable rcl wait set over subscriptions, guard conditions and the
/// node's graph guard condition.
pub struct WaitSet {
    wait_set: Box<sys::rcl_wait_set_t>,
    node: Arc<RclNode>,
}

// SAFETY: used by one thread at a time (&mut self).
unsafe impl Send for WaitSet {}

impl WaitSet {
    pub fn new(node: &Arc<RclNode>) -> Result<Self, RclError> {
        // SAFETY: zero-initialised handle, valid context.
        unsafe {
            let mut wait_set = Box::new(sys::rcl_get_zero_initialized_wait_set());
            check(
                "rcl_wait_set_init",
                sys::rcl_wait_set_init(
                    wait_set.as_mut(),
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    node.context.context.as_ref() as *const _ as *mut _,
                    sys::rcutils_get_default_allocator(),
                ),
            )?;
            Ok(WaitSet {
                wait_set,
                node: node.clone(),
            })
        }
    }

    /// Blocks until a subscription has data, a guard condition fires, the
    /// graph changes, or `timeout` passes.
    pub fn wait(
        &mut self,
        subscriptions: &[&RclSubscription],
        guard_conditions: &[&GuardCondition],
        timeout: Duration,
    ) -> Result<Ready, RclError> {
        // SAFETY: the entities are borrowed for the whole call, so the
        // pointers the wait set holds stay valid until it is cleared again
        // (by the next wait); `ready` reads the slots of this very wait.
        unsafe {
            self.fill(subscriptions, guard_conditions)?;
            let ws = self.wait_set.as_mut();
            let ret = sys::rcl_wait(ws, timeout.as_nanos().min(i64::MAX as u128) as i64);
            if ret == sys::RCL_RET_TIMEOUT as sys::rcl_ret_t {
                return Ok(Ready::default());
            }
            check("rcl_wait", ret)?;
            Ok(self.ready(subscriptions, guard_conditions))
        }
    }

    /// Clears the wait set and adds this wait's entities: each
    /// subscription's events, the subscriptions, the guard conditions, then
    /// the graph's guard condition.
    ///
    /// # Safety
    /// The entities must stay alive until the wait set is cleared again.
    unsafe fn fill(
        &mut self,
        subscriptions: &[&RclSubscription],
        guard_conditions: &[&GuardCondition],
    ) -> Result<(), RclError> {
        // SAFETY: the wait set is initialised (new()); the caller keeps the
        // entities alive while their pointers are in it.
        unsafe {
            let ws = self.wait_set.as_mut();
            check("rcl_wait_set_clear", sys::rcl_wait_set_clear(ws))?;
            let event_count: usize = subscriptions.iter().map(|s| s.events.len()).sum();
            let guards = guard_conditions.len() + 1;
            let resized =
                sys::rcl_wait_set_resize(ws, subscriptions.len(), guards, 0, 0, 0, event_count);
            check("rcl_wait_set_resize", resized)?;
            for (_, event) in subscriptions.iter().flat_map(|s| &s.events) {
                let added = sys::rcl_wait_set_add_event(ws, event.as_ref(), ptr::null_mut());
                check("rcl_wait_set_add_event", added)?;
            }
            for s in subscriptions {
                let added = sys::rcl_wait_set_add_subscription(
                    ws,
                    s.subscription.as_ref(),
                    ptr::null_mut(),
                );
                check("rcl_wait_set_add_subscription", added)?;
            }
            let graph = sys::rcl_node_get_graph_guard_condition(self.node.node.as_ref());
            let conditions = guard_conditions
                .iter()
                .map(|g| g.condition.as_ref() as *const _);
            for condition in conditions.chain([graph]) {
                let added = sys::rcl_wait_set_add_guard_condition(ws, condition, ptr::null_mut());
                check("rcl_wait_set_add_guard_condition", added)?;
            }
            Ok(())
        }
    }

    /// What a finished wait left set (rcl nulls the slots of the others),
    /// in the order `fill` added them.
    ///
    /// # Safety
    /// Only right after a successful `rcl_wait` on what `fill` added.
    unsafe fn ready(
        &mut self,
        subscriptions: &[&RclSubscription],
        guard_conditions: &[&GuardCondition],
    ) -> Ready {
        // SAFETY: the slot arrays hold exactly the entities `fill` added.
        unsafe {
            let ws = self.wait_set.as_mut();
            let mut ready = Ready::default();
            for i in 0..subscriptions.len() {
                if !(*ws.subscriptions.add(i)).is_null() {
                    ready.subscriptions.push(i);
                }
            }
            for i in 0..guard_conditions.len() {
                if !(*ws.guard_conditions.add(i)).is_null() {
                    ready.guard_conditions.push(i);
                }
            }
            ready.graph_changed = !(*ws.guard_conditions.add(guard_conditions.len())).is_null();
            let mut slot = 0;
            for (si, s) in subscriptions.iter().enumerate() {
                for ei in 0..s.events.len() {
                    if !(*ws.events.add(slot)).is_null() {
                        ready.events.push((si, ei));
                    }
                    slot += 1;
                }
            }
            ready
        }
    }
}

impl Drop for WaitSet {
    fn drop(&mut self) {
        // SAFETY: initialised in new(), finalised once here.
        unsafe {
            sys::rcl_wait_set_fini(self.wait_set.as_mut());
        }
    }
}

/// One publisher or subscription as the ROS graph reports it.
#[derive(Debug, Clone)]
pub struct EndpointInfo {
    pub node_name: String,
    pub node_namespace: String,
    pub topic_type: String,
    pub gid: Vec<u8>,
    pub qos: QosProfile,
    /// `RIHS01_<hex>`, the type description hash the endpoint announced
    /// (Jazzy and later); None when it announced none.
    pub type_hash: Option<String>,
}

impl EndpointInfo {
    /// The endpoint's node as a fully qualified name, `/ns/name`.
    pub fn node(&self) -> String {
        format!(
            "{}/{}",
            self.node_namespace.trim_end_matches('/'),
            self.node_name
        )
    }

    /// The node's name, unless the graph does not know it yet: endpoints
    /// show `_NODE_NAME_UNKNOWN_` for a moment while a node starts or stops.
    pub fn known_node(&self) -> Option<String> {
        (!self.node_name.contains("_UNKNOWN_")).then(|| self.node())
    }
}

/// Copies a C string that rmw owns; empty for null.
///
/// # Safety
/// `ptr` is null or a valid NUL-terminated string.
unsafe fn owned_string(ptr: *const c_char) -> String {
    if ptr.is_null() {
        String::new()
    } else {
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned()
    }
}

/// # Safety
/// `array` is an initialised rcutils string array.
unsafe fn string_array(array: &sys::rcutils_string_array_t) -> Vec<String> {
    (0..array.size)
        .map(|i| unsafe { owned_string(*array.data.add(i)) })
        .collect()
}

impl RclNode {
    /// Every topic in the graph with its types (a topic can have several).
    pub fn topic_names_and_types(&self) -> Result<Vec<(String, Vec<String>)>, RclError> {
        // SAFETY: zero-initialised output, finalised before returning; the
        // strings are copied out first.
        unsafe {
            let mut allocator = sys::rcutils_get_default_allocator();
            let mut names_and_types = sys::rmw_get_zero_initialized_names_and_types();
            check(
                "rcl_get_topic_names_and_types",
                sys::rcl_get_topic_names_and_types(
                    self.node.as_ref(),
                    &mut allocator,
                    false,
                    &mut names_and_types,
                ),
            )?;
            let names = string_array(&names_and_types.names);
            let topics = names
                .into_iter()
                .enumerate()
                .map(|(i, name)| (name, string_array(&*names_and_types.types.add(i))))
                .collect();
            sys::rmw_names_and_types_fini(&mut names_and_types);
            Ok(topics)
        }
    }

    /// Every service in the graph with its types.
    pub fn service_names_and_types(&self) -> Result<Vec<(String, Vec<String>)>, RclError> {
        // SAFETY: as for topic_names_and_types.
        unsafe {
            let mut allocator = sys::rcutils_get_default_allocator();
            let mut names_and_types = sys::rmw_get_zero_initialized_names_and_types();
            check(
                "rcl_get_service_names_and_types",
                sys::rcl_get_service_names_and_types(
                    self.node.as_ref(),
                    &mut allocator,
                    &mut names_and_types,
                ),
            )?;
            let names = string_array(&names_and_types.names);
            let services = names
                .into_iter()
                .enumerate()
                .map(|(i, name)| (name, string_array(&*names_and_types.types.add(i))))
                .collect();
            sys::rmw_names_and_types_fini(&mut names_and_types);
            Ok(services)
        }
    }

    /// A guard condition on this node's context.
    pub fn guard_condition(&self) -> Result<Arc<GuardCondition>, RclError> {
        GuardCondition::new(&self.context)
    }

    /// How many subscriptions the graph shows on `topic` (a fully
    /// qualified name), this node's too.
    pub fn count_subscribers(&self, topic: &str) -> Result<usize, RclError> {
        let c_topic = cstring("topic", topic)?;
        let mut count = 0usize;
        // SAFETY: the node is valid for `self`'s lifetime, the topic a
        // NUL-terminated string that outlives the call, `count` a valid
        // out-pointer.
        unsafe {
            check(
                "rcl_count_subscribers",
                sys::rcl_count_subscribers(self.node.as_ref(), c_topic.as_ptr(), &mut count),
            )?;
        }
        Ok(count)
    }

    /// The publishers on `topic` (a fully qualified name).
    pub fn publishers_info(&self, topic: &str) -> Result<Vec<EndpointInfo>, RclError> {
        let c_topic = cstring("topic", topic)?;
        // SAFETY: as above; the array is finalised with the allocator that
        // filled it.
        unsafe {
            let mut allocator = sys::rcutils_get_default_allocator();
            let mut infos = sys::rmw_get_zero_initialized_topic_endpoint_info_array();
            check(
                "rcl_get_publishers_info_by_topic",
                sys::rcl_get_publishers_info_by_topic(
                    self.node.as_ref(),
                    &mut allocator,
                    c_topic.as_ptr(),
                    false,
                    &mut infos,
                ),
            )?;
            let result = (0..infos.size)
                .map(|i| {
                    let info = &*infos.info_array.add(i);
                    EndpointInfo {
                        node_name: owned_string(info.node_name),
                        node_namespace: owned_string(info.node_namespace),
                        topic_type: owned_string(info.topic_type),
                        gid: info.endpoint_gid.to_vec(),
                        qos: info.qos_profile,
                        type_hash: (info.topic_type_hash.version == 1).then(|| {
                            let hex: String = info
                                .topic_type_hash
                                .value
                                .iter()
                                .map(|b| format!("{b:02x}"))
                                .collect();
                            format!("RIHS01_{hex}")
                        }),
                    }
                })
                .collect();
            sys::rmw_topic_endpoint_info_array_fini(&mut infos, &mut allocator);
            Ok(result)
        }
    }

    /// Fully qualified names of the nodes in the graph.
    pub fn node_names(&self) -> Result<Vec<String>, RclError> {
        Ok(self
            .names_and_namespaces()?
            .into_iter()
            .map(|(name, ns)| {
                if ns.ends_with('/') {
                    format!("{ns}{name}")
                } else {
                    format!("{ns}/{name}")
                }
            })
            .collect())
    }

    /// (name, namespace) of every node in the graph.
    fn names_and_namespaces(&self) -> Result<Vec<(String, String)>, RclError> {
        // SAFETY: zero-initialised string arrays, finalised before returning.
        unsafe {
            let mut names = sys::rcutils_get_zero_initialized_string_array();
            let mut namespaces = sys::rcutils_get_zero_initialized_string_array();
            check(
                "rcl_get_node_names",
                sys::rcl_get_node_names(
                    self.node.as_ref(),
                    sys::rcutils_get_default_allocator(),
                    &mut names,
                    &mut namespaces,
                ),
            )?;
            let result = string_array(&names)
                .into_iter()
                .zip(string_array(&namespaces))
                .collect();
            sys::rcutils_string_array_fini(&mut names);
            sys::rcutils_string_array_fini(&mut namespaces);
            Ok(result)
        }
    }

    /// `topic` expanded and remapped as rcl does for this node's entities.
    pub fn resolve_topic_name(&self, topic: &str) -> Result<String, RclError> {
        let c_topic = cstring("topic", topic)?;
        // SAFETY: rcl allocates the output with the given allocator; it is
        // copied, then freed with the same allocator.
        unsafe {
            let allocator = sys::rcutils_get_default_allocator();
            let mut out: *mut c_char = ptr::null_mut();
            check(
                "rcl_node_resolve_name",
                sys::rcl_node_resolve_name(
                    self.node.as_ref(),
                    c_topic.as_ptr(),
                    allocator,
                    false,
                    false,
                    &mut out,
                ),
            )?;
            let resolved = owned_string(out);
            if let Some(deallocate) = allocator.deallocate {
                deallocate(out as *mut _, allocator.state);
            }
            Ok(resolved)
        }
    }
}
