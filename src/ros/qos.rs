//! The QoS vocabulary of the config (also used for the graph and bags)
//! <-> rmw QoS profiles: the one place where they are mapped.

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

/// The QoS of an action's status topic (rcl_action's
/// `rcl_action_qos_profile_status_default`): reliable, transient local,
/// keep last 1, so a late client still learns every goal's state.
pub fn action_status() -> QosProfile {
    latched()
}

/// The QoS of an action's feedback topic: rcl_action's (reliable,
/// volatile) with a deeper history than its keep-last 10, so that feedback
/// streamed faster than the other side takes it for a moment is not
/// overwritten. History depth does not take part in QoS matching.
pub fn action_feedback() -> QosProfile {
    let mut qos = rcl::default_qos();
    qos.depth = 1000;
    qos
}

/// A latched topic's (tf2's `/tf_static`, `robot_state_publisher`'s
/// description): reliable, transient local, keep last 1.
pub fn latched() -> QosProfile {
    let mut qos = rcl::default_qos();
    qos.durability = Durability::RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL;
    qos.depth = 1;
    qos
}

/// The QoS of `/clock` (rclcpp's ClockQoS): best effort, keep last 1. A
/// best-effort reader matches every clock publisher, reliable ones too.
pub fn clock() -> QosProfile {
    let mut qos = rcl::default_qos();
    qos.reliability = Reliability::RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT;
    qos.depth = 1;
    qos
}

/// What an rmw profile (a publisher's, as the graph reports it) says, in
/// the config's vocabulary; policies rmw leaves at system default or
/// unknown, and durations left unset, stay unset.
pub fn policies(q: &QosProfile) -> QosProfileConfig {
    // Unset (0) and rmw's old "infinite" marker (nsec past a second) both
    // mean the DDS default, infinite.
    let duration = |t: rcl::RmwTime| {
        let set = (t.sec != 0 || t.nsec != 0) && t.nsec < 1_000_000_000;
        set.then(|| std::time::Duration::new(t.sec, t.nsec as u32))
    };
    QosProfileConfig {
        reliability: match q.reliability {
            Reliability::RMW_QOS_POLICY_RELIABILITY_RELIABLE => Some(ReliabilityConfig::Reliable),
            Reliability::RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT => {
                Some(ReliabilityConfig::BestEffort)
            }
            _ => None,
        },
        durability: match q.durability {
            Durability::RMW_QOS_POLICY_DURABILITY_VOLATILE => Some(DurabilityConfig::Volatile),
            Durability::RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL => {
                Some(DurabilityConfig::TransientLocal)
            }
            _ => None,
        },
        history: match q.history {
            History::RMW_QOS_POLICY_HISTORY_KEEP_LAST => Some(HistoryConfig::KeepLast),
            History::RMW_QOS_POLICY_HISTORY_KEEP_ALL => Some(HistoryConfig::KeepAll),
            _ => None,
        },
        depth: Some(q.depth),
        deadline: duration(q.deadline),
        lifespan: duration(q.lifespan),
        liveliness: match q.liveliness {
            Liveliness::RMW_QOS_POLICY_LIVELINESS_AUTOMATIC => Some(LivelinessConfig::Automatic),
            Liveliness::RMW_QOS_POLICY_LIVELINESS_MANUAL_BY_TOPIC => {
                Some(LivelinessConfig::ManualByTopic)
            }
            _ => None,
        },
        lease: duration(q.liveliness_lease_duration),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_and_profile_agree() {
        let mut q = rcl::default_qos();
        q.reliability = Reliability::RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT;
        q.durability = Durability::RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL;
        q.history = History::RMW_QOS_POLICY_HISTORY_KEEP_ALL;
        q.depth = 7;
        q.deadline = rcl::rmw_time(std::time::Duration::from_millis(1500));
        q.liveliness = Liveliness::RMW_QOS_POLICY_LIVELINESS_MANUAL_BY_TOPIC;
        let back = profile(&QosSetting::Custom(policies(&q)));
        assert!(super::super::graph::same_qos(&q, &back));
        assert_eq!(
            policies(&q).deadline,
            Some(std::time::Duration::from_millis(1500))
        );
        assert_eq!(policies(&rcl::default_qos()).lifespan, None);
    }
}
