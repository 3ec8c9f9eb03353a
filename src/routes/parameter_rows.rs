//! The rows of a `parameter_clients` route, pure: a request row read into
//! a [`Request`], the rcl_interfaces request it becomes (as JSON, for the
//! codec), and the parameter service's answer (as JSON, from the codec)
//! turned into the typed answer row or an [`Error`]. No rcl, no dora.

use anyhow::Context;
use arrow::array::{Array, ArrayRef, StructArray};
use arrow::datatypes::{DataType, Field, Fields, Schema};
use serde_json::{Value, json};
use std::sync::Arc;

/// What a request row asks of the node's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    List,
    Get,
    Set,
    Describe,
}

impl Op {
    pub const ALL: [Op; 4] = [Op::List, Op::Get, Op::Set, Op::Describe];

    pub fn name(self) -> &'static str {
        match self {
            Op::List => "list",
            Op::Get => "get",
            Op::Set => "set",
            Op::Describe => "describe",
        }
    }

    /// The node's service for it: `{node}/{suffix}`.
    pub fn service_suffix(self) -> &'static str {
        match self {
            Op::List => "list_parameters",
            Op::Get => "get_parameters",
            Op::Set => "set_parameters",
            Op::Describe => "describe_parameters",
        }
    }

    /// Its rcl_interfaces/srv type.
    pub fn service_type(self) -> &'static str {
        match self {
            Op::List => "ListParameters",
            Op::Get => "GetParameters",
            Op::Set => "SetParameters",
            Op::Describe => "DescribeParameters",
        }
    }

    fn parse(text: &str) -> Result<Op, String> {
        Op::ALL
            .into_iter()
            .find(|op| op.name() == text)
            .ok_or_else(|| format!("unknown op {text:?}: list, get, set or describe"))
    }
}

/// Why a call got no answer row: `code` goes in the `error_code`
/// metadata, for nodes to act on without reading the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub code: &'static str,
    pub text: String,
}

impl Error {
    pub fn new(code: &'static str, text: impl Into<String>) -> Self {
        Error {
            code,
            text: text.into(),
        }
    }
}

/// A parameter's value as rcl_interfaces/ParameterValue has it: its type
/// (ParameterType) and the JSON of the field that holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedValue {
    pub type_id: u8,
    pub value: Value,
}

/// ParameterType, by id: the name in answer rows, the ParameterValue
/// field, and the Arrow type of `value`.
const TYPES: [(&str, &str); 10] = [
    ("not_set", ""),
    ("bool", "bool_value"),
    ("integer", "integer_value"),
    ("double", "double_value"),
    ("string", "string_value"),
    ("byte_array", "byte_array_value"),
    ("bool_array", "bool_array_value"),
    ("integer_array", "integer_array_value"),
    ("double_array", "double_array_value"),
    ("string_array", "string_array_value"),
];

pub fn type_name(type_id: u8) -> &'static str {
    TYPES
        .get(type_id as usize)
        .map_or("unknown", |(name, _)| name)
}

fn value_arrow_type(type_id: u8) -> DataType {
    let list = |item: DataType| DataType::List(Arc::new(Field::new("item", item, true)));
    match type_id {
        1 => DataType::Boolean,
        2 => DataType::Int64,
        3 => DataType::Float64,
        4 => DataType::Utf8,
        5 => list(DataType::UInt8),
        6 => list(DataType::Boolean),
        7 => list(DataType::Int64),
        8 => list(DataType::Float64),
        9 => list(DataType::Utf8),
        _ => DataType::Null,
    }
}

/// The ParameterType a `value` column of this Arrow type sets.
fn type_of_column(data_type: &DataType) -> Option<u8> {
    use DataType::*;
    let scalar = |t: &DataType| match t {
        Boolean => Some(1),
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => Some(2),
        Float16 | Float32 | Float64 => Some(3),
        Utf8 | LargeUtf8 | Utf8View => Some(4),
        _ => None,
    };
    match data_type {
        List(item) | LargeList(item) | FixedSizeList(item, _) => match item.data_type() {
            UInt8 => Some(5),
            other => scalar(other).map(|t| t + 5),
        },
        other => scalar(other),
    }
}

/// One request row read.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub op: Op,
    /// The parameter (a prefix for `list`, empty for all).
    pub name: String,
    /// What `set` sets.
    pub value: Option<TypedValue>,
}

impl Request {
    /// The rcl_interfaces request, as JSON for the codec.
    pub fn to_json(&self) -> Value {
        let names: Vec<&str> = Some(self.name.as_str())
            .into_iter()
            .filter(|n| !n.is_empty())
            .collect();
        match self.op {
            Op::List => json!({"prefixes": names, "depth": 0}),
            Op::Get | Op::Describe => json!({"names": [self.name]}),
            Op::Set => {
                let value = self
                    .value
                    .as_ref()
                    .map_or_else(unset_value, parameter_value);
                json!({"parameters": [{"name": self.name, "value": value}]})
            }
        }
    }
}

/// A ParameterValue with every field given (arrow's JSON reader wants
/// each non-nullable one), of type NOT_SET.
pub fn unset_value() -> Value {
    let mut value = json!({"type": 0});
    for (_, field) in &TYPES[1..] {
        value[*field] = match *field {
            "bool_value" => json!(false),
            "integer_value" => json!(0),
            "double_value" => json!(0.0),
            "string_value" => json!(""),
            _ => json!([]),
        };
    }
    value
}

fn parameter_value(typed: &TypedValue) -> Value {
    let mut value = unset_value();
    value["type"] = json!(typed.type_id);
    value[TYPES[typed.type_id as usize].1] = typed.value.clone();
    value
}

/// Every row of a request input: `op` (Utf8), `name` (Utf8), `value` (for
/// `set`; its Arrow type is the parameter type it sets). A row that does
/// not fit is its error.
pub fn read_requests(rows: &StructArray) -> Vec<Result<Request, Error>> {
    let bad = |text: String| Error::new("bad_request", text);
    let column_json = |name: &str| -> Result<Option<(DataType, Vec<Value>)>, Error> {
        let Some(column) = rows.column_by_name(name) else {
            return Ok(None);
        };
        let values = column_values(column).map_err(|e| bad(format!("column `{name}`: {e:#}")))?;
        Ok(Some((column.data_type().clone(), values)))
    };
    let columns = (|| {
        Ok((
            column_json("op")?,
            column_json("name")?,
            column_json("value")?,
        ))
    })();
    let (ops, names, values) = match columns {
        Ok(columns) => columns,
        Err(e) => return vec![Err(e); rows.len().max(1)],
    };
    (0..rows.len())
        .map(|row| {
            let text = |column: &Option<(DataType, Vec<Value>)>| {
                column
                    .as_ref()
                    .and_then(|(_, v)| v[row].as_str().map(str::to_string))
            };
            let op = text(&ops).ok_or_else(|| bad("a request row needs `op` (a string)".into()))?;
            let op = Op::parse(&op).map_err(bad)?;
            let name = text(&names).unwrap_or_default();
            if name.is_empty() && op != Op::List {
                return Err(bad(format!("`{}` needs `name` (a string)", op.name())));
            }
            let value = match (op, &values) {
                (Op::Set, Some((data_type, values))) if !values[row].is_null() => {
                    Some(typed_value(data_type, &values[row]).map_err(bad)?)
                }
                (Op::Set, _) => return Err(bad("`set` needs `value`".into())),
                _ => None,
            };
            Ok(Request { op, name, value })
        })
        .collect()
}

fn typed_value(data_type: &DataType, value: &Value) -> Result<TypedValue, String> {
    let type_id = type_of_column(data_type).ok_or_else(|| {
        format!(
            "`value` of Arrow type {data_type} fits no parameter type (bool, integer, double, \
             string, or a list of uint8 (bytes), bool, integer, double or string)"
        )
    })?;
    Ok(TypedValue {
        type_id,
        value: value.clone(),
    })
}

/// A column's rows as JSON (null where null).
fn column_values(column: &ArrayRef) -> anyhow::Result<Vec<Value>> {
    let field = Field::new("c", column.data_type().clone(), true);
    let batch = arrow::record_batch::RecordBatch::try_new(
        Arc::new(Schema::new(vec![field])),
        vec![column.clone()],
    )?;
    let rows = batch_json(&batch)?;
    Ok(rows.into_iter().map(|mut row| row["c"].take()).collect())
}

/// A batch's rows as JSON objects (nulls left out).
pub fn batch_json(batch: &arrow::record_batch::RecordBatch) -> anyhow::Result<Vec<Value>> {
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    writer.write(batch)?;
    writer.finish()?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(vec![Value::Null; batch.num_rows()]);
    }
    let rows: Vec<Value> = serde_json::from_slice(&bytes).context("arrow's JSON")?;
    Ok(rows)
}

/// The answer row to `request` from the service's `response` (its
/// fields as JSON), or why there is none.
pub fn answer(node: &str, request: &Request, response: &Value) -> Result<StructArray, Error> {
    let head = json!({"op": request.op.name(), "node": node, "name": request.name});
    let no_parameter = || {
        Error::new(
            "no_parameter",
            format!("node {node} has no parameter {:?}", request.name),
        )
    };
    let (mut fields, mut row) = (head_fields(), head);
    match request.op {
        Op::List => {
            let names = response["result"]["names"].clone();
            fields.push(Field::new("names", strings_type(), false));
            row["names"] = if names.is_null() { json!([]) } else { names };
        }
        Op::Get => {
            let value = &response["values"][0];
            let type_id = value["type"].as_u64().unwrap_or(0) as u8;
            if type_id == 0 {
                return Err(no_parameter());
            }
            push_value(&mut fields, &mut row, type_id, value);
        }
        Op::Describe => {
            let descriptor = &response["descriptors"][0];
            if descriptor.is_null() {
                return Err(no_parameter());
            }
            let type_id = descriptor["type"].as_u64().unwrap_or(0) as u8;
            if type_id == 0 {
                return Err(no_parameter());
            }
            fields.push(Field::new("type", DataType::Utf8, false));
            row["type"] = json!(type_name(type_id));
            for (key, data_type) in [
                ("description", DataType::Utf8),
                ("additional_constraints", DataType::Utf8),
                ("read_only", DataType::Boolean),
                ("dynamic_typing", DataType::Boolean),
            ] {
                fields.push(Field::new(key, data_type, true));
                row[key] = descriptor[key].clone();
            }
        }
        Op::Set => {
            let result = &response["results"][0];
            if result["successful"] != json!(true) {
                let reason = result["reason"].as_str().unwrap_or("").to_string();
                return Err(refused(node, &request.name, &reason));
            }
            let typed = request.value.as_ref().expect("set requests carry a value");
            push_value(
                &mut fields,
                &mut row,
                typed.type_id,
                &parameter_value(typed),
            );
        }
    }
    row_of(fields, &row).map_err(|e| Error::new("error", format!("answer row: {e:#}")))
}

/// Why a set was refused, told apart by what rclcpp and rclpy say.
fn refused(node: &str, name: &str, reason: &str) -> Error {
    let reason = if reason.is_empty() {
        "no reason given"
    } else {
        reason
    };
    let code = if reason.contains("read-only") || reason.contains("read only") {
        "read_only"
    } else if reason.contains("Wrong parameter type") {
        "type_mismatch"
    } else if reason.contains("not declared") || reason.contains("undeclared") {
        "no_parameter"
    } else {
        "rejected"
    };
    Error::new(
        code,
        format!("node {node} refused to set {name:?}: {reason}"),
    )
}

fn head_fields() -> Vec<Field> {
    ["op", "node", "name"]
        .map(|name| Field::new(name, DataType::Utf8, false))
        .into()
}

fn strings_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

/// `type` and the typed `value` from a ParameterValue's JSON.
fn push_value(fields: &mut Vec<Field>, row: &mut Value, type_id: u8, value: &Value) {
    fields.push(Field::new("type", DataType::Utf8, false));
    fields.push(Field::new("value", value_arrow_type(type_id), true));
    row["type"] = json!(type_name(type_id));
    row["value"] = TYPES
        .get(type_id as usize)
        .map_or(Value::Null, |(_, field)| value[*field].clone());
}

/// One row of `fields` from JSON.
fn row_of(fields: Vec<Field>, row: &Value) -> anyhow::Result<StructArray> {
    let schema = Arc::new(Schema::new(Fields::from(fields)));
    let mut decoder = arrow::json::ReaderBuilder::new(schema).build_decoder()?;
    decoder.serialize(std::slice::from_ref(row))?;
    let batch = decoder.flush()?.context("no row decoded")?;
    Ok(StructArray::from(batch))
}

/// The row that goes with an error: which call it was, nothing else.
pub fn error_row(node: &str, op: Option<Op>, name: &str) -> StructArray {
    let head = json!({"op": op.map_or("", Op::name), "node": node, "name": name});
    row_of(head_fields(), &head).expect("three strings always make a row")
}

/// The first row of a decoded message as JSON.
pub fn message_json(message: &StructArray) -> anyhow::Result<Value> {
    let batch = arrow::record_batch::RecordBatch::from(message.clone());
    batch_json(&batch)?
        .into_iter()
        .next()
        .context("an empty message")
}

/// The JSON of `message`'s rows for a request (a helper for tests).
#[cfg(test)]
fn request_rows(json_rows: &[Value], fields: Vec<Field>) -> StructArray {
    let schema = Arc::new(Schema::new(Fields::from(fields)));
    let mut decoder = arrow::json::ReaderBuilder::new(schema)
        .build_decoder()
        .unwrap();
    decoder.serialize(json_rows).unwrap();
    StructArray::from(decoder.flush().unwrap().unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use arrow::datatypes::Float64Type;

    fn fields(value: DataType) -> Vec<Field> {
        vec![
            Field::new("op", DataType::Utf8, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("value", value, true),
        ]
    }

    #[test]
    fn a_value_column_types_what_set_sets() {
        let cases = [
            (DataType::Boolean, json!(true), 1),
            (DataType::Int32, json!(3), 2),
            (DataType::Float32, json!(0.5), 3),
            (DataType::Utf8, json!("fast"), 4),
            (strings_type(), json!(["a", "b"]), 9),
            (value_arrow_type(7), json!([1, 2]), 7),
            (value_arrow_type(5), json!([1, 255]), 5),
        ];
        for (data_type, value, type_id) in cases {
            let rows = request_rows(
                &[json!({"op": "set", "name": "p", "value": value})],
                fields(data_type.clone()),
            );
            let request = read_requests(&rows).remove(0).unwrap();
            let typed = request.value.clone().unwrap();
            assert_eq!(typed.type_id, type_id, "{data_type}");
            let set = &request.to_json()["parameters"][0];
            assert_eq!(set["value"]["type"], json!(type_id));
            assert_eq!(set["value"][TYPES[type_id as usize].1], typed.value);
        }
    }

    #[test]
    fn rows_that_do_not_fit_say_why_and_the_others_go() {
        let rows = request_rows(
            &[
                json!({"op": "get", "name": "gain"}),
                json!({"op": "fetch", "name": "gain"}),
                json!({"op": "get"}),
                json!({"op": "set", "name": "gain"}),
                json!({"op": "list"}),
            ],
            fields(DataType::Float64),
        );
        let read = read_requests(&rows);
        assert_eq!(read[0].as_ref().unwrap().op, Op::Get);
        let error = |i: usize| read[i].as_ref().unwrap_err().text.clone();
        assert!(error(1).contains("unknown op \"fetch\""), "{}", error(1));
        assert!(error(2).contains("needs `name`"), "{}", error(2));
        assert!(error(3).contains("needs `value`"), "{}", error(3));
        assert_eq!(
            read[4].as_ref().unwrap().to_json(),
            json!({"prefixes": [], "depth": 0})
        );
        let binary = request_rows(
            &[json!({"op": "set", "name": "p", "value": {"x": 1}})],
            fields(DataType::Struct(
                vec![Field::new("x", DataType::Int64, true)].into(),
            )),
        );
        let error = read_requests(&binary).remove(0).unwrap_err();
        assert!(
            error.text.contains("fits no parameter type"),
            "{}",
            error.text
        );
    }

    #[test]
    fn answers_are_typed_rows_and_unset_values_are_errors() {
        let get = Request {
            op: Op::Get,
            name: "gain".into(),
            value: None,
        };
        let mut value = unset_value();
        value["type"] = json!(3);
        value["double_value"] = json!(2.5);
        let row = answer("/ctl", &get, &json!({"values": [value]})).unwrap();
        assert_eq!(
            row.column_by_name("type")
                .unwrap()
                .as_string::<i32>()
                .value(0),
            "double"
        );
        let typed = row.column_by_name("value").unwrap();
        assert_eq!(typed.as_primitive::<Float64Type>().value(0), 2.5);
        let missing = answer("/ctl", &get, &json!({"values": []})).unwrap_err();
        assert_eq!(missing.code, "no_parameter");
        assert!(missing.text.contains("/ctl has no parameter \"gain\""));
    }

    #[test]
    fn refusals_are_told_apart() {
        let set = Request {
            op: Op::Set,
            name: "gain".into(),
            value: Some(TypedValue {
                type_id: 4,
                value: json!("x"),
            }),
        };
        let refusal = |reason: &str| {
            let response = json!({"results": [{"successful": false, "reason": reason}]});
            answer("/ctl", &set, &response).unwrap_err().code
        };
        assert_eq!(
            refusal("Trying to set a read-only parameter: gain."),
            "read_only"
        );
        assert_eq!(
            refusal("Wrong parameter type, expected 'Type.DOUBLE' got 'Type.STRING'"),
            "type_mismatch"
        );
        assert_eq!(refusal("gain must be positive"), "rejected");
        let ok = json!({"results": [{"successful": true, "reason": ""}]});
        let row = answer("/ctl", &set, &ok).unwrap();
        assert_eq!(
            row.column_by_name("value")
                .unwrap()
                .as_string::<i32>()
                .value(0),
            "x"
        );
    }
}
