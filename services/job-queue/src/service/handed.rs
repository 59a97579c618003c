//! Leases this process handed out, remembered by job until they complete: a
//! completion of one of them checks its results against the revision the
//! claim saw and goes straight to the guarded write, without reading the
//! job first. The write itself checks the lease (token, status, expiry), so
//! a lease remembered here that was since cancelled, expired or completed
//! elsewhere only costs the read it would have cost anyway.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::domain::{Job, JobId, ServiceId};

/// Enough for every lease of a few hundred busy workers; past it the memory
/// starts again (completions of forgotten leases read their job, as they
/// would on another replica).
const CAPACITY: usize = 16_384;

/// What a completion needs to know of a lease: its token, and the job's
/// service and revision (whose result schema the results must meet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct HandedLease {
    token: String,
    pub service_id: ServiceId,
    pub revision: i64,
}

#[derive(Default)]
pub(super) struct Handed {
    leases: Mutex<HashMap<JobId, HandedLease>>,
}

impl Handed {
    fn lock(&self) -> MutexGuard<'_, HashMap<JobId, HandedLease>> {
        self.leases.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn remember(&self, jobs: &[Job]) {
        self.keep(jobs.iter().filter_map(|job| {
            let token = job.lease_token.clone()?;
            let lease = HandedLease {
                token,
                service_id: job.service_id.clone(),
                revision: job.service_revision,
            };
            Some((job.id.clone(), lease))
        }));
    }

    fn keep(&self, leases: impl Iterator<Item = (JobId, HandedLease)>) {
        let leases: Vec<_> = leases.collect();
        let mut kept = self.lock();
        if kept.len() + leases.len() > CAPACITY {
            kept.clear();
        }
        kept.extend(leases);
    }

    /// The remembered lease of `id` when it is the one `token` names.
    pub fn lookup(&self, id: &JobId, token: &str) -> Option<HandedLease> {
        let leases = self.lock();
        leases.get(id).filter(|lease| lease.token == token).cloned()
    }

    pub fn forget<'a>(&self, ids: impl IntoIterator<Item = &'a JobId>) {
        let mut leases = self.lock();
        for id in ids {
            leases.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(token: &str) -> (JobId, HandedLease) {
        let lease = HandedLease {
            token: token.to_owned(),
            service_id: ServiceId::generate(),
            revision: 4,
        };
        (JobId::generate(), lease)
    }

    #[test]
    fn a_lease_is_known_by_its_own_token_until_forgotten() {
        let handed = Handed::default();
        let (id, kept) = lease("t1");
        handed.keep([(id.clone(), kept.clone())].into_iter());
        assert_eq!(handed.lookup(&id, "t1"), Some(kept));
        assert_eq!(handed.lookup(&id, "t2"), None, "another token");
        assert_eq!(handed.lookup(&JobId::generate(), "t1"), None, "another job");
        handed.forget([&id]);
        assert_eq!(handed.lookup(&id, "t1"), None);
    }

    #[test]
    fn memory_is_bounded() {
        let handed = Handed::default();
        let (first, kept) = lease("a");
        handed.keep([(first.clone(), kept)].into_iter());
        let many: Vec<_> = (0..CAPACITY).map(|_| lease("b")).collect();
        let newest = many[0].0.clone();
        handed.keep(many.into_iter());
        assert!(handed.lock().len() <= CAPACITY);
        assert_eq!(handed.lookup(&first, "a"), None, "the oldest memory went");
        assert!(handed.lookup(&newest, "b").is_some());
    }
}
