//! Status notices of recipe jobs for recipe-types, written to the outbox in the
//! transaction that changes the job, so a committed change is always announced.

pub use crate::domain::notice::{JobStatusNotice, OUTBOX_TOPIC_JOB_STATUS};
use crate::domain::{Job, notice};
use crate::error::{Error, Result};
use crate::repository::Transaction;

/// Queues one notice per job that belongs to a recipe, in one statement;
/// other jobs are skipped.
pub(super) async fn notify_recipes(tx: &mut dyn Transaction, jobs: &[Job], now: i64) -> Result<()> {
    let entries = notice::entries(jobs, now).map_err(|e| Error::Internal(format!("notice encoding: {e}")))?;
    if entries.is_empty() {
        return Ok(());
    }
    tx.insert_outbox_all(&entries).await
}
