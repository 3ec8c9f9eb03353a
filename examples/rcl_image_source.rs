//! Publishes COUNT synthetic rgb8 images of WxH at RATE Hz on TOPIC through
//! rcl (no Python in the way), once a subscriber has matched. The source for
//! bench/throughput.py.
//!
//!   cargo run --release --example rcl_image_source -- TOPIC WIDTH HEIGHT RATE COUNT

use ros2_dora_bridge::codec::{CodecOptions, MessageCodec, synthesize_cdr};
use ros2_dora_bridge::msg::{TypeName, TypeRegistry};
use ros2_dora_bridge::ros::rcl::{RclContext, RclNode, RclPublisher, TypeSupport, default_qos};
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, topic, width, height, rate, count] = args.as_slice() else {
        anyhow::bail!("usage: rcl_image_source TOPIC WIDTH HEIGHT RATE COUNT");
    };
    let (width, height): (usize, usize) = (width.parse()?, height.parse()?);
    let (rate, count): (f64, usize) = (rate.parse()?, count.parse()?);
    let name = TypeName::parse("sensor_msgs/msg/Image").map_err(anyhow::Error::msg)?;
    let registry = TypeRegistry::from_environment();
    let codec = MessageCodec::new(&registry, &name, CodecOptions::default())?;
    let frame = synthesize_cdr(
        codec.layout(),
        1,
        &|f| if f == "data" { width * height * 3 } else { 0 },
        false,
    );
    let context = RclContext::new(&args[..1])?;
    let node = RclNode::new(&context, "rcl_image_source", "/")?;
    let ts = TypeSupport::load(registry.prefixes(), &name.package, &name.kind, &name.name)
        .map_err(anyhow::Error::msg)?;
    let publisher = RclPublisher::new(&node, &ts, topic, default_qos())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while publisher.subscription_count()? == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the subscriber's side settle after matching.
    std::thread::sleep(Duration::from_millis(500));
    let period = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    for i in 0..count {
        let due = start + period * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        publisher.publish(&frame)?;
    }
    println!(
        "{{\"sent\": {count}, \"seconds\": {:.3}}}",
        start.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs(2));
    Ok(())
}
