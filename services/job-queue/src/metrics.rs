//! job-queue's own metrics: queue depth per service, jobs by status, lease
//! expiries, outbox backlog and database pool usage.

use std::sync::{Arc, LazyLock};

use brigade_common::grpc::MetricsRefresh;
use prometheus::{IntCounter, IntGauge, IntGaugeVec, Opts};

use crate::service::JobQueue;

fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("metric {name}: {e}"));
    let _ = prometheus::register(Box::new(g.clone()));
    g
}

pub static LEASE_EXPIRIES: LazyLock<IntCounter> = LazyLock::new(|| {
    let c = IntCounter::new(
        "brigade_lease_expiries_total",
        "Leases that expired before their job ended",
    )
    .unwrap_or_else(|e| panic!("metric: {e}"));
    let _ = prometheus::register(Box::new(c.clone()));
    c
});

static QUEUE_DEPTH: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "brigade_queue_depth",
        "REGISTERED jobs waiting, per service",
        &["service_id"],
    )
});
static JOBS: LazyLock<IntGaugeVec> = LazyLock::new(|| gauge_vec("brigade_jobs", "Jobs stored, by status", &["status"]));
static OUTBOX_BACKLOG: LazyLock<IntGauge> = LazyLock::new(|| {
    let g = IntGauge::new(
        "brigade_outbox_backlog",
        "Job-type revision notices not yet delivered to recipe-types",
    )
    .unwrap_or_else(|e| panic!("metric: {e}"));
    let _ = prometheus::register(Box::new(g.clone()));
    g
});

/// Reads the database-backed gauges; run before each scrape.
pub fn refresh(queue: Arc<JobQueue>) -> MetricsRefresh {
    Arc::new(move || {
        let queue = queue.clone();
        Box::pin(async move {
            let repo = queue.repository();
            if let Ok(counts) = repo.job_counts().await {
                QUEUE_DEPTH.reset();
                JOBS.reset();
                for status in crate::domain::JobStatus::ALL {
                    JOBS.with_label_values(&[status.as_str()]).set(0);
                }
                for (service_id, status, n) in counts {
                    JOBS.with_label_values(&[status.as_str()]).add(n);
                    if status == "REGISTERED" {
                        QUEUE_DEPTH.with_label_values(&[service_id.as_str()]).set(n);
                    }
                }
            }
            if let Ok(n) = repo.outbox_backlog().await {
                OUTBOX_BACKLOG.set(n);
            }
            let (size, idle) = repo.pool_stats();
            brigade_common::metrics::set_pool("job-queue", size, idle);
        })
    })
}
