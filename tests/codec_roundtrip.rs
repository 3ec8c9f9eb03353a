//! The codec against rclpy, for every message type of std_msgs,
//! builtin_interfaces, geometry_msgs, sensor_msgs, nav_msgs,
//! diagnostic_msgs and test_msgs: rclpy serializes random messages; we
//! decode them to Arrow and re-encode; Python checks the Arrow values against
//! the message, our bytes against rclpy's (all but padding), and that rclpy
//! reads our bytes back as the same message.

mod common;
use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{Field, Schema};
use arrow::ipc::writer::FileWriter;
use common::*;
use ros2_dora_bridge::codec::{CodecOptions, MessageCodec};
use ros2_dora_bridge::msg::{TypeName, TypeRegistry};
use std::collections::HashMap;
use std::io::Write;
use std::process::Command;
use std::sync::Arc;

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_message_type_round_trips_against_rclpy() {
    require_workbench();
    let dir = tempfile::tempdir().unwrap();
    let script = python_script("codec_roundtrip.py");
    let gen_out = Command::new("python")
        .arg(&script)
        .args(["generate", dir.path().to_str().unwrap(), "4"])
        .output()
        .unwrap();
    assert!(
        gen_out.status.success(),
        "{}",
        String::from_utf8_lossy(&gen_out.stderr)
    );

    let registry = TypeRegistry::from_environment();
    let mut codecs: HashMap<String, MessageCodec> = HashMap::new();
    let cases = std::fs::read_to_string(dir.path().join("cases.jsonl")).unwrap();
    let mut results = std::fs::File::create(dir.path().join("results.jsonl")).unwrap();
    let mut types = std::collections::BTreeSet::new();
    for (i, line) in cases.lines().enumerate() {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        let type_name = case["type"].as_str().unwrap().to_string();
        types.insert(type_name.clone());
        let codec = codecs.entry(type_name.clone()).or_insert_with(|| {
            let name = TypeName::parse(&type_name).unwrap();
            MessageCodec::new(&registry, &name, CodecOptions::default())
                .unwrap_or_else(|e| panic!("{type_name}: {e}"))
        });
        let cdr = hex_decode(case["cdr"].as_str().unwrap());
        let result = codec
            .decode(&cdr)
            .map_err(|e| format!("decode: {e}"))
            .and_then(|message| {
                let column: ArrayRef = Arc::new(message);
                let schema = Arc::new(Schema::new(vec![Field::new(
                    "message",
                    column.data_type().clone(),
                    false,
                )]));
                let batch = RecordBatch::try_new(schema.clone(), vec![column.clone()]).unwrap();
                let file = std::fs::File::create(dir.path().join(format!("{i}.arrow"))).unwrap();
                let mut writer = FileWriter::try_new(file, &schema).unwrap();
                writer.write(&batch).unwrap();
                writer.finish().unwrap();
                let encoded = codec
                    .encode_all(column.as_ref())
                    .map_err(|e| format!("encode: {e}"))?;
                assert_eq!(encoded.len(), 1);
                Ok(encoded.into_iter().next().unwrap())
            });
        let record = match result {
            Ok(bytes) => serde_json::json!({"cdr": hex_encode(&bytes)}),
            Err(error) => serde_json::json!({"error": error}),
        };
        writeln!(results, "{record}").unwrap();
    }
    drop(results);
    assert!(types.len() >= 100, "only {} types generated", types.len());
    assert!(
        types.contains("test_msgs/msg/WStrings") && types.contains("sensor_msgs/msg/PointCloud2")
    );

    let verify = Command::new("python")
        .arg(&script)
        .args(["verify", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success(),
        "round trip failed:\n{report}\n{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

/// CDR the bridge takes from rmw is handed to the decoder as an Arrow
/// buffer: large byte arrays must then be slices of it (no copy), small
/// ones copies, and the decoded values identical either way. Two large runs
/// in one column (byte arrays inside a sequence of structs) cannot both be
/// one slice and fall back to a copy.
#[test]
fn large_byte_arrays_are_decoded_as_slices_of_the_taken_cdr() {
    use arrow::array::{Array, AsArray};
    use arrow::buffer::Buffer;
    require_workbench();
    let script = r#"
import sys
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image
from rcl_interfaces.msg import Parameter, ParameterEvent, ParameterValue
def image(w, h):
    m = Image(height=h, width=w, encoding="rgb8", step=w * 3)
    m.header.frame_id = "camera"
    m.data = bytes((i * 7) % 251 for i in range(w * h * 3))
    return m
def parameter(name, n):
    return Parameter(name=name, value=ParameterValue(type=5, byte_array_value=[bytes([i % 256]) for i in range(n)]))
event = ParameterEvent(node="/n", new_parameters=[parameter("a", 5000), parameter("b", 6000)])
for m in (image(640, 480), image(8, 8), event):
    print(serialize_message(m).hex())
"#;
    let out = Command::new("python")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Vec<u8>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(hex_decode)
        .collect();
    assert_eq!(lines.len(), 3);
    let registry = TypeRegistry::from_environment();
    let codec = |name: &str| {
        MessageCodec::new(
            &registry,
            &TypeName::parse(name).unwrap(),
            CodecOptions::default(),
        )
        .unwrap()
    };
    let inside = |values: &dyn Array, source: &Buffer| {
        let data = values.to_data();
        let start = data.buffers()[0].as_ptr() as usize;
        let base = source.as_ptr() as usize;
        start >= base && start < base + source.len()
    };

    let image = codec("sensor_msgs/msg/Image");
    for (cdr, shared) in [(&lines[0], true), (&lines[1], false)] {
        let source = Buffer::from_vec(cdr.clone());
        let copied = image.decode(cdr).unwrap();
        let sliced = image.decode_sharing(&source).unwrap();
        assert_eq!(copied, sliced);
        let data = sliced.column_by_name("data").unwrap().as_list::<i32>();
        assert_eq!(
            data.value(0).len(),
            if shared { 640 * 480 * 3 } else { 8 * 8 * 3 }
        );
        assert_eq!(inside(data.values().as_ref(), &source), shared);
        // Re-encoding from the slice gives the same message back (compared
        // decoded: rclpy leaves padding bytes unset, we zero them).
        let reencoded = image.encode_all(&sliced).unwrap();
        assert_eq!(reencoded[0].len(), cdr.len());
        assert_eq!(image.decode(&reencoded[0]).unwrap(), sliced);
    }

    let events = codec("rcl_interfaces/msg/ParameterEvent");
    let source = Buffer::from_vec(lines[2].clone());
    let sliced = events.decode_sharing(&source).unwrap();
    assert_eq!(events.decode(&lines[2]).unwrap(), sliced);
    // (Compared decoded: rclpy leaves padding bytes unset, we zero them.)
    let reencoded = events.encode_all(&sliced).unwrap();
    assert_eq!(events.decode(&reencoded[0]).unwrap(), sliced);
}
