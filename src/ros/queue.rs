//! Bounded per-route queues between the ROS receiver thread and the dora
//! side, each with an explicit overflow policy. Every drop is counted.

use super::Received;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueuePolicy {
    /// Full queue: the oldest waiting message is dropped (and counted).
    DropOldest,
    /// Full queue: the ROS receiver waits, so messages back up into the DDS
    /// history of the subscription (where KEEP_LAST drops the oldest).
    Block,
}

struct Lane {
    items: VecDeque<Received>,
    capacity: usize,
    policy: QueuePolicy,
    stats: Arc<super::RouteStats>,
}

struct Inner {
    lanes: Vec<Lane>,
    closed: bool,
    /// Round-robin start, so one busy route cannot starve the others.
    next_lane: usize,
}

/// Shared by the receiver thread (push) and the dora side (pop).
pub struct RouteQueues {
    inner: Mutex<Inner>,
    not_full: Condvar,
    not_empty: Notify,
}

impl RouteQueues {
    pub fn new(lanes: Vec<(usize, QueuePolicy, Arc<super::RouteStats>)>) -> Arc<Self> {
        Arc::new(RouteQueues {
            inner: Mutex::new(Inner {
                lanes: lanes
                    .into_iter()
                    .map(|(capacity, policy, stats)| Lane {
                        items: VecDeque::with_capacity(capacity.min(1024)),
                        capacity: capacity.max(1),
                        policy,
                        stats,
                    })
                    .collect(),
                closed: false,
                next_lane: 0,
            }),
            not_full: Condvar::new(),
            not_empty: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a message for route `lane` per its policy. Returns false once
    /// the queues are closed (the dora side is gone).
    pub fn push(&self, lane: usize, item: Received) -> bool {
        let mut inner = self.lock();
        loop {
            if inner.closed {
                return false;
            }
            let l = &mut inner.lanes[lane];
            if l.items.len() < l.capacity {
                l.items.push_back(item);
                break;
            }
            match l.policy {
                QueuePolicy::DropOldest => {
                    l.items.pop_front();
                    l.stats.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
                    l.items.push_back(item);
                    break;
                }
                QueuePolicy::Block => {
                    inner = self.not_full.wait(inner).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
        drop(inner);
        self.not_empty.notify_one();
        true
    }

    /// Takes up to `max` messages, fairly across routes; waits while empty.
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
                let lanes = inner.lanes.len();
                let start = inner.next_lane;
                'fill: while batch.len() < max {
                    let mut took = false;
                    for offset in 0..lanes {
                        let lane = (start + offset) % lanes;
                        if let Some(item) = inner.lanes[lane].items.pop_front() {
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
                    drop(inner);
                    self.not_full.notify_all();
                    return batch;
                }
            }
            notified.await;
        }
    }

    /// Wakes and releases everyone; later pushes are refused.
    pub fn close(&self) {
        self.lock().closed = true;
        self.not_full.notify_all();
        self.not_empty.notify_waiters();
    }
}
