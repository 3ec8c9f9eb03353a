//! QoS decisions taken from the ROS graph: which QoS a subscription needs
//! to hear every discovered publisher, and when two profiles are the same.

use super::rcl::{Durability, History, QosProfile, Reliability};
use crate::config::{QosProfileConfig, QosSetting};

/// The subscription QoS that hears every publisher given (the rule of
/// [`QosProfileConfig::matching_all`]); with no publishers yet, the ROS
/// default, reliable/volatile.
pub fn auto_subscription_qos(publishers: &[QosProfile]) -> QosProfile {
    let offered: Vec<QosProfileConfig> = publishers.iter().map(super::qos::policies).collect();
    super::qos::profile(&QosSetting::Custom(QosProfileConfig::matching_all(
        &offered,
    )))
}

/// Whether two profiles would give the same subscription (what decides if
/// it must be re-created).
pub fn same_qos(a: &QosProfile, b: &QosProfile) -> bool {
    a.reliability == b.reliability
        && a.durability == b.durability
        && a.history == b.history
        && a.depth == b.depth
        && a.deadline == b.deadline
        && a.lifespan == b.lifespan
        && a.liveliness == b.liveliness
        && a.liveliness_lease_duration == b.liveliness_lease_duration
}

pub fn describe_qos(q: &QosProfile) -> String {
    let reliability = match q.reliability {
        Reliability::RMW_QOS_POLICY_RELIABILITY_RELIABLE => "reliable",
        Reliability::RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT => "best_effort",
        _ => "system_default",
    };
    let durability = match q.durability {
        Durability::RMW_QOS_POLICY_DURABILITY_VOLATILE => "volatile",
        Durability::RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL => "transient_local",
        _ => "system_default",
    };
    // The graph reports publishers' history as unknown: leave it out then.
    match q.history {
        History::RMW_QOS_POLICY_HISTORY_KEEP_LAST => {
            format!("{reliability}/{durability}/keep_last {}", q.depth)
        }
        History::RMW_QOS_POLICY_HISTORY_KEEP_ALL => format!("{reliability}/{durability}/keep_all"),
        _ => format!("{reliability}/{durability}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ros::rcl::default_qos;

    fn publisher(reliability: Reliability, durability: Durability) -> QosProfile {
        let mut q = default_qos();
        q.reliability = reliability;
        q.durability = durability;
        q
    }

    #[test]
    fn best_effort_if_any_transient_local_only_if_all() {
        use Durability::*;
        use Reliability::*;
        let reliable_volatile = publisher(
            RMW_QOS_POLICY_RELIABILITY_RELIABLE,
            RMW_QOS_POLICY_DURABILITY_VOLATILE,
        );
        let best_effort = publisher(
            RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT,
            RMW_QOS_POLICY_DURABILITY_VOLATILE,
        );
        let latched = publisher(
            RMW_QOS_POLICY_RELIABILITY_RELIABLE,
            RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL,
        );

        let q = auto_subscription_qos(&[]);
        assert_eq!(q.reliability, RMW_QOS_POLICY_RELIABILITY_RELIABLE);
        let q = auto_subscription_qos(&[reliable_volatile, best_effort]);
        assert_eq!(q.reliability, RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT);
        assert_eq!(q.durability, RMW_QOS_POLICY_DURABILITY_VOLATILE);
        let q = auto_subscription_qos(&[latched, latched]);
        assert_eq!(q.durability, RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL);
        assert_eq!(q.reliability, RMW_QOS_POLICY_RELIABILITY_RELIABLE);
        let q = auto_subscription_qos(&[latched, reliable_volatile]);
        assert_eq!(q.durability, RMW_QOS_POLICY_DURABILITY_VOLATILE);
        assert!(!same_qos(
            &auto_subscription_qos(&[latched]),
            &auto_subscription_qos(&[])
        ));
    }
}
