//! Service clients and servers, moved as CDR although rcl takes and gives
//! only C structs for services: each request or response crosses
//! `rmw_deserialize` / `rmw_serialize` through a struct that the type's own
//! rosidl functions create and destroy, so the codec stays CDR <-> Arrow as
//! for topics and only this boundary sees structs.
//!
//! Invariants, besides the parent module's:
//! - A [`ServiceTypeSupport`] keeps both libraries loaded (typesupport_c
//!   for the handles, generator_c for create/destroy) while any client,
//!   server or struct of its type exists: each holds an `Arc` or a borrow.
//! - A [`CStruct`] is made by `<Type>__create` and freed by
//!   `<Type>__destroy` exactly once, in `Drop`; rcl and rmw only fill or
//!   read it during a call.
//! - Sending and taking on one client or server from two threads at once
//!   is safe in rmw (rclcpp's executors do it), so both are `Sync`;
//!   creation and destruction go through the node's mutex.

use super::{
    GuardCondition, QosProfile, RclError, RclNode, RclSubscription, WaitSet, check, cstring, sys,
};
use std::ffi::c_void;
use std::path::PathBuf;
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::time::Duration;

type Create = unsafe extern "C" fn() -> *mut c_void;
type Destroy = unsafe extern "C" fn(*mut c_void);

/// The request or the response half of a service type.
struct StructType {
    type_support: *const sys::rosidl_message_type_support_t,
    create: Create,
    destroy: Destroy,
    /// `pkg__srv__Name_Request`, for errors.
    name: String,
}

/// A service type's rosidl handles and struct functions, loaded at run time.
pub struct ServiceTypeSupport {
    handle: *const sys::rosidl_service_type_support_t,
    request: StructType,
    response: StructType,
    _typesupport: libloading::Library,
    _generator: libloading::Library,
}

// SAFETY: the handles point to static, immutable data in the libraries this
// value keeps loaded; the functions are plain C functions without state.
unsafe impl Send for ServiceTypeSupport {}
unsafe impl Sync for ServiceTypeSupport {}

impl ServiceTypeSupport {
    /// Loads `lib<package>__rosidl_typesupport_c.so` and
    /// `lib<package>__rosidl_generator_c.so` for service `package/kind/name`
    /// (`kind` is `action` for the services an action is made of, e.g.
    /// `test_msgs/action/Fibonacci_SendGoal`).
    pub fn load(
        prefixes: &[PathBuf],
        package: &str,
        kind: &str,
        name: &str,
    ) -> Result<Arc<Self>, String> {
        let base = format!("{package}__{kind}__{name}");
        let typesupport =
            super::open_library(prefixes, &format!("lib{package}__rosidl_typesupport_c.so"))?;
        let generator =
            super::open_library(prefixes, &format!("lib{package}__rosidl_generator_c.so"))?;
        // SAFETY: rosidl generates these symbols with exactly these
        // signatures; the getters return pointers to static data.
        unsafe {
            let get_service: unsafe extern "C" fn() -> *const sys::rosidl_service_type_support_t =
                symbol(
                    &typesupport,
                    &format!("rosidl_typesupport_c__get_service_type_support_handle__{base}"),
                )?;
            let handle = get_service();
            if handle.is_null() {
                return Err(format!("{base}: service type support handle is null"));
            }
            let half = |suffix: &str| -> Result<StructType, String> {
                let name = format!("{base}_{suffix}");
                let get_message: unsafe extern "C" fn()
                    -> *const sys::rosidl_message_type_support_t = symbol(
                    &typesupport,
                    &format!("rosidl_typesupport_c__get_message_type_support_handle__{name}"),
                )?;
                let type_support = get_message();
                if type_support.is_null() {
                    return Err(format!("{name}: type support handle is null"));
                }
                Ok(StructType {
                    type_support,
                    create: symbol(&generator, &format!("{name}__create"))?,
                    destroy: symbol(&generator, &format!("{name}__destroy"))?,
                    name,
                })
            };
            Ok(Arc::new(ServiceTypeSupport {
                handle,
                request: half("Request")?,
                response: half("Response")?,
                _typesupport: typesupport,
                _generator: generator,
            }))
        }
    }
}

/// Copies a function pointer out of `library`.
///
/// # Safety
/// `T` must be the symbol's true type, and the library must outlive every
/// use of the returned pointer.
unsafe fn symbol<T: Copy>(library: &libloading::Library, name: &str) -> Result<T, String> {
    let with_nul = format!("{name}\0");
    // SAFETY: per this function's contract.
    unsafe { library.get::<T>(with_nul.as_bytes()) }
        .map(|s| *s)
        .map_err(|e| format!("{name}: {e}"))
}

/// One request or response as a C struct of its type.
struct CStruct<'a> {
    data: NonNull<c_void>,
    ty: &'a StructType,
}

impl<'a> CStruct<'a> {
    fn new(ty: &'a StructType) -> Result<Self, RclError> {
        // SAFETY: `create` allocates and initialises a struct of this type.
        let data = unsafe { (ty.create)() };
        let data = NonNull::new(data).ok_or_else(|| RclError {
            call: "rosidl create",
            code: -1,
            message: format!("{}__create returned null (out of memory)", ty.name),
        })?;
        Ok(CStruct { data, ty })
    }

    /// The struct holding what `cdr` (with its encapsulation header) says.
    fn from_cdr(ty: &'a StructType, cdr: &[u8]) -> Result<Self, RclError> {
        let value = Self::new(ty)?;
        // SAFETY: rmw only reads the buffer during the call and fills the
        // struct, which is of the type the type support describes.
        unsafe {
            let message = sys::rcl_serialized_message_t {
                buffer: cdr.as_ptr() as *mut u8,
                buffer_length: cdr.len(),
                buffer_capacity: cdr.len(),
                allocator: sys::rcutils_get_default_allocator(),
            };
            check(
                "rmw_deserialize",
                sys::rmw_deserialize(&message, ty.type_support, value.data.as_ptr()),
            )?;
        }
        Ok(value)
    }

    /// The struct as CDR with its encapsulation header.
    fn to_cdr(&self) -> Result<Vec<u8>, RclError> {
        // SAFETY: the buffer is initialised before and finalised after use,
        // whatever rmw_serialize returns; rmw grows it through its allocator.
        unsafe {
            let mut buffer = sys::rcutils_get_zero_initialized_uint8_array();
            let allocator = sys::rcutils_get_default_allocator();
            check(
                "rcutils_uint8_array_init",
                sys::rcutils_uint8_array_init(&mut buffer, 0, &allocator),
            )?;
            let ret = sys::rmw_serialize(self.data.as_ptr(), self.ty.type_support, &mut buffer);
            let bytes = match buffer.buffer.is_null() {
                true => Vec::new(),
                false => std::slice::from_raw_parts(buffer.buffer, buffer.buffer_length).to_vec(),
            };
            sys::rcutils_uint8_array_fini(&mut buffer);
            check("rmw_serialize", ret)?;
            Ok(bytes)
        }
    }
}

impl Drop for CStruct<'_> {
    fn drop(&mut self) {
        // SAFETY: made by this type's create, destroyed once here.
        unsafe { (self.ty.destroy)(self.data.as_ptr()) }
    }
}

/// Who sent a request and its number: what a response must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestHeader {
    pub writer_guid: [u8; 16],
    pub sequence_number: i64,
}

/// A service client: the bridge calling a ROS service.
pub struct RclClient {
    client: Box<sys::rcl_client_t>,
    node: Arc<RclNode>,
    types: Arc<ServiceTypeSupport>,
}

// SAFETY: see the module invariants.
unsafe impl Send for RclClient {}
unsafe impl Sync for RclClient {}

impl RclClient {
    pub fn new(
        node: &Arc<RclNode>,
        types: &Arc<ServiceTypeSupport>,
        service: &str,
        qos: QosProfile,
    ) -> Result<Self, RclError> {
        let c_service = cstring("service", service)?;
        let _guard = node.lock();
        // SAFETY: zero-initialised handle; valid node and type support.
        unsafe {
            let mut client = Box::new(sys::rcl_get_zero_initialized_client());
            let mut options = sys::rcl_client_get_default_options();
            options.qos = qos;
            check(
                "rcl_client_init",
                sys::rcl_client_init(
                    client.as_mut(),
                    node.node.as_ref(),
                    types.handle,
                    c_service.as_ptr(),
                    &options,
                ),
            )?;
            Ok(RclClient {
                client,
                node: node.clone(),
                types: types.clone(),
            })
        }
    }

    /// Sends one request given as CDR; returns the sequence number its
    /// response will carry.
    pub fn send(&self, cdr: &[u8]) -> Result<i64, RclError> {
        let request = CStruct::from_cdr(&self.types.request, cdr)?;
        let mut sequence = 0i64;
        // SAFETY: valid client; rcl reads the request during the call only.
        unsafe {
            check(
                "rcl_send_request",
                sys::rcl_send_request(self.client.as_ref(), request.data.as_ptr(), &mut sequence),
            )?;
        }
        Ok(sequence)
    }

    /// Takes one response if one is waiting: the sequence number of its
    /// request, and its CDR.
    pub fn take(&self) -> Result<Option<(i64, Vec<u8>)>, RclError> {
        let response = CStruct::new(&self.types.response)?;
        // SAFETY: valid client; the info is plain data rcl fills; the
        // response struct is of the client's response type.
        unsafe {
            let mut info: sys::rmw_service_info_t = std::mem::zeroed();
            let ret = sys::rcl_take_response_with_info(
                self.client.as_ref(),
                &mut info,
                response.data.as_ptr(),
            );
            if ret == sys::RCL_RET_CLIENT_TAKE_FAILED as sys::rcl_ret_t {
                return Ok(None);
            }
            check("rcl_take_response_with_info", ret)?;
            Ok(Some((info.request_id.sequence_number, response.to_cdr()?)))
        }
    }

    /// Whether a server for the service is in the graph.
    pub fn server_is_available(&self) -> Result<bool, RclError> {
        let mut available = false;
        // SAFETY: valid node and client.
        unsafe {
            check(
                "rcl_service_server_is_available",
                sys::rcl_service_server_is_available(
                    self.node.node.as_ref(),
                    self.client.as_ref(),
                    &mut available,
                ),
            )?;
        }
        Ok(available)
    }
}

impl Drop for RclClient {
    fn drop(&mut self) {
        let _guard = self.node.lock();
        // SAFETY: initialised in new(), finalised once here.
        unsafe {
            sys::rcl_client_fini(
                self.client.as_mut(),
                self.node.node.as_ref() as *const _ as *mut _,
            );
        }
    }
}

/// A service server: the bridge offering a ROS service.
pub struct RclService {
    service: Box<sys::rcl_service_t>,
    node: Arc<RclNode>,
    types: Arc<ServiceTypeSupport>,
}

// SAFETY: see the module invariants.
unsafe impl Send for RclService {}
unsafe impl Sync for RclService {}

impl RclService {
    pub fn new(
        node: &Arc<RclNode>,
        types: &Arc<ServiceTypeSupport>,
        service: &str,
        qos: QosProfile,
    ) -> Result<Self, RclError> {
        let c_service = cstring("service", service)?;
        let _guard = node.lock();
        // SAFETY: zero-initialised handle; valid node and type support.
        unsafe {
            let mut handle = Box::new(sys::rcl_get_zero_initialized_service());
            let mut options = sys::rcl_service_get_default_options();
            options.qos = qos;
            check(
                "rcl_service_init",
                sys::rcl_service_init(
                    handle.as_mut(),
                    node.node.as_ref(),
                    types.handle,
                    c_service.as_ptr(),
                    &options,
                ),
            )?;
            Ok(RclService {
                service: handle,
                node: node.clone(),
                types: types.clone(),
            })
        }
    }

    /// Takes one request if one is waiting: who sent it, and its CDR.
    pub fn take(&self) -> Result<Option<(RequestHeader, Vec<u8>)>, RclError> {
        let request = CStruct::new(&self.types.request)?;
        // SAFETY: valid service; plain-data info; a request struct of the
        // service's request type.
        unsafe {
            let mut info: sys::rmw_service_info_t = std::mem::zeroed();
            let ret = sys::rcl_take_request_with_info(
                self.service.as_ref(),
                &mut info,
                request.data.as_ptr(),
            );
            if ret == sys::RCL_RET_SERVICE_TAKE_FAILED as sys::rcl_ret_t {
                return Ok(None);
            }
            check("rcl_take_request_with_info", ret)?;
            let header = RequestHeader {
                writer_guid: info.request_id.writer_guid,
                sequence_number: info.request_id.sequence_number,
            };
            Ok(Some((header, request.to_cdr()?)))
        }
    }

    /// Answers the request `to` with a response given as CDR.
    pub fn respond(&self, to: &RequestHeader, cdr: &[u8]) -> Result<(), RclError> {
        let response = CStruct::from_cdr(&self.types.response, cdr)?;
        let mut id = sys::rmw_request_id_t {
            writer_guid: to.writer_guid,
            sequence_number: to.sequence_number,
        };
        // SAFETY: valid service; rcl reads id and response during the call.
        unsafe {
            check(
                "rcl_send_response",
                sys::rcl_send_response(self.service.as_ref(), &mut id, response.data.as_ptr()),
            )
        }
    }
}

impl Drop for RclService {
    fn drop(&mut self) {
        let _guard = self.node.lock();
        // SAFETY: initialised in new(), finalised once here.
        unsafe {
            sys::rcl_service_fini(
                self.service.as_mut(),
                self.node.node.as_ref() as *const _ as *mut _,
            );
        }
    }
}

/// Names with their types, as the graph lists topics and services.
pub type NamesAndTypes = Vec<(String, Vec<String>)>;

impl RclNode {
    /// The services each node serves: (node's fully qualified name,
    /// [(service, types)]), nodes without services left out.
    pub fn servers_by_node(&self) -> Result<Vec<(String, NamesAndTypes)>, RclError> {
        let mut servers = Vec::new();
        for (name, namespace) in self.names_and_namespaces()? {
            let (c_name, c_namespace) =
                (cstring("node", &name)?, cstring("namespace", &namespace)?);
            // SAFETY: zero-initialised output, finalised before returning;
            // the strings are copied out first.
            let services = unsafe {
                let mut allocator = sys::rcutils_get_default_allocator();
                let mut names_and_types = sys::rmw_get_zero_initialized_names_and_types();
                let ret = sys::rcl_get_service_names_and_types_by_node(
                    self.node.as_ref(),
                    &mut allocator,
                    c_name.as_ptr(),
                    c_namespace.as_ptr(),
                    &mut names_and_types,
                );
                // A node that left between the two queries: skip it.
                if ret != sys::RCL_RET_OK as sys::rcl_ret_t {
                    sys::rcutils_reset_error();
                    continue;
                }
                let names = super::string_array(&names_and_types.names);
                let services: NamesAndTypes = names
                    .into_iter()
                    .enumerate()
                    .map(|(i, n)| (n, super::string_array(&*names_and_types.types.add(i))))
                    .collect();
                sys::rmw_names_and_types_fini(&mut names_and_types);
                services
            };
            if !services.is_empty() {
                let node = format!("{}/{name}", namespace.trim_end_matches('/'));
                servers.push((node, services));
            }
        }
        Ok(servers)
    }
}

/// Which entities of a services wait became ready (indices into the
/// slices given to [`WaitSet::wait_services`]).
#[derive(Debug, Default)]
pub struct ServicesReady {
    pub subscriptions: Vec<usize>,
    pub clients: Vec<usize>,
    pub services: Vec<usize>,
    pub guard_conditions: Vec<usize>,
}

impl WaitSet {
    /// Blocks until a subscription has a message, a client has a response,
    /// a service has a request, a guard condition fires, or `timeout`
    /// passes. The node's graph guard
    /// condition is left out: a trigger is consumed by the first wait that
    /// sees it, so only one wait set per node (the receiver's) may hold it.
    pub fn wait_services(
        &mut self,
        subscriptions: &[&RclSubscription],
        clients: &[&RclClient],
        services: &[&RclService],
        guard_conditions: &[&GuardCondition],
        timeout: Duration,
    ) -> Result<ServicesReady, RclError> {
        // SAFETY: the entities are borrowed for the whole call, so the
        // pointers the wait set holds stay valid until it is cleared again.
        unsafe {
            let ws = self.wait_set.as_mut();
            check("rcl_wait_set_clear", sys::rcl_wait_set_clear(ws))?;
            check(
                "rcl_wait_set_resize",
                sys::rcl_wait_set_resize(
                    ws,
                    subscriptions.len(),
                    guard_conditions.len(),
                    0,
                    clients.len(),
                    services.len(),
                    0,
                ),
            )?;
            for s in subscriptions {
                check(
                    "rcl_wait_set_add_subscription",
                    sys::rcl_wait_set_add_subscription(
                        ws,
                        s.subscription.as_ref(),
                        ptr::null_mut(),
                    ),
                )?;
            }
            for c in clients {
                check(
                    "rcl_wait_set_add_client",
                    sys::rcl_wait_set_add_client(ws, c.client.as_ref(), ptr::null_mut()),
                )?;
            }
            for s in services {
                check(
                    "rcl_wait_set_add_service",
                    sys::rcl_wait_set_add_service(ws, s.service.as_ref(), ptr::null_mut()),
                )?;
            }
            for g in guard_conditions {
                check(
                    "rcl_wait_set_add_guard_condition",
                    sys::rcl_wait_set_add_guard_condition(
                        ws,
                        g.condition.as_ref(),
                        ptr::null_mut(),
                    ),
                )?;
            }
            let ret = sys::rcl_wait(ws, timeout.as_nanos().min(i64::MAX as u128) as i64);
            let mut ready = ServicesReady::default();
            if ret == sys::RCL_RET_TIMEOUT as sys::rcl_ret_t {
                return Ok(ready);
            }
            check("rcl_wait", ret)?;
            ready.subscriptions = (0..subscriptions.len())
                .filter(|&i| !(*ws.subscriptions.add(i)).is_null())
                .collect();
            ready.clients = (0..clients.len())
                .filter(|&i| !(*ws.clients.add(i)).is_null())
                .collect();
            ready.services = (0..services.len())
                .filter(|&i| !(*ws.services.add(i)).is_null())
                .collect();
            ready.guard_conditions = (0..guard_conditions.len())
                .filter(|&i| !(*ws.guard_conditions.add(i)).is_null())
                .collect();
            Ok(ready)
        }
    }
}
