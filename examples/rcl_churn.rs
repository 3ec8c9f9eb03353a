//! Graph churn for tests/scale.rs: WAVES times, NODES ROS nodes come up in
//! one process, each publishing sensor_msgs/msg/Imu on its own topic
//! PREFIX000, PREFIX001, ... at 5 Hz for UP seconds (from when every topic
//! has a subscriber, or 60 s at most), then all go away and
//! the graph stays quiet for DOWN seconds. Prints `{"wave": k, "up": N}`
//! once wave k's nodes exist and `{"wave": k, "down": N}` once they are gone.
//!
//!   cargo run --example rcl_churn -- PREFIX NODES WAVES UP DOWN

use ros2_dora_bridge::codec::{CodecOptions, MessageCodec, synthesize_cdr};
use ros2_dora_bridge::msg::{TypeName, TypeRegistry};
use ros2_dora_bridge::ros::rcl::{RclContext, RclNode, RclPublisher, TypeSupport, default_qos};
use std::time::{Duration, Instant};

const PUBLISH_PERIOD: Duration = Duration::from_millis(200);

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, prefix, nodes, waves, up, down] = args.as_slice() else {
        anyhow::bail!("usage: rcl_churn PREFIX NODES WAVES UP DOWN");
    };
    let (nodes, waves): (usize, usize) = (nodes.parse()?, waves.parse()?);
    let (up, down) = (
        Duration::from_secs_f64(up.parse()?),
        Duration::from_secs_f64(down.parse()?),
    );
    let name = TypeName::parse("sensor_msgs/msg/Imu").map_err(anyhow::Error::msg)?;
    let registry = TypeRegistry::from_environment();
    let codec = MessageCodec::new(&registry, &name, CodecOptions::default())?;
    let mut message = synthesize_cdr(codec.layout(), 1, &|_| 0, false);
    let ts = TypeSupport::load(registry.prefixes(), &name.package, &name.kind, &name.name)
        .map_err(anyhow::Error::msg)?;
    let context = RclContext::new(&args[..1])?;
    for wave in 0..waves {
        let mut alive = Vec::with_capacity(nodes);
        for i in 0..nodes {
            let node = RclNode::new(&context, &format!("churn_{wave}_{i}"), "/")?;
            let publisher =
                RclPublisher::new(&node, &ts, &format!("{prefix}{i:03}"), default_qos())?;
            alive.push((node, publisher));
        }
        // UP counts from the moment every topic has a subscriber.
        let deadline = Instant::now() + Duration::from_secs(60);
        for (_, publisher) in &alive {
            while publisher.subscription_count()? == 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        println!("{{\"wave\": {wave}, \"up\": {nodes}}}");
        let end = Instant::now() + up;
        let mut index = 0i32;
        while Instant::now() < end {
            message[4..8].copy_from_slice(&index.to_le_bytes());
            for (_, publisher) in &alive {
                publisher.publish(&message)?;
            }
            index += 1;
            std::thread::sleep(PUBLISH_PERIOD);
        }
        // Publishers before their nodes.
        for (node, publisher) in alive.drain(..) {
            drop(publisher);
            drop(node);
        }
        println!("{{\"wave\": {wave}, \"down\": {nodes}}}");
        std::thread::sleep(down);
    }
    Ok(())
}
