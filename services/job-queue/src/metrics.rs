//! job-queue's own metrics: queue depth per service, jobs by status, lease
//! expiries, outbox backlog and database pool usage.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use brigade_common::grpc::MetricsRefresh;
use brigade_common::metrics;
use prometheus::{HistogramVec, IntCounterVec, IntGaugeVec};

use crate::repository::Repository;
use crate::service::JobQueue;

/// Labelless metrics are vectors with no labels: one helper per kind serves all.
pub static LEASE_EXPIRIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    metrics::counter(
        "brigade_lease_expiries_total",
        "Leases that expired before their job ended",
        &[],
    )
});

pub static JOBS_COMPLETED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    metrics::counter(
        "brigade_jobs_completed_total",
        "Jobs completed by their workers, per service",
        &["service_id"],
    )
});
pub static JOBS_FAILED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    metrics::counter(
        "brigade_jobs_failed_total",
        "Jobs that ended in ERROR after a failure or an expired last lease, per service",
        &["service_id"],
    )
});
pub static CLAIM_TO_COMPLETE: LazyLock<HistogramVec> = LazyLock::new(|| {
    metrics::histogram(
        "brigade_job_claim_to_complete_seconds",
        "Time from a claim to the completion of that attempt, per service",
        &["service_id"],
    )
});
static JOBS_NOT_DUE: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    metrics::gauge(
        "brigade_jobs_waiting_for_due_time",
        "REGISTERED jobs not claimable yet (run_at or retry backoff ahead)",
        &[],
    )
});

static QUEUE_DEPTH: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    metrics::gauge(
        "brigade_queue_depth",
        "REGISTERED jobs waiting, per service (id, name and version)",
        &["service_id", "service_name", "service_version"],
    )
});
static JOBS: LazyLock<IntGaugeVec> =
    LazyLock::new(|| metrics::gauge("brigade_jobs", "Jobs stored, by status", &["status"]));
static OUTBOX_BACKLOG: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    metrics::gauge(
        "brigade_outbox_backlog",
        "Notices (job-type revisions, recipe job statuses) not yet delivered to recipe-types",
        &[],
    )
});

/// Services listed per query while labelling the queue gauges.
const SERVICE_PAGE: i64 = 500;

/// Every service's (name, version), by id.
async fn service_names(repo: &dyn Repository) -> Option<HashMap<String, (String, String)>> {
    let mut names = HashMap::new();
    let mut after = 0;
    loop {
        let page = repo.list_services(after, SERVICE_PAGE).await.ok()?;
        let full = page.len() as i64 == SERVICE_PAGE;
        for (seq, service) in page {
            after = seq;
            names.insert(service.id.to_string(), (service.name, service.version));
        }
        if !full {
            return Some(names);
        }
    }
}

/// Reads the database-backed gauges; run before each scrape of the process.
pub fn refresh(queue: Arc<JobQueue>) -> MetricsRefresh {
    Arc::new(move || {
        let queue = queue.clone();
        Box::pin(async move {
            let repo = queue.repository();
            if let (Ok(counts), Some(names)) = (repo.job_counts().await, service_names(repo.as_ref()).await) {
                QUEUE_DEPTH.reset();
                JOBS.reset();
                for status in crate::domain::JobStatus::ALL {
                    JOBS.with_label_values(&[status.as_str()]).set(0);
                }
                for (id, (name, version)) in &names {
                    QUEUE_DEPTH.with_label_values(&[id, name, version]).set(0);
                }
                for (service_id, status, n) in counts {
                    JOBS.with_label_values(&[status.as_str()]).add(n);
                    if status == crate::domain::JobStatus::Registered
                        && let Some((name, version)) = names.get(service_id.as_str())
                    {
                        QUEUE_DEPTH
                            .with_label_values(&[service_id.as_str(), name, version])
                            .set(n);
                    }
                }
            }
            if let Ok(n) = repo.not_due_count(crate::domain::now_micros()).await {
                JOBS_NOT_DUE.with_label_values(&[] as &[&str]).set(n);
            }
            if let Ok(n) = repo.outbox_backlog().await {
                OUTBOX_BACKLOG.with_label_values(&[] as &[&str]).set(n);
            }
            let (size, idle) = repo.pool_stats();
            brigade_common::metrics::set_pool(crate::startup::COMPONENT, size, idle);
        })
    })
}
