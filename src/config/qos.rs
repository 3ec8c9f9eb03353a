//! The config's QoS vocabulary: a route's `qos:` (a preset or a profile),
//! and the one profile type also used for the graph's offered QoS and for
//! bags. `ros::qos` maps it to and from rmw profiles.

use super::opt_duration;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Default)]
pub enum QosSetting {
    #[default]
    Auto,
    SensorData,
    Default,
    SystemDefault,
    Custom(QosProfileConfig),
}

impl QosSetting {
    /// Whether a subscription with this setting is (or, for `auto`, may
    /// be) reliable: then whatever it hands on should not be lost either.
    pub fn is_reliable(&self) -> bool {
        match self {
            QosSetting::SensorData => false,
            QosSetting::Custom(p) => p.reliability != Some(ReliabilityConfig::BestEffort),
            QosSetting::Auto | QosSetting::Default | QosSetting::SystemDefault => true,
        }
    }
}

/// The one QoS vocabulary: a route's profile in the config, the QoS a
/// publisher offers in the graph, and what a bag says its publishers
/// offered. Unset policies are rmw's defaults (or, read from a graph or a
/// bag, unknown). `ros::qos` maps it to and from rmw profiles.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QosProfileConfig {
    pub reliability: Option<ReliabilityConfig>,
    pub durability: Option<DurabilityConfig>,
    pub history: Option<HistoryConfig>,
    pub depth: Option<usize>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub deadline: Option<Duration>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub lifespan: Option<Duration>,
    pub liveliness: Option<LivelinessConfig>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub lease: Option<Duration>,
}

impl QosProfileConfig {
    pub fn is_best_effort(&self) -> bool {
        self.reliability == Some(ReliabilityConfig::BestEffort)
    }

    pub fn is_transient_local(&self) -> bool {
        self.durability == Some(DurabilityConfig::TransientLocal)
    }

    /// The reader profile that hears every one of these writers (`qos:
    /// auto`, bag play and replay): best effort if any writer is (a
    /// reliable reader hears nothing from it), transient local only if all
    /// are (so latched data arrives and volatile writers still match),
    /// keep last. With no writers, all defaults (reliable, volatile).
    pub fn matching_all(offered: &[QosProfileConfig]) -> QosProfileConfig {
        if offered.is_empty() {
            return QosProfileConfig::default();
        }
        let reliability = match offered.iter().any(|q| q.is_best_effort()) {
            true => ReliabilityConfig::BestEffort,
            false => ReliabilityConfig::Reliable,
        };
        let durability = match offered.iter().all(|q| q.is_transient_local()) {
            true => DurabilityConfig::TransientLocal,
            false => DurabilityConfig::Volatile,
        };
        // A late joiner of several latched writers gets each one's history
        // into one reader: room for many (tf2's static listener keeps 100).
        let depth =
            (durability == DurabilityConfig::TransientLocal).then_some(LATCHED_READER_DEPTH);
        QosProfileConfig {
            reliability: Some(reliability),
            durability: Some(durability),
            history: Some(HistoryConfig::KeepLast),
            depth,
            ..QosProfileConfig::default()
        }
    }
}

/// The depth of an `auto` reader of latched (transient local) writers.
pub const LATCHED_READER_DEPTH: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReliabilityConfig {
    Reliable,
    BestEffort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DurabilityConfig {
    Volatile,
    TransientLocal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryConfig {
    KeepLast,
    KeepAll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LivelinessConfig {
    Automatic,
    ManualByTopic,
}

impl<'de> Deserialize<'de> for QosSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Preset(String),
            Profile(QosProfileConfig),
        }
        match Raw::deserialize(d)? {
            Raw::Preset(p) => match p.as_str() {
                "auto" => Ok(QosSetting::Auto),
                "sensor_data" => Ok(QosSetting::SensorData),
                "default" => Ok(QosSetting::Default),
                "system_default" => Ok(QosSetting::SystemDefault),
                other => Err(serde::de::Error::custom(format!(
                    "unknown qos preset `{other}`; expected auto, sensor_data, default, \
                     system_default or a profile {{reliability, durability, history, depth, ...}}"
                ))),
            },
            Raw::Profile(p) => Ok(QosSetting::Custom(p)),
        }
    }
}
