//! Writing rosbag2 bags: MCAP files (profile `ros2`, `ros2msg` schemas,
//! `cdr` messages, rosbag2's channel metadata), split by size or duration
//! like `ros2 bag record -b/-d`, and the `metadata.yaml` (version 9, as
//! Jazzy's rosbag2 writes it).

use crate::config::{
    BagCompression, DurabilityConfig, HistoryConfig, LivelinessConfig, QosProfileConfig,
    ReliabilityConfig,
};
use anyhow::{Context, bail};
use std::collections::{BTreeMap, HashMap};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// When to start the next storage file (`<bag>_1.mcap`, ...), like
/// `ros2 bag record --max-bag-size/--max-bag-duration`. A file always takes
/// at least one message, so one message larger than `max_bytes` gets a file
/// of its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct SplitLimits {
    /// Message bytes per file.
    pub max_bytes: Option<u64>,
    /// Span of receive times per file.
    pub max_duration: Option<Duration>,
}

/// One storage file's share of the bag, for `metadata.yaml`.
struct FileStats {
    name: String,
    first_ns: Option<u64>,
    last_ns: u64,
    messages: u64,
    bytes: u64,
}

/// A topic as recorded.
pub struct TopicMeta {
    pub name: String,
    pub type_name: String,
    /// `ros2msg` concatenated definition; empty if unknown.
    pub definition: String,
    pub offered_qos: Vec<QosProfileConfig>,
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
    stem: String,
    limits: SplitLimits,
    compression: BagCompression,
    /// Every file so far; the last one is being written.
    files: Vec<FileStats>,
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
    /// Creates bag directory `dir` (which must not exist, like rosbag2),
    /// written as one file.
    pub fn create(dir: &Path) -> anyhow::Result<Self> {
        Self::create_split(dir, SplitLimits::default())
    }

    /// Creates bag directory `dir`, starting a new file at `limits`.
    pub fn create_split(dir: &Path, limits: SplitLimits) -> anyhow::Result<Self> {
        Self::create_with(dir, limits, BagCompression::None)
    }

    /// Creates bag directory `dir`, starting a new file at `limits`, its
    /// chunks compressed with `compression`.
    pub fn create_with(
        dir: &Path,
        limits: SplitLimits,
        compression: BagCompression,
    ) -> anyhow::Result<Self> {
        if dir.exists() {
            bail!("`{}` already exists; give a new bag name", dir.display());
        }
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create bag directory `{}`", dir.display()))?;
        let stem = dir
            .file_name()
            .map_or("bag".into(), |n| n.to_string_lossy().into_owned());
        let (name, mcap) = open_file(dir, &stem, 0, compression)?;
        Ok(BagWriter {
            dir: dir.to_path_buf(),
            stem,
            limits,
            compression,
            files: vec![FileStats::new(name)],
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
        let channel = register(&mut self.mcap, &meta)?;
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
        if !self.topics.contains_key(topic) {
            bail!("{topic}: written before it was added");
        }
        if self.file_is_full(log_time_ns, data.len() as u64) {
            self.next_file()?;
        }
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
        if let Some(file) = self.files.last_mut() {
            file.add(log_time_ns, data.len() as u64);
        }
        Ok(())
    }

    /// Whether a message of `len` bytes received at `log_time_ns` belongs
    /// in a new file.
    fn file_is_full(&self, log_time_ns: u64, len: u64) -> bool {
        let Some(file) = self.files.last().filter(|f| f.messages > 0) else {
            return false;
        };
        let too_big = self
            .limits
            .max_bytes
            .is_some_and(|max| file.bytes + len > max);
        let too_long = self.limits.max_duration.is_some_and(|max| {
            let span = log_time_ns.saturating_sub(file.first_ns.unwrap_or(log_time_ns));
            u128::from(span) >= max.as_nanos()
        });
        too_big || too_long
    }

    /// Closes the current file and opens the next, with every topic's
    /// schema and channel again (each MCAP file stands on its own).
    fn next_file(&mut self) -> anyhow::Result<()> {
        let (name, mcap) = open_file(&self.dir, &self.stem, self.files.len(), self.compression)?;
        let mut done = std::mem::replace(&mut self.mcap, mcap);
        done.finish()?;
        for topic in &self.order {
            let state = self
                .topics
                .get_mut(topic)
                .expect("ordered topics are known");
            state.channel = register(&mut self.mcap, &state.meta)?;
        }
        self.files.push(FileStats::new(name));
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
                serde_yaml::Value::Sequence(
                    self.files.iter().map(|f| f.name.clone().into()).collect(),
                ),
            ),
            (
                "files",
                serde_yaml::Value::Sequence(self.files.iter().map(FileStats::yaml).collect()),
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

impl FileStats {
    fn new(name: String) -> Self {
        FileStats {
            name,
            first_ns: None,
            last_ns: 0,
            messages: 0,
            bytes: 0,
        }
    }

    fn add(&mut self, log_time_ns: u64, len: u64) {
        self.first_ns = Some(self.first_ns.map_or(log_time_ns, |f| f.min(log_time_ns)));
        self.last_ns = self.last_ns.max(log_time_ns);
        self.messages += 1;
        self.bytes += len;
    }

    fn yaml(&self) -> serde_yaml::Value {
        let start = self.first_ns.unwrap_or(0);
        yaml_map(vec![
            ("path", self.name.clone().into()),
            (
                "starting_time",
                yaml_map(vec![("nanoseconds_since_epoch", start.into())]),
            ),
            (
                "duration",
                yaml_map(vec![(
                    "nanoseconds",
                    self.last_ns.saturating_sub(start).into(),
                )]),
            ),
            ("message_count", self.messages.into()),
        ])
    }
}

/// Creates `<stem>_<index>.mcap` in `dir`.
fn open_file(
    dir: &Path,
    stem: &str,
    index: usize,
    compression: BagCompression,
) -> anyhow::Result<(String, mcap::Writer<BufWriter<std::fs::File>>)> {
    let name = format!("{stem}_{index}.mcap");
    let file = std::fs::File::create(dir.join(&name))
        .with_context(|| format!("cannot create `{}`", dir.join(&name).display()))?;
    // No chunk compression by default: recording must keep up with camera
    // streams; `ros2 bag` also records uncompressed by default.
    let compression = match compression {
        BagCompression::None => None,
        BagCompression::Zstd => Some(mcap::Compression::Zstd),
        BagCompression::Lz4 => Some(mcap::Compression::Lz4),
    };
    let options = mcap::WriteOptions::new()
        .compression(compression)
        .profile("ros2")
        .library(concat!("ros2-dora-bridge ", env!("CARGO_PKG_VERSION")));
    let mcap = options.create(BufWriter::with_capacity(1 << 20, file))?;
    Ok((name, mcap))
}

/// Adds a topic's schema and channel to one MCAP file; returns the channel id.
fn register(
    mcap: &mut mcap::Writer<BufWriter<std::fs::File>>,
    meta: &TopicMeta,
) -> anyhow::Result<u16> {
    let schema = if meta.definition.is_empty() {
        0
    } else {
        mcap.add_schema(&meta.type_name, "ros2msg", meta.definition.as_bytes())?
    };
    let mut metadata = BTreeMap::new();
    metadata.insert(
        "offered_qos_profiles".to_string(),
        serde_yaml::to_string(&qos_yaml(&meta.offered_qos))?,
    );
    if !meta.type_hash.is_empty() {
        metadata.insert("topic_type_hash".to_string(), meta.type_hash.clone());
    }
    Ok(mcap.add_channel(schema, &meta.name, "cdr", &metadata)?)
}

fn yaml_map(entries: Vec<(&str, serde_yaml::Value)>) -> serde_yaml::Value {
    serde_yaml::Value::Mapping(
        entries
            .into_iter()
            .map(|(k, v)| (serde_yaml::Value::from(k), v))
            .collect(),
    )
}

/// Offered QoS in rosbag2's version-9 form (unset policies `unknown`,
/// unset durations 0).
fn qos_yaml(profiles: &[QosProfileConfig]) -> serde_yaml::Value {
    let time = |t: Option<Duration>| {
        let t = t.unwrap_or_default();
        yaml_map(vec![
            ("sec", t.as_secs().into()),
            ("nsec", u64::from(t.subsec_nanos()).into()),
        ])
    };
    let name = |n: Option<&'static str>| serde_yaml::Value::from(n.unwrap_or("unknown"));
    let profile = |q: &QosProfileConfig| {
        yaml_map(vec![
            (
                "history",
                name(q.history.map(|h| match h {
                    HistoryConfig::KeepAll => "keep_all",
                    HistoryConfig::KeepLast => "keep_last",
                })),
            ),
            ("depth", (q.depth.unwrap_or(0) as u64).into()),
            (
                "reliability",
                name(q.reliability.map(|r| match r {
                    ReliabilityConfig::BestEffort => "best_effort",
                    ReliabilityConfig::Reliable => "reliable",
                })),
            ),
            (
                "durability",
                name(q.durability.map(|d| match d {
                    DurabilityConfig::TransientLocal => "transient_local",
                    DurabilityConfig::Volatile => "volatile",
                })),
            ),
            ("deadline", time(q.deadline)),
            ("lifespan", time(q.lifespan)),
            (
                "liveliness",
                name(q.liveliness.map(|l| match l {
                    LivelinessConfig::Automatic => "automatic",
                    LivelinessConfig::ManualByTopic => "manual_by_topic",
                })),
            ),
            ("liveliness_lease_duration", time(q.lease)),
            ("avoid_ros_namespace_conventions", false.into()),
        ])
    };
    serde_yaml::Value::Sequence(profiles.iter().map(profile).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(name: &str) -> TopicMeta {
        TopicMeta {
            name: name.into(),
            type_name: "std_msgs/msg/String".into(),
            definition: "string data\n".into(),
            offered_qos: vec![QosProfileConfig::default()],
            type_hash: String::new(),
        }
    }

    fn written_files(dir: &Path) -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".mcap"))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn splits_by_duration_and_every_file_reads_back() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let limits = SplitLimits {
            max_bytes: None,
            max_duration: Some(Duration::from_secs(1)),
        };
        let mut writer = BagWriter::create_split(&dir, limits).unwrap();
        writer.add_topic(topic("/a")).unwrap();
        writer.add_topic(topic("/b")).unwrap();
        // 0.0 .. 2.5 s in 0.5 s steps: files [0, 0.5], [1.0, 1.5], [2.0, 2.5].
        for k in 0..6u64 {
            let name = if k % 2 == 0 { "/a" } else { "/b" };
            writer
                .write(name, k * 500_000_000, 0, &[0, 1, 0, 0, 2, 0, 0, 0, b'x', 0])
                .unwrap();
        }
        let summary = writer.finish().unwrap();
        assert_eq!(summary.messages, 6);
        assert_eq!(
            written_files(&dir),
            ["run_0.mcap", "run_1.mcap", "run_2.mcap"]
        );
        let bag = crate::bag::Bag::open(&dir).unwrap();
        assert_eq!(bag.files.len(), 3);
        let read: Vec<(String, u64)> = bag
            .messages(|_| true)
            .map(|m| m.map(|m| (m.topic.to_string(), m.log_time_ns)))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(read.len(), 6);
        assert!(read.windows(2).all(|w| w[0].1 < w[1].1), "{read:?}");
        let meta = std::fs::read_to_string(dir.join("metadata.yaml")).unwrap();
        assert_eq!(meta.matches("message_count: 2").count(), 3, "{meta}");
    }

    #[test]
    fn a_message_larger_than_the_size_limit_gets_a_file_of_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("big");
        let limits = SplitLimits {
            max_bytes: Some(100),
            max_duration: None,
        };
        let mut writer = BagWriter::create_split(&dir, limits).unwrap();
        writer.add_topic(topic("/a")).unwrap();
        for (k, len) in [10usize, 500, 10, 10].into_iter().enumerate() {
            writer.write("/a", k as u64, 0, &vec![0; len]).unwrap();
        }
        writer.finish().unwrap();
        // [10], [500], [10, 10]
        assert_eq!(written_files(&dir).len(), 3);
    }

    #[test]
    fn compressed_chunks_are_smaller_and_read_back_the_same() {
        let tmp = tempfile::tempdir().unwrap();
        let sample: Vec<u8> = [0u8, 1, 0, 0, 0, 4, 0, 0]
            .into_iter()
            .chain(std::iter::repeat_n(b'a', 1024))
            .collect();
        let mut sizes = Vec::new();
        for compression in [
            BagCompression::None,
            BagCompression::Zstd,
            BagCompression::Lz4,
        ] {
            let dir = tmp.path().join(format!("{compression:?}"));
            let mut writer =
                BagWriter::create_with(&dir, SplitLimits::default(), compression).unwrap();
            writer.add_topic(topic("/a")).unwrap();
            for k in 0..100u64 {
                writer.write("/a", k, 0, &sample).unwrap();
            }
            writer.finish().unwrap();
            let bag = crate::bag::Bag::open(&dir).unwrap();
            let read: Vec<Vec<u8>> = bag
                .messages(|_| true)
                .map(|m| m.map(|m| m.data))
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(read, vec![sample.clone(); 100], "{compression:?}");
            sizes.push(std::fs::metadata(&bag.files[0]).unwrap().len());
        }
        assert!(
            sizes[1] * 10 < sizes[0] && sizes[2] * 10 < sizes[0],
            "{sizes:?}"
        );
    }
}
