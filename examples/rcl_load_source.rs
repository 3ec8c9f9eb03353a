//! The many-topics load source of bench/many_topics.py: publishes small
//! messages (sensor_msgs/msg/Imu, 324 bytes of CDR) on N topics PREFIX000,
//! PREFIX001, ... through rcl, RATE messages per second on each, for SECONDS.
//!
//! It creates every publisher first and prints `publishing N topics`; once
//! each has a matched subscriber it prints `{"all_matched_unix_ns": T}`, sends
//! a warm-up message (index -1) on each and waits for it to be acknowledged,
//! then publishes. Message k of a topic carries k in header.stamp.sec, so a
//! receiver can count what it lost. At the end it prints
//! `{"sent_per_topic": K, "seconds": S}`.
//!
//!   cargo run --release --example rcl_load_source -- PREFIX N RATE SECONDS
//!
//! QoS: reliable, keep last SOURCE_DEPTH (default 100: one second at 100 Hz).

use ros2_dora_bridge::codec::{CodecOptions, MessageCodec, synthesize_cdr};
use ros2_dora_bridge::msg::{TypeName, TypeRegistry};
use ros2_dora_bridge::ros::rcl::{RclContext, RclNode, RclPublisher, TypeSupport, default_qos};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const LOAD_TYPE: &str = "sensor_msgs/msg/Imu";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, prefix, count, rate, seconds] = args.as_slice() else {
        anyhow::bail!("usage: rcl_load_source PREFIX N RATE SECONDS");
    };
    let (count, rate, seconds): (usize, f64, f64) =
        (count.parse()?, rate.parse()?, seconds.parse()?);
    let name = TypeName::parse(LOAD_TYPE).map_err(anyhow::Error::msg)?;
    let registry = TypeRegistry::from_environment();
    let codec = MessageCodec::new(&registry, &name, CodecOptions::default())?;
    let mut message = synthesize_cdr(codec.layout(), 1, &|_| 0, false);
    let context = RclContext::new(&args[..1])?;
    let node = RclNode::new(&context, "rcl_load_source", "/")?;
    let ts = TypeSupport::load(registry.prefixes(), &name.package, &name.kind, &name.name)
        .map_err(anyhow::Error::msg)?;
    let mut qos = default_qos();
    qos.depth = std::env::var("SOURCE_DEPTH")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(100);
    let publishers = (0..count)
        .map(|i| RclPublisher::new(&node, &ts, &format!("{prefix}{i:03}"), qos))
        .collect::<Result<Vec<_>, _>>()?;
    println!("publishing {count} topics");
    wait_until_all_matched(&publishers, Duration::from_secs(60))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
    println!("{{\"all_matched_unix_ns\": {now}}}");
    // A matched publisher does not mean its reader has matched it yet (a
    // volatile reader drops what comes before): an acknowledged warm-up
    // message proves it has.
    set_index(&mut message, -1);
    for publisher in &publishers {
        publisher.publish(&message)?;
    }
    for publisher in &publishers {
        if !publisher.wait_for_all_acked(Duration::from_secs(10)) {
            eprintln!("a warm-up message was not acknowledged within 10 s");
        }
    }
    let ticks = (rate * seconds).round() as u64;
    let period = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    for tick in 0..ticks {
        if let Some(wait) =
            (start + period.mul_f64(tick as f64)).checked_duration_since(Instant::now())
        {
            std::thread::sleep(wait);
        }
        set_index(&mut message, tick as i32);
        for publisher in &publishers {
            publisher.publish(&message)?;
        }
    }
    println!(
        "{{\"sent_per_topic\": {ticks}, \"seconds\": {:.3}}}",
        start.elapsed().as_secs_f64()
    );
    // The writers go away only once the subscribers have everything (a
    // receiver that is behind takes what waits in DDS when it catches up).
    let waiting_since = Instant::now();
    let deadline = waiting_since + Duration::from_secs(60);
    let unacknowledged: Vec<String> = publishers
        .iter()
        .enumerate()
        .filter(|(_, publisher)| {
            !publisher.wait_for_all_acked(deadline.saturating_duration_since(Instant::now()))
        })
        .map(|(i, _)| format!("{prefix}{i:03}"))
        .collect();
    if unacknowledged.is_empty() {
        eprintln!(
            "all acknowledged {:.3} s after the last message",
            waiting_since.elapsed().as_secs_f64()
        );
    } else {
        eprintln!(
            "{} topic(s) still unacknowledged after 60 s, leaving anyway: {unacknowledged:?}",
            unacknowledged.len()
        );
    }
    Ok(())
}

/// header.stamp.sec sits right after the 4-byte encapsulation header.
fn set_index(message: &mut [u8], index: i32) {
    message[4..8].copy_from_slice(&index.to_le_bytes());
}

fn wait_until_all_matched(publishers: &[RclPublisher], timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    for publisher in publishers {
        while publisher.subscription_count()? == 0 {
            anyhow::ensure!(
                Instant::now() < deadline,
                "not every topic matched within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    Ok(())
}
