//! Per-service `work` checks: the gRPC layer only knows a call needs `work`;
//! a token limited to some services may act only on those services' jobs.

use brigade_common::auth::{Principal, Scope};

use super::JobQueue;
use crate::domain::{JobId, ServiceId};
use crate::error::{Error, Result};

/// Whether the principal may work on every service (no per-service look-up needed).
fn unrestricted(principal: &Principal) -> bool {
    principal.scopes.contains(&Scope::Admin) || principal.services.is_empty()
}

fn check(principal: &Principal, service_name: &str) -> Result<()> {
    if principal.allows(Scope::Work, Some(service_name)) {
        return Ok(());
    }
    tracing::warn!(
        principal = %principal.name,
        token_id = %principal.token_id,
        service = %service_name,
        "request refused: token not allowed on this service"
    );
    Err(Error::PermissionDenied(format!(
        "this token does not allow work on service {service_name:?}"
    )))
}

impl JobQueue {
    /// Claims, heartbeats and queue watches name their service.
    pub async fn authorize_service_work(&self, principal: &Principal, id: &ServiceId) -> Result<()> {
        if unrestricted(principal) {
            return Ok(());
        }
        let service = self.get_service(id).await?;
        check(principal, &service.name)
    }

    /// Lease extensions, completions, failures and updates act on a job: the
    /// job's service decides (a job never changes service, so reading it
    /// before the operation's own transaction is safe).
    pub async fn authorize_job_work(&self, principal: &Principal, ids: &[JobId]) -> Result<()> {
        if unrestricted(principal) {
            return Ok(());
        }
        let jobs = self.repo.get_jobs(ids).await?;
        let mut services: Vec<&ServiceId> = jobs.iter().map(|j| &j.service_id).collect();
        services.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        services.dedup();
        for id in services {
            let service = self.get_service(id).await?;
            check(principal, &service.name)?;
        }
        Ok(())
    }
}
