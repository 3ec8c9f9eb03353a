//! Counts messages on TOPIC through rcl for SECONDS, then prints the count:
//! the "DDS hop alone" receiver of bench/throughput.py.
//!
//! Also prints the indices missing below the highest header.stamp.sec seen
//! (rcl_image_source numbers its frames there, and its warm-up frame -1 is
//! not counted).
//!
//! Prints `ready` once subscribed, so the benchmark can start counting the
//! process's CPU time from there.
//!
//!   cargo run --release --example rcl_sink -- TYPE TOPIC SECONDS

use ros2_dora_bridge::msg::{TypeName, TypeRegistry};
use ros2_dora_bridge::ros::rcl::{
    GuardCondition, RclContext, RclNode, RclSubscription, TypeSupport, WaitSet, default_qos,
};
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, type_text, topic, seconds] = args.as_slice() else {
        anyhow::bail!("usage: rcl_sink TYPE TOPIC SECONDS");
    };
    let name = TypeName::parse(type_text).map_err(anyhow::Error::msg)?;
    let registry = TypeRegistry::from_environment();
    let context = RclContext::new(&args[..1])?;
    let node = RclNode::new(&context, "rcl_sink", "/")?;
    let ts = TypeSupport::load(registry.prefixes(), &name.package, &name.kind, &name.name)
        .map_err(anyhow::Error::msg)?;
    let mut subscription = RclSubscription::new(&node, &ts, topic, default_qos())?;
    let wake = GuardCondition::new(&context)?;
    let mut wait_set = WaitSet::new(&node)?;
    let end = Instant::now() + Duration::from_secs_f64(seconds.parse()?);
    println!("ready");
    std::io::Write::flush(&mut std::io::stdout())?;
    let mut count = 0u64;
    let mut seen = Vec::new();
    while Instant::now() < end {
        wait_set.wait(&[&subscription], &[&wake], Duration::from_millis(100))?;
        while let Some((taken, _)) = subscription.take(usize::MAX)? {
            let bytes = taken.bytes();
            let index = bytes
                .get(4..8)
                .map(|b| i32::from_le_bytes(b.try_into().unwrap_or_default()));
            if index.is_some_and(|i| i < 0) {
                continue; // the source's warm-up frame
            }
            count += 1;
            seen.extend(index);
        }
    }
    println!(
        "{{\"received\": {count}, \"missing\": {:?}}}",
        missing(&seen)
    );
    Ok(())
}

/// Indices in 0..=max(seen) that were not seen.
fn missing(seen: &[i32]) -> Vec<i32> {
    let max = seen.iter().copied().max().unwrap_or(-1);
    (0..=max).filter(|i| !seen.contains(i)).collect()
}
