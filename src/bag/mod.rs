//! rosbag2 bags: reading MCAP and sqlite3 storage, and the bag's
//! `metadata.yaml`.
//!
//! - [`play`]: a bag onto ROS topics (`ros2-dora-bridge bag play`).
//! - [`replay`]: a bag straight into a dora dataflow, no ROS needed.
//! - [`record`] and [`writer`]: ROS topics into a new MCAP bag.
//!
//! A bag is a directory with `metadata.yaml` and storage files, or a single
//! `.mcap` / `.db3` file. Every layout rosbag2 wrote is read: sqlite3
//! schemas from Dashing on (with or without QoS, definitions, type hashes),
//! MCAP, split bags (files in time order whatever their names), bags without
//! `metadata.yaml` (counted from the files, as rosbag2's reindexer does),
//! and zstd compression in file mode (decompressed into a temporary
//! directory) and message mode. Messages come out in storage order (which
//! rosbag2 writes in receive-time order) one at a time, so memory stays
//! bounded by the largest message (MCAP: the largest chunk).

pub mod play;
pub mod record;
pub mod replay;
pub mod writer;

use crate::config::QosProfileConfig;
use anyhow::{Context, bail};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One recorded message.
#[derive(Debug, Clone)]
pub struct BagMessage {
    pub topic: Arc<str>,
    /// `pkg/msg/Type`.
    pub type_name: Arc<str>,
    /// When the recorder received it (rosbag2's timestamp), ns since the epoch.
    pub log_time_ns: u64,
    /// When it was published, if the storage kept it (MCAP does).
    pub publish_time_ns: Option<u64>,
    /// CDR with its encapsulation header.
    pub data: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct TopicInfo {
    pub name: String,
    pub type_name: String,
    /// What its publishers offered while recording.
    pub offered_qos: Vec<QosProfileConfig>,
    pub message_count: Option<u64>,
    /// `cdr` in every ROS 2 bag this tool plays.
    pub serialization_format: String,
}

impl TopicInfo {
    /// Replay latched topics latched: the profile that matches every
    /// recorded publisher, with the deepest history any of them kept.
    pub fn replay_qos(&self) -> QosProfileConfig {
        QosProfileConfig {
            depth: self
                .offered_qos
                .iter()
                .filter_map(|q| q.depth)
                .filter(|d| *d > 0)
                .max(),
            ..QosProfileConfig::matching_all(&self.offered_qos)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Mcap,
    Sqlite3,
}

/// An opened bag: its files, topics and embedded message definitions.
#[derive(Debug, Clone)]
pub struct Bag {
    pub path: PathBuf,
    pub storage: Storage,
    pub files: Vec<PathBuf>,
    pub topics: Vec<TopicInfo>,
    /// `pkg/msg/Type` -> concatenated `.msg` definition (rosbag2's
    /// `ros2msg` encoding), for types that are not installed.
    pub definitions: HashMap<String, String>,
    /// From `metadata.yaml`, when present.
    pub duration_ns: Option<u64>,
    pub starting_time_ns: Option<u64>,
    pub message_count: Option<u64>,
    /// Set when scanning found damage (what is before it still plays).
    pub damage: Option<String>,
    /// rosbag2's compression mode, as `bag info` shows it.
    pub compression: Compression,
    /// Where file-mode compressed files were decompressed to; removed
    /// with the last clone of the bag.
    decompressed: Option<Arc<tempfile::TempDir>>,
}

/// rosbag2's `compression_mode` (the format is always zstd).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None,
    /// Each storage file compressed whole (`.db3.zstd`, `.mcap.zstd`).
    File,
    /// Each message's data compressed on its own.
    Message,
}

/// Every zstd frame starts with these bytes; CDR starts with 0x00 (its
/// encapsulation header), so a message that starts with them is compressed.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// A file name's storage, looking through a `.zstd` suffix.
fn storage_of(path: &Path) -> Option<Storage> {
    let name = path.file_name()?.to_str()?;
    let name = name.strip_suffix(".zstd").unwrap_or(name);
    match Path::new(name).extension()?.to_str()? {
        "mcap" => Some(Storage::Mcap),
        "db3" => Some(Storage::Sqlite3),
        _ => None,
    }
}

fn is_compressed_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "zstd")
}

/// The message's CDR, decompressed if rosbag2 compressed it (message mode).
fn plain_data(message: anyhow::Result<BagMessage>) -> anyhow::Result<BagMessage> {
    let mut message = message?;
    if message.data.starts_with(&ZSTD_MAGIC) {
        message.data = zstd::decode_all(message.data.as_slice()).with_context(|| {
            format!(
                "a message on {} at {} ns is zstd-compressed but does not decompress",
                message.topic, message.log_time_ns
            )
        })?;
    }
    Ok(message)
}

impl Bag {
    pub fn open(path: &Path) -> anyhow::Result<Bag> {
        if !path.exists() {
            bail!("bag `{}` does not exist", path.display());
        }
        let mut bag = if path.is_dir() {
            open_directory(path)?
        } else {
            open_file(path)?
        };
        for file in &bag.files {
            if !file.exists() {
                bail!(
                    "bag `{}` lists `{}`, which is missing",
                    path.display(),
                    file.display()
                );
            }
        }
        bag.decompress_files()?;
        let need_counts =
            bag.topics.is_empty() || bag.topics.iter().any(|t| t.message_count.is_none());
        let mut summaries = Vec::new();
        for file in bag.files.clone() {
            let summary = match bag.storage {
                Storage::Mcap => mcap_storage::scan(&mut bag, &file)?,
                Storage::Sqlite3 => sqlite_storage::scan(&mut bag, &file, need_counts)?,
            };
            summaries.push((file, summary));
        }
        bag.take_in(summaries, need_counts);
        bag.check_serialization()?;
        Ok(bag)
    }

    /// File-mode compression: each file decompressed into a temporary
    /// directory, under its own name without `.zstd`.
    fn decompress_files(&mut self) -> anyhow::Result<()> {
        if !self.files.iter().any(|f| is_compressed_file(f)) {
            return Ok(());
        }
        self.compression = Compression::File;
        let dir = tempfile::Builder::new()
            .prefix("ros2-dora-bridge-bag-")
            .tempdir()
            .context("cannot make a directory to decompress the bag into")?;
        for file in &mut self.files {
            if !is_compressed_file(file) {
                continue;
            }
            let name = file.file_stem().unwrap_or_default();
            let plain = dir.path().join(name);
            decompress_file(file, &plain)?;
            *file = plain;
        }
        self.decompressed = Some(Arc::new(dir));
        Ok(())
    }

    /// What the files said: counts and times where `metadata.yaml` gave
    /// none, and the files in time order (a split bag's names need not sort).
    fn take_in(&mut self, summaries: Vec<(PathBuf, FileSummary)>, need_counts: bool) {
        let first = summaries.iter().filter_map(|(_, s)| s.first_ns).min();
        let last = summaries.iter().filter_map(|(_, s)| s.last_ns).max();
        if need_counts {
            let mut counts: HashMap<&str, u64> = HashMap::new();
            for (topic, count) in summaries.iter().flat_map(|(_, s)| &s.counts) {
                *counts.entry(topic).or_default() += count;
            }
            for topic in &mut self.topics {
                topic.message_count = Some(counts.get(topic.name.as_str()).copied().unwrap_or(0));
            }
            self.message_count = Some(counts.values().sum());
        }
        if self.starting_time_ns.is_none() {
            self.starting_time_ns = first;
        }
        if self.duration_ns.is_none() {
            self.duration_ns = first.zip(last).map(|(a, b)| b.saturating_sub(a));
        }
        let start_of: HashMap<PathBuf, u64> = summaries
            .into_iter()
            .map(|(file, s)| (file, s.first_ns.unwrap_or(u64::MAX)))
            .collect();
        self.files
            .sort_by_key(|f| start_of.get(f).copied().unwrap_or(u64::MAX));
    }

    /// This tool plays CDR only: another serialization is refused by name.
    fn check_serialization(&self) -> anyhow::Result<()> {
        match self.topics.iter().find(|t| t.serialization_format != "cdr") {
            Some(topic) => bail!(
                "bag `{}`: topic {} is serialized as `{}`; this tool reads and plays `cdr` only",
                self.path.display(),
                topic.name,
                topic.serialization_format
            ),
            None => Ok(()),
        }
    }

    /// The installed types, plus the bag's embedded definitions for the
    /// types that are not installed.
    pub fn type_registry(&self) -> crate::msg::TypeRegistry {
        let registry = crate::msg::TypeRegistry::from_environment();
        for (type_text, definition) in &self.definitions {
            if let Ok(name) = crate::msg::TypeName::parse(type_text)
                && registry.resolve(&name).is_err()
                && let Err(e) = registry.add_concatenated(&name, definition)
            {
                // Its topics fail later with a clear error of their own.
                tracing::warn!("the bag's definition of {type_text} is unusable: {e}");
            }
        }
        registry
    }

    /// The topic names, for messages.
    pub fn topic_names(&self) -> String {
        self.topics
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn topic(&self, name: &str) -> Option<&TopicInfo> {
        self.topics.iter().find(|t| t.name == name)
    }

    /// Every message, in storage order, of the topics `wanted` accepts.
    /// Damage ends the iteration with an error after the last good message.
    pub fn messages<'a>(
        &'a self,
        wanted: impl Fn(&str) -> bool + 'a,
    ) -> Box<dyn Iterator<Item = anyhow::Result<BagMessage>> + 'a> {
        let wanted = Arc::new(wanted);
        Box::new(self.files.iter().flat_map(move |file| {
            let wanted = wanted.clone();
            let iter: Box<dyn Iterator<Item = anyhow::Result<BagMessage>>> = match self.storage {
                Storage::Mcap => Box::new(mcap_storage::messages(file, move |t| wanted(t))),
                Storage::Sqlite3 => {
                    Box::new(sqlite_storage::messages(file, self, move |t| wanted(t)))
                }
            };
            iter.map(plain_data)
        }))
    }
}

/// `bag info`: a human-readable summary.
pub fn describe(bag: &Bag) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "bag:       {}", bag.path.display());
    let _ = writeln!(
        out,
        "storage:   {:?} ({} file(s))",
        bag.storage,
        bag.files.len()
    );
    match bag.compression {
        Compression::None => {}
        Compression::File => {
            let _ = writeln!(out, "compression: zstd, file mode");
        }
        Compression::Message => {
            let _ = writeln!(out, "compression: zstd, message mode");
        }
    }
    if let Some(d) = bag.duration_ns {
        let _ = writeln!(out, "duration:  {:.3} s", d as f64 / 1e9);
    }
    if let Some(n) = bag.message_count {
        let _ = writeln!(out, "messages:  {n}");
    }
    if let Some(damage) = &bag.damage {
        let _ = writeln!(out, "DAMAGED:   {damage}");
    }
    let _ = writeln!(out, "topics:");
    for t in &bag.topics {
        let qos = t.replay_qos();
        let _ = writeln!(
            out,
            "  {}  {}  {} msgs  {}{}{}",
            t.name,
            t.type_name,
            t.message_count.map_or("?".to_string(), |c| c.to_string()),
            if qos.is_best_effort() {
                "best_effort"
            } else {
                "reliable"
            },
            if qos.is_transient_local() {
                " transient_local"
            } else {
                ""
            },
            if bag.definitions.contains_key(&t.type_name) {
                "  (definition embedded)"
            } else {
                ""
            },
        );
    }
    out
}

/// What scanning one storage file found.
#[derive(Debug, Default)]
struct FileSummary {
    /// Receive times of its first and last message.
    first_ns: Option<u64>,
    last_ns: Option<u64>,
    /// Messages per topic (when they were counted).
    counts: HashMap<String, u64>,
}

/// A bag directory: by its `metadata.yaml`, or (a recording that was
/// killed, a bag copied without it) by the storage files in it.
fn open_directory(path: &Path) -> anyhow::Result<Bag> {
    let metadata = path.join("metadata.yaml");
    if metadata.exists() {
        return from_metadata(path, &metadata);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot read bag directory `{}`", path.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| storage_of(p).is_some())
        .collect();
    files.sort();
    let Some(first) = files.first() else {
        bail!(
            "`{}` has no metadata.yaml and no .mcap or .db3 files (nor .zstd of them): not a \
             rosbag2 bag",
            path.display()
        );
    };
    let storage = storage_of(first).expect("filtered above");
    files.retain(|f| storage_of(f) == Some(storage));
    Ok(empty_bag(path, storage, files))
}

/// A single storage file.
fn open_file(path: &Path) -> anyhow::Result<Bag> {
    if path.extension().is_some_and(|e| e == "bag") {
        bail!(
            "`{}` is a ROS 1 bag; this tool reads rosbag2 bags (convert it with `rosbags-convert \
             --src {}`)",
            path.display(),
            path.display()
        );
    }
    let storage = storage_of(path).ok_or_else(|| {
        anyhow::anyhow!(
            "`{}`: unknown storage format; expected a bag directory, a .mcap or a .db3 file",
            path.display()
        )
    })?;
    Ok(empty_bag(path, storage, vec![path.to_path_buf()]))
}

fn decompress_file(compressed: &Path, plain: &Path) -> anyhow::Result<()> {
    let open = || -> anyhow::Result<()> {
        let input = std::fs::File::open(compressed)?;
        let mut output = std::fs::File::create(plain)?;
        let mut decoder = zstd::Decoder::new(input)?;
        std::io::copy(&mut decoder, &mut output)?;
        Ok(())
    };
    open().with_context(|| {
        format!(
            "cannot decompress `{}` (zstd, file mode)",
            compressed.display()
        )
    })
}

fn empty_bag(path: &Path, storage: Storage, files: Vec<PathBuf>) -> Bag {
    Bag {
        path: path.to_path_buf(),
        storage,
        files,
        topics: Vec::new(),
        definitions: HashMap::new(),
        duration_ns: None,
        starting_time_ns: None,
        message_count: None,
        damage: None,
        compression: Compression::None,
        decompressed: None,
    }
}

fn from_metadata(dir: &Path, metadata: &Path) -> anyhow::Result<Bag> {
    let text = std::fs::read_to_string(metadata)
        .with_context(|| format!("cannot read `{}`", metadata.display()))?;
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text)
        .with_context(|| format!("`{}` is not valid YAML", metadata.display()))?;
    let info = &yaml["rosbag2_bagfile_information"];
    if info.is_null() {
        bail!(
            "`{}` has no `rosbag2_bagfile_information`: not a rosbag2 metadata file",
            metadata.display()
        );
    }
    let storage = match info["storage_identifier"].as_str() {
        Some("mcap") => Storage::Mcap,
        Some("sqlite3") => Storage::Sqlite3,
        Some(other) => bail!(
            "`{}`: unknown storage format `{other}` (this tool reads mcap and sqlite3)",
            metadata.display()
        ),
        None => bail!("`{}`: no storage_identifier", metadata.display()),
    };
    let compression = info["compression_format"].as_str().unwrap_or("");
    if !compression.is_empty() && compression != "zstd" {
        bail!(
            "`{}`: compression `{compression}` is not one rosbag2 writes (zstd); this tool \
             cannot decompress it",
            metadata.display()
        );
    }
    let files = info["relative_file_paths"]
        .as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|f| f.as_str())
                .map(|f| dir.join(f))
                .collect()
        })
        .unwrap_or_default();
    let mut bag = empty_bag(dir, storage, files);
    if info["compression_mode"].as_str() == Some("MESSAGE") {
        bag.compression = Compression::Message;
    }
    bag.duration_ns = info["duration"]["nanoseconds"].as_u64();
    bag.starting_time_ns = info["starting_time"]["nanoseconds_since_epoch"].as_u64();
    bag.message_count = info["message_count"].as_u64();
    for entry in info["topics_with_message_count"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let meta = &entry["topic_metadata"];
        let (Some(name), Some(type_name)) = (meta["name"].as_str(), meta["type"].as_str()) else {
            continue;
        };
        bag.topics.push(TopicInfo {
            name: name.to_string(),
            type_name: type_name.to_string(),
            offered_qos: parse_offered_qos(&meta["offered_qos_profiles"]),
            message_count: entry["message_count"].as_u64(),
            serialization_format: meta["serialization_format"]
                .as_str()
                .unwrap_or("cdr")
                .to_string(),
        });
    }
    Ok(bag)
}

/// rosbag2 stores offered QoS as a YAML list (Jazzy: strings such as
/// `reliable`; before: enum numbers), sometimes as a YAML string holding it.
pub fn parse_offered_qos(value: &serde_yaml::Value) -> Vec<QosProfileConfig> {
    let parsed;
    let list = match value {
        serde_yaml::Value::String(text) => {
            parsed = serde_yaml::from_str::<serde_yaml::Value>(text).unwrap_or_default();
            &parsed
        }
        other => other,
    };
    list.as_sequence()
        .into_iter()
        .flatten()
        .map(offered_profile)
        .collect()
}

/// One profile of `offered_qos_profiles`; what it does not say (or says
/// `unknown`, `system_default`) stays unset.
fn offered_profile(q: &serde_yaml::Value) -> QosProfileConfig {
    use crate::config::ReliabilityConfig::*;
    use crate::config::{DurabilityConfig::*, HistoryConfig::*, LivelinessConfig::*};
    let time = |key: &str| {
        let (sec, nsec) = (q[key]["sec"].as_u64()?, q[key]["nsec"].as_u64()?);
        // 0 and the old "infinite" marker (nsec past a second): the default.
        let set = (sec != 0 || nsec != 0) && nsec < 1_000_000_000;
        set.then(|| std::time::Duration::new(sec, nsec as u32))
    };
    QosProfileConfig {
        reliability: choice(
            q,
            "reliability",
            &[("reliable", 1, Reliable), ("best_effort", 2, BestEffort)],
        ),
        durability: choice(
            q,
            "durability",
            &[
                ("transient_local", 1, TransientLocal),
                ("volatile", 2, Volatile),
            ],
        ),
        history: choice(
            q,
            "history",
            &[("keep_last", 1, KeepLast), ("keep_all", 2, KeepAll)],
        ),
        depth: q["depth"].as_u64().map(|d| d as usize),
        deadline: time("deadline"),
        lifespan: time("lifespan"),
        liveliness: choice(
            q,
            "liveliness",
            &[
                ("automatic", 1, Automatic),
                ("manual_by_topic", 3, ManualByTopic),
            ],
        ),
        lease: time("liveliness_lease_duration"),
    }
}

/// The value of a policy written by name (Jazzy) or as rmw's enum number
/// (before Jazzy).
fn choice<T: Copy>(q: &serde_yaml::Value, key: &str, options: &[(&str, u64, T)]) -> Option<T> {
    let written = &q[key];
    options
        .iter()
        .find(|(name, number, _)| {
            written.as_str() == Some(name) || written.as_u64() == Some(*number)
        })
        .map(|(_, _, value)| *value)
}

mod mcap_storage {
    use super::{Bag, BagMessage, FileSummary, TopicInfo, parse_offered_qos};
    use anyhow::Context;
    use std::collections::HashMap;
    use std::io::BufReader;
    use std::path::Path;
    use std::sync::Arc;

    /// Topics, definitions, counts and times of one file, by streaming it
    /// once.
    pub fn scan(bag: &mut Bag, file: &Path) -> anyhow::Result<FileSummary> {
        let mut summary = FileSummary::default();
        let reader = open(file)?;
        let mut seen: HashMap<u16, ()> = HashMap::new();
        for (read, message) in reader.enumerate() {
            let message = match message {
                Ok(m) => m,
                Err(e) if read == 0 => {
                    return Err(anyhow::anyhow!(
                        "`{}` is not a readable MCAP file: {e}",
                        file.display()
                    ));
                }
                Err(e) => {
                    bag.damage = Some(format!(
                        "`{}` is damaged after {read} message(s): {e}",
                        file.display()
                    ));
                    break;
                }
            };
            let time = message.log_time;
            summary.first_ns = Some(summary.first_ns.map_or(time, |t| t.min(time)));
            summary.last_ns = Some(summary.last_ns.map_or(time, |t| t.max(time)));
            *summary
                .counts
                .entry(message.channel.topic.clone())
                .or_default() += 1;
            if seen.insert(message.channel.id, ()).is_none() {
                take_channel(bag, &message.channel);
            }
        }
        Ok(summary)
    }

    /// A channel's topic and schema, the first time it is seen.
    fn take_channel(bag: &mut Bag, channel: &mcap::Channel) {
        if let Some(schema) = &channel.schema
            && schema.encoding == "ros2msg"
        {
            bag.definitions
                .entry(schema.name.clone())
                .or_insert_with(|| String::from_utf8_lossy(&schema.data).into_owned());
        }
        if bag.topic(&channel.topic).is_some() {
            return;
        }
        let type_name = channel
            .schema
            .as_ref()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let qos = channel
            .metadata
            .get("offered_qos_profiles")
            .map(|t| parse_offered_qos(&serde_yaml::Value::String(t.clone())))
            .unwrap_or_default();
        bag.topics.push(TopicInfo {
            name: channel.topic.clone(),
            type_name,
            offered_qos: qos,
            message_count: None,
            serialization_format: channel.message_encoding.clone(),
        });
    }

    fn open(file: &Path) -> anyhow::Result<mcap::io::MessageReader<BufReader<std::fs::File>>> {
        let f = std::fs::File::open(file)
            .with_context(|| format!("cannot open `{}`", file.display()))?;
        Ok(mcap::io::MessageReader::new(BufReader::with_capacity(
            1 << 20,
            f,
        )))
    }

    pub fn messages(
        file: &Path,
        wanted: impl Fn(&str) -> bool,
    ) -> impl Iterator<Item = anyhow::Result<BagMessage>> {
        let name = file.display().to_string();
        let reader = open(file);
        let mut failed = false;
        let (reader, first_error) = match reader {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        };
        let mut topics: HashMap<u16, (Arc<str>, Arc<str>)> = HashMap::new();
        first_error
            .map(Err)
            .into_iter()
            .chain(reader.into_iter().flatten().filter_map(move |m| {
                if failed {
                    return None;
                }
                match m {
                    Err(e) => {
                        failed = true;
                        Some(Err(anyhow::anyhow!(
                            "`{name}` is damaged after the last good message: {e}"
                        )))
                    }
                    Ok(message) => {
                        if !wanted(&message.channel.topic) {
                            return None;
                        }
                        let (topic, type_name) = topics
                            .entry(message.channel.id)
                            .or_insert_with(|| {
                                let type_name = message
                                    .channel
                                    .schema
                                    .as_ref()
                                    .map(|s| s.name.as_str())
                                    .unwrap_or("");
                                (
                                    Arc::from(message.channel.topic.as_str()),
                                    Arc::from(type_name),
                                )
                            })
                            .clone();
                        Some(Ok(BagMessage {
                            topic,
                            type_name,
                            log_time_ns: message.log_time,
                            publish_time_ns: (message.publish_time != 0)
                                .then_some(message.publish_time),
                            data: message.data.into_owned(),
                        }))
                    }
                }
            }))
    }
}

mod sqlite_storage {
    use super::{Bag, BagMessage, FileSummary, TopicInfo, parse_offered_qos};
    use anyhow::Context;
    use rusqlite::{Connection, OpenFlags};
    use std::collections::HashMap;
    use std::path::Path;
    use std::sync::Arc;

    fn open(file: &Path) -> anyhow::Result<Connection> {
        let conn = Connection::open_with_flags(
            file,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open `{}` as sqlite3", file.display()))?;
        conn.query_row("SELECT count(*) FROM topics", [], |_| Ok(()))
            .with_context(|| {
                format!(
                    "`{}` is not a rosbag2 sqlite3 file (or it is corrupt)",
                    file.display()
                )
            })?;
        Ok(conn)
    }

    /// Topics, definitions and times of one file (and its counts when
    /// `metadata.yaml` gave none). Every schema rosbag2 wrote: the topics
    /// table gained `offered_qos_profiles` (Foxy) and
    /// `type_description_hash` (Jazzy); `message_definitions` came with Iron.
    pub fn scan(bag: &mut Bag, file: &Path, need_counts: bool) -> anyhow::Result<FileSummary> {
        let conn = open(file)?;
        take_topics(bag, &conn)?;
        take_definitions(bag, &conn)?;
        let mut summary = FileSummary::default();
        let (first, last): (Option<i64>, Option<i64>) = conn.query_row(
            "SELECT MIN(timestamp), MAX(timestamp) FROM messages",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        summary.first_ns = first.map(|t| t.max(0) as u64);
        summary.last_ns = last.map(|t| t.max(0) as u64);
        if need_counts {
            let mut stmt = conn.prepare(
                "SELECT topics.name, COUNT(messages.id) FROM topics \
                 LEFT JOIN messages ON messages.topic_id = topics.id GROUP BY topics.id",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (topic, count) = row?;
                *summary.counts.entry(topic).or_default() += count.max(0) as u64;
            }
        }
        Ok(summary)
    }

    fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
            [table, column],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
    }

    fn take_topics(bag: &mut Bag, conn: &Connection) -> anyhow::Result<()> {
        let qos = if has_column(conn, "topics", "offered_qos_profiles")? {
            "offered_qos_profiles"
        } else {
            "''"
        };
        let format = if has_column(conn, "topics", "serialization_format")? {
            "serialization_format"
        } else {
            "'cdr'"
        };
        let mut stmt = conn.prepare(&format!("SELECT name, type, {qos}, {format} FROM topics"))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2).unwrap_or_default(),
                r.get::<_, String>(3).unwrap_or_default(),
            ))
        })?;
        for row in rows {
            let (name, type_name, qos, serialization_format) = row?;
            if bag.topic(&name).is_none() {
                bag.topics.push(TopicInfo {
                    name,
                    type_name,
                    offered_qos: parse_offered_qos(&serde_yaml::Value::String(qos)),
                    message_count: None,
                    serialization_format,
                });
            }
        }
        Ok(())
    }

    /// Schema version 4+ (rosbag2 on Iron and later) embeds definitions.
    fn take_definitions(bag: &mut Bag, conn: &Connection) -> anyhow::Result<()> {
        let Ok(mut stmt) = conn.prepare(
            "SELECT topic_type, encoding, encoded_message_definition FROM message_definitions",
        ) else {
            return Ok(());
        };
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for (type_name, encoding, text) in rows.flatten() {
            if encoding == "ros2msg" && !text.is_empty() {
                bag.definitions.entry(type_name).or_insert(text);
            }
        }
        Ok(())
    }

    /// Topic row id -> (topic, type).
    type TopicIds = HashMap<i64, (Arc<str>, Arc<str>)>;

    /// Streams rows from a thread that owns the connection (a rusqlite
    /// statement borrows it), through a short bounded channel: memory stays
    /// at a few messages.
    pub fn messages(
        file: &Path,
        bag: &Bag,
        wanted: impl Fn(&str) -> bool,
    ) -> impl Iterator<Item = anyhow::Result<BagMessage>> {
        let types: HashMap<String, String> = bag
            .topics
            .iter()
            .map(|t| (t.name.clone(), t.type_name.clone()))
            .collect();
        let (tx, rx) = std::sync::mpsc::sync_channel::<anyhow::Result<BagMessage>>(16);
        let setup = (|| -> anyhow::Result<(Connection, TopicIds)> {
            let conn = open(file)?;
            let mut topics = HashMap::new();
            {
                let mut stmt = conn.prepare("SELECT id, name FROM topics")?;
                for row in
                    stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
                {
                    let (id, name) = row?;
                    if wanted(&name) {
                        let type_name = types.get(&name).cloned().unwrap_or_default();
                        topics.insert(
                            id,
                            (Arc::from(name.as_str()), Arc::from(type_name.as_str())),
                        );
                    }
                }
            }
            Ok((conn, topics))
        })();
        let file = file.to_path_buf();
        match setup {
            Err(e) => {
                let _ = tx.send(Err(e));
            }
            Ok((conn, topics)) => {
                std::thread::spawn(move || {
                    let outcome = (|| -> rusqlite::Result<()> {
                        let mut stmt = conn.prepare(
                            "SELECT topic_id, timestamp, data FROM messages ORDER BY timestamp, id",
                        )?;
                        let mut rows = stmt.query([])?;
                        while let Some(row) = rows.next()? {
                            let topic_id: i64 = row.get(0)?;
                            let Some((topic, type_name)) = topics.get(&topic_id) else {
                                continue;
                            };
                            let timestamp: i64 = row.get(1)?;
                            let message = BagMessage {
                                topic: topic.clone(),
                                type_name: type_name.clone(),
                                log_time_ns: timestamp.max(0) as u64,
                                publish_time_ns: None,
                                data: row.get(2)?,
                            };
                            if tx.send(Ok(message)).is_err() {
                                return Ok(()); // the reader stopped early
                            }
                        }
                        Ok(())
                    })();
                    if let Err(e) = outcome {
                        let _ = tx.send(Err(anyhow::anyhow!(
                            "`{}` is damaged after the last good message: {e}",
                            file.display()
                        )));
                    }
                });
            }
        }
        rx.into_iter()
    }
}
