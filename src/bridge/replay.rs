//! A `replay:` bridge at the end of its bag: once the reader says every
//! message went to dora, the bridge exits, stops the dataflow or waits,
//! per `replay.at_end`.

use super::{Bridge, StopReason, Verdict};
use crate::bag::replay::{BagSource, ReplayOutcome};
use crate::config::ReplayEnd;
use std::time::Duration;
use tokio::sync::oneshot;

/// After the last message, how long to wait before acting on `at_end`:
/// dora can lose the last messages of a node that exits right after
/// sending them (seen).
const END_DRAIN: Duration = Duration::from_millis(500);

/// What the loop hears about the replay.
pub(super) enum ReplayEvent {
    /// The reader finished (or died: the channel closed).
    ReaderDone(Result<ReplayOutcome, oneshot::error::RecvError>),
    /// The drain after the end of the bag is over.
    ActOnEnd,
}

/// A replay's progress through its bag.
pub(super) struct ReplayProgress {
    at_end: ReplayEnd,
    /// The reader's outcome, until it came.
    reader: Option<oneshot::Receiver<ReplayOutcome>>,
    /// Once the bag ended: when to act on `at_end`.
    act_at: Option<tokio::time::Instant>,
}

impl ReplayProgress {
    pub(super) fn start(source: BagSource, at_end: ReplayEnd) -> anyhow::Result<Self> {
        Ok(ReplayProgress {
            at_end,
            reader: Some(source.spawn()?),
            act_at: None,
        })
    }

    /// The next thing to hear; never ready without a replay.
    pub(super) async fn next(progress: &mut Option<Self>) -> ReplayEvent {
        let Some(progress) = progress else {
            return std::future::pending().await;
        };
        if let Some(reader) = &mut progress.reader {
            return ReplayEvent::ReaderDone(reader.await);
        }
        match progress.act_at {
            Some(at) => {
                tokio::time::sleep_until(at).await;
                ReplayEvent::ActOnEnd
            }
            None => std::future::pending().await,
        }
    }
}

impl Bridge {
    pub(super) fn on_replay(&mut self, event: ReplayEvent) -> Verdict {
        let progress = self.replay.as_mut()?;
        match event {
            ReplayEvent::ReaderDone(outcome) => {
                progress.reader = None;
                match outcome {
                    Err(_) => Some(Err(anyhow::anyhow!("the bag reader stopped unexpectedly"))),
                    // The reader saw the bridge leave: it is leaving.
                    Ok(None) => None,
                    Ok(Some(Err(e))) => Some(Err(e.context("replay"))),
                    Ok(Some(Ok(summary))) => {
                        tracing::info!(
                            "end of the bag: {} message(s) read, {} handed to dora outputs",
                            summary.read,
                            summary.queued
                        );
                        progress.act_at = Some(tokio::time::Instant::now() + END_DRAIN);
                        None
                    }
                }
            }
            ReplayEvent::ActOnEnd => {
                progress.act_at = None;
                self.act_on_end_of_bag()
            }
        }
    }

    fn act_on_end_of_bag(&mut self) -> Verdict {
        let at_end = self.replay.as_ref()?.at_end;
        match at_end {
            ReplayEnd::Exit => Some(Ok(StopReason::EndOfBag)),
            ReplayEnd::StopDataflow => {
                tracing::info!("stopping the dataflow (replay.at_end: stop_dataflow)");
                self.request_stop()
                    .err()
                    .map(|e| Ok(StopReason::EndOfBagStopFailed(format!("{e:#}"))))
            }
            ReplayEnd::Wait => {
                tracing::info!("waiting for dora to stop the dataflow (replay.at_end: wait)");
                None
            }
        }
    }
}
