//! Job change events for the watch streams.
//!
//! Every replica publishes the jobs it changes to its own subscribers at once.
//! On PostgreSQL the change is also sent with `NOTIFY`, and each replica's
//! listener re-publishes changes made by other replicas, so a watcher connected
//! to any replica sees every job.

use tokio::sync::broadcast;

use crate::domain::Job;

/// Capacity per subscriber; a watcher that falls this far behind is told so and
/// re-reads the queue.
const CHANNEL_CAPACITY: usize = 4096;

#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<Job>,
    origin: String,
}

impl Events {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        Self {
            tx,
            origin: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    /// This replica's id, to skip our own notifications when they come back.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn publish(&self, job: &Job) {
        let _ = self.tx.send(job.clone());
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Job> {
        self.tx.subscribe()
    }
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}
