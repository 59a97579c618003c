//! A concurrency limit of one holds across workers and replicas, and a change
//! to a service on one replica holds on the others at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use brigade_proto::jobqueue::v1 as pb;
use brigade_tests::{Backend, TestDatabase};

use super::{Replica, claim, complete, nowhere, service, submit_n};
use serde_json::json;

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

/// Each replica keeps its services in a cache for the workers' calls. A pause
/// made on another replica holds for the very next claim (the claim statement
/// reads the stored pause), and a new schema reaches the other replica's
/// submits through `NOTIFY` well before the cache's own expiry
/// (`brigade_job_queue::cache::TTL`, five seconds).
#[tokio::test]
async fn a_change_made_on_one_replica_holds_on_the_other_at_once() {
    let Some(db) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let (a, b) = (
        Replica::start(&db, nowhere()).await,
        Replica::start(&db, nowhere()).await,
    );
    let (mut on_a, mut on_b) = (a.client().await, b.client().await);
    let service_id = service(&mut on_a, "cached", |_| {}).await;
    // B reads the service now, and keeps it.
    submit_n(&mut on_b, &service_id, 1).await;
    submit_n(&mut on_b, &service_id, 2).await;
    assert_eq!(claim(&mut on_b, &service_id, 1, "w").await.len(), 1);
    let cached_at = tokio::time::Instant::now();
    let update = |request: pb::UpdateServiceRequest| {
        let mut on_a = on_a.clone();
        async move { on_a.update_service(request).await.expect("update") }
    };
    update(pb::UpdateServiceRequest {
        id: service_id.clone(),
        paused: Some(true),
        ..Default::default()
    })
    .await;
    assert!(
        claim(&mut on_b, &service_id, 1, "w").await.is_empty(),
        "paused on A, claimed on B"
    );
    update(pb::UpdateServiceRequest {
        id: service_id.clone(),
        job_registration_schema_json: Some(json!({"type": "object", "required": ["m"]}).to_string()),
        ..Default::default()
    })
    .await;
    // `{"n": 3}` was valid under the old schema and is not under the new one.
    let deadline = cached_at + brigade_job_queue::cache::TTL / 2;
    loop {
        let answer = on_b
            .submit_job(pb::SubmitJobRequest {
                service_id: service_id.clone(),
                parameters_json: json!({"n": 3}).to_string(),
                ..Default::default()
            })
            .await;
        match answer {
            Err(status) if status.code() == tonic::Code::InvalidArgument => break,
            Err(status) => panic!("unexpected answer {status:?}"),
            Ok(_) => assert!(
                tokio::time::Instant::now() < deadline,
                "B still validates against the old schema"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.stop().await;
    b.stop().await;
}

/// Concurrent submits share commits (group commit): each call still gets its
/// own job back, and every job is stored exactly once with its parameters.
async fn concurrent_submits_each_get_their_own_job(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    let replica = Replica::start(&db, nowhere()).await;
    let mut client = replica.client().await;
    let service_id = service(&mut client, "busy", |_| {}).await;
    let calls: Vec<_> = (0..64)
        .map(|n| {
            let (mut client, service_id) = (client.clone(), service_id.clone());
            tokio::spawn(async move { (n, submit_n(&mut client, &service_id, n).await) })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for call in calls {
        let (n, job) = call.await.expect("call");
        let parameters: serde_json::Value = serde_json::from_str(&job.parameters_json).expect("json");
        assert_eq!(parameters, json!({ "n": n }), "a call answered with another call's job");
        assert!(ids.insert(job.id), "two calls answered with one job");
    }
    let stored = client
        .list_jobs(pb::ListJobsRequest {
            service_id: service_id.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .jobs;
    assert_eq!(stored.len(), 64);
    for job in &stored {
        assert!(ids.contains(&job.id), "a stored job nobody was answered with");
    }
    replica.stop().await;
}

#[tokio::test]
async fn concurrent_submits_each_get_their_own_job_sqlite() {
    concurrent_submits_each_get_their_own_job(Backend::Sqlite).await;
}

#[tokio::test]
async fn concurrent_submits_each_get_their_own_job_postgres() {
    concurrent_submits_each_get_their_own_job(Backend::Postgres).await;
}
