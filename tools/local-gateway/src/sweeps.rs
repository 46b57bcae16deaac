//! The sweeper's two schedules, as EventBridge runs them in a deployment but shorter, so that
//! expired generated logins disappear within seconds while `make dev` runs.

use std::time::Duration;

use strongroom_sweeper::{AwsDeps, Job};

/// How often `make dev` runs each job of the sweeper.
#[derive(Debug, Clone, Copy)]
pub struct SweepSchedule {
    pub expire_every: Duration,
    pub reconcile_every: Duration,
}

impl SweepSchedule {
    /// Expiry every 10 s; the cleanup of what crashes left every 5 minutes.
    pub const DEV: SweepSchedule = SweepSchedule {
        expire_every: Duration::from_secs(10),
        reconcile_every: Duration::from_secs(5 * 60),
    };

    /// Runs the sweeper on this schedule until the task is dropped. A failed run is logged by
    /// the sweeper and tried again at the next tick, as a scheduled invocation would be.
    pub async fn run(self, sweeper: AwsDeps) {
        let mut expire = tokio::time::interval(self.expire_every);
        let mut reconcile = tokio::time::interval(self.reconcile_every);
        for ticker in [&mut expire, &mut reconcile] {
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        loop {
            let job = tokio::select! {
                _ = expire.tick() => Job::Expire,
                _ = reconcile.tick() => Job::Reconcile,
            };
            if let Err(error) = sweeper.run(job, time::OffsetDateTime::now_utc()).await {
                tracing::warn!(?job, %error, "the local sweep failed; it runs again at the next tick");
            }
        }
    }
}
