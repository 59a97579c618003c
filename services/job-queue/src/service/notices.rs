//! Status notices of recipe jobs for recipe-types, written to the outbox in the
//! transaction that changes the job, so a committed change is always announced.

use crate::domain::Job;
use crate::error::{Error, Result};
use crate::repository::{OutboxEntry, Transaction};

pub const OUTBOX_TOPIC_JOB_STATUS: &str = "job_status";

/// The payload of a job-status notice in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobStatusNotice {
    pub job_id: String,
    pub recipe_id: String,
    pub recipe_node: String,
    pub status: String,
    pub cancelled: bool,
    pub results: Option<String>,
    pub error_message: Option<String>,
    /// The job's row version after the change.
    pub job_version: i64,
}

/// Queues one notice per job that belongs to a recipe, in one statement;
/// other jobs are skipped.
pub(super) async fn notify_recipes(tx: &mut dyn Transaction, jobs: &[Job], now: i64) -> Result<()> {
    let mut entries = Vec::new();
    for job in jobs {
        let Some(recipe_id) = &job.recipe_id else {
            continue;
        };
        let notice = JobStatusNotice {
            job_id: job.id.to_string(),
            recipe_id: recipe_id.clone(),
            recipe_node: job.recipe_node.clone().unwrap_or_default(),
            status: job.status.as_str().to_owned(),
            cancelled: job.cancelled,
            results: job.results.clone(),
            error_message: job.error_message.clone(),
            job_version: job.row_version,
        };
        let payload = serde_json::to_string(&notice).map_err(|e| Error::Internal(format!("notice encoding: {e}")))?;
        entries.push(OutboxEntry {
            id: uuid::Uuid::new_v4().to_string(),
            topic: OUTBOX_TOPIC_JOB_STATUS.to_owned(),
            payload,
            attempts: 0,
            next_attempt_at: now,
            created: now,
        });
    }
    if entries.is_empty() {
        return Ok(());
    }
    tx.insert_outbox_all(&entries).await
}
