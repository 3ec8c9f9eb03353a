//! Bounded per-route queues between a source thread (the ROS receiver, a
//! bag replay) and the dora side, each with an explicit overflow policy.
//! Every drop is counted.

use super::Received;
use crate::config::QueuePolicy;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::Notify;

struct Lane {
    items: VecDeque<Received>,
    capacity: usize,
    policy: QueuePolicy,
    stats: Arc<crate::stats::RouteStats>,
    per_turn: usize,
}

/// One route's queue: its size, overflow policy and counters, and how many
/// messages the dora side takes from it per turn (a route with `batch`
/// takes up to a batch, so that its messages can go to dora together).
pub struct LaneSpec {
    pub capacity: usize,
    pub policy: QueuePolicy,
    pub stats: Arc<crate::stats::RouteStats>,
    pub per_turn: usize,
}

struct Inner {
    lanes: Vec<Lane>,
    closed: bool,
    /// Round-robin start, so one busy route cannot starve the others.
    next_lane: usize,
}

/// Called when a full `block` lane has room again.
type RoomWaker = Box<dyn Fn() + Send + Sync>;

/// Shared by one source thread (push) and the dora side (pop).
pub struct RouteQueues {
    inner: Mutex<Inner>,
    not_empty: Notify,
    /// Wakes the receiver, which does not wait on full `block` lanes' subscriptions.
    room: OnceLock<RoomWaker>,
}

impl RouteQueues {
    pub fn new(lanes: Vec<LaneSpec>) -> Arc<Self> {
        Arc::new(RouteQueues {
            inner: Mutex::new(Inner {
                lanes: lanes
                    .into_iter()
                    .map(|spec| Lane {
                        items: VecDeque::with_capacity(spec.capacity.min(1024)),
                        capacity: spec.capacity.max(1),
                        policy: spec.policy,
                        stats: spec.stats,
                        per_turn: spec.per_turn.max(1),
                    })
                    .collect(),
                closed: false,
                next_lane: 0,
            }),
            not_empty: Notify::new(),
            room: OnceLock::new(),
        })
    }

    /// Sets what to call when a full `block` lane gets room (once).
    pub fn on_room(&self, waker: impl Fn() + Send + Sync + 'static) {
        let _ = self.room.set(Box::new(waker));
    }

    /// Whether route `lane` takes another message now: always for
    /// `drop_oldest`, while not full for `block`.
    pub fn has_room(&self, lane: usize) -> bool {
        let inner = self.lock();
        let l = &inner.lanes[lane];
        l.policy == QueuePolicy::DropOldest || l.items.len() < l.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a message for route `lane` per its policy. A `block` lane is
    /// only pushed to after [`has_room`](Self::has_room) said yes (the
    /// source is its only producer). Returns false once the queues are
    /// closed (the dora side is gone).
    pub fn push(&self, lane: usize, item: Received) -> bool {
        let mut inner = self.lock();
        if inner.closed {
            return false;
        }
        let l = &mut inner.lanes[lane];
        if l.items.len() >= l.capacity && l.policy == QueuePolicy::DropOldest {
            l.items.pop_front();
            l.stats.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
        }
        l.items.push_back(item);
        l.stats.queued.set(l.items.len());
        drop(inner);
        self.not_empty.notify_one();
        true
    }

    /// Takes up to `max` messages, fairly across routes (each its
    /// `per_turn` at a time); waits while empty.
    /// Returns an empty batch once closed.
    pub async fn pop_batch(&self, max: usize) -> Vec<Received> {
        loop {
            let notified = self.not_empty.notified();
            {
                let mut inner = self.lock();
                if inner.closed {
                    return Vec::new();
                }
                let mut batch = Vec::new();
                let was_full: Vec<bool> = inner
                    .lanes
                    .iter()
                    .map(|l| l.policy == QueuePolicy::Block && l.items.len() >= l.capacity)
                    .collect();
                let lanes = inner.lanes.len();
                let start = inner.next_lane;
                'fill: while batch.len() < max {
                    let mut took = false;
                    for offset in 0..lanes {
                        let lane = (start + offset) % lanes;
                        for _ in 0..inner.lanes[lane].per_turn {
                            let Some(item) = inner.lanes[lane].items.pop_front() else {
                                break;
                            };
                            batch.push(item);
                            took = true;
                            if batch.len() == max {
                                inner.next_lane = (lane + 1) % lanes;
                                break 'fill;
                            }
                        }
                    }
                    if !took {
                        break;
                    }
                }
                if !batch.is_empty() {
                    for lane in &inner.lanes {
                        lane.stats.queued.set(lane.items.len());
                    }
                    let room_again = inner
                        .lanes
                        .iter()
                        .zip(&was_full)
                        .any(|(l, &full)| full && l.items.len() < l.capacity);
                    drop(inner);
                    if room_again && let Some(wake) = self.room.get() {
                        wake();
                    }
                    return batch;
                }
            }
            notified.await;
        }
    }

    /// Whether [`close`](Self::close) was called: the dora side is gone.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Whether every route's queue is empty: all pushed went to the dora side.
    pub fn is_drained(&self) -> bool {
        self.lock().lanes.iter().all(|l| l.items.is_empty())
    }

    /// Wakes the dora side; later pushes are refused.
    pub fn close(&self) {
        self.lock().closed = true;
        self.not_empty.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::RouteStats;
    use arrow::array::StructArray;
    use std::sync::atomic::AtomicUsize;

    fn item(route: usize, seq: u64) -> Received {
        Received {
            route,
            topic: "/t".into(),
            type_name: "std_msgs/msg/Empty".into(),
            message: StructArray::new_empty_fields(1, None),
            info: crate::flow::MessageInfo {
                publication_sequence_number: seq,
                ..Default::default()
            },
            publisher_node: None,
            bag: None,
        }
    }

    fn queues(policies: &[QueuePolicy]) -> (Arc<RouteQueues>, Vec<Arc<RouteStats>>) {
        let stats: Vec<Arc<RouteStats>> = policies.iter().map(|_| Arc::default()).collect();
        let lanes = policies
            .iter()
            .zip(&stats)
            .map(|(&policy, s)| LaneSpec {
                capacity: 2,
                policy,
                stats: s.clone(),
                per_turn: 1,
            })
            .collect();
        (RouteQueues::new(lanes), stats)
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_lane_with_a_batch_gives_up_to_its_per_turn_before_the_next_lane() {
        let lane = |per_turn| LaneSpec {
            capacity: 10,
            policy: QueuePolicy::Block,
            stats: Arc::default(),
            per_turn,
        };
        let q = RouteQueues::new(vec![lane(3), lane(1)]);
        for seq in 1..=5 {
            assert!(q.push(0, item(0, seq)));
            assert!(q.push(1, item(1, seq)));
        }
        let taken: Vec<(usize, u64)> = block_on(q.pop_batch(8))
            .iter()
            .map(|r| (r.route, r.info.publication_sequence_number))
            .collect();
        assert_eq!(
            taken,
            vec![
                (0, 1),
                (0, 2),
                (0, 3),
                (1, 1),
                (0, 4),
                (0, 5),
                (1, 2),
                (1, 3)
            ]
        );
    }

    #[test]
    fn drop_oldest_keeps_the_newest_and_counts_the_drop() {
        let (q, stats) = queues(&[QueuePolicy::DropOldest]);
        for seq in 1..=3 {
            assert!(q.has_room(0));
            assert!(q.push(0, item(0, seq)));
        }
        let batch = block_on(q.pop_batch(10));
        let seqs: Vec<u64> = batch
            .iter()
            .map(|r| r.info.publication_sequence_number)
            .collect();
        assert_eq!(seqs, [2, 3]);
        assert_eq!(stats[0].dropped_queue_full.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_full_block_lane_has_no_room_but_the_others_do() {
        let (q, stats) = queues(&[QueuePolicy::Block, QueuePolicy::DropOldest]);
        let wakes = Arc::new(AtomicUsize::new(0));
        let counter = wakes.clone();
        q.on_room(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        q.push(0, item(0, 1));
        q.push(0, item(0, 2));
        assert!(!q.has_room(0));
        assert!(q.has_room(1));
        q.push(1, item(1, 1));
        // One batch of one per lane at most; the block lane gets room back
        // and the receiver is woken to wait on its subscriptions again.
        let batch = block_on(q.pop_batch(1));
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0].route, 0);
        assert!(q.has_room(0));
        assert_eq!(wakes.load(Ordering::Relaxed), 1);
        // Not full before this pop: no wake-up.
        block_on(q.pop_batch(10));
        assert_eq!(wakes.load(Ordering::Relaxed), 1);
        assert_eq!(stats[0].dropped_queue_full.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn closed_queues_refuse_pushes_and_end_the_dora_side() {
        let (q, _) = queues(&[QueuePolicy::Block]);
        q.close();
        assert!(!q.push(0, item(0, 1)));
        assert!(block_on(q.pop_batch(10)).is_empty());
    }
}
