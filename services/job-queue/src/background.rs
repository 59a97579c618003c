//! Work that runs beside the gRPC server: the lease reaper, the outbox relay
//! and retention.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use brigade_common::auth::{ClientCredentials, TracedCredentials};
use brigade_common::shutdown::ShutdownWaiter;
use brigade_common::tls::ClientTls;
use brigade_proto::recipetypes::v1 as rt;
use brigade_proto::recipetypes::v1::recipe_types_client::RecipeTypesClient;
use futures::StreamExt as _;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::domain::{Job, now_micros};
use crate::repository::OutboxEntry;
use crate::service::{JobQueue, JobStatusNotice, OUTBOX_TOPIC_JOB_STATUS, OUTBOX_TOPIC_REVISION, RevisionNotice};

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
/// `https://` URLs are verified with `tls` (BRIGADE_TLS_CA).
pub fn recipe_types_channel(url: &str, tls: Option<&ClientTls>) -> Result<Channel, tonic::transport::Error> {
    brigade_common::tls::channel(url, tls, Duration::from_secs(3))
}

const RELAY_POLL: Duration = Duration::from_millis(200);
const MAX_BACKOFF_MICROS: i64 = 60_000_000;
/// Order keys (recipes) whose notices are in flight at once.
const RELAY_CONCURRENCY: usize = 16;
/// Entries looked at per pass, oldest first.
const RELAY_WINDOW: i64 = 500;

/// What an outbox entry asks recipe-types to do, and which entries must reach
/// it before this one (same order key: one recipe's notices keep their order).
enum Notice {
    Revision(rt::NotifyJobTypeRevisionRequest),
    JobStatus(rt::NotifyJobStatusRequest),
}

impl Notice {
    fn read(entry: &OutboxEntry) -> Option<(String, Self)> {
        match entry.topic.as_str() {
            OUTBOX_TOPIC_REVISION => {
                let notice: RevisionNotice = serde_json::from_str(&entry.payload).ok()?;
                let request = rt::NotifyJobTypeRevisionRequest {
                    notice_id: entry.id.clone(),
                    name: notice.name,
                    version: notice.version,
                    revision: notice.revision,
                };
                Some((OUTBOX_TOPIC_REVISION.to_owned(), Self::Revision(request)))
            }
            OUTBOX_TOPIC_JOB_STATUS => {
                let notice: JobStatusNotice = serde_json::from_str(&entry.payload).ok()?;
                let key = format!("recipe:{}", notice.recipe_id);
                let request = rt::NotifyJobStatusRequest {
                    notice_id: entry.id.clone(),
                    job_id: notice.job_id,
                    recipe_id: notice.recipe_id,
                    recipe_node: notice.recipe_node,
                    status: notice.status,
                    cancelled: notice.cancelled,
                    results_json: notice.results,
                    error_message: notice.error_message,
                    job_version: notice.job_version,
                };
                Some((key, Self::JobStatus(request)))
            }
            _ => None,
        }
    }
}

/// Delivers outbox entries to recipe-types, retrying with exponential backoff.
/// Entries are deleted only after recipe-types acknowledged them; it handles a
/// repeated notice idempotently (by notice id, and job notices by job_version),
/// so a crash between the two is harmless. Notices with the same order key go
/// out in the order they were written: a later one waits while an earlier one
/// is backing off. Different keys (recipes) go out side by side.
pub async fn run_outbox_relay(
    queue: Arc<JobQueue>,
    channel: Channel,
    credentials: ClientCredentials,
    shutdown: ShutdownWaiter,
) {
    let client = RecipeTypesClient::with_interceptor(channel, TracedCredentials(credentials));
    let mut peer_down = false;
    // A recipe job's change wakes the relay at once (its notice committed with
    // it); the poll covers retries and changes this process did not see.
    let mut changes = queue.events().subscribe();
    let stop = shutdown.wait();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(RELAY_POLL) => {}
            () = recipe_job_changed(&mut changes) => {}
        }
        // Whatever else changed meanwhile goes out in this same pass.
        while !matches!(changes.try_recv(), Err(TryRecvError::Empty | TryRecvError::Closed)) {}
        let entries = match queue.repository().oldest_outbox(RELAY_WINDOW).await {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(error = %e, "outbox read failed");
                continue;
            }
        };
        let mut groups: Vec<Vec<(OutboxEntry, Notice)>> = Vec::new();
        let mut group_of: HashMap<String, usize> = HashMap::new();
        for entry in entries {
            let Some((key, notice)) = Notice::read(&entry) else {
                tracing::error!(notice_id = %entry.id, topic = %entry.topic, "dropping an outbox entry nobody can read");
                if let Err(e) = queue.outbox_delivered(&entry.id).await {
                    tracing::warn!(error = %e, "outbox update failed");
                }
                continue;
            };
            let index = *group_of.entry(key).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[index].push((entry, notice));
        }
        let pass = Pass::default();
        futures::stream::iter(groups)
            .for_each_concurrent(RELAY_CONCURRENCY, |group| {
                let (queue, mut client, pass) = (&queue, client.clone(), &pass);
                async move { deliver_group(queue, &mut client, group, pass).await }
            })
            .await;
        if pass.delivered.load(Ordering::Relaxed) && std::mem::take(&mut peer_down) {
            tracing::info!("recipe-types reachable again: delivering notices");
        }
        if pass.unreachable.load(Ordering::Relaxed) && !std::mem::replace(&mut peer_down, true) {
            tracing::warn!("recipe-types unreachable: notices wait until it answers");
        }
    }
}

type Client = RecipeTypesClient<InterceptedService<Channel, TracedCredentials>>;

/// What one relay pass saw of recipe-types.
#[derive(Default)]
struct Pass {
    delivered: AtomicBool,
    unreachable: AtomicBool,
}

/// Sends one order key's entries that are due, in order: a recipe's job
/// notices as one batch, anything else one at a time.
async fn deliver_group(queue: &JobQueue, client: &mut Client, group: Vec<(OutboxEntry, Notice)>, pass: &Pass) {
    let now = now_micros();
    let due: Vec<(OutboxEntry, Notice)> = group
        .into_iter()
        .take_while(|(entry, _)| entry.next_attempt_at <= now)
        .collect();
    if due.len() > 1 && due.iter().all(|(_, n)| matches!(n, Notice::JobStatus(_))) {
        let mut batches = batches_of(due).into_iter();
        while let Some(batch) = batches.next() {
            match deliver_batch(queue, client, batch, pass).await {
                Batch::Delivered => {}
                Batch::Stop => return,
                // An older recipe-types without the batch call: one at a time.
                Batch::Unsupported(first) => {
                    deliver_each(queue, client, first.into_iter().chain(batches.flatten()), pass).await;
                    return;
                }
            }
        }
        return;
    }
    deliver_each(queue, client, due, pass).await;
}

/// Sends entries one at a time, in order, until one must wait.
async fn deliver_each(
    queue: &JobQueue,
    client: &mut Client,
    entries: impl IntoIterator<Item = (OutboxEntry, Notice)>,
    pass: &Pass,
) {
    for (entry, notice) in entries {
        if pass.unreachable.load(Ordering::Relaxed) || !deliver(queue, client, entry, notice, pass).await {
            return;
        }
    }
}

/// Bytes of notices per `NotifyJobStatuses` call, well under the 4 MiB a
/// gRPC server takes by default (a results document is at most 1 MiB).
const BATCH_BYTES: usize = 2 << 20;

/// Splits a key's entries, in order, into calls of at most [`BATCH_BYTES`]
/// (a larger single notice goes alone).
fn batches_of(due: Vec<(OutboxEntry, Notice)>) -> Vec<Vec<(OutboxEntry, Notice)>> {
    let mut batches: Vec<Vec<(OutboxEntry, Notice)>> = Vec::new();
    let mut bytes = 0;
    for item in due {
        let size = item.0.payload.len();
        if batches
            .last()
            .is_none_or(|b| !b.is_empty() && bytes + size > BATCH_BYTES)
        {
            batches.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(batch) = batches.last_mut() {
            batch.push(item);
        }
    }
    batches
}

/// How a batch went.
enum Batch {
    Delivered,
    /// Not delivered: the key's later entries wait.
    Stop,
    /// recipe-types does not know the call: here are the entries back.
    Unsupported(Vec<(OutboxEntry, Notice)>),
}

/// Sends a recipe's job notices in one call and forgets them in one
/// transaction. Gives them back when recipe-types does not know the call.
async fn deliver_batch(queue: &JobQueue, client: &mut Client, due: Vec<(OutboxEntry, Notice)>, pass: &Pass) -> Batch {
    if pass.unreachable.load(Ordering::Relaxed) {
        return Batch::Stop;
    }
    let notices = due
        .iter()
        .filter_map(|(_, notice)| match notice {
            Notice::JobStatus(request) => Some(request.clone()),
            Notice::Revision(_) => None,
        })
        .collect();
    let sent = client
        .notify_job_statuses(rt::NotifyJobStatusesRequest { notices })
        .await;
    let (result, outcome) = match sent {
        Ok(_) => {
            pass.delivered.store(true, Ordering::Relaxed);
            let ids: Vec<&str> = due.iter().map(|(entry, _)| entry.id.as_str()).collect();
            (queue.outbox_delivered_all(&ids).await, Batch::Delivered)
        }
        Err(status) if status.code() == tonic::Code::Unimplemented => return Batch::Unsupported(due),
        Err(status) if peer_unreachable(status.code()) => {
            tracing::debug!(code = ?status.code(), "recipe-types unreachable");
            pass.unreachable.store(true, Ordering::Relaxed);
            return Batch::Stop;
        }
        Err(status) => {
            // The first entry waits; the rest of its key waits behind it.
            let first = &due[0].0;
            tracing::info!(notice_id = %first.id, notices = due.len(), code = ?status.code(), attempts = first.attempts, "notices not delivered yet");
            let retry = queue
                .outbox_retry_at(&first.id, now_micros() + backoff(first.attempts))
                .await;
            (retry, Batch::Stop)
        }
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "outbox update failed");
    }
    outcome
}

fn backoff(attempts: i32) -> i64 {
    (500_000_i64 << attempts.clamp(0, 20)).min(MAX_BACKOFF_MICROS)
}

/// Sends one notice; false when the notices after it (same order key) must wait.
async fn deliver(queue: &JobQueue, client: &mut Client, entry: OutboxEntry, notice: Notice, pass: &Pass) -> bool {
    if entry.next_attempt_at > now_micros() {
        return false;
    }
    let sent = match notice {
        Notice::Revision(request) => client.notify_job_type_revision(request).await.map(|_| ()),
        Notice::JobStatus(request) => client.notify_job_status(request).await.map(|_| ()),
    };
    let (result, next) = match sent {
        Ok(()) => {
            pass.delivered.store(true, Ordering::Relaxed);
            (queue.outbox_delivered(&entry.id).await, true)
        }
        // recipe-types is down or not serving: the notice is fine, the peer is
        // not. No growing backoff (that would delay delivery for up to a minute
        // after it is back) and no use trying the rest of this pass: the next
        // pass, RELAY_POLL later, tries again.
        Err(status) if peer_unreachable(status.code()) => {
            tracing::debug!(code = ?status.code(), "recipe-types unreachable");
            pass.unreachable.store(true, Ordering::Relaxed);
            return false;
        }
        Err(status) => {
            tracing::info!(notice_id = %entry.id, topic = %entry.topic, code = ?status.code(), attempts = entry.attempts, "notice not delivered yet");
            (
                queue
                    .outbox_retry_at(&entry.id, now_micros() + backoff(entry.attempts))
                    .await,
                false,
            )
        }
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "outbox update failed");
    }
    next
}

/// Returns once a job that belongs to a recipe changed (or changes were
/// missed); never, once the channel is closed.
async fn recipe_job_changed(changes: &mut broadcast::Receiver<Job>) {
    loop {
        match changes.recv().await {
            Ok(job) if job.recipe_id.is_some() => return,
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => return,
            Err(RecvError::Closed) => std::future::pending().await,
        }
    }
}

/// A failure of the peer or the path to it, rather than of the notice.
fn peer_unreachable(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown
    )
}

/// Deletes finished jobs older than `retention` every `interval` until shutdown.
pub async fn run_retention(queue: Arc<JobQueue>, retention: Duration, interval: Duration, shutdown: ShutdownWaiter) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stop = shutdown.wait();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = ticker.tick() => {
                match queue.purge_finished(retention).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "finished jobs past retention deleted"),
                    Err(e) => tracing::warn!(error = %e, "retention pass failed"),
                }
            }
        }
    }
}
