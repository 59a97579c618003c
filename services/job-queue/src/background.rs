//! Work that runs beside the gRPC server: the lease reaper, the outbox relay
//! and retention.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use brigade_common::auth::{ClientCredentials, TracedCredentials};
use brigade_common::shutdown::ShutdownWaiter;
use brigade_common::tls::ClientTls;
use brigade_proto::recipetypes::v1 as rt;
use brigade_proto::recipetypes::v1::recipe_types_client::RecipeTypesClient;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::task::JoinSet;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::domain::{Job, JobStatus, now_micros};
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
    /// A job now WORKING (claimed, or a running job's change), which by
    /// itself moves no recipe.
    fn is_claim(&self) -> bool {
        matches!(self, Self::JobStatus(request) if request.status == "WORKING")
    }

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
/// is in flight or backing off. Different keys (recipes) go out side by side,
/// up to [`RELAY_CONCURRENCY`] at once, and a key is sent as soon as it has
/// something due and a slot is free: nothing waits for the other keys'
/// deliveries to finish.
pub async fn run_outbox_relay(
    queue: Arc<JobQueue>,
    channel: Channel,
    credentials: ClientCredentials,
    shutdown: ShutdownWaiter,
) {
    let client = RecipeTypesClient::with_interceptor(channel, TracedCredentials(credentials));
    let mut peer_down = false;
    // A recipe job's change wakes the relay at once (its notice committed with
    // it), except a claim: the poll covers those, retries and changes this
    // process did not see.
    let mut changes = queue.events().subscribe();
    let mut lanes = Lanes::default();
    let mut read_now = true;
    let stop = shutdown.wait();
    tokio::pin!(stop);
    loop {
        if !read_now {
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(RELAY_POLL) => {}
                () = recipe_job_changed(&mut changes) => {}
                Some(done) = lanes.running.join_next(), if !lanes.running.is_empty() => {
                    // The key's later entries, if any, can go now; after a
                    // failure they wait for the poll instead.
                    read_now = lanes.finished(done, &mut peer_down);
                    lanes.start(&queue, &client);
                    if !read_now {
                        continue;
                    }
                }
            }
        }
        read_now = false;
        // Whatever else changed or finished meanwhile is in this same read.
        while !matches!(changes.try_recv(), Err(TryRecvError::Empty | TryRecvError::Closed)) {}
        while let Some(done) = lanes.running.try_join_next() {
            lanes.finished(done, &mut peer_down);
        }
        let entries = match queue.repository().oldest_outbox(RELAY_WINDOW).await {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(error = %e, "outbox read failed");
                continue;
            }
        };
        let mut groups: Vec<(String, Vec<(OutboxEntry, Notice)>)> = Vec::new();
        let mut group_of: HashMap<String, usize> = HashMap::new();
        for entry in entries {
            let Some((key, notice)) = Notice::read(&entry) else {
                tracing::error!(notice_id = %entry.id, topic = %entry.topic, "dropping an outbox entry nobody can read");
                if let Err(e) = queue.outbox_delivered(&entry.id).await {
                    tracing::warn!(error = %e, "outbox update failed");
                }
                continue;
            };
            let index = *group_of.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[index].1.push((entry, notice));
        }
        let now = now_micros();
        for (key, group) in groups {
            lanes.offer(key, due(group, now));
        }
        lanes.start(&queue, &client);
    }
}

type Client = RecipeTypesClient<InterceptedService<Channel, TracedCredentials>>;

/// The relay's deliveries: keys waiting for a slot, and keys in flight.
#[derive(Default)]
struct Lanes {
    waiting: VecDeque<String>,
    /// What each waiting key has to send, as last read.
    entries: HashMap<String, Vec<(OutboxEntry, Notice)>>,
    in_flight: HashSet<String>,
    running: JoinSet<(String, Pass)>,
}

impl Lanes {
    /// Queues a key's due entries, unless the key is in flight (its entries
    /// are read again once it lands). A key already waiting takes the newer
    /// read, which holds everything the older one did that is not delivered.
    fn offer(&mut self, key: String, due: Vec<(OutboxEntry, Notice)>) {
        if due.is_empty() || self.in_flight.contains(&key) {
            return;
        }
        if self.entries.insert(key.clone(), due).is_none() {
            self.waiting.push_back(key);
        }
    }

    /// Starts waiting keys while slots are free.
    fn start(&mut self, queue: &Arc<JobQueue>, client: &Client) {
        while self.in_flight.len() < RELAY_CONCURRENCY {
            let Some(key) = self.waiting.pop_front() else { return };
            let Some(group) = self.entries.remove(&key) else {
                continue;
            };
            self.in_flight.insert(key.clone());
            let (queue, mut client) = (queue.clone(), client.clone());
            self.running.spawn(async move {
                let pass = Pass::default();
                deliver_group(&queue, &mut client, group, &pass).await;
                (key, pass)
            });
        }
    }

    /// Frees a finished delivery's slot and logs recipe-types coming and
    /// going; true when it delivered something.
    fn finished(&mut self, done: Result<(String, Pass), tokio::task::JoinError>, peer_down: &mut bool) -> bool {
        let (key, pass) = match done {
            Ok(done) => done,
            Err(e) => {
                // A delivery that panicked: forget every slot's key rather
                // than hold one forever; a key read again while still in
                // flight goes out twice, which recipe-types takes as once.
                tracing::error!(error = %e, "an outbox delivery failed");
                self.in_flight.clear();
                return false;
            }
        };
        self.in_flight.remove(&key);
        let delivered = pass.delivered.load(Ordering::Relaxed);
        if delivered && std::mem::take(peer_down) {
            tracing::info!("recipe-types reachable again: delivering notices");
        }
        if pass.unreachable.load(Ordering::Relaxed) && !std::mem::replace(peer_down, true) {
            tracing::warn!("recipe-types unreachable: notices wait until it answers");
        }
        delivered
    }
}

/// What one delivery saw of recipe-types.
#[derive(Default)]
struct Pass {
    delivered: AtomicBool,
    unreachable: AtomicBool,
}

/// A key's entries that can go now, in order: those before the first one
/// still backing off, and none while they are all claims younger than
/// [`CLAIM_HOLD`].
fn due(group: Vec<(OutboxEntry, Notice)>, now: i64) -> Vec<(OutboxEntry, Notice)> {
    let due: Vec<(OutboxEntry, Notice)> = group
        .into_iter()
        .take_while(|(entry, _)| entry.next_attempt_at <= now)
        .collect();
    match due.first() {
        Some((oldest, _))
            if oldest.created > now - CLAIM_HOLD.as_micros() as i64 && due.iter().all(|(_, n)| n.is_claim()) =>
        {
            Vec::new()
        }
        _ => due,
    }
}

/// How long a recipe's claim notices wait for a later notice of the same
/// recipe to go out with. A claim cannot let a recipe move; its job's
/// completion, usually soon after, can, and the two then cost recipe-types
/// one transaction rather than two.
const CLAIM_HOLD: Duration = RELAY_POLL;

/// Sends one order key's due entries, in order: a recipe's job notices as
/// one batch, anything else one at a time.
async fn deliver_group(queue: &JobQueue, client: &mut Client, due: Vec<(OutboxEntry, Notice)>, pass: &Pass) {
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

/// Returns once a job that belongs to a recipe changed in a way that can let
/// its recipe move (or changes were missed); never, once the channel is
/// closed. A WORKING job (a claim, a lease extension) cannot: its notice
/// waits up to [`CLAIM_HOLD`] and usually goes out in one batch, and so one
/// recipe-types transaction, with the job's completion.
async fn recipe_job_changed(changes: &mut broadcast::Receiver<Job>) {
    loop {
        match changes.recv().await {
            Ok(job) if job.recipe_id.is_some() && job.status != JobStatus::Working => return,
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

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000_000;

    fn entry(status: &str, created: i64, next_attempt_at: i64) -> (OutboxEntry, Notice) {
        let notice = JobStatusNotice {
            job_id: "job".into(),
            recipe_id: "7".into(),
            recipe_node: "a".into(),
            status: status.into(),
            cancelled: false,
            results: None,
            error_message: None,
            job_version: 1,
        };
        let entry = OutboxEntry {
            id: uuid::Uuid::new_v4().to_string(),
            topic: OUTBOX_TOPIC_JOB_STATUS.into(),
            payload: serde_json::to_string(&notice).expect("notice"),
            attempts: 0,
            next_attempt_at,
            created,
        };
        let (_, notice) = Notice::read(&entry).expect("readable");
        (entry, notice)
    }

    fn statuses(due: &[(OutboxEntry, Notice)]) -> Vec<&str> {
        due.iter()
            .map(|(_, n)| match n {
                Notice::JobStatus(r) => r.status.as_str(),
                Notice::Revision(_) => "revision",
            })
            .collect()
    }

    #[test]
    fn a_young_claim_waits_for_company_and_goes_with_the_completion() {
        let hold = CLAIM_HOLD.as_micros() as i64;
        let young = NOW - hold / 2;
        assert!(due(vec![entry("WORKING", young, young)], NOW).is_empty());
        let both = due(vec![entry("WORKING", young, young), entry("COMPLETED", NOW, NOW)], NOW);
        assert_eq!(statuses(&both), ["WORKING", "COMPLETED"]);
        let old = NOW - hold - 1;
        assert_eq!(statuses(&due(vec![entry("WORKING", old, old)], NOW)), ["WORKING"]);
        assert_eq!(statuses(&due(vec![entry("ERROR", NOW, NOW)], NOW)), ["ERROR"]);
    }

    #[test]
    fn an_entry_backing_off_holds_back_the_rest_of_its_key() {
        let later = NOW + 1;
        let group = vec![
            entry("COMPLETED", NOW - 10, NOW - 10),
            entry("REGISTERED", NOW - 5, later),
            entry("WORKING", NOW, NOW),
        ];
        assert_eq!(statuses(&due(group, NOW)), ["COMPLETED"]);
        assert!(due(vec![entry("COMPLETED", NOW, later)], NOW).is_empty());
    }

    #[test]
    fn a_key_in_flight_is_not_queued_and_a_waiting_key_takes_the_newer_read() {
        let mut lanes = Lanes::default();
        lanes.in_flight.insert("recipe:1".into());
        lanes.offer("recipe:1".into(), vec![entry("COMPLETED", NOW, NOW)]);
        assert!(lanes.waiting.is_empty());
        lanes.offer("recipe:2".into(), vec![entry("COMPLETED", NOW, NOW)]);
        lanes.offer(
            "recipe:2".into(),
            vec![entry("COMPLETED", NOW, NOW), entry("REGISTERED", NOW, NOW)],
        );
        assert_eq!(lanes.waiting, ["recipe:2"]);
        assert_eq!(statuses(&lanes.entries["recipe:2"]), ["COMPLETED", "REGISTERED"]);
    }
}
