//! Writing rosbag2 bags: one MCAP file (profile `ros2`, `ros2msg` schemas,
//! `cdr` messages, rosbag2's channel metadata) and the `metadata.yaml`
//! (version 9, as Jazzy's rosbag2 writes it).

use crate::ros::rcl::{self, Durability, History, Liveliness, Reliability};
use anyhow::{Context, bail};
use std::collections::{BTreeMap, HashMap};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// A topic as recorded.
pub struct TopicMeta {
    pub name: String,
    pub type_name: String,
    /// `ros2msg` concatenated definition; empty if unknown.
    pub definition: String,
    pub offered_qos: Vec<rcl::QosProfile>,
    /// `RIHS01_...` when known, else empty.
    pub type_hash: String,
}

struct TopicState {
    meta: TopicMeta,
    channel: u16,
    count: u64,
    sequence: u32,
}

pub struct BagWriter {
    dir: PathBuf,
    file_name: String,
    mcap: mcap::Writer<BufWriter<std::fs::File>>,
    topics: HashMap<String, TopicState>,
    order: Vec<String>,
    first_ns: Option<u64>,
    last_ns: u64,
    messages: u64,
    bytes: u64,
}

pub struct Summary {
    pub messages: u64,
    pub topics: usize,
    pub bytes: u64,
}

impl BagWriter {
    /// Creates bag directory `dir` (which must not exist, like rosbag2).
    pub fn create(dir: &Path) -> anyhow::Result<Self> {
        if dir.exists() {
            bail!("`{}` already exists; give a new bag name", dir.display());
        }
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create bag directory `{}`", dir.display()))?;
        let stem = dir
            .file_name()
            .map_or("bag".into(), |n| n.to_string_lossy().into_owned());
        let file_name = format!("{stem}_0.mcap");
        let file = std::fs::File::create(dir.join(&file_name))
            .with_context(|| format!("cannot create `{}`", dir.join(&file_name).display()))?;
        // No chunk compression: recording must keep up with camera streams;
        // `ros2 bag` also records uncompressed by default.
        let options = mcap::WriteOptions::new()
            .compression(None)
            .profile("ros2")
            .library(concat!("ros2-dora-bridge ", env!("CARGO_PKG_VERSION")));
        let mcap = options.create(BufWriter::with_capacity(1 << 20, file))?;
        Ok(BagWriter {
            dir: dir.to_path_buf(),
            file_name,
            mcap,
            topics: HashMap::new(),
            order: Vec::new(),
            first_ns: None,
            last_ns: 0,
            messages: 0,
            bytes: 0,
        })
    }

    pub fn add_topic(&mut self, meta: TopicMeta) -> anyhow::Result<()> {
        if self.topics.contains_key(&meta.name) {
            return Ok(());
        }
        let schema = if meta.definition.is_empty() {
            0
        } else {
            self.mcap
                .add_schema(&meta.type_name, "ros2msg", meta.definition.as_bytes())?
        };
        let mut metadata = BTreeMap::new();
        metadata.insert(
            "offered_qos_profiles".to_string(),
            serde_yaml::to_string(&qos_yaml(&meta.offered_qos))?,
        );
        let channel = self
            .mcap
            .add_channel(schema, &meta.name, "cdr", &metadata)?;
        self.order.push(meta.name.clone());
        self.topics.insert(
            meta.name.clone(),
            TopicState {
                meta,
                channel,
                count: 0,
                sequence: 0,
            },
        );
        Ok(())
    }

    pub fn write(
        &mut self,
        topic: &str,
        log_time_ns: u64,
        publish_time_ns: u64,
        data: &[u8],
    ) -> anyhow::Result<()> {
        let Some(state) = self.topics.get_mut(topic) else {
            bail!("{topic}: written before it was added");
        };
        state.count += 1;
        state.sequence = state.sequence.wrapping_add(1);
        self.mcap.write_to_known_channel(
            &mcap::records::MessageHeader {
                channel_id: state.channel,
                sequence: state.sequence,
                log_time: log_time_ns,
                publish_time: if publish_time_ns == 0 {
                    log_time_ns
                } else {
                    publish_time_ns
                },
            },
            data,
        )?;
        self.first_ns = Some(self.first_ns.map_or(log_time_ns, |f| f.min(log_time_ns)));
        self.last_ns = self.last_ns.max(log_time_ns);
        self.messages += 1;
        self.bytes += data.len() as u64;
        Ok(())
    }

    /// Closes the MCAP file and writes `metadata.yaml`.
    pub fn finish(mut self) -> anyhow::Result<Summary> {
        self.mcap.finish()?;
        let start = self.first_ns.unwrap_or(0);
        let duration = self.last_ns.saturating_sub(start);
        let topics: Vec<serde_yaml::Value> = self
            .order
            .iter()
            .map(|name| {
                let t = &self.topics[name];
                yaml_map(vec![
                    (
                        "topic_metadata",
                        yaml_map(vec![
                            ("name", t.meta.name.clone().into()),
                            ("type", t.meta.type_name.clone().into()),
                            ("serialization_format", "cdr".into()),
                            ("offered_qos_profiles", qos_yaml(&t.meta.offered_qos)),
                            ("type_description_hash", t.meta.type_hash.clone().into()),
                        ]),
                    ),
                    ("message_count", t.count.into()),
                ])
            })
            .collect();
        let info = yaml_map(vec![
            ("version", 9.into()),
            ("storage_identifier", "mcap".into()),
            ("duration", yaml_map(vec![("nanoseconds", duration.into())])),
            (
                "starting_time",
                yaml_map(vec![("nanoseconds_since_epoch", start.into())]),
            ),
            ("message_count", self.messages.into()),
            (
                "topics_with_message_count",
                serde_yaml::Value::Sequence(topics),
            ),
            ("compression_format", "".into()),
            ("compression_mode", "".into()),
            (
                "relative_file_paths",
                serde_yaml::Value::Sequence(vec![self.file_name.clone().into()]),
            ),
            (
                "files",
                serde_yaml::Value::Sequence(vec![yaml_map(vec![
                    ("path", self.file_name.clone().into()),
                    (
                        "starting_time",
                        yaml_map(vec![("nanoseconds_since_epoch", start.into())]),
                    ),
                    ("duration", yaml_map(vec![("nanoseconds", duration.into())])),
                    ("message_count", self.messages.into()),
                ])]),
            ),
            ("custom_data", serde_yaml::Value::Null),
            (
                "ros_distro",
                std::env::var("ROS_DISTRO").unwrap_or_default().into(),
            ),
        ]);
        let text = serde_yaml::to_string(&yaml_map(vec![("rosbag2_bagfile_information", info)]))?;
        std::fs::write(self.dir.join("metadata.yaml"), text).with_context(|| {
            format!(
                "cannot write `{}`",
                self.dir.join("metadata.yaml").display()
            )
        })?;
        Ok(Summary {
            messages: self.messages,
            topics: self.topics.len(),
            bytes: self.bytes,
        })
    }
}

fn yaml_map(entries: Vec<(&str, serde_yaml::Value)>) -> serde_yaml::Value {
    serde_yaml::Value::Mapping(
        entries
            .into_iter()
            .map(|(k, v)| (serde_yaml::Value::from(k), v))
            .collect(),
    )
}

/// Offered QoS in rosbag2's version-9 form.
fn qos_yaml(profiles: &[rcl::QosProfile]) -> serde_yaml::Value {
    let time = |t: rcl::RmwTime| yaml_map(vec![("sec", t.sec.into()), ("nsec", t.nsec.into())]);
    serde_yaml::Value::Sequence(
        profiles
            .iter()
            .map(|q| {
                yaml_map(vec![
                    (
                        "history",
                        match q.history {
                            History::RMW_QOS_POLICY_HISTORY_KEEP_ALL => "keep_all",
                            History::RMW_QOS_POLICY_HISTORY_KEEP_LAST => "keep_last",
                            _ => "unknown",
                        }
                        .into(),
                    ),
                    ("depth", (q.depth as u64).into()),
                    (
                        "reliability",
                        match q.reliability {
                            Reliability::RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT => "best_effort",
                            Reliability::RMW_QOS_POLICY_RELIABILITY_RELIABLE => "reliable",
                            _ => "unknown",
                        }
                        .into(),
                    ),
                    (
                        "durability",
                        match q.durability {
                            Durability::RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL => {
                                "transient_local"
                            }
                            Durability::RMW_QOS_POLICY_DURABILITY_VOLATILE => "volatile",
                            _ => "unknown",
                        }
                        .into(),
                    ),
                    ("deadline", time(q.deadline)),
                    ("lifespan", time(q.lifespan)),
                    (
                        "liveliness",
                        match q.liveliness {
                            Liveliness::RMW_QOS_POLICY_LIVELINESS_AUTOMATIC => "automatic",
                            Liveliness::RMW_QOS_POLICY_LIVELINESS_MANUAL_BY_TOPIC => {
                                "manual_by_topic"
                            }
                            _ => "unknown",
                        }
                        .into(),
                    ),
                    (
                        "liveliness_lease_duration",
                        time(q.liveliness_lease_duration),
                    ),
                    (
                        "avoid_ros_namespace_conventions",
                        q.avoid_ros_namespace_conventions.into(),
                    ),
                ])
            })
            .collect(),
    )
}
