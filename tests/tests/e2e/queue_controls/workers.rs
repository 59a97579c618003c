//! A concurrency limit of one holds across workers and replicas.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use brigade_proto::jobqueue::v1 as pb;
use brigade_tests::{Backend, TestDatabase};

use super::{Replica, claim, complete, nowhere, service, submit_n};

#[tokio::test]
async fn eight_workers_on_two_replicas_never_hold_two_jobs_of_a_limit_of_one() {
    let Some(db) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let replicas = [
        Replica::start(&db, nowhere()).await,
        Replica::start(&db, nowhere()).await,
    ];
    let mut client = replicas[0].client().await;
    let service_id = service(&mut client, "microscope", |r| r.max_concurrency = Some(1)).await;
    const JOBS: usize = 24;
    for n in 0..JOBS {
        submit_n(&mut client, &service_id, n as i64).await;
    }
    // Counted up after a claim and down before the completion is sent, so a
    // count of two means two jobs were WORKING at the same moment.
    let holding = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let mut client = replicas[worker % 2].client().await;
        let (service_id, holding, most, done) = (service_id.clone(), holding.clone(), most.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while done.load(Ordering::SeqCst) < JOBS && tokio::time::Instant::now() < deadline {
                let leased = claim(&mut client, &service_id, 2, &format!("worker-{worker}")).await;
                assert!(leased.len() <= 1, "a claim never exceeds the limit");
                let Some(l) = leased.into_iter().next() else {
                    tokio::task::yield_now().await;
                    continue;
                };
                let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(15)).await;
                holding.fetch_sub(1, Ordering::SeqCst);
                complete(&mut client, &l, 1).await;
                done.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    assert_eq!(done.load(Ordering::SeqCst), JOBS, "every job done");
    assert_eq!(most.load(Ordering::SeqCst), 1, "never two jobs WORKING at once");
    let working = client
        .list_jobs(pb::ListJobsRequest {
            service_id: service_id.clone(),
            statuses: vec![pb::JobStatus::Working as i32],
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .jobs;
    assert!(working.is_empty());
    for r in replicas {
        r.stop().await;
    }
}
