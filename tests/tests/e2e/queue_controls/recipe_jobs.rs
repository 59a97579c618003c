//! Recipe jobs: idempotent submits, and status notices that reach a
//! recipe-types peer in order, each change once in effect.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use brigade_proto::ErrorReason;
use brigade_proto::jobqueue::v1 as pb;
use brigade_tests::{Backend, TestDatabase, eventually};
use serde_json::json;
use tonic::Code;

use super::fake_recipe_types::FakeRecipeTypes;
use super::{DEADLINE, Replica, claim, complete, fail_retry, nowhere, service, submit};

fn keyed(service_id: &str, n: i64, key: &str) -> pb::SubmitJobRequest {
    pb::SubmitJobRequest {
        service_id: service_id.to_owned(),
        parameters_json: json!({ "n": n }).to_string(),
        idempotency_key: Some(key.to_owned()),
        ..Default::default()
    }
}

async fn idempotent_resubmit(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    let jq = Replica::start(&db, nowhere()).await;
    let mut client = jq.client().await;
    let service_id = service(&mut client, "keyed", |_| {}).await;
    let first = client
        .submit_job(keyed(&service_id, 1, "k-1"))
        .await
        .expect("first")
        .into_inner();
    assert!(first.created);
    let again = client
        .submit_job(keyed(&service_id, 1, "k-1"))
        .await
        .expect("again")
        .into_inner();
    assert!(!again.created, "the same key returns the first job");
    assert_eq!(again.job.as_ref().map(|j| &j.id), first.job.as_ref().map(|j| &j.id));
    let conflict = client
        .submit_job(keyed(&service_id, 2, "k-1"))
        .await
        .expect_err("a different body under a used key");
    assert_eq!(conflict.code(), Code::AlreadyExists);
    assert_eq!(ErrorReason::of(&conflict), Some(ErrorReason::IdempotencyConflict));
    let higher = pb::SubmitJobRequest {
        priority: 3,
        ..keyed(&service_id, 1, "k-1")
    };
    assert_eq!(
        client.submit_job(higher).await.expect_err("another priority").code(),
        Code::AlreadyExists
    );
    // A batch: a known key, a new key twice (one job), no key.
    let batch = client
        .submit_jobs(pb::SubmitJobsRequest {
            service_id: service_id.clone(),
            jobs: vec![
                pb::JobSubmission {
                    parameters_json: json!({"n": 1}).to_string(),
                    idempotency_key: Some("k-1".into()),
                    ..Default::default()
                },
                pb::JobSubmission {
                    parameters_json: json!({"n": 5}).to_string(),
                    idempotency_key: Some("k-2".into()),
                    ..Default::default()
                },
                pb::JobSubmission {
                    parameters_json: json!({"n": 5}).to_string(),
                    idempotency_key: Some("k-2".into()),
                    ..Default::default()
                },
                pb::JobSubmission {
                    parameters_json: json!({"n": 7}).to_string(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        })
        .await
        .expect("batch")
        .into_inner();
    assert_eq!(batch.created, vec![false, true, false, true]);
    assert_eq!(batch.jobs[1].id, batch.jobs[2].id);
    let listed = client
        .list_jobs(pb::ListJobsRequest {
            service_id: service_id.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .jobs;
    assert_eq!(listed.len(), 3, "one job per key");
    jq.stop().await;
}

#[tokio::test]
async fn idempotent_resubmit_and_conflict_sqlite() {
    idempotent_resubmit(Backend::Sqlite).await;
}

#[tokio::test]
async fn idempotent_resubmit_and_conflict_postgres() {
    idempotent_resubmit(Backend::Postgres).await;
}

async fn recipe_notices(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    let peer = FakeRecipeTypes::default();
    // The first deliveries fail: the outbox must retry them, still in order.
    peer.refuse.store(2, Ordering::SeqCst);
    let (peer_url, _serving) = peer.clone().start().await;
    let jq = Replica::start(&db, peer_url).await;
    let mut client = jq.client().await;
    let service_id = service(&mut client, "recipe-step", |r| {
        r.retry_backoff_base_ms = Some(0);
        r.retry_backoff_cap_ms = Some(0);
    })
    .await;
    let plain = submit(
        &mut client,
        pb::SubmitJobRequest {
            service_id: service_id.clone(),
            parameters_json: json!({"n": 0}).to_string(),
            ..Default::default()
        },
    )
    .await;
    let job = submit(
        &mut client,
        pb::SubmitJobRequest {
            recipe_id: Some("recipe-7".into()),
            recipe_node: Some("detect".into()),
            ..keyed(&service_id, 1, "recipe-7/detect")
        },
    )
    .await;
    assert_eq!(
        (job.recipe_id.as_deref(), job.recipe_node.as_deref()),
        (Some("recipe-7"), Some("detect"))
    );
    // submit → claim → fail(retry) → claim → complete: four changes after
    // the submit (whose answer already tells the submitter).
    let mut leased = claim(&mut client, &service_id, 2, "w").await;
    leased.retain(|l| l.job.as_ref().is_some_and(|j| j.id == job.id));
    fail_retry(&mut client, &leased[0], "glitch").await;
    let again = eventually(DEADLINE, "the retried job", || {
        let mut client = client.clone();
        let service_id = service_id.clone();
        async move { claim(&mut client, &service_id, 1, "w").await.pop() }
    })
    .await;
    complete(&mut client, &again, 11).await;
    let notices = eventually(DEADLINE, "four notices delivered", || {
        let peer = peer.clone();
        async move {
            let notices = peer.notices();
            (notices.len() >= 4).then_some(notices)
        }
    })
    .await;
    let statuses: Vec<&str> = notices.iter().map(|n| n.status.as_str()).collect();
    assert_eq!(statuses, vec!["WORKING", "REGISTERED", "WORKING", "COMPLETED"]);
    assert!(
        notices
            .iter()
            .all(|n| n.job_id == job.id && n.recipe_id == "recipe-7" && n.recipe_node == "detect")
    );
    assert!(
        notices.iter().all(|n| n.job_id != plain.id),
        "jobs outside recipes send nothing"
    );
    let versions: Vec<i64> = notices.iter().map(|n| n.job_version).collect();
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]),
        "job_version grows: {versions:?}"
    );
    let ids: HashSet<&str> = notices.iter().map(|n| n.notice_id.as_str()).collect();
    assert_eq!(ids.len(), notices.len(), "one notice id per change");
    let last = notices.last().expect("last");
    assert_eq!(last.results_json.as_deref(), Some(r#"{"sum":11}"#));
    assert_eq!(notices[1].error_message.as_deref(), Some("glitch"));
    assert_eq!(
        peer.refuse.load(Ordering::SeqCst),
        0,
        "the refused deliveries were retried"
    );
    // Delivered entries leave the outbox: nothing more arrives.
    eventually(DEADLINE, "an empty outbox", || {
        let queue = jq.queue.clone();
        async move { (queue.repository().outbox_backlog().await.ok() == Some(0)).then_some(()) }
    })
    .await;
    assert_eq!(peer.notices().len(), 4);
    jq.stop().await;
}

#[tokio::test]
async fn recipe_job_notices_reach_recipe_types_in_order_sqlite() {
    recipe_notices(Backend::Sqlite).await;
}

#[tokio::test]
async fn recipe_job_notices_reach_recipe_types_in_order_postgres() {
    recipe_notices(Backend::Postgres).await;
}

/// A recipe's waiting notices go out in batches small enough for any gRPC
/// peer: six 700 KB results (4.2 MB, over a server's default 4 MiB) held up
/// by a refusing peer all arrive once it answers, and the outbox empties.
async fn large_results_are_delivered_in_batches(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    let peer = FakeRecipeTypes::default();
    peer.refuse.store(usize::MAX, Ordering::SeqCst);
    let (peer_url, _serving) = peer.clone().start().await;
    let jq = Replica::start(&db, peer_url).await;
    let mut client = jq.client().await;
    let service_id = service(&mut client, "big-results", |r| {
        r.job_result_schema_json = json!({"type": "object"}).to_string();
    })
    .await;
    for node in 0..6 {
        submit(
            &mut client,
            pb::SubmitJobRequest {
                recipe_id: Some("recipe-big".into()),
                recipe_node: Some(format!("n{node}")),
                ..keyed(&service_id, node, &format!("recipe-big/n{node}"))
            },
        )
        .await;
    }
    let big = "x".repeat(700_000);
    for leased in claim(&mut client, &service_id, 6, "w").await {
        client
            .complete_job(pb::CompleteJobRequest {
                job_id: leased.job.as_ref().expect("job").id.clone(),
                lease_token: leased.lease_token.clone(),
                results_json: json!({ "blob": big }).to_string(),
            })
            .await
            .expect("complete");
    }
    // Claim and completion of each: twelve notices wait for the peer.
    let backlog = jq.queue.repository().outbox_backlog().await.expect("backlog");
    assert_eq!(backlog, 12);
    peer.refuse.store(0, Ordering::SeqCst);
    let notices = eventually(DEADLINE, "every notice delivered", || {
        let peer = peer.clone();
        async move {
            let notices = peer.notices();
            (notices.len() >= 12).then_some(notices)
        }
    })
    .await;
    let completed = notices.iter().filter(|n| n.status == "COMPLETED").count();
    assert_eq!(completed, 6);
    assert!(
        notices
            .iter()
            .filter(|n| n.status == "COMPLETED")
            .all(|n| n.results_json.as_deref().is_some_and(|r| r.len() > 700_000))
    );
    eventually(DEADLINE, "an empty outbox", || {
        let queue = jq.queue.clone();
        async move { (queue.repository().outbox_backlog().await.ok() == Some(0)).then_some(()) }
    })
    .await;
    jq.stop().await;
}

#[tokio::test]
async fn large_results_are_delivered_in_batches_sqlite() {
    large_results_are_delivered_in_batches(Backend::Sqlite).await;
}

#[tokio::test]
async fn large_results_are_delivered_in_batches_postgres() {
    large_results_are_delivered_in_batches(Backend::Postgres).await;
}
