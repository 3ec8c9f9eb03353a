//! A subscription that accounts for what DDS loses and recovers when its
//! reader wedges: the building block of every route that takes from ROS
//! (live routes, pattern routes, `bag record`).
//!
//! - Losses: jumps in each publisher's publication sequence numbers are
//!   samples DDS lost before the bridge could take them (keep-last
//!   overwrites are never reported as MESSAGE_LOST).
//! - Wedges: see [`super::stall`]. A reliable subscription whose publisher
//!   fell silent against its cadence gets a probe: a second subscription
//!   on the topic that the caller waits on but never takes from. If the
//!   probe has data while the old subscription stays silent, the old one
//!   is wedged: the probe replaces it (what the old one held back shows as
//!   a gap in the sequence numbers). If the old one hears the publisher
//!   again, or nobody speaks for a while, the probe is dropped and nothing
//!   changed: a false alarm costs no message.

use super::rcl::{
    MessageInfo, QosProfile, RclError, RclSubscription, Reliability, SEQUENCE_NUMBER_UNSUPPORTED,
    Taken,
};
use super::stall::{Stall, StallWatch};
use crate::sequence::{FirstNumber, GapCounter};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// A probe that hears nothing for this long is dropped: the publisher
/// paused.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the old subscription may stay silent after the probe heard
/// something before it counts as wedged (both readers get each sample
/// within microseconds of each other).
const PROBE_CONFIRM: Duration = Duration::from_millis(250);

/// One take.
pub enum Take<'a> {
    /// Nothing waiting.
    Empty,
    /// A sample the successor heard again after the old subscription
    /// delivered it: already handled, take the next.
    Repeat,
    Sample {
        taken: Taken<'a>,
        info: MessageInfo,
        /// Samples of the same publisher DDS lost just before this one.
        lost_before: u64,
    },
}

/// What a subscription knew of its publishers' sequence numbers.
pub struct Numbering {
    gaps: GapCounter<Vec<u8>>,
    numbered: bool,
}

struct Probe {
    subscription: RclSubscription,
    /// The publisher that fell silent: the wedge, if any, is its.
    publisher: Vec<u8>,
    since: Instant,
    /// When the probe first had data to take.
    heard_at: Option<Instant>,
}

/// What became of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// Still waiting to tell.
    Pending,
    /// The old subscription is wedged: take what it still has, then
    /// [`promote`](WatchedSubscription::promote).
    Wedged,
    /// False alarm: the probe was dropped.
    Dropped,
}

pub struct WatchedSubscription {
    current: RclSubscription,
    qos: QosProfile,
    gaps: GapCounter<Vec<u8>>,
    /// The RMW numbers samples: count losses from the numbers, and ignore
    /// MESSAGE_LOST (which would count some of them twice).
    numbered: bool,
    /// A sample was taken: what MESSAGE_LOST says before the first is
    /// what the publishers sent before this subscription matched them
    /// (seen on Fast DDS for a volatile reader of a running publisher),
    /// which a volatile reader is not owed, as with sequence numbers.
    sampled: bool,
    stall: StallWatch,
    /// GIDs of the publishers the graph lists on this topic.
    matched: HashSet<Vec<u8>>,
    probe: Option<Probe>,
    /// Per publisher GID, when the current subscription last delivered one
    /// of its samples.
    last_taken: HashMap<Vec<u8>, Instant>,
}

impl WatchedSubscription {
    pub fn new(subscription: RclSubscription, qos: QosProfile) -> Self {
        WatchedSubscription {
            current: subscription,
            qos,
            gaps: GapCounter::new(FirstNumber::Seen),
            numbered: false,
            sampled: false,
            stall: StallWatch::default(),
            matched: HashSet::new(),
            probe: None,
            last_taken: HashMap::new(),
        }
    }

    /// Drops the subscription, keeping what it knows of its publishers'
    /// numbering for the one that replaces it.
    pub fn into_numbering(self) -> Numbering {
        Numbering {
            gaps: self.gaps,
            numbered: self.numbered,
        }
    }

    /// The same topic re-subscribed (other QoS or type): the publishers'
    /// numbering carries over.
    pub fn continuing(
        numbering: Numbering,
        subscription: RclSubscription,
        qos: QosProfile,
    ) -> Self {
        WatchedSubscription {
            gaps: numbering.gaps,
            numbered: numbering.numbered,
            ..WatchedSubscription::new(subscription, qos)
        }
    }

    /// The subscription to wait on and take events from.
    pub fn subscription(&self) -> &RclSubscription {
        &self.current
    }

    pub fn subscription_mut(&mut self) -> &mut RclSubscription {
        &mut self.current
    }

    pub fn qos(&self) -> &QosProfile {
        &self.qos
    }

    /// Whether the RMW's MESSAGE_LOST events should be counted: once a
    /// sample was taken, and only if the RMW does not number samples (so
    /// gaps cannot be seen).
    pub fn counts_message_lost_events(&self) -> bool {
        self.sampled && !self.numbered
    }

    /// The publishers the graph now lists on this topic.
    /// Sequence numbers of publishers that left are kept: GIDs are never
    /// reused, and a writer that comes back after a lease expired still
    /// reveals what it lost meanwhile.
    pub fn set_matched(&mut self, gids: HashSet<Vec<u8>>) {
        self.stall.retain(|gid| gids.contains(gid));
        self.last_taken.retain(|gid, _| gids.contains(gid));
        self.matched = gids;
    }

    /// Takes one sample (see [`RclSubscription::take`]).
    pub fn take(&mut self, adopt_from: usize) -> Result<Take<'_>, RclError> {
        let Some((taken, info)) = self.current.take(adopt_from)? else {
            return Ok(Take::Empty);
        };
        let now = Instant::now();
        let number = info.publication_sequence_number;
        if number != SEQUENCE_NUMBER_UNSUPPORTED && self.gaps.is_repeat(&info.publisher_gid, number)
        {
            // Not news: the cadence and the wedge check only count new samples.
            return Ok(Take::Repeat);
        }
        self.sampled = true;
        self.stall.sample(&info.publisher_gid, now);
        self.last_taken.insert(info.publisher_gid.clone(), now);
        if number == SEQUENCE_NUMBER_UNSUPPORTED {
            return Ok(Take::Sample {
                taken,
                info,
                lost_before: 0,
            });
        }
        self.numbered = true;
        let lost_before = self.gaps.observe(info.publisher_gid.clone(), number);
        Ok(Take::Sample {
            taken,
            info,
            lost_before,
        })
    }

    /// The caller is not taking from this subscription now (its queue is
    /// full): silence says nothing about DDS meanwhile.
    pub fn held(&mut self, now: Instant) {
        self.stall.held(now);
    }

    /// For a reliable subscription without a probe: whether a publisher
    /// fell silent against its cadence; if so, `create` makes the probe,
    /// given this subscription's QoS made volatile (a transient-local probe
    /// would hear the publisher's history at once and look like proof).
    pub fn check_stall(
        &mut self,
        now: Instant,
        create: impl FnOnce(QosProfile) -> anyhow::Result<RclSubscription>,
    ) -> anyhow::Result<Option<Stall>> {
        if self.qos.reliability != Reliability::RMW_QOS_POLICY_RELIABILITY_RELIABLE
            || self.probe.is_some()
        {
            return Ok(None);
        }
        let matched = &self.matched;
        let Some(stall) = self.stall.check(now, |gid| matched.contains(gid)) else {
            return Ok(None);
        };
        self.probe = Some(Probe {
            subscription: create(volatile(self.qos))?,
            publisher: stall.publisher.clone(),
            since: now,
            heard_at: None,
        });
        Ok(Some(stall))
    }

    /// The probe to add to the wait set, until it has heard something.
    pub fn probe_to_wait_on(&self) -> Option<&RclSubscription> {
        self.probe
            .as_ref()
            .filter(|p| p.heard_at.is_none())
            .map(|p| &p.subscription)
    }

    /// Takes (and ignores) an event the wait set found on the probe, so
    /// that it does not fire again.
    pub fn discard_probe_event(&mut self, event: usize) {
        if let Some(p) = self.probe.as_mut() {
            let _ = p.subscription.take_event(event);
        }
    }

    /// The wait set found the probe with data.
    pub fn probe_heard(&mut self, now: Instant) {
        if let Some(p) = self.probe.as_mut() {
            p.heard_at.get_or_insert(now);
        }
    }

    /// Decides about the probe, if there is one.
    pub fn resolve_probe(&mut self, now: Instant) -> ProbeOutcome {
        let Some(probe) = &self.probe else {
            return ProbeOutcome::Pending;
        };
        // Another publisher on the topic may well go on speaking: only the
        // silent one's samples tell whether the old subscription is wedged.
        let old_spoke_since = |t: Instant| {
            self.last_taken
                .get(&probe.publisher)
                .is_some_and(|&last| last >= t)
        };
        let outcome = match probe.heard_at {
            Some(heard) if old_spoke_since(heard) => ProbeOutcome::Dropped,
            Some(heard) if now.saturating_duration_since(heard) >= PROBE_CONFIRM => {
                ProbeOutcome::Wedged
            }
            Some(_) => ProbeOutcome::Pending,
            None if old_spoke_since(probe.since)
                || now.saturating_duration_since(probe.since) >= PROBE_TIMEOUT =>
            {
                ProbeOutcome::Dropped
            }
            None => ProbeOutcome::Pending,
        };
        if outcome == ProbeOutcome::Dropped {
            self.probe = None;
        }
        outcome
    }

    /// The probe replaces the wedged subscription, which is dropped with
    /// whatever it held back.
    pub fn promote(&mut self) {
        if let Some(probe) = self.probe.take() {
            self.current = probe.subscription;
        }
    }
}

fn volatile(mut qos: QosProfile) -> QosProfile {
    qos.durability = super::rcl::Durability::RMW_QOS_POLICY_DURABILITY_VOLATILE;
    qos
}

/// The message for a subscription found wedged.
pub fn describe_wedge(topic: &str) -> String {
    format!(
        "{topic}: the subscription stopped delivering while a second one on the topic hears \
         its publisher: replaced it (a reliable DDS reader wedges on a sample it cannot \
         receive, such as a 0-byte one under Fast DDS; what it held back shows as \
         dropped_by_middleware)"
    )
}
