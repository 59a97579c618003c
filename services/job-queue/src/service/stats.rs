//! A service's queue in numbers, for dashboards: one grouped query, no job read.

use super::JobQueue;
use crate::domain::{Service, ServiceId, now_micros};
use crate::error::Result;
use crate::repository::QueueCounts;

/// A service (for its check-in, pause and limit) and its jobs counted as of `as_of`.
#[derive(Clone, Debug)]
pub struct ServiceStats {
    pub service: Service,
    pub counts: QueueCounts,
    pub as_of: i64,
}

impl JobQueue {
    pub async fn service_stats(&self, id: &ServiceId) -> Result<ServiceStats> {
        let service = self.get_service(id).await?;
        let as_of = now_micros();
        let counts = self.repo.queue_counts(id, as_of).await?;
        Ok(ServiceStats { service, counts, as_of })
    }
}
