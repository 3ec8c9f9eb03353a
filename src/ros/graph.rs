//! Decisions taken from the ROS graph: which QoS a subscription needs to
//! hear every discovered publisher, and which topics a route covers.

use super::rcl::{Durability, EndpointInfo, History, QosProfile, Reliability, default_qos};

/// The subscription QoS that matches every publisher given (the rules the
/// well-liked bridges use): best effort if any publisher is best effort
/// (a reliable subscription hears nothing from it), transient local only
/// if all are (so latched data is received, and volatile publishers still
/// match). With no publishers yet: the ROS default, reliable/volatile.
pub fn auto_subscription_qos(publishers: &[QosProfile]) -> QosProfile {
    let mut qos = default_qos();
    if publishers.is_empty() {
        return qos;
    }
    if publishers
        .iter()
        .any(|p| p.reliability == Reliability::RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT)
    {
        qos.reliability = Reliability::RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT;
    }
    if publishers
        .iter()
        .all(|p| p.durability == Durability::RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL)
    {
        qos.durability = Durability::RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL;
    }
    qos.history = History::RMW_QOS_POLICY_HISTORY_KEEP_LAST;
    qos
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

/// Publishers other than the bridge's own node (it publishes `to_ros`
/// topics, which patterns must not loop back into dora).
pub fn foreign_publishers<'a>(
    publishers: &'a [EndpointInfo],
    own_node: &str,
) -> impl Iterator<Item = &'a EndpointInfo> {
    publishers.iter().filter(move |p| p.node() != own_node)
}

#[cfg(test)]
mod tests {
    use super::*;

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
