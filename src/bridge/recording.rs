//! `record:`: what the `to_ros` routes publish goes into a bag too,
//! written on a thread of its own.

use crate::bag::writer::{BagWriter, SplitLimits, Summary, TopicMeta};
use crate::config::{Config, RecordSection};
use crate::msg::TypeRegistry;
use crate::ros::Tapped;
use crate::routes::to_ros::ToRosRoutes;
use anyhow::Context;
use dora_node_api::dora_core::config::DataId;
use std::thread::JoinHandle;

pub struct Recording {
    writer: JoinHandle<anyhow::Result<Summary>>,
}

/// Opens the bag, adds every `to_ros` topic, taps the publishers.
pub fn start(
    section: &RecordSection,
    config: &Config,
    routes: &ToRosRoutes,
    registry: &TypeRegistry,
) -> anyhow::Result<Recording> {
    let limits = SplitLimits {
        max_bytes: section.max_bag_size,
        max_duration: section.max_bag_duration,
    };
    let mut writer =
        BagWriter::create_with(&section.bag, limits, section.compression).context("record.bag")?;
    for route in &config.to_ros {
        let Some(route_entry) = routes.get(&DataId::from(route.input.clone())) else {
            continue;
        };
        let publisher = &route_entry.publisher;
        let definition = registry
            .concatenated_definition(publisher.codec.type_name())
            .unwrap_or_default();
        writer.add_topic(TopicMeta {
            name: publisher.topic.clone(),
            type_name: route.msg_type.to_string(),
            definition,
            offered_qos: vec![crate::ros::qos::policies(&publisher.qos())],
            // rcl computes it for our own publisher, but only the graph
            // reports it; not worth a graph query at start.
            type_hash: String::new(),
        })?;
    }
    let (tx, rx) = std::sync::mpsc::sync_channel::<Tapped>(256);
    for publisher in routes.publishers() {
        publisher.set_tap(tx.clone());
    }
    drop(tx);
    tracing::info!("recording to_ros traffic into {}", section.bag.display());
    let writer = std::thread::Builder::new()
        .name("bag-writer".into())
        .spawn(move || {
            for tapped in rx {
                writer.write(&tapped.topic, tapped.time_ns, tapped.time_ns, &tapped.cdr)?;
            }
            writer.finish()
        })
        .context("cannot start the bag writer thread")?;
    Ok(Recording { writer })
}

impl Recording {
    /// Waits for the writer (every tap must be gone) and logs the result.
    pub fn finish(self, config: &Config) {
        let bag = config
            .record
            .as_ref()
            .map_or_else(String::new, |r| r.bag.display().to_string());
        match self.writer.join() {
            Ok(Ok(summary)) => {
                tracing::info!("recorded {} to_ros message(s) into {bag}", summary.messages)
            }
            Ok(Err(e)) => tracing::error!("recording failed: {e:#}"),
            Err(_) => tracing::error!("the recording thread panicked"),
        }
    }
}
