//! The bridge's own ROS parameters: the standard parameter services of its
//! node (list, get, get types, describe, set), so that `ros2 param
//! list/get/set/dump` and rclpy parameter clients work on it as on any
//! node. Only `use_sim_time` can be set (it switches the bridge's clock);
//! the others are what the bridge runs with, from its config.

use super::rcl::RequestHeader;
use super::services::{ServerId, ServiceHub};
use crate::clock::RosClock;
use crate::codec::{CodecOptions, MessageCodec};
use crate::msg::{TypeName, TypeRegistry};
use anyhow::Context;
use arrow::array::{Array, AsArray, StructArray};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A parameter's value, as rcl_interfaces/ParameterValue types it.
#[derive(Debug, Clone, PartialEq)]
pub enum ParameterValue {
    Bool(bool),
    Integer(i64),
    String(String),
    StringArray(Vec<String>),
}

impl ParameterValue {
    /// rcl_interfaces/ParameterType.
    fn type_id(&self) -> u8 {
        match self {
            ParameterValue::Bool(_) => 1,
            ParameterValue::Integer(_) => 2,
            ParameterValue::String(_) => 4,
            ParameterValue::StringArray(_) => 9,
        }
    }

    /// An rcl_interfaces/ParameterValue as JSON.
    fn to_json(&self) -> Value {
        let mut value = unset_value();
        value["type"] = json!(self.type_id());
        let (key, v) = match self {
            ParameterValue::Bool(b) => ("bool_value", json!(b)),
            ParameterValue::Integer(i) => ("integer_value", json!(i)),
            ParameterValue::String(s) => ("string_value", json!(s)),
            ParameterValue::StringArray(a) => ("string_array_value", json!(a)),
        };
        value[key] = v;
        value
    }
}

/// A ParameterValue of type NOT_SET, every field given (arrow's JSON
/// reader wants each non-nullable field).
fn unset_value() -> Value {
    json!({
        "type": NOT_SET,
        "bool_value": false,
        "integer_value": 0,
        "double_value": 0.0,
        "string_value": "",
        "byte_array_value": [],
        "bool_array_value": [],
        "integer_array_value": [],
        "double_array_value": [],
        "string_array_value": [],
    })
}

/// The parameter services this module answers, by their type's name.
const SERVICES: &[(&str, &str)] = &[
    ("list_parameters", "ListParameters"),
    ("get_parameters", "GetParameters"),
    ("get_parameter_types", "GetParameterTypes"),
    ("describe_parameters", "DescribeParameters"),
    ("set_parameters", "SetParameters"),
    ("set_parameters_atomically", "SetParametersAtomically"),
];

const NOT_SET: u8 = 0;
const READ_ONLY: &str =
    "the bridge's parameters are read-only (but use_sim_time): they come from its config";
const USE_SIM_TIME: &str = "use_sim_time";
const BOOL: u8 = 1;

struct Service {
    kind: &'static str,
    request: MessageCodec,
    response: MessageCodec,
}

pub struct Parameters {
    values: BTreeMap<String, ParameterValue>,
    /// What `use_sim_time` switches.
    clock: Arc<RosClock>,
    /// Hub server index -> the service it is.
    services: HashMap<ServerId, Arc<Service>>,
}

impl Parameters {
    /// Offers the parameter services of node `node_name` (fully qualified).
    pub fn offer(
        hub: &ServiceHub,
        registry: &TypeRegistry,
        node_name: &str,
        mut values: BTreeMap<String, ParameterValue>,
        clock: Arc<RosClock>,
    ) -> anyhow::Result<Self> {
        values.insert(
            USE_SIM_TIME.into(),
            ParameterValue::Bool(clock.use_sim_time()),
        );
        let mut services = HashMap::new();
        for (suffix, kind) in SERVICES {
            let service_type = TypeName {
                package: "rcl_interfaces".into(),
                kind: "srv".into(),
                name: (*kind).into(),
            };
            let codec =
                |name: &TypeName| MessageCodec::new(registry, name, CodecOptions::default());
            let request = codec(&service_type.request())?;
            let response = codec(&service_type.response())?;
            let name = format!("{}/{suffix}", node_name.trim_end_matches('/'));
            let qos = super::rcl::default_qos();
            let index = hub
                .add_server(&name, &service_type, qos)
                .with_context(|| format!("cannot offer the parameter service {name}"))?;
            let service = Service {
                kind,
                request,
                response,
            };
            services.insert(index, Arc::new(service));
        }
        Ok(Parameters {
            values,
            clock,
            services,
        })
    }

    /// The hub servers of the parameter services.
    pub fn servers(&self) -> impl Iterator<Item = ServerId> + '_ {
        self.services.keys().copied()
    }

    /// Answers a request to parameter service `index`.
    pub fn answer(&mut self, hub: &ServiceHub, index: ServerId, header: RequestHeader, cdr: &[u8]) {
        let Some(service) = self.services.get(&index).cloned() else {
            return;
        };
        let (kind, request, response) = (service.kind, &service.request, &service.response);
        let answered = self
            .response(kind, request, response, cdr)
            .and_then(|response| {
                hub.respond(index, &header, &response)?;
                Ok(())
            });
        if let Err(e) = answered {
            tracing::warn!("parameter service {kind}: {e:#}");
        }
    }

    fn response(
        &mut self,
        kind: &str,
        request: &MessageCodec,
        response: &MessageCodec,
        cdr: &[u8],
    ) -> anyhow::Result<Vec<u8>> {
        let request = request.decode(cdr)?;
        let names = string_list(&request, "names");
        let answer = match kind {
            "ListParameters" => self.list(&string_list(&request, "prefixes")),
            "GetParameters" => json!({"values": self.each(&names, |v| v.map_or_else(
                unset_value, ParameterValue::to_json))}),
            "GetParameterTypes" => json!({"types": self.each(&names, |v| json!(
                v.map_or(NOT_SET, ParameterValue::type_id)))}),
            "DescribeParameters" => json!({"descriptors": names.iter().map(|name| json!({
                "name": name,
                "type": self.values.get(name).map_or(NOT_SET, ParameterValue::type_id),
                "description": "",
                "additional_constraints": "",
                "read_only": name != USE_SIM_TIME,
                "dynamic_typing": false,
                "floating_point_range": [],
                "integer_range": [],
            })).collect::<Vec<_>>()}),
            "SetParameters" => {
                let results: Vec<Value> = parameters_to_set(&request)
                    .into_iter()
                    .map(|(name, value)| self.set(&name, value))
                    .collect();
                json!({ "results": results })
            }
            _ => {
                let all = parameters_to_set(&request);
                match all.iter().all(|(name, _)| name == USE_SIM_TIME) {
                    true => {
                        json!({"result": all.into_iter().fold(json!({"successful": true, "reason": ""}), |_, (n, v)| self.set(&n, v))})
                    }
                    false => json!({"result": {"successful": false, "reason": READ_ONLY}}),
                }
            }
        };
        response.encode_json(&answer)
    }

    /// Sets one parameter (only `use_sim_time`, to a boolean); a
    /// SetParametersResult.
    fn set(&mut self, name: &str, value: Option<bool>) -> Value {
        if name != USE_SIM_TIME {
            return json!({"successful": false, "reason": READ_ONLY});
        }
        let Some(on) = value else {
            return json!({"successful": false, "reason": "use_sim_time takes a boolean"});
        };
        self.clock.set_use_sim_time(on);
        self.values
            .insert(USE_SIM_TIME.into(), ParameterValue::Bool(on));
        tracing::info!("use_sim_time set to {on}");
        json!({"successful": true, "reason": ""})
    }

    fn list(&self, prefixes: &[String]) -> Value {
        let names: Vec<&String> = self
            .values
            .keys()
            .filter(|name| {
                prefixes.is_empty()
                    || prefixes
                        .iter()
                        .any(|p| *name == p || name.starts_with(&format!("{p}.")))
            })
            .collect();
        json!({"result": {"names": names, "prefixes": []}})
    }

    fn each(&self, names: &[String], f: impl Fn(Option<&ParameterValue>) -> Value) -> Vec<Value> {
        names.iter().map(|name| f(self.values.get(name))).collect()
    }
}

/// The parameters of a set request: names, and the value when a boolean.
fn parameters_to_set(request: &StructArray) -> Vec<(String, Option<bool>)> {
    let Some(list) = request.column_by_name("parameters") else {
        return Vec::new();
    };
    let parameters = list.as_list::<i32>().value(0);
    let parameters = parameters.as_struct();
    let (Some(names), Some(values)) = (
        parameters.column_by_name("name"),
        parameters.column_by_name("value"),
    ) else {
        return Vec::new();
    };
    let names = names.as_string::<i32>();
    let values = values.as_struct();
    let types = values
        .column_by_name("type")
        .map(|c| c.as_primitive::<arrow::datatypes::UInt8Type>().clone());
    let bools = values
        .column_by_name("bool_value")
        .map(|c| c.as_boolean().clone());
    (0..names.len())
        .map(|i| {
            let is_bool = types.as_ref().is_some_and(|t| t.value(i) == BOOL);
            let value = bools.as_ref().filter(|_| is_bool).map(|b| b.value(i));
            (names.value(i).to_string(), value)
        })
        .collect()
}

/// The strings of list column `column` in the first row.
fn string_list(row: &StructArray, column: &str) -> Vec<String> {
    let Some(list) = row.column_by_name(column) else {
        return Vec::new();
    };
    let values = list.as_list::<i32>().value(0);
    let strings = values.as_string::<i32>();
    (0..strings.len())
        .map(|i| strings.value(i).to_string())
        .collect()
}
