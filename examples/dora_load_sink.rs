//! The dora end of bench/many_topics.py (ROS -> dora): counts the messages
//! (rows: a route with `batch` sends several per dora message) arriving on
//! any of its inputs per ROS topic (the bridge's `ros_topic` metadata), and
//! on Stop writes to RESULT_FILE
//! `{"received": {"/topic": n, ...}, "max_index": {"/topic": m, ...}}`,
//! where m is the highest header.stamp.sec seen (rcl_load_source numbers its
//! messages there; its warm-up messages, -1, are not counted).
//!
//! With LATENCY_TOPIC and LATENCY_FILE set, it also writes a line
//! `RECEIVED_UNIX_NS LATENCY_NS` for every message of that topic: from the
//! publisher's source timestamp (the bridge's `ros_source_timestamp_ns`) to
//! this node holding it.

use arrow::array::{ArrayRef, AsArray, StructArray};
use arrow::datatypes::Int32Type;
use dora_node_api::{DoraNode, Event, Parameter};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() -> anyhow::Result<()> {
    let (_node, mut events) = DoraNode::init_from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut per_topic: BTreeMap<String, (u64, i32)> = BTreeMap::new();
    let latency_topic = std::env::var("LATENCY_TOPIC").ok();
    let mut latency_file = match std::env::var("LATENCY_FILE") {
        Ok(path) => Some(std::io::BufWriter::new(std::fs::File::create(path)?)),
        Err(_) => None,
    };
    while let Some(event) = events.recv() {
        match event {
            Event::Input { data, metadata, .. } => {
                let array: ArrayRef = data.into();
                let Some(indices) = array.as_struct_opt().and_then(stamp_secs) else {
                    continue;
                };
                // Not rcl_load_source's warm-up messages (-1).
                let counted: Vec<i32> = indices.into_iter().filter(|&i| i >= 0).collect();
                let Some(&highest) = counted.iter().max() else {
                    continue;
                };
                let topic = match metadata.parameters.get("ros_topic") {
                    Some(Parameter::String(topic)) => topic.clone(),
                    _ => "?".to_string(),
                };
                if let (Some(file), Some(Parameter::Integer(source_ns))) = (
                    latency_file.as_mut(),
                    metadata.parameters.get("ros_source_timestamp_ns"),
                ) && latency_topic.as_deref() == Some(topic.as_str())
                {
                    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as i64;
                    writeln!(file, "{now} {}", now - source_ns)?;
                }
                let (count, max) = per_topic.entry(topic).or_insert((0, -1));
                *count += counted.len() as u64;
                *max = (*max).max(highest);
            }
            Event::Stop(_) => break,
            _ => {}
        }
    }
    let object = |f: &dyn Fn(&(u64, i32)) -> String| {
        per_topic
            .iter()
            .map(|(topic, counts)| format!("\"{topic}\": {}", f(counts)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(mut file) = latency_file {
        file.flush()?;
    }
    if let Ok(path) = std::env::var("RESULT_FILE") {
        std::fs::write(
            path,
            format!(
                "{{\"received\": {{{}}}, \"max_index\": {{{}}}}}",
                object(&|c| c.0.to_string()),
                object(&|c| c.1.to_string())
            ),
        )?;
    }
    Ok(())
}

/// header.stamp.sec of every row.
fn stamp_secs(messages: &StructArray) -> Option<Vec<i32>> {
    let header = messages.column_by_name("header")?.as_struct_opt()?;
    let stamp = header.column_by_name("stamp")?.as_struct_opt()?;
    let sec = stamp
        .column_by_name("sec")?
        .as_primitive_opt::<Int32Type>()?;
    Some(sec.values().to_vec())
}
