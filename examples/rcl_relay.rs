//! A raw-CDR ROS relay on rcl (no dora): takes each message on one topic and
//! republishes its bytes on another. The baseline "what rcl alone costs"
//! in bench/e2e_roundtrip.py.
//!
//!   cargo run --release --example rcl_relay -- TYPE IN_TOPIC OUT_TOPIC

use ros2_dora_bridge::msg::{TypeName, TypeRegistry};
use ros2_dora_bridge::ros::rcl::{
    GuardCondition, RclContext, RclNode, RclPublisher, RclSubscription, TypeSupport, WaitSet,
    default_qos,
};
use std::time::Duration;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, type_text, input, output] = args.as_slice() else {
        anyhow::bail!("usage: rcl_relay TYPE IN_TOPIC OUT_TOPIC");
    };
    let name = TypeName::parse(type_text).map_err(anyhow::Error::msg)?;
    let registry = TypeRegistry::from_environment();
    let context = RclContext::new(&args[..1])?;
    let node = RclNode::new(&context, "rcl_relay", "/")?;
    let ts = TypeSupport::load(registry.prefixes(), &name.package, &name.kind, &name.name)
        .map_err(anyhow::Error::msg)?;
    let mut subscription = RclSubscription::new(&node, &ts, input, default_qos())?;
    let publisher = RclPublisher::new(&node, &ts, output, default_qos())?;
    let wake = GuardCondition::new(&context)?;
    let mut wait_set = WaitSet::new(&node)?;
    println!("relaying {input} -> {output}");
    loop {
        let ready = wait_set.wait(&[&subscription], &[&wake], Duration::from_secs(1))?;
        if ready.subscriptions.is_empty() {
            continue;
        }
        // Borrowed, never adopted: the take buffer is reused.
        while let Some((taken, _)) = subscription.take(usize::MAX)? {
            publisher.publish(taken.bytes())?;
        }
    }
}
