//! The dora source of bench/many_topics.py (dora -> ROS): sends one
//! sensor_msgs/msg/Imu row on each of its outputs (`t000`, `t001`, ...;
//! LOAD_TOPICS of them) RATE times a second for SECONDS, after START_DELAY
//! seconds (time for the bridge's publishers and the ROS subscriber to
//! match). Row k of an output carries k in header.stamp.sec. Writes
//! `{"sent_per_topic": K, "seconds": S}` to RESULT_FILE when done.
//!
//! Env: LOAD_TOPICS, RATE, SECONDS, START_DELAY (default 3), RESULT_FILE.

use arrow::array::ArrayRef;
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{DoraNode, MetadataParameters};
use ros2_dora_bridge::codec::{CodecOptions, MessageCodec, synthesize_cdr};
use ros2_dora_bridge::msg::{TypeName, TypeRegistry};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env<T: std::str::FromStr>(name: &str, default: Option<T>) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={text} is not a number")),
        Err(_) => default.ok_or_else(|| anyhow::anyhow!("{name} not set")),
    }
}

fn main() -> anyhow::Result<()> {
    let topics: usize = env("LOAD_TOPICS", None)?;
    let rate: f64 = env("RATE", None)?;
    let seconds: f64 = env("SECONDS", None)?;
    let start_delay: f64 = env("START_DELAY", Some(3.0))?;
    let name = TypeName::parse("sensor_msgs/msg/Imu").map_err(anyhow::Error::msg)?;
    let registry = TypeRegistry::from_environment();
    let codec = MessageCodec::new(&registry, &name, CodecOptions::default())?;
    let mut message = synthesize_cdr(codec.layout(), 1, &|_| 0, false);
    let outputs: Vec<DataId> = (0..topics)
        .map(|i| DataId::from(format!("t{i:03}")))
        .collect();
    let (mut node, _events) = DoraNode::init_from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    std::thread::sleep(Duration::from_secs_f64(start_delay));
    let ticks = (rate * seconds).round() as u64;
    let period = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    for tick in 0..ticks {
        if let Some(wait) =
            (start + period.mul_f64(tick as f64)).checked_duration_since(Instant::now())
        {
            std::thread::sleep(wait);
        }
        // header.stamp.sec sits right after the 4-byte encapsulation header.
        message[4..8].copy_from_slice(&(tick as i32).to_le_bytes());
        let row: ArrayRef = Arc::new(codec.decode(&message)?);
        for output in &outputs {
            node.send_output(output.clone(), MetadataParameters::default(), row.clone())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    if let Ok(path) = std::env::var("RESULT_FILE") {
        std::fs::write(
            path,
            format!("{{\"sent_per_topic\": {ticks}, \"seconds\": {elapsed:.3}}}"),
        )?;
    }
    Ok(())
}
