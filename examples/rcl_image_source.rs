//! Publishes COUNT synthetic rgb8 images of WxH at RATE Hz on TOPIC through
//! rcl (no Python in the way), once a subscriber has matched. The source for
//! bench/throughput.py. Frame i carries i in header.stamp.sec; a warm-up frame
//! numbered -1 goes first.
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
    let mut frame = synthesize_cdr(
        codec.layout(),
        1,
        &|f| if f == "data" { width * height * 3 } else { 0 },
        false,
    );
    let context = RclContext::new(&args[..1])?;
    let node = RclNode::new(&context, "rcl_image_source", "/")?;
    let ts = TypeSupport::load(registry.prefixes(), &name.package, &name.kind, &name.name)
        .map_err(anyhow::Error::msg)?;
    // Reliable keep-last, depth 10 unless SOURCE_DEPTH says otherwise.
    let mut qos = default_qos();
    if let Some(depth) = std::env::var("SOURCE_DEPTH")
        .ok()
        .and_then(|d| d.parse().ok())
    {
        qos.depth = depth;
    }
    let publisher = RclPublisher::new(&node, &ts, topic, qos)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while publisher.subscription_count()? == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Matched on our side does not mean the subscriber has matched us yet (a
    // volatile reader ignores what it receives before that): a warm-up frame
    // (index -1) that the subscriber acknowledges proves it has.
    frame[4..8].copy_from_slice(&(-1i32).to_le_bytes());
    publisher.publish(&frame)?;
    if !publisher.wait_for_all_acked(Duration::from_secs(10)) {
        eprintln!("the subscriber did not acknowledge the warm-up frame within 10 s");
    }
    let period = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    for i in 0..count {
        let due = start + period * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        // header.stamp.sec carries the frame index (right after the 4-byte
        // encapsulation header), so receivers can tell which frames they lost.
        frame[4..8].copy_from_slice(&(i as i32).to_le_bytes());
        publisher.publish(&frame)?;
    }
    println!(
        "{{\"sent\": {count}, \"seconds\": {:.3}}}",
        start.elapsed().as_secs_f64()
    );
    // The writer goes away only once the subscriber has every frame.
    publisher.wait_for_all_acked(Duration::from_secs(60));
    Ok(())
}
