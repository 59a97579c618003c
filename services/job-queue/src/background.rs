//! Work that runs beside the gRPC server: the lease reaper and the outbox relay.

use std::sync::Arc;
use std::time::Duration;

use brigade_common::shutdown::ShutdownWaiter;
use brigade_proto::recipetypes::v1 as rt;
use brigade_proto::recipetypes::v1::recipe_types_client::RecipeTypesClient;
use tonic::transport::{Channel, Endpoint};

use crate::domain::now_micros;
use crate::service::{JobQueue, OUTBOX_TOPIC_REVISION, RevisionNotice};

/// Finds expired leases every `interval` until shutdown.
pub async fn run_reaper(queue: Arc<JobQueue>, interval: Duration, shutdown: ShutdownWaiter) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stop = shutdown.wait();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = ticker.tick() => {
                if let Err(e) = queue.expire_leases().await {
                    tracing::warn!(error = %e, "lease reaper pass failed");
                }
            }
        }
    }
}

/// A lazily connected client: recipe-types may be down when we start.
pub fn recipe_types_channel(url: &str) -> Result<Channel, tonic::transport::Error> {
    Ok(Endpoint::from_shared(url.to_owned())?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(10))
        .connect_lazy())
}

const RELAY_POLL: Duration = Duration::from_millis(500);
const MAX_BACKOFF_MICROS: i64 = 60_000_000;

/// Delivers outbox entries to recipe-types, retrying with exponential backoff.
/// Entries are deleted only after recipe-types acknowledged them; it handles a
/// repeated notice idempotently, so a crash between the two is harmless.
pub async fn run_outbox_relay(queue: Arc<JobQueue>, channel: Channel, shutdown: ShutdownWaiter) {
    let mut client = RecipeTypesClient::with_interceptor(channel, brigade_common::trace::Propagate);
    let stop = shutdown.wait();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(RELAY_POLL) => {}
        }
        let due = match queue.repository().due_outbox(now_micros(), 100).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "outbox read failed");
                continue;
            }
        };
        for entry in due {
            let delivered = match (
                entry.topic.as_str(),
                serde_json::from_str::<RevisionNotice>(&entry.payload),
            ) {
                (OUTBOX_TOPIC_REVISION, Ok(notice)) => {
                    let request = rt::NotifyJobTypeRevisionRequest {
                        notice_id: entry.id.clone(),
                        name: notice.name,
                        version: notice.version,
                        revision: notice.revision,
                    };
                    match client.notify_job_type_revision(request).await {
                        Ok(_) => true,
                        Err(status) => {
                            tracing::info!(notice_id = %entry.id, code = ?status.code(), attempts = entry.attempts, "revision notice not delivered yet");
                            false
                        }
                    }
                }
                _ => {
                    tracing::error!(notice_id = %entry.id, topic = %entry.topic, "dropping an outbox entry nobody can read");
                    true
                }
            };
            let result = if delivered {
                queue.outbox_delivered(&entry.id).await
            } else {
                let backoff = (500_000_i64 << entry.attempts.clamp(0, 20)).min(MAX_BACKOFF_MICROS);
                queue.outbox_retry_at(&entry.id, now_micros() + backoff).await
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "outbox update failed");
            }
        }
    }
}
