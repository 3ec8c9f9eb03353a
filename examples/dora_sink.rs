//! A dora node in Rust that counts the messages on its inputs and writes
//! `{"received": N, "missing": [...]}` to the file named by RESULT_FILE when
//! it stops: the consumer of bench/throughput.py. `missing` lists the frame
//! indices (header.stamp.sec, numbered by rcl_image_source) below the
//! highest one seen that never arrived; its warm-up frame (-1) is not counted.

use arrow::array::{ArrayRef, AsArray, StructArray};
use arrow::datatypes::Int32Type;
use dora_node_api::{DoraNode, Event};

fn main() -> anyhow::Result<()> {
    let (_node, mut events) = DoraNode::init_from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut received = 0u64;
    let mut seen = Vec::new();
    while let Some(event) = events.recv() {
        match event {
            Event::Input { data, .. } => {
                let array: ArrayRef = data.into();
                let index = array.as_struct_opt().and_then(stamp_sec);
                if index.is_some_and(|i| i < 0) {
                    continue; // rcl_image_source's warm-up frame
                }
                received += 1;
                seen.extend(index);
            }
            Event::Stop(_) => break,
            _ => {}
        }
    }
    let max = seen.iter().copied().max().unwrap_or(-1);
    let missing: Vec<i32> = (0..=max).filter(|i| !seen.contains(i)).collect();
    if let Ok(path) = std::env::var("RESULT_FILE") {
        std::fs::write(
            path,
            format!("{{\"received\": {received}, \"missing\": {missing:?}}}"),
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
