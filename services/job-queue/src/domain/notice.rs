//! Status notices of recipe jobs for recipe-types: their outbox topic and
//! payload, written in the transaction that changes the job.

use super::Job;
use crate::repository::OutboxEntry;

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

/// One outbox entry per job that belongs to a recipe, in the jobs' order;
/// other jobs are skipped.
pub fn entries(jobs: &[Job], now: i64) -> Result<Vec<OutboxEntry>, serde_json::Error> {
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
        entries.push(OutboxEntry {
            id: uuid::Uuid::new_v4().to_string(),
            topic: OUTBOX_TOPIC_JOB_STATUS.to_owned(),
            payload: serde_json::to_string(&notice)?,
            attempts: 0,
            next_attempt_at: now,
            created: now,
        });
    }
    Ok(entries)
}
