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
        let mut leases = self.lock();
        if leases.len() + jobs.len() > CAPACITY {
            leases.clear();
        }
        for job in jobs {
            if let Some(token) = &job.lease_token {
                leases.insert(
                    job.id.clone(),
                    HandedLease {
                        token: token.clone(),
                        service_id: job.service_id.clone(),
                        revision: job.service_revision,
                    },
                );
            }
        }
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
    use crate::domain::JobStatus;

    fn leased(token: &str) -> Job {
        Job {
            seq: 1,
            id: JobId::generate(),
            service_id: ServiceId::generate(),
            status: JobStatus::Working,
            parameters: "{}".into(),
            results: None,
            date_submitted: 1,
            attempts: 1,
            max_attempts: 3,
            lease_token: Some(token.into()),
            lease_expires_at: Some(10),
            error_message: None,
            service_revision: 4,
            cancelled: false,
            updated: 1,
            priority: 0,
            due_at: None,
            idempotency_key: None,
            recipe_id: None,
            recipe_node: None,
            progress: None,
            progress_message: None,
            cancel_reason: None,
            row_version: 2,
            applied_token: None,
        }
    }

    #[test]
    fn a_lease_is_known_by_its_own_token_until_forgotten() {
        let handed = Handed::default();
        let job = leased("t1");
        handed.remember(std::slice::from_ref(&job));
        let lease = handed.lookup(&job.id, "t1").expect("remembered");
        assert_eq!((lease.service_id, lease.revision), (job.service_id.clone(), 4));
        assert_eq!(handed.lookup(&job.id, "t2"), None, "another token");
        assert_eq!(handed.lookup(&JobId::generate(), "t1"), None, "another job");
        handed.forget([&job.id]);
        assert_eq!(handed.lookup(&job.id, "t1"), None);
    }

    #[test]
    fn memory_is_bounded() {
        let handed = Handed::default();
        let first = leased("a");
        handed.remember(std::slice::from_ref(&first));
        let many: Vec<Job> = (0..CAPACITY).map(|_| leased("b")).collect();
        handed.remember(&many);
        assert!(handed.leases.lock().unwrap().len() <= CAPACITY);
        assert_eq!(handed.lookup(&first.id, "a"), None, "the oldest memory went");
        assert!(handed.lookup(&many[0].id, "b").is_some());
    }
}
