//! One conformance suite for job-queue's repository, run against real SQLite
//! and real PostgreSQL: both implementations must behave alike.

use std::sync::Arc;

use brigade_job_queue::domain::{Job, Service};
use brigade_job_queue::error::Error;
use brigade_job_queue::repository::{FailMode, OutboxEntry, Repository};
use brigade_job_queue::startup::open_repository;
use brigade_tests::{Backend, TestDatabase};

fn service(name: &str, version: &str) -> Service {
    Service {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        version: version.to_owned(),
        description: "d".to_owned(),
        revision: 1,
        job_registration_schema: "{}".to_owned(),
        job_result_schema: "{}".to_owned(),
        timeout_seconds: 30,
        is_available: false,
        last_checked_in: 10,
        created: 10,
        max_attempts: 2,
        lease_seconds: 30,
    }
}

fn job(service_id: &str, submitted: i64) -> Job {
    Job {
        seq: 0,
        id: uuid::Uuid::new_v4().to_string(),
        service_id: service_id.to_owned(),
        status: "REGISTERED".to_owned(),
        parameters: "{}".to_owned(),
        results: None,
        date_submitted: submitted,
        attempts: 0,
        max_attempts: 2,
        lease_token: None,
        lease_expires_at: None,
        error_message: None,
        service_revision: 1,
        cancelled: false,
        updated: submitted,
    }
}

async fn repository(backend: Backend) -> Option<(Arc<dyn Repository>, TestDatabase)> {
    let db = TestDatabase::new(backend).await?;
    let target =
        brigade_common::db::DatabaseTarget::resolve(db.url.as_deref(), db.dir.path(), "jq.sqlite3").expect("target");
    let (repo, _) = open_repository(&target, 5).await.expect("open");
    // Migrations apply again without error.
    repo.migrate().await.expect("second migration run");
    Some((repo, db))
}

async fn conformance(repo: Arc<dyn Repository>) {
    repo.ping().await.expect("ping");
    // Services: create, unique (name, version), find, list in creation order.
    let a = service("a", "1.0.0");
    repo.create_service(&a).await.expect("create");
    assert!(matches!(
        repo.create_service(&service("a", "1.0.0")).await,
        Err(Error::AlreadyExists(_))
    ));
    let b = service("a", "2.0.0");
    repo.create_service(&b).await.expect("other version");
    assert_eq!(repo.get_service(&a.id).await.expect("get"), Some(a.clone()));
    assert_eq!(
        repo.find_service("a", "2.0.0").await.expect("find").map(|s| s.id),
        Some(b.id.clone())
    );
    assert_eq!(repo.get_service("nope").await.expect("get"), None);
    let first = repo.list_services(0, 1).await.expect("list");
    assert_eq!(
        first.iter().map(|(_, s)| s.id.clone()).collect::<Vec<_>>(),
        vec![a.id.clone()]
    );
    let rest = repo.list_services(first[0].0, 10).await.expect("list");
    assert_eq!(
        rest.iter().map(|(_, s)| s.id.clone()).collect::<Vec<_>>(),
        vec![b.id.clone()]
    );
    // Revisions and the outbox in one transaction; a stale expected revision writes nothing.
    let mut revised = a.clone();
    revised.revision = 2;
    revised.job_result_schema = r#"{"type":"object"}"#.to_owned();
    let notice = OutboxEntry {
        id: uuid::Uuid::new_v4().to_string(),
        topic: "t".to_owned(),
        payload: "{}".to_owned(),
        attempts: 0,
        next_attempt_at: 5,
        created: 5,
    };
    assert!(repo.update_service(&revised, 1, Some(&notice)).await.expect("update"));
    assert!(!repo.update_service(&revised, 1, None).await.expect("stale update"));
    assert_eq!(
        repo.get_revision(&a.id, 2)
            .await
            .expect("rev")
            .map(|r| r.job_result_schema),
        Some(revised.job_result_schema.clone())
    );
    assert_eq!(
        repo.get_revision(&a.id, 1)
            .await
            .expect("rev")
            .map(|r| r.job_result_schema),
        Some("{}".to_owned())
    );
    assert_eq!(repo.due_outbox(10, 10).await.expect("due"), vec![notice.clone()]);
    assert_eq!(repo.due_outbox(4, 10).await.expect("not yet due"), vec![]);
    repo.reschedule_outbox(&notice.id, 100).await.expect("reschedule");
    assert_eq!(repo.due_outbox(10, 10).await.expect("due"), vec![]);
    assert_eq!(repo.outbox_backlog().await.expect("backlog"), 1);
    repo.delete_outbox(&notice.id).await.expect("delete");
    assert_eq!(repo.outbox_backlog().await.expect("backlog"), 0);
    assert!(repo.check_in(&a.id, 99).await.expect("check in"));
    assert!(!repo.check_in("missing", 99).await.expect("check in"));
    assert_eq!(
        repo.get_service(&a.id).await.expect("get").map(|s| s.last_checked_in),
        Some(99)
    );

    // Jobs: insert all or none; list in submission order; queue oldest first.
    let older = job(&a.id, 1);
    let newer = job(&a.id, 2);
    repo.insert_jobs(&[newer.clone(), older.clone()]).await.expect("insert");
    let dup = job(&a.id, 3);
    assert!(
        repo.insert_jobs(&[dup.clone(), older.clone()]).await.is_err(),
        "a duplicate id fails the batch"
    );
    assert_eq!(
        repo.get_job(&dup.id).await.expect("get"),
        None,
        "nothing of a failed batch is stored"
    );
    let listed = repo.list_jobs(Some(&a.id), 0, 10).await.expect("list");
    assert_eq!(
        listed.iter().map(|j| j.id.clone()).collect::<Vec<_>>(),
        vec![newer.id.clone(), older.id.clone()]
    );
    assert_eq!(repo.list_jobs(None, listed[0].seq, 10).await.expect("page").len(), 1);
    let queue = repo.registered_jobs(&a.id, 10).await.expect("queue");
    assert_eq!(queue[0].id, older.id, "oldest date first");

    // Claims: oldest first, each with its own token; nothing claimed twice.
    let claimed = repo.claim_jobs(&a.id, 5, 1_000, 100).await.expect("claim");
    assert_eq!(
        claimed.iter().map(|j| j.id.clone()).collect::<Vec<_>>(),
        vec![older.id.clone(), newer.id.clone()]
    );
    assert!(
        claimed
            .iter()
            .all(|j| j.status == "WORKING" && j.lease_expires_at == Some(1_000))
    );
    assert_ne!(claimed[0].lease_token, claimed[1].lease_token);
    assert!(repo.claim_jobs(&a.id, 5, 1_000, 100).await.expect("claim").is_empty());
    let token0 = claimed[0].lease_token.clone().expect("token");
    let token1 = claimed[1].lease_token.clone().expect("token");
    assert!(
        repo.extend_lease(&older.id, "wrong", 2_000, 100)
            .await
            .expect("extend")
            .is_none()
    );
    assert_eq!(
        repo.extend_lease(&older.id, &token0, 2_000, 100)
            .await
            .expect("extend")
            .and_then(|j| j.lease_expires_at),
        Some(2_000)
    );
    // Completion needs the current, live token; exactly once.
    assert!(
        repo.complete_job(&older.id, &token0, "{}", 3_000)
            .await
            .expect("expired")
            .is_none(),
        "an expired lease cannot complete"
    );
    let done = repo
        .complete_job(&older.id, &token0, r#"{"r":1}"#, 150)
        .await
        .expect("complete")
        .expect("done");
    assert_eq!(done.status, "COMPLETED");
    assert_eq!(done.lease_token, None);
    assert!(
        repo.complete_job(&older.id, &token0, "{}", 150)
            .await
            .expect("again")
            .is_none()
    );
    // Failure with retry, then expiry to ERROR after max_attempts.
    let retried = repo
        .fail_job(&newer.id, &token1, "flaky", FailMode::Retry, 150)
        .await
        .expect("fail")
        .expect("job");
    assert_eq!((retried.status.as_str(), retried.attempts), ("REGISTERED", 1));
    let again = repo.claim_jobs(&a.id, 1, 200, 160).await.expect("claim");
    assert_eq!(again.len(), 1);
    let expired = repo.expire_leases(300).await.expect("expire");
    assert_eq!(
        expired
            .iter()
            .map(|j| (j.status.clone(), j.attempts))
            .collect::<Vec<_>>(),
        vec![("ERROR".to_owned(), 2)]
    );
    // Release keeps the attempt count; cancel ends REGISTERED or WORKING jobs only.
    let third = job(&b.id, 5);
    repo.insert_jobs(std::slice::from_ref(&third)).await.expect("insert");
    let held = repo.claim_jobs(&b.id, 1, 1_000, 100).await.expect("claim").remove(0);
    let released = repo
        .fail_job(
            &third.id,
            held.lease_token.as_deref().unwrap_or_default(),
            "",
            FailMode::Release,
            110,
        )
        .await
        .expect("release")
        .expect("job");
    assert_eq!((released.status.as_str(), released.attempts), ("REGISTERED", 0));
    let cancelled = repo.cancel_job(&third.id, 120).await.expect("cancel").expect("job");
    assert!(cancelled.cancelled && cancelled.status == "ERROR");
    assert!(repo.cancel_job(&third.id, 130).await.expect("cancel").is_none());
    // TopChef's free update revokes leases.
    let fourth = job(&b.id, 6);
    repo.insert_jobs(std::slice::from_ref(&fourth)).await.expect("insert");
    let held = repo.claim_jobs(&b.id, 1, 1_000, 100).await.expect("claim").remove(0);
    let patched = repo
        .update_job(&fourth.id, Some("WORKING"), Some(r#"{"x":1}"#), 140)
        .await
        .expect("update")
        .expect("job");
    assert_eq!(patched.lease_token, None);
    assert!(
        repo.complete_job(&fourth.id, held.lease_token.as_deref().unwrap_or_default(), "{}", 150)
            .await
            .expect("complete")
            .is_none()
    );
    // Batch completion and bulk reads.
    let fifth = job(&b.id, 7);
    let sixth = job(&b.id, 8);
    repo.insert_jobs(&[fifth.clone(), sixth.clone()]).await.expect("insert");
    let held = repo.claim_jobs(&b.id, 2, 1_000, 100).await.expect("claim");
    let items: Vec<(String, String, String)> = vec![
        (
            held[0].id.clone(),
            held[0].lease_token.clone().unwrap_or_default(),
            r#"{"n":1}"#.to_owned(),
        ),
        (held[1].id.clone(), "stale".to_owned(), "{}".to_owned()),
    ];
    let outcome = repo.complete_jobs(&items, 150).await.expect("complete jobs");
    assert_eq!(outcome[0].as_ref().map(|j| j.status.as_str()), Some("COMPLETED"));
    assert!(outcome[1].is_none());
    assert_eq!(
        repo.get_jobs(&[fifth.id.clone(), sixth.id.clone(), "none".into()])
            .await
            .expect("get jobs")
            .len(),
        2
    );
    let counts = repo.job_counts().await.expect("counts");
    assert!(
        counts
            .iter()
            .any(|(s, status, n)| s == &b.id && status == "COMPLETED" && *n == 1)
    );
    let (size, _) = repo.pool_stats();
    assert!(size >= 1);
}

#[tokio::test]
async fn job_queue_repository_on_sqlite() {
    let (repo, _db) = repository(Backend::Sqlite).await.expect("sqlite");
    conformance(repo).await;
}

#[tokio::test]
async fn job_queue_repository_on_postgres() {
    let Some((repo, _db)) = repository(Backend::Postgres).await else {
        return;
    };
    conformance(repo).await;
}
