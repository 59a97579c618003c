//! Backoff, priority, run-at, pause, progress, cancel, history, retention,
//! bulk retry and list filters, each on one job-queue on SQLite.

use std::time::{Duration, Instant};

use brigade_job_queue::grpc::timestamp;
use brigade_proto::jobqueue::v1 as pb;
use brigade_tests::{Backend, TestDatabase, eventually, next_within};
use serde_json::json;
use tokio_stream::StreamExt;
use tonic::Code;

use super::{
    DEADLINE, Replica, claim, complete, fail_retry, get, job_id, micros, now_micros, nowhere, service, submit, submit_n,
};

async fn sqlite() -> (TestDatabase, Replica) {
    let db = TestDatabase::new(Backend::Sqlite).await.expect("sqlite");
    let replica = Replica::start(&db, nowhere()).await;
    (db, replica)
}

#[tokio::test]
async fn a_retried_failure_waits_for_its_backoff() {
    let (_db, jq) = sqlite().await;
    let mut client = jq.client().await;
    let service_id = service(&mut client, "backoff", |r| {
        r.retry_backoff_base_ms = Some(1500);
        r.retry_backoff_cap_ms = Some(60_000);
    })
    .await;
    submit_n(&mut client, &service_id, 1).await;
    let leased = claim(&mut client, &service_id, 1, "w").await.remove(0);
    let failed_at = Instant::now();
    let retried = fail_retry(&mut client, &leased, "flaky").await;
    assert_eq!(retried.status(), pb::JobStatus::Registered);
    let due = micros(retried.due_at.as_ref().expect("due_at shown"));
    assert!(due >= now_micros() + 1_000_000, "due at least the base delay ahead");
    assert!(
        claim(&mut client, &service_id, 1, "w").await.is_empty(),
        "not claimable before its delay"
    );
    let again = eventually(DEADLINE, "the job claimable after its backoff", || {
        let mut client = client.clone();
        let service_id = service_id.clone();
        async move { claim(&mut client, &service_id, 1, "w").await.pop() }
    })
    .await;
    assert!(
        failed_at.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        failed_at.elapsed()
    );
    assert_eq!(job_id(&again), job_id(&leased));
    assert_eq!(again.job.as_ref().map(|j| j.attempts), Some(2));
}

#[tokio::test]
async fn higher_priority_first_then_oldest_and_run_at_waits() {
    let (_db, jq) = sqlite().await;
    let mut client = jq.client().await;
    let service_id = service(&mut client, "prio", |_| {}).await;
    let mut ids = Vec::new();
    for (n, priority) in [(1, 0), (2, 5), (3, 0), (4, 5)] {
        let job = submit(
            &mut client,
            pb::SubmitJobRequest {
                service_id: service_id.clone(),
                parameters_json: json!({ "n": n }).to_string(),
                priority,
                ..Default::default()
            },
        )
        .await;
        ids.push(job.id);
    }
    let later = submit(
        &mut client,
        pb::SubmitJobRequest {
            service_id: service_id.clone(),
            parameters_json: json!({"n": 9}).to_string(),
            priority: 100,
            run_at: Some(timestamp(now_micros() + 1_500_000)),
            ..Default::default()
        },
    )
    .await;
    assert!(later.due_at.is_some(), "a job not yet due shows its due time");
    assert_eq!(later.status(), pb::JobStatus::Registered);
    let order: Vec<String> = claim(&mut client, &service_id, 10, "w")
        .await
        .iter()
        .map(job_id)
        .collect();
    assert_eq!(
        order,
        vec![ids[1].clone(), ids[3].clone(), ids[0].clone(), ids[2].clone()]
    );
    let started = Instant::now();
    let due = eventually(DEADLINE, "the run_at job", || {
        let mut client = client.clone();
        let service_id = service_id.clone();
        async move { claim(&mut client, &service_id, 1, "w").await.pop() }
    })
    .await;
    assert_eq!(job_id(&due), later.id);
    assert!(started.elapsed() >= Duration::from_millis(1000));
}

#[tokio::test]
async fn a_paused_service_accepts_jobs_but_hands_none_out() {
    let (_db, jq) = sqlite().await;
    let mut client = jq.client().await;
    let service_id = service(&mut client, "pausable", |r| r.paused = true).await;
    let job = submit_n(&mut client, &service_id, 1).await;
    assert!(claim(&mut client, &service_id, 1, "w").await.is_empty());
    let resumed = client
        .update_service(pb::UpdateServiceRequest {
            id: service_id.clone(),
            paused: Some(false),
            ..Default::default()
        })
        .await
        .expect("resume")
        .into_inner()
        .service
        .expect("service");
    assert!(!resumed.paused);
    assert_eq!(
        claim(&mut client, &service_id, 1, "w")
            .await
            .iter()
            .map(job_id)
            .collect::<Vec<_>>(),
        vec![job.id]
    );
}

#[tokio::test]
async fn progress_shows_on_get_job_and_watch_job() {
    let (_db, jq) = sqlite().await;
    let mut client = jq.client().await;
    let service_id = service(&mut client, "progress", |_| {}).await;
    submit_n(&mut client, &service_id, 1).await;
    let leased = claim(&mut client, &service_id, 1, "w").await.remove(0);
    let id = job_id(&leased);
    let mut watch = client
        .watch_job(pb::WatchJobRequest { job_id: id.clone() })
        .await
        .expect("watch")
        .into_inner();
    let first = next_within(&mut watch, DEADLINE, "current job")
        .await
        .expect("item")
        .expect("ok");
    assert_eq!(first.job.and_then(|j| j.progress), None);
    client
        .extend_lease(pb::ExtendLeaseRequest {
            job_id: id.clone(),
            lease_token: leased.lease_token.clone(),
            progress: Some(40),
            progress_message: Some("focusing".into()),
            ..Default::default()
        })
        .await
        .expect("heartbeat");
    let pushed = next_within(&mut watch, DEADLINE, "progress")
        .await
        .expect("item")
        .expect("ok");
    let pushed = pushed.job.expect("job");
    assert_eq!(
        (pushed.progress, pushed.progress_message.as_deref()),
        (Some(40), Some("focusing"))
    );
    let stored = get(&mut client, &id).await;
    assert_eq!(
        (stored.progress, stored.progress_message.as_deref()),
        (Some(40), Some("focusing"))
    );
    let bad = client
        .extend_lease(pb::ExtendLeaseRequest {
            job_id: id.clone(),
            lease_token: leased.lease_token.clone(),
            progress: Some(101),
            ..Default::default()
        })
        .await
        .expect_err("out of range");
    assert_eq!(bad.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn cancel_reaches_the_worker_through_its_stream_and_heartbeat() {
    let (_db, jq) = sqlite().await;
    let mut client = jq.client().await;
    let service_id = service(&mut client, "cancellable", |_| {}).await;
    submit_n(&mut client, &service_id, 1).await;
    let leased = claim(&mut client, &service_id, 1, "w").await.remove(0);
    let mut stream = client
        .watch_queue(pb::WatchQueueRequest {
            service_id: service_id.clone(),
        })
        .await
        .expect("watch")
        .into_inner();
    client
        .cancel_job(pb::CancelJobRequest {
            job_id: job_id(&leased),
            reason: "sample damaged".into(),
        })
        .await
        .expect("cancel");
    let notice = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(item) = stream.next().await {
            let item = item.expect("ok");
            if item.cancelled_job_id.is_some() {
                return item;
            }
        }
        panic!("stream ended");
    })
    .await
    .expect("the cancel notice within a second");
    assert_eq!(notice.cancelled_job_id, Some(job_id(&leased)));
    assert_eq!(notice.cancel_reason, "sample damaged");
    let answer = client
        .extend_lease(pb::ExtendLeaseRequest {
            job_id: job_id(&leased),
            lease_token: leased.lease_token.clone(),
            ..Default::default()
        })
        .await
        .expect("a heartbeat after cancel answers, not fails")
        .into_inner();
    assert!(answer.cancelled);
    assert_eq!(answer.cancel_reason, "sample damaged");
    let stranger = client
        .extend_lease(pb::ExtendLeaseRequest {
            job_id: job_id(&leased),
            lease_token: "not-the-lease".into(),
            ..Default::default()
        })
        .await
        .expect_err("another token is stale");
    assert_eq!(stranger.code(), Code::FailedPrecondition);
    assert_eq!(
        get(&mut client, &job_id(&leased)).await.cancel_reason.as_deref(),
        Some("sample damaged")
    );
}

#[tokio::test]
async fn history_of_a_job_that_failed_twice_then_completed() {
    let (_db, jq) = sqlite().await;
    let mut client = jq.client().await;
    let service_id = service(&mut client, "history", |r| {
        r.retry_backoff_base_ms = Some(0);
        r.retry_backoff_cap_ms = Some(0);
    })
    .await;
    let id = submit_n(&mut client, &service_id, 1).await.id;
    for (worker, message) in [("scope-a", "lamp off"), ("scope-b", "focus lost")] {
        let leased = claim(&mut client, &service_id, 1, worker).await.remove(0);
        fail_retry(&mut client, &leased, message).await;
    }
    let leased = claim(&mut client, &service_id, 1, "scope-c").await.remove(0);
    let done = complete(&mut client, &leased, 3).await;
    assert_eq!(done.attempts, 3, "attempts counts deliveries");
    let job = get(&mut client, &id).await;
    let history: Vec<(i32, &str, &str, Option<&str>, bool)> = job
        .attempt_history
        .iter()
        .map(|a| {
            (
                a.number,
                a.worker_id.as_str(),
                a.outcome.as_str(),
                a.error_message.as_deref(),
                a.finished.is_some(),
            )
        })
        .collect();
    assert_eq!(
        history,
        vec![
            (1, "scope-a", "RETRIED", Some("lamp off"), true),
            (2, "scope-b", "RETRIED", Some("focus lost"), true),
            (3, "scope-c", "COMPLETED", None, true),
        ]
    );
}

#[tokio::test]
async fn a_completed_first_try_shows_one_attempt() {
    let (_db, jq) = sqlite().await;
    let mut client = jq.client().await;
    let service_id = service(&mut client, "once", |_| {}).await;
    submit_n(&mut client, &service_id, 1).await;
    let leased = claim(&mut client, &service_id, 1, "w").await.remove(0);
    assert_eq!(complete(&mut client, &leased, 1).await.attempts, 1);
}

#[tokio::test]
async fn retention_deletes_only_finished_jobs_past_their_age() {
    let (_db, jq) = sqlite().await;
    let mut client = jq.client().await;
    let service_id = service(&mut client, "retention", |_| {}).await;
    let waiting = submit_n(&mut client, &service_id, 1).await;
    let old = submit_n(&mut client, &service_id, 2).await;
    // Claim order is oldest first: take both, finish the second one early.
    let leased = claim(&mut client, &service_id, 2, "w").await;
    let old_lease = leased.iter().find(|l| job_id(l) == old.id).expect("old leased");
    complete(&mut client, old_lease, 2).await;
    let working = leased.iter().find(|l| job_id(l) == waiting.id).expect("other leased");
    let finished_at = Instant::now();
    eventually(DEADLINE, "a second to pass", || async {
        (finished_at.elapsed() >= Duration::from_millis(1200)).then_some(())
    })
    .await;
    let fresh = submit_n(&mut client, &service_id, 3).await;
    let fresh_lease = claim(&mut client, &service_id, 1, "w").await.remove(0);
    assert_eq!(job_id(&fresh_lease), fresh.id);
    complete(&mut client, &fresh_lease, 3).await;
    let deleted = jq.queue.purge_finished(Duration::from_secs(1)).await.expect("purge");
    assert_eq!(deleted, 1);
    let gone = client
        .get_job(pb::GetJobRequest { id: old.id.clone() })
        .await
        .expect_err("old is gone");
    assert_eq!(gone.code(), Code::NotFound);
    assert_eq!(get(&mut client, &fresh.id).await.status(), pb::JobStatus::Completed);
    assert_eq!(
        get(&mut client, &job_id(working)).await.status(),
        pb::JobStatus::Working
    );
    // DeleteJob: a finished job goes, an unfinished one stays.
    client
        .delete_job(pb::DeleteJobRequest {
            job_id: fresh.id.clone(),
        })
        .await
        .expect("delete finished");
    let refused = client
        .delete_job(pb::DeleteJobRequest {
            job_id: job_id(working),
        })
        .await
        .expect_err("unfinished");
    assert_eq!(refused.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn bulk_retry_and_cancel_follow_the_filter_and_lists_filter() {
    let (_db, jq) = sqlite().await;
    let mut client = jq.client().await;
    let service_id = service(&mut client, "bulk", |_| {}).await;
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(submit_n(&mut client, &service_id, n).await.id);
    }
    let between = now_micros();
    let late = submit_n(&mut client, &service_id, 9).await.id;
    // Three fail for good, one completes; the late one waits.
    let leased = claim(&mut client, &service_id, 4, "w").await;
    for l in &leased[..3] {
        client
            .fail_job(pb::FailJobRequest {
                job_id: job_id(l),
                lease_token: l.lease_token.clone(),
                error_message: "broken".into(),
                ..Default::default()
            })
            .await
            .expect("fail");
    }
    complete(&mut client, &leased[3], 1).await;
    let lister = client.clone();
    let list = |statuses: Vec<pb::JobStatus>, since: Option<i64>, until: Option<i64>| {
        let mut client = lister.clone();
        let service_id = service_id.clone();
        async move {
            let mut ids: Vec<String> = client
                .list_jobs(pb::ListJobsRequest {
                    service_id,
                    statuses: statuses.into_iter().map(|s| s as i32).collect(),
                    since: since.map(timestamp),
                    until: until.map(timestamp),
                    ..Default::default()
                })
                .await
                .expect("list")
                .into_inner()
                .jobs
                .into_iter()
                .map(|j| j.id)
                .collect();
            ids.sort();
            ids
        }
    };
    let mut errors: Vec<String> = leased[..3].iter().map(job_id).collect();
    errors.sort();
    assert_eq!(list(vec![pb::JobStatus::Error], None, None).await, errors);
    assert_eq!(list(vec![], Some(between), None).await, vec![late.clone()]);
    let mut early = ids.clone();
    early.sort();
    assert_eq!(list(vec![], None, Some(between)).await, early);
    assert_eq!(
        list(vec![pb::JobStatus::Registered, pb::JobStatus::Completed], None, None)
            .await
            .len(),
        2
    );
    let retried = client
        .retry_jobs(pb::RetryJobsRequest {
            filter: Some(pb::JobFilter {
                service_id: service_id.clone(),
                statuses: vec![pb::JobStatus::Error as i32],
                ..Default::default()
            }),
        })
        .await
        .expect("bulk retry")
        .into_inner();
    assert_eq!(retried.count, 3);
    assert!(list(vec![pb::JobStatus::Error], None, None).await.is_empty());
    let again = get(&mut client, &errors[0]).await;
    assert_eq!(
        (again.status(), again.attempts, again.error_message),
        (pb::JobStatus::Registered, 0, None)
    );
    let cancelled = client
        .cancel_jobs(pb::CancelJobsRequest {
            filter: Some(pb::JobFilter {
                service_id: service_id.clone(),
                statuses: vec![pb::JobStatus::Registered as i32],
                since: Some(timestamp(between)),
                ..Default::default()
            }),
            reason: "end of shift".into(),
        })
        .await
        .expect("bulk cancel")
        .into_inner();
    assert_eq!(cancelled.count, 1, "only the late job lies in the range");
    let late_job = get(&mut client, &late).await;
    assert!(late_job.cancelled);
    assert_eq!(late_job.cancel_reason.as_deref(), Some("end of shift"));
    let one = client
        .retry_job(pb::RetryJobRequest { job_id: late.clone() })
        .await
        .expect("retry one")
        .into_inner()
        .job
        .expect("job");
    assert_eq!(one.status(), pb::JobStatus::Registered);
    assert!(!one.cancelled);
    let not_error = client
        .retry_job(pb::RetryJobRequest { job_id: late })
        .await
        .expect_err("only ERROR jobs");
    assert_eq!(not_error.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn an_empty_version_on_update_is_invalid() {
    let (_db, jq) = sqlite().await;
    let mut client = jq.client().await;
    let service_id = service(&mut client, "versioned", |_| {}).await;
    let e = client
        .update_service(pb::UpdateServiceRequest {
            id: service_id,
            version: Some(String::new()),
            ..Default::default()
        })
        .await
        .expect_err("empty version");
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn a_claim_checks_the_service_in_and_pages_are_capped() {
    let db = TestDatabase::new(Backend::Sqlite).await.expect("sqlite");
    let jq = Replica::start_with(&db, nowhere(), |c| c.limits.max_page_size = 2).await;
    let mut client = jq.client().await;
    let service_id = service(&mut client, "checked-in", |_| {}).await;
    for n in 0..3 {
        submit_n(&mut client, &service_id, n).await;
    }
    let checked_in = |client: &mut brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient<_>| {
        let mut client = client.clone();
        let id = service_id.clone();
        async move {
            let s = client
                .get_service(pb::GetServiceRequest { id })
                .await
                .expect("service")
                .into_inner()
                .service
                .expect("service");
            micros(s.last_checked_in.as_ref().expect("checked in"))
        }
    };
    let before = checked_in(&mut client).await;
    let started = Instant::now();
    eventually(DEADLINE, "a second after the last check-in", || async {
        (started.elapsed() >= Duration::from_millis(1100)).then_some(())
    })
    .await;
    claim(&mut client, &service_id, 1, "w").await;
    assert!(checked_in(&mut client).await > before, "a claim counts as a check-in");
    let page = client
        .list_jobs(pb::ListJobsRequest {
            service_id: service_id.clone(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(page.jobs.len(), 2, "the page size is capped");
    assert!(!page.next_page_token.is_empty());
}

/// A batch completion ends every attempt of the batch (one statement for the
/// whole batch) and leaves the attempts of the other jobs running.
#[tokio::test]
async fn a_batch_completion_ends_each_attempt_on_both_databases() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(db) = TestDatabase::new(backend).await else {
            continue;
        };
        let jq = Replica::start(&db, nowhere()).await;
        let mut client = jq.client().await;
        let service_id = service(&mut client, "batch-history", |_| {}).await;
        for n in 0..4 {
            submit_n(&mut client, &service_id, n).await;
        }
        let leased = claim(&mut client, &service_id, 4, "batcher").await;
        assert_eq!(leased.len(), 4);
        let (done, open) = leased.split_at(3);
        let answers = client
            .complete_jobs(pb::CompleteJobsRequest {
                completions: done
                    .iter()
                    .map(|l| pb::CompleteJobRequest {
                        job_id: job_id(l),
                        lease_token: l.lease_token.clone(),
                        results_json: json!({ "sum": 1 }).to_string(),
                    })
                    .collect(),
            })
            .await
            .expect("complete batch")
            .into_inner();
        assert_eq!(answers.outcomes.len(), 3, "{backend:?}");
        for l in done {
            let job = get(&mut client, &job_id(l)).await;
            assert_eq!(job.status(), pb::JobStatus::Completed, "{backend:?}");
            let history: Vec<(&str, &str, bool)> = job
                .attempt_history
                .iter()
                .map(|a| (a.worker_id.as_str(), a.outcome.as_str(), a.finished.is_some()))
                .collect();
            assert_eq!(history, vec![("batcher", "COMPLETED", true)], "{backend:?}");
        }
        let running = get(&mut client, &job_id(&open[0])).await;
        let history: Vec<(&str, bool)> = running
            .attempt_history
            .iter()
            .map(|a| (a.outcome.as_str(), a.finished.is_some()))
            .collect();
        assert_eq!(history, vec![("RUNNING", false)], "{backend:?}");
        jq.stop().await;
    }
}

/// The retention timer runs by itself: with a one-second retention a finished
/// job disappears within seconds, and a waiting one stays.
#[tokio::test]
async fn the_retention_timer_deletes_finished_jobs_by_itself() {
    let db = TestDatabase::new(Backend::Sqlite).await.expect("sqlite");
    let jq = Replica::start_with(&db, nowhere(), |c| c.limits.job_retention = Duration::from_secs(1)).await;
    let mut client = jq.client().await;
    let service_id = service(&mut client, "retention-timer", |_| {}).await;
    let done = submit_n(&mut client, &service_id, 1).await;
    let leased = claim(&mut client, &service_id, 1, "w").await.remove(0);
    assert_eq!(job_id(&leased), done.id);
    complete(&mut client, &leased, 1).await;
    let waiting = submit_n(&mut client, &service_id, 2).await;
    eventually(Duration::from_secs(15), "the finished job to be deleted", || {
        let mut client = client.clone();
        let id = done.id.clone();
        async move {
            let gone = client.get_job(pb::GetJobRequest { id }).await.err()?;
            (gone.code() == Code::NotFound).then_some(())
        }
    })
    .await;
    assert_eq!(get(&mut client, &waiting.id).await.status(), pb::JobStatus::Registered);
    jq.stop().await;
}
