//! A per-process cache of services for the hot paths (submit, claim, heartbeat,
//! failure), so that a worker's call does not begin with a read of its service.
//!
//! A change made here invalidates the entry at once; a change made by another
//! replica arrives by `NOTIFY` (see `events.rs`), and every entry also expires
//! after [`TTL`] in case a notification was missed. What a stale entry could
//! get wrong is bounded in the SQL itself: a claim checks the service's pause
//! and concurrency limit in the statement that leases the jobs.
//!
//! Hand-written rather than a caching crate: a lookup must never put back a
//! service read before a concurrent invalidation (the generation check below),
//! and the whole thing is a map under a mutex — a crate such as moka would add
//! its own threads and memory to a process kept under 30 MB idle.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::domain::{Service, ServiceId};

/// How long an entry is trusted without a notification.
pub const TTL: Duration = Duration::from_secs(5);
/// Past this many services the map is emptied (re-reading is cheap).
const CAPACITY: usize = 4096;

#[derive(Debug, Default)]
pub struct ServiceCache {
    entries: Mutex<HashMap<ServiceId, (Arc<Service>, Instant)>>,
    /// Bumped by every invalidation: a read that started before one is not stored.
    generation: AtomicU64,
}

impl ServiceCache {
    /// The cached service, if it is younger than [`TTL`].
    pub fn get(&self, id: &ServiceId) -> Option<Arc<Service>> {
        let entries = self.lock();
        let (service, loaded) = entries.get(id)?;
        (loaded.elapsed() < TTL).then(|| service.clone())
    }

    /// The generation to pass to [`store`](Self::store) after reading the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `service` unless something was invalidated since `generation` was read.
    pub fn store(&self, generation: u64, service: Arc<Service>) {
        let mut entries = self.lock();
        // Checked under the lock: invalidations bump the counter under it too.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(service.id.clone(), (service, Instant::now()));
    }

    /// Forgets one service (it changed here or on another replica).
    pub fn invalidate(&self, id: &ServiceId) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(id);
    }

    /// Forgets every service (notifications may have been missed).
    pub fn clear(&self) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ServiceId, (Arc<Service>, Instant)>> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RowVersion;

    fn service(id: &ServiceId, revision: i64) -> Arc<Service> {
        Arc::new(Service {
            id: id.clone(),
            name: "s".into(),
            version: "1".into(),
            description: String::new(),
            revision,
            job_registration_schema: "{}".into(),
            job_result_schema: "{}".into(),
            timeout_seconds: 1,
            is_available: false,
            last_checked_in: 0,
            created: 0,
            max_attempts: 1,
            lease_seconds: 1,
            row_version: RowVersion::FIRST,
            max_concurrency: None,
            paused: false,
            retry_backoff_base_ms: 0,
            retry_backoff_cap_ms: 0,
        })
    }

    #[test]
    fn keeps_until_invalidated() {
        let cache = ServiceCache::default();
        let id = ServiceId::generate();
        assert!(cache.get(&id).is_none());
        cache.store(cache.generation(), service(&id, 1));
        assert_eq!(cache.get(&id).map(|s| s.revision), Some(1));
        cache.invalidate(&id);
        assert!(cache.get(&id).is_none());
        cache.store(cache.generation(), service(&id, 2));
        cache.clear();
        assert!(cache.get(&id).is_none());
    }

    #[test]
    fn a_read_from_before_an_invalidation_is_not_stored() {
        let cache = ServiceCache::default();
        let id = ServiceId::generate();
        let before = cache.generation();
        // Another task changes the service while this one reads the old row.
        cache.invalidate(&id);
        cache.store(before, service(&id, 1));
        assert!(cache.get(&id).is_none());
        cache.store(cache.generation(), service(&id, 2));
        assert_eq!(cache.get(&id).map(|s| s.revision), Some(2));
    }
}
