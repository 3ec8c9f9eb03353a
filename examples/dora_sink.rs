//! A dora node in Rust that counts the messages on its inputs and writes a
//! JSON summary to the file named by RESULT_FILE when it stops:
//! `{"received": N, "missing": [...], "streams": {...}, "seq_gaps": G,
//! "out_of_order": O}`. The consumer of bench/throughput.py and of the
//! full-speed replay test.
//! - `missing` lists the frame indices (header.stamp.sec, numbered by
//!   rcl_image_source) below the highest one seen that never arrived; its
//!   warm-up frame (-1) is not counted.
//! - `streams` counts messages per `bridge_stream` (a bridge output), and
//!   `seq_gaps` / `out_of_order` check their `bridge_seq` numbers: each
//!   stream must go 1, 2, 3, ... with nothing skipped or reordered.

use arrow::array::{ArrayRef, AsArray, StructArray};
use arrow::datatypes::Int32Type;
use dora_node_api::{DoraNode, Event, Parameter};
use std::collections::BTreeMap;

#[derive(Default)]
struct Stream {
    count: u64,
    last: u64,
}

fn main() -> anyhow::Result<()> {
    let (_node, mut events) = DoraNode::init_from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut received = 0u64;
    let mut seen = Vec::new();
    let mut streams: BTreeMap<String, Stream> = BTreeMap::new();
    let (mut seq_gaps, mut out_of_order) = (0u64, 0u64);
    while let Some(event) = events.recv() {
        match event {
            Event::Input { data, metadata, .. } => {
                let array: ArrayRef = data.into();
                let index = array.as_struct_opt().and_then(stamp_sec);
                if index.is_some_and(|i| i < 0) {
                    continue; // rcl_image_source's warm-up frame
                }
                received += 1;
                seen.extend(index);
                let params = &metadata.parameters;
                if let (Some(Parameter::String(name)), Some(Parameter::Integer(seq))) =
                    (params.get("bridge_stream"), params.get("bridge_seq"))
                {
                    let stream = streams.entry(name.clone()).or_default();
                    let seq = *seq as u64;
                    if seq <= stream.last {
                        out_of_order += 1;
                    } else {
                        seq_gaps += seq - stream.last - 1;
                    }
                    stream.last = stream.last.max(seq);
                    stream.count += 1;
                }
            }
            Event::Stop(_) => break,
            _ => {}
        }
    }
    let max = seen.iter().copied().max().unwrap_or(-1);
    let missing: Vec<i32> = (0..=max).filter(|i| !seen.contains(i)).collect();
    let streams: Vec<String> = streams
        .iter()
        .map(|(name, s)| format!("\"{name}\": {}", s.count))
        .collect();
    if let Ok(path) = std::env::var("RESULT_FILE") {
        std::fs::write(
            path,
            format!(
                "{{\"received\": {received}, \"missing\": {missing:?}, \"streams\": {{{}}}, \
                 \"seq_gaps\": {seq_gaps}, \"out_of_order\": {out_of_order}}}",
                streams.join(", ")
            ),
        )?;
    }
    Ok(())
}

fn stamp_sec(message: &StructArray) -> Option<i32> {
    let header = message.column_by_name("header")?.as_struct_opt()?;
    let stamp = header.column_by_name("stamp")?.as_struct_opt()?;
    let sec = stamp
        .column_by_name("sec")?
        .as_primitive_opt::<Int32Type>()?;
    (!sec.is_empty()).then(|| sec.value(0))
}
