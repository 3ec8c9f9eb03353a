//! The Arrow layout of key types is the public contract with dora nodes
//! (docs/arrow-mapping.md): asserted field by field, metadata included.

mod common;
use arrow::datatypes::{DataType, Field, Fields};
use ros2_dora_bridge::codec::{CodecOptions, MessageCodec};
use ros2_dora_bridge::msg::{TypeName, TypeRegistry};
use std::sync::Arc;

fn schema(name: &str, bytes_as_binary: bool) -> arrow::datatypes::Schema {
    common::require_workbench();
    MessageCodec::new(
        &TypeRegistry::from_environment(),
        &TypeName::parse(name).unwrap(),
        CodecOptions {
            bytes_as_binary,
            ..CodecOptions::default()
        },
    )
    .unwrap()
    .schema()
}

/// The data type with all metadata stripped, as a readable string
/// (`Struct(...)`, `List(UInt8)`...), to compare shapes.
fn shape(dt: &DataType) -> String {
    match dt {
        DataType::Struct(fields) => format!(
            "Struct{{{}}}",
            fields
                .iter()
                .map(|f| format!("{}: {}", f.name(), shape(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        DataType::List(item) => format!("List<{}>", shape(item.data_type())),
        DataType::FixedSizeList(item, n) => {
            format!("FixedSizeList<{}, {n}>", shape(item.data_type()))
        }
        other => other.to_string(),
    }
}

fn field_shapes(s: &arrow::datatypes::Schema) -> Vec<String> {
    s.fields()
        .iter()
        .map(|f| format!("{}: {}", f.name(), shape(f.data_type())))
        .collect()
}

fn meta<'a>(s: &'a arrow::datatypes::Schema, field: &str, key: &str) -> Option<&'a str> {
    s.field_with_name(field)
        .unwrap()
        .metadata()
        .get(key)
        .map(String::as_str)
}

const HEADER: &str = "header: Struct{stamp: Struct{sec: Int32, nanosec: UInt32}, frame_id: Utf8}";

#[test]
fn image() {
    let s = schema("sensor_msgs/msg/Image", false);
    assert_eq!(
        field_shapes(&s),
        [
            HEADER,
            "height: UInt32",
            "width: UInt32",
            "encoding: Utf8",
            "is_bigendian: UInt8",
            "step: UInt32",
            "data: List<UInt8>",
        ]
    );
    assert_eq!(s.metadata()["ros.type_name"], "sensor_msgs/msg/Image");
    assert_eq!(meta(&s, "data", "ros.type"), Some("uint8[]"));
    assert!(s.fields().iter().all(|f| !f.is_nullable()));
    let binary = schema("sensor_msgs/msg/Image", true);
    assert_eq!(
        binary.field_with_name("data").unwrap().data_type(),
        &DataType::Binary
    );
}

#[test]
fn pointcloud2() {
    let s = schema("sensor_msgs/msg/PointCloud2", false);
    assert_eq!(
        field_shapes(&s),
        [
            HEADER,
            "height: UInt32",
            "width: UInt32",
            "fields: List<Struct{name: Utf8, offset: UInt32, datatype: UInt8, count: UInt32}>",
            "is_bigendian: Boolean",
            "point_step: UInt32",
            "row_step: UInt32",
            "data: List<UInt8>",
            "is_dense: Boolean",
        ]
    );
    let point_field = schema("sensor_msgs/msg/PointField", false);
    assert_eq!(point_field.metadata()["ros.constant.FLOAT32"], "uint8 7");
}

#[test]
fn odometry() {
    let s = schema("nav_msgs/msg/Odometry", false);
    let point = "Struct{x: Float64, y: Float64, z: Float64}";
    let quaternion = "Struct{x: Float64, y: Float64, z: Float64, w: Float64}";
    assert_eq!(
        field_shapes(&s),
        [
            HEADER.to_string(),
            "child_frame_id: Utf8".to_string(),
            format!(
                "pose: Struct{{pose: Struct{{position: {point}, orientation: {quaternion}}}, covariance: FixedSizeList<Float64, 36>}}"
            ),
            format!(
                "twist: Struct{{twist: Struct{{linear: {point}, angular: {point}}}, covariance: FixedSizeList<Float64, 36>}}"
            ),
        ]
    );
    // Time stays lossless: sec/nanosec, as in dora's own bridge.
    let DataType::Struct(header) = s.field_with_name("header").unwrap().data_type() else {
        panic!()
    };
    let stamp: &Field = header.find("stamp").unwrap().1;
    assert_eq!(
        stamp.data_type(),
        &DataType::Struct(Fields::from(vec![
            Arc::new(
                Field::new("sec", DataType::Int32, false)
                    .with_metadata([("ros.type".to_string(), "int32".to_string())].into())
            ),
            Arc::new(
                Field::new("nanosec", DataType::UInt32, false)
                    .with_metadata([("ros.type".to_string(), "uint32".to_string())].into())
            ),
        ]))
    );
}

#[test]
fn test_msgs_arrays_bounded_sequences_and_wstrings() {
    let arrays = schema("test_msgs/msg/Arrays", false);
    let shapes = field_shapes(&arrays);
    assert!(
        shapes.contains(&"bool_values: FixedSizeList<Boolean, 3>".to_string()),
        "{shapes:?}"
    );
    assert!(shapes.contains(&"byte_values: FixedSizeList<UInt8, 3>".to_string()));
    assert!(shapes.contains(&"string_values: FixedSizeList<Utf8, 3>".to_string()));
    assert!(
        shapes
            .iter()
            .any(|s| s.starts_with("basic_types_values: FixedSizeList<Struct{bool_value: Boolean"))
    );
    assert_eq!(
        meta(&arrays, "int32_values_default", "ros.default"),
        Some("[0, 2147483647, -2147483648]")
    );

    let bounded = schema("test_msgs/msg/BoundedSequences", false);
    assert_eq!(
        shape(bounded.field_with_name("bool_values").unwrap().data_type()),
        "List<Boolean>"
    );
    assert_eq!(
        meta(&bounded, "bool_values", "ros.sequence_bound"),
        Some("3")
    );
    assert_eq!(
        meta(&bounded, "string_values", "ros.sequence_bound"),
        Some("3")
    );
    let strings = schema("test_msgs/msg/Strings", false);
    assert_eq!(
        meta(&strings, "bounded_string_value", "ros.string_bound"),
        Some("22")
    );

    let wstrings = schema("test_msgs/msg/WStrings", false);
    assert_eq!(
        field_shapes(&wstrings),
        [
            "wstring_value: Utf8",
            "wstring_value_default1: Utf8",
            "wstring_value_default2: Utf8",
            "wstring_value_default3: Utf8",
            "array_of_wstrings: FixedSizeList<Utf8, 3>",
            "bounded_sequence_of_wstrings: List<Utf8>",
            "unbounded_sequence_of_wstrings: List<Utf8>",
        ]
    );
    assert_eq!(
        meta(&wstrings, "wstring_value", "ros.wstring"),
        Some("true")
    );
    assert_eq!(
        meta(
            &wstrings,
            "bounded_sequence_of_wstrings",
            "ros.sequence_bound"
        ),
        Some("3")
    );
}
