//! The plain rcl subscriber of bench/many_topics.py (the DDS floor, and the
//! ROS end of its dora -> ROS direction): takes N topics PREFIX000, ... of
//! sensor_msgs/msg/Imu for SECONDS and prints what arrived on each.
//!
//! It ends after SECONDS, or once messages have come and then none for
//! SINK_IDLE_S (default 3) seconds. Prints `ready` once subscribed, then at
//! the end
//! `{"received": [n0, n1, ...], "max_index": [m0, m1, ...]}`: messages per
//! topic (the sources' warm-up messages, index -1, not counted) and the
//! highest header.stamp.sec seen on each.
//!
//!   cargo run --release --example rcl_load_sink -- PREFIX N SECONDS
//!
//! QoS: reliable, keep last SINK_DEPTH (default 100).

use ros2_dora_bridge::msg::{TypeName, TypeRegistry};
use ros2_dora_bridge::ros::rcl::{
    GuardCondition, RclContext, RclNode, RclSubscription, TypeSupport, WaitSet, default_qos,
};
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, prefix, count, seconds] = args.as_slice() else {
        anyhow::bail!("usage: rcl_load_sink PREFIX N SECONDS");
    };
    let count: usize = count.parse()?;
    let name = TypeName::parse("sensor_msgs/msg/Imu").map_err(anyhow::Error::msg)?;
    let registry = TypeRegistry::from_environment();
    let context = RclContext::new(&args[..1])?;
    let node = RclNode::new(&context, "rcl_load_sink", "/")?;
    let ts = TypeSupport::load(registry.prefixes(), &name.package, &name.kind, &name.name)
        .map_err(anyhow::Error::msg)?;
    let mut qos = default_qos();
    qos.depth = std::env::var("SINK_DEPTH")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(100);
    let mut subscriptions = (0..count)
        .map(|i| RclSubscription::new(&node, &ts, &format!("{prefix}{i:03}"), qos))
        .collect::<Result<Vec<_>, _>>()?;
    let wake = GuardCondition::new(&context)?;
    let mut wait_set = WaitSet::new(&node)?;
    let end = Instant::now() + Duration::from_secs_f64(seconds.parse()?);
    let idle = Duration::from_secs_f64(
        std::env::var("SINK_IDLE_S")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3.0),
    );
    let mut last_message: Option<Instant> = None;
    println!("ready");
    let mut received = vec![0u64; count];
    let mut max_index = vec![-1i32; count];
    while Instant::now() < end && last_message.is_none_or(|at| at.elapsed() < idle) {
        let all: Vec<&RclSubscription> = subscriptions.iter().collect();
        wait_set.wait(&all, &[&wake], Duration::from_millis(100))?;
        for (topic, subscription) in subscriptions.iter_mut().enumerate() {
            while let Some((taken, _)) = subscription.take(usize::MAX)? {
                let index = taken
                    .bytes()
                    .get(4..8)
                    .map_or(-1, |b| i32::from_le_bytes(b.try_into().unwrap_or_default()));
                if index >= 0 {
                    last_message = Some(Instant::now());
                    received[topic] += 1;
                    max_index[topic] = max_index[topic].max(index);
                }
            }
        }
    }
    println!("{{\"received\": {received:?}, \"max_index\": {max_index:?}}}");
    Ok(())
}
