//! The bridge as a running dora node: wires config routes to the ROS side
//! and the dora side, and runs until either side stops it.

use crate::codec::{CodecOptions, MessageCodec};
use crate::config::{Config, QosSetting};
use crate::dora_side;
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::{self, Publisher, RateLimiter, Received, RosSide};
use anyhow::{Context, bail};
use arrow::array::ArrayRef;
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{Event, StopCause};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// How many decoded ROS messages may wait for the dora side before the ROS
/// receiver blocks (and DDS history takes over).
const RECEIVE_QUEUE: usize = 64;

pub struct RunOptions {
    pub config: Config,
    pub dynamic_id: Option<String>,
    /// Process arguments for rcl (`--ros-args ...`).
    pub rcl_args: Vec<String>,
}

pub async fn run(options: RunOptions) -> anyhow::Result<()> {
    let RunOptions {
        config,
        dynamic_id,
        rcl_args,
    } = options;
    let (mut node, mut events) = dora_side::connect(dynamic_id.as_deref())?;
    dora_side::check_against_dataflow(&node, &config)?;
    warn_unimplemented(&config);

    let registry = TypeRegistry::from_environment();
    let codec_for = |type_text: &str, options: CodecOptions| -> anyhow::Result<MessageCodec> {
        let name = TypeName::parse(type_text).map_err(anyhow::Error::msg)?;
        Ok(MessageCodec::new(&registry, &name, options)?)
    };

    let node_name = config
        .ros
        .node_name
        .clone()
        .unwrap_or_else(|| ros_node_name_from(node.id().as_ref()));
    let namespace = config.ros.namespace.clone().unwrap_or_else(|| "/".into());
    let mut ros = RosSide::start(
        &rcl_args,
        &node_name,
        &namespace,
        registry.prefixes().to_vec(),
    )?;

    let mut subscriptions = Vec::new();
    let mut outputs = Vec::new();
    for (i, route) in config.from_ros.iter().enumerate() {
        let Some(type_text) = &route.msg_type else {
            bail!(
                "from_ros[{i}] ({}): `type` is required in this version; \
                 e.g. `type: std_msgs/msg/String`",
                route.topic
            );
        };
        let codec = codec_for(
            type_text,
            CodecOptions {
                bytes_as_binary: route.bytes_as_binary,
            },
        )
        .with_context(|| format!("from_ros[{i}].type"))?;
        let qos = ros::qos::profile(&route.qos);
        subscriptions.push(ros.subscribe(&route.topic, codec, qos)?);
        outputs.push((
            DataId::from(route.output.clone()),
            route.topic.clone(),
            type_text.clone(),
        ));
        tracing::info!(
            "from_ros: {} ({type_text}) -> output `{}`",
            route.topic,
            route.output
        );
    }
    let mut publishers: HashMap<DataId, Arc<Publisher>> = HashMap::new();
    for (i, route) in config.to_ros.iter().enumerate() {
        let codec = codec_for(&route.msg_type, CodecOptions::default())
            .with_context(|| format!("to_ros[{i}].type"))?;
        // For publishers, `auto` means the ROS default: reliable, volatile, keep last 10.
        let qos = ros::qos::profile(if route.qos == QosSetting::Auto {
            &QosSetting::Default
        } else {
            &route.qos
        });
        let publisher = ros.advertise(&route.topic, codec, qos)?;
        publishers.insert(DataId::from(route.input.clone()), Arc::new(publisher));
        tracing::info!(
            "to_ros: input `{}` -> {} ({})",
            route.input,
            route.topic,
            route.msg_type
        );
    }

    let (sink, mut received) = mpsc::channel::<Received>(RECEIVE_QUEUE);
    ros.spawn_receiver(subscriptions, sink)?;

    let mut sigint = signal(SignalKind::interrupt()).context("cannot install SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("cannot install SIGTERM handler")?;
    let limiter = RateLimiter::new(Duration::from_secs(5));

    let outcome: anyhow::Result<()> = loop {
        tokio::select! {
            biased;
            _ = sigint.recv() => {
                tracing::info!("SIGINT: leaving the ROS graph and exiting");
                break Ok(());
            }
            _ = sigterm.recv() => {
                tracing::info!("SIGTERM: leaving the ROS graph and exiting");
                break Ok(());
            }
            event = events.next() => match event {
                None => break Ok(()),
                Some(Event::Stop(cause)) => {
                    let why = match cause {
                        StopCause::Manual => "stopped by dora (manual stop)",
                        StopCause::AllInputsClosed => "all inputs closed",
                        _ => "stopped by dora",
                    };
                    tracing::info!("{why}: leaving the ROS graph and exiting");
                    break Ok(());
                }
                Some(Event::Input { id, data, .. }) => {
                    match publishers.get(&id) {
                        Some(publisher) => {
                            let array: ArrayRef = data.into();
                            publisher.publish_all(array.as_ref(), &limiter);
                        }
                        None => tracing::debug!("input `{id}` feeds no to_ros route; ignored"),
                    }
                }
                Some(Event::InputClosed { id }) => tracing::info!("input `{id}` closed"),
                Some(Event::NodeFailed { source_node_id, affected_input_ids, error }) => {
                    tracing::error!(
                        "dora node `{source_node_id}` failed (inputs {affected_input_ids:?}): {error}"
                    );
                }
                Some(Event::Error(e)) => tracing::error!("dora error: {e}"),
                Some(_) => {}
            },
            Some(Received { route, message, info }) = received.recv() => {
                let (output, topic, ros_type) = &outputs[route];
                let params = dora_side::message_metadata(topic, ros_type, &info);
                let array: ArrayRef = Arc::new(message);
                if let Err(e) = node.send_output(output.clone(), params, array) {
                    limiter.warn(|| format!("{topic}: cannot send to dora output `{output}`: {e}"));
                }
            }
        }
    };
    // Drop the queue first so a receiver blocked on a full queue wakes up.
    drop(received);
    ros.stop_receiver();
    drop(publishers);
    drop(ros);
    tracing::info!("left the ROS graph");
    outcome
}

/// dora node ids may contain characters ROS node names may not.
fn ros_node_name_from(node_id: &str) -> String {
    let mut name: String = node_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "dora_");
    }
    name
}

fn warn_unimplemented(config: &Config) {
    if config.liveness.is_some() {
        tracing::warn!("`liveness` is not implemented yet in this version; ignored");
    }
    if config.dora_failures.is_some() {
        tracing::warn!("`dora_failures` is not implemented yet in this version; ignored");
    }
}
