//! Config QoS settings -> rmw QoS profiles.

use super::rcl::{self, Durability, History, Liveliness, QosProfile, Reliability};
use crate::config::{
    DurabilityConfig, HistoryConfig, LivelinessConfig, QosProfileConfig, QosSetting,
    ReliabilityConfig,
};

/// The profile for a route. `auto` is resolved by the caller before this
/// (from the graph for subscriptions); here it means rmw's default.
pub fn profile(setting: &QosSetting) -> QosProfile {
    let mut qos = rcl::default_qos();
    match setting {
        QosSetting::Auto | QosSetting::Default => {}
        QosSetting::SensorData => {
            qos.reliability = Reliability::RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT;
            qos.history = History::RMW_QOS_POLICY_HISTORY_KEEP_LAST;
            qos.depth = 5;
        }
        QosSetting::SystemDefault => {
            qos.reliability = Reliability::RMW_QOS_POLICY_RELIABILITY_SYSTEM_DEFAULT;
            qos.durability = Durability::RMW_QOS_POLICY_DURABILITY_SYSTEM_DEFAULT;
            qos.history = History::RMW_QOS_POLICY_HISTORY_SYSTEM_DEFAULT;
            qos.depth = 0;
        }
        QosSetting::Custom(custom) => apply(&mut qos, custom),
    }
    qos
}

fn apply(qos: &mut QosProfile, c: &QosProfileConfig) {
    if let Some(r) = c.reliability {
        qos.reliability = match r {
            ReliabilityConfig::Reliable => Reliability::RMW_QOS_POLICY_RELIABILITY_RELIABLE,
            ReliabilityConfig::BestEffort => Reliability::RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT,
        };
    }
    if let Some(d) = c.durability {
        qos.durability = match d {
            DurabilityConfig::Volatile => Durability::RMW_QOS_POLICY_DURABILITY_VOLATILE,
            DurabilityConfig::TransientLocal => {
                Durability::RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL
            }
        };
    }
    if let Some(h) = c.history {
        qos.history = match h {
            HistoryConfig::KeepLast => History::RMW_QOS_POLICY_HISTORY_KEEP_LAST,
            HistoryConfig::KeepAll => History::RMW_QOS_POLICY_HISTORY_KEEP_ALL,
        };
    }
    if let Some(depth) = c.depth {
        qos.depth = depth;
    }
    if let Some(d) = c.deadline {
        qos.deadline = rcl::rmw_time(d);
    }
    if let Some(d) = c.lifespan {
        qos.lifespan = rcl::rmw_time(d);
    }
    if let Some(l) = c.liveliness {
        qos.liveliness = match l {
            LivelinessConfig::Automatic => Liveliness::RMW_QOS_POLICY_LIVELINESS_AUTOMATIC,
            LivelinessConfig::ManualByTopic => {
                Liveliness::RMW_QOS_POLICY_LIVELINESS_MANUAL_BY_TOPIC
            }
        };
    }
    if let Some(d) = c.lease {
        qos.liveliness_lease_duration = rcl::rmw_time(d);
    }
}
