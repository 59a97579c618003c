//! The worker protocol over real gRPC: leases, exactly-once completion,
//! re-delivery after a worker dies, batch claims, watch streams.

use std::collections::HashSet;
use std::time::Duration;

use brigade_proto::jobqueue::v1 as pb;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_tests::{Backend, TestApp, eventually, grpc_channel, next_within, read};
use serde_json::json;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

async fn service(client: &mut JobQueueClient<Channel>, name: &str, lease_seconds: i64, max_attempts: i32) -> String {
    client
        .create_service(pb::CreateServiceRequest {
            name: name.to_owned(),
            description: "lease tests".to_owned(),
            job_registration_schema_json: json!({"type": "object", "properties": {"n": {"type": "integer"}}})
                .to_string(),
            job_result_schema_json:
                json!({"type": "object", "properties": {"sum": {"type": "integer"}}, "required": ["sum"]}).to_string(),
            lease_seconds: Some(lease_seconds),
            max_attempts: Some(max_attempts),
            ..Default::default()
        })
        .await
        .expect("create service")
        .into_inner()
        .service
        .expect("service")
        .id
}

async fn submit(client: &mut JobQueueClient<Channel>, service_id: &str, count: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let jobs = client
            .submit_jobs(pb::SubmitJobsRequest {
                service_id: service_id.to_owned(),
                parameters_json: chunk.iter().map(|n| json!({"n": n}).to_string()).collect(),
                ..Default::default()
            })
            .await
            .expect("submit")
            .into_inner()
            .jobs;
        ids.extend(jobs.into_iter().map(|j| j.id));
    }
    ids
}

async fn claim(client: &mut JobQueueClient<Channel>, service_id: &str, max: i32) -> Vec<pb::LeasedJob> {
    client
        .claim_jobs(pb::ClaimJobsRequest {
            service_id: service_id.to_owned(),
            max_jobs: max,
            ..Default::default()
        })
        .await
        .expect("claim")
        .into_inner()
        .jobs
}

async fn complete(
    client: &mut JobQueueClient<Channel>,
    job_id: &str,
    token: &str,
    result: serde_json::Value,
) -> Result<pb::Job, tonic::Status> {
    client
        .complete_job(pb::CompleteJobRequest {
            job_id: job_id.to_owned(),
            lease_token: token.to_owned(),
            results_json: result.to_string(),
        })
        .await
        .map(|r| r.into_inner().job.expect("job"))
}

async fn get(client: &mut JobQueueClient<Channel>, id: &str) -> pb::Job {
    client
        .get_job(pb::GetJobRequest { id: id.to_owned() })
        .await
        .expect("get job")
        .into_inner()
        .job
        .expect("job")
}

#[tokio::test]
async fn grpc_job_from_submit_to_completed_with_validated_result() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let mut client = app.job_queue().await;
    let service_id = service(&mut client, "life", 30, 3).await;
    let job = client
        .submit_job(pb::SubmitJobRequest {
            service_id: service_id.clone(),
            parameters_json: json!({"n": 2}).to_string(),
            ..Default::default()
        })
        .await
        .expect("submit")
        .into_inner()
        .job
        .expect("job");
    assert_eq!(job.status(), pb::JobStatus::Registered);
    let bad = client
        .submit_job(pb::SubmitJobRequest {
            service_id: service_id.clone(),
            parameters_json: json!({"n": "two"}).to_string(),
            ..Default::default()
        })
        .await
        .expect_err("invalid parameters");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(
        bad.get_error_details().bad_request().map(|b| b.field_violations.len()),
        Some(1)
    );

    // Services can be looked up by (name, version).
    let found = client
        .list_services(pb::ListServicesRequest {
            name: "life".into(),
            version: "1.0.0".into(),
            ..Default::default()
        })
        .await
        .expect("find")
        .into_inner()
        .services;
    assert_eq!(
        found.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        vec![service_id.clone()]
    );
    let leased = claim(&mut client, &service_id, 5).await;
    assert_eq!(leased.len(), 1);
    let token = leased[0].lease_token.clone();
    assert!(!token.is_empty());
    assert_eq!(get(&mut client, &job.id).await.status(), pb::JobStatus::Working);
    // An invalid result is refused and the job stays WORKING under the same lease.
    let refused = complete(&mut client, &job.id, &token, json!({"sum": "x"}))
        .await
        .expect_err("invalid");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(get(&mut client, &job.id).await.status(), pb::JobStatus::Working);
    // A stale token changes nothing.
    let stale = complete(&mut client, &job.id, "not-the-token", json!({"sum": 4}))
        .await
        .expect_err("stale");
    assert_eq!(stale.code(), Code::FailedPrecondition);
    client
        .extend_lease(pb::ExtendLeaseRequest {
            job_id: job.id.clone(),
            lease_token: token.clone(),
            lease_seconds: 60,
            ..Default::default()
        })
        .await
        .expect("heartbeat");
    let done = complete(&mut client, &job.id, &token, json!({"sum": 4}))
        .await
        .expect("complete");
    assert_eq!(done.status(), pb::JobStatus::Completed);
    assert_eq!(done.results_json.as_deref(), Some(r#"{"sum":4}"#));
    // Exactly once: a retried completion with the same token answers the
    // completed job (issue 17) and changes nothing.
    let again = complete(&mut client, &job.id, &token, json!({"sum": 5}))
        .await
        .expect("a retried completion answers the job");
    assert_eq!(again.status(), pb::JobStatus::Completed);
    assert_eq!(again.results_json.as_deref(), Some(r#"{"sum":4}"#));
    assert_eq!(
        complete(&mut client, &job.id, "another-token", json!({"sum": 5}))
            .await
            .expect_err("a different token")
            .code(),
        Code::FailedPrecondition
    );
    assert_eq!(
        get(&mut client, &job.id).await.results_json.as_deref(),
        Some(r#"{"sum":4}"#)
    );
}

async fn redelivery(app: &TestApp) {
    let mut client = app.job_queue().await;
    let service_id = service(&mut client, "crashy", 1, 3).await;
    let ids = submit(&mut client, &service_id, 1).await;
    // Worker A takes the job, then dies: its stream is dropped and it never completes.
    let first = {
        let mut dying = app.job_queue().await;
        claim(&mut dying, &service_id, 1).await.remove(0)
    };
    let started = std::time::Instant::now();
    let again = eventually(Duration::from_secs(10), "the job to be re-delivered", || {
        let mut client = client.clone();
        let service_id = service_id.clone();
        async move { claim(&mut client, &service_id, 1).await.pop() }
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(1 + 5),
        "recovered within lease + a few seconds"
    );
    assert_eq!(again.job.as_ref().map(|j| j.id.clone()), Some(ids[0].clone()));
    // `attempts` counts deliveries: this is the second.
    assert_eq!(again.job.as_ref().map(|j| j.attempts), Some(2));
    assert_ne!(again.lease_token, first.lease_token);
    complete(&mut client, &ids[0], &again.lease_token, json!({"sum": 1}))
        .await
        .expect("second worker completes");
    // The dead worker's late completion is refused; the job completed once.
    let late = complete(&mut client, &ids[0], &first.lease_token, json!({"sum": 99}))
        .await
        .expect_err("late");
    assert_eq!(late.code(), Code::FailedPrecondition);
    assert_eq!(
        get(&mut client, &ids[0]).await.results_json.as_deref(),
        Some(r#"{"sum":1}"#)
    );
}

#[tokio::test]
async fn killed_worker_job_is_redelivered_and_completed_once_sqlite() {
    redelivery(&TestApp::spawn(Backend::Sqlite).await.expect("app")).await;
}

#[tokio::test]
async fn killed_worker_job_is_redelivered_and_completed_once_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    redelivery(&app).await;
}

#[tokio::test]
async fn lease_expiry_ends_in_error_after_max_attempts() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let mut client = app.job_queue().await;
    let service_id = service(&mut client, "fragile", 1, 2).await;
    let id = submit(&mut client, &service_id, 1).await.remove(0);
    for attempt in 1..=2 {
        let leased = eventually(Duration::from_secs(10), "a claimable job", || {
            let mut client = client.clone();
            let service_id = service_id.clone();
            async move { claim(&mut client, &service_id, 1).await.pop() }
        })
        .await;
        assert_eq!(leased.job.map(|j| j.attempts), Some(attempt));
    }
    let job = eventually(Duration::from_secs(10), "the job to fail", || {
        let mut client = client.clone();
        let id = id.clone();
        async move {
            let job = get(&mut client, &id).await;
            (job.status() == pb::JobStatus::Error).then_some(job)
        }
    })
    .await;
    assert_eq!(job.attempts, 2);
    assert!(job.error_message.unwrap_or_default().contains("lease expired"));
}

async fn race(app: &TestApp, workers: usize, jobs: usize, batch: i32) {
    let mut client = app.job_queue().await;
    let service_id = service(&mut client, "race", 60, 3).await;
    let ids: HashSet<String> = submit(&mut client, &service_id, jobs).await.into_iter().collect();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let mut client = app.job_queue().await;
        let service_id = service_id.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let leased = claim(&mut client, &service_id, batch).await;
                if leased.is_empty() {
                    return done;
                }
                for l in leased {
                    let id = l.job.expect("job").id;
                    complete(&mut client, &id, &l.lease_token, json!({"sum": 1}))
                        .await
                        .expect("complete own lease");
                    done.push((id, l.lease_token));
                }
            }
        }));
    }
    let mut completed = Vec::new();
    for t in tasks {
        completed.extend(t.await.expect("worker"));
    }
    let unique: HashSet<String> = completed.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(completed.len(), jobs, "every job completed exactly once");
    assert_eq!(unique, ids);
    // No token completes a job twice, whoever holds it: a retry with its own
    // token answers the job unchanged, another job's token is refused.
    for pair in completed.windows(2).take(20) {
        let ((id, token), (_, other_token)) = (&pair[0], &pair[1]);
        let same = complete(&mut client, id, token, json!({"sum": 2}))
            .await
            .expect("retried completion");
        assert_eq!(same.results_json.as_deref(), Some(r#"{"sum":1}"#));
        let e = complete(&mut client, id, other_token, json!({"sum": 2}))
            .await
            .expect_err("no second completion");
        assert_eq!(e.code(), Code::FailedPrecondition);
    }
    let page = client
        .list_jobs(pb::ListJobsRequest {
            service_id: service_id.clone(),
            page_size: 10_000,
            page_token: String::new(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert!(
        page.jobs
            .iter()
            .all(|j| j.status() == pb::JobStatus::Completed && j.results_json.as_deref() == Some(r#"{"sum":1}"#))
    );
}

#[tokio::test]
async fn two_workers_racing_never_both_complete_a_job() {
    race(&TestApp::spawn(Backend::Sqlite).await.expect("app"), 2, 300, 7).await;
}

#[tokio::test]
async fn four_workers_two_thousand_jobs_on_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    race(&app, 4, 2000, 50).await;
}

#[tokio::test]
async fn cancel_and_fail() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let mut client = app.job_queue().await;
    let service_id = service(&mut client, "cf", 60, 3).await;
    let ids = submit(&mut client, &service_id, 3).await;
    let leased = claim(&mut client, &service_id, 3).await;
    // Cancel a WORKING job: its completion is refused afterwards.
    let cancelled = client
        .cancel_job(pb::CancelJobRequest {
            job_id: ids[0].clone(),
            ..Default::default()
        })
        .await
        .expect("cancel")
        .into_inner()
        .job
        .expect("job");
    assert!(cancelled.cancelled);
    assert_eq!(cancelled.status(), pb::JobStatus::Error);
    let token0 = leased
        .iter()
        .find(|l| l.job.as_ref().map(|j| &j.id) == Some(&ids[0]))
        .expect("leased")
        .lease_token
        .clone();
    assert_eq!(
        complete(&mut client, &ids[0], &token0, json!({"sum": 1}))
            .await
            .expect_err("cancelled")
            .code(),
        Code::FailedPrecondition
    );
    assert_eq!(
        client
            .cancel_job(pb::CancelJobRequest {
                job_id: ids[0].clone(),
                ..Default::default()
            })
            .await
            .expect_err("twice")
            .code(),
        Code::FailedPrecondition
    );
    // Fail with retry puts it back; without, ERROR with the message.
    let token = |id: &String| {
        leased
            .iter()
            .find(|l| l.job.as_ref().map(|j| &j.id) == Some(id))
            .expect("leased")
            .lease_token
            .clone()
    };
    let retried = client
        .fail_job(pb::FailJobRequest {
            job_id: ids[1].clone(),
            lease_token: token(&ids[1]),
            error_message: "flaky".into(),
            retry: true,
            ..Default::default()
        })
        .await
        .expect("fail retry")
        .into_inner()
        .job
        .expect("job");
    assert_eq!(retried.status(), pb::JobStatus::Registered);
    assert_eq!(retried.attempts, 1);
    let failed = client
        .fail_job(pb::FailJobRequest {
            job_id: ids[2].clone(),
            lease_token: token(&ids[2]),
            error_message: "broken detector".into(),
            retry: false,
            ..Default::default()
        })
        .await
        .expect("fail")
        .into_inner()
        .job
        .expect("job");
    assert_eq!(failed.status(), pb::JobStatus::Error);
    assert_eq!(failed.error_message.as_deref(), Some("broken detector"));
    // Release hands a job back without counting an attempt (the retried job
    // is claimable again once its backoff has passed).
    let held = eventually(Duration::from_secs(10), "the retried job after its backoff", || {
        let mut client = client.clone();
        let service_id = service_id.clone();
        async move { claim(&mut client, &service_id, 1).await.pop() }
    })
    .await;
    let released = client
        .fail_job(pb::FailJobRequest {
            job_id: held.job.as_ref().expect("job").id.clone(),
            lease_token: held.lease_token.clone(),
            release: true,
            ..Default::default()
        })
        .await
        .expect("release")
        .into_inner()
        .job
        .expect("job");
    assert_eq!(released.status(), pb::JobStatus::Registered);
    assert_eq!(released.attempts, held.job.as_ref().expect("job").attempts - 1);
    // Asking for no jobs is a mistake, not a claim of one.
    let zero = client
        .claim_jobs(pb::ClaimJobsRequest {
            service_id: service_id.clone(),
            max_jobs: 0,
            ..Default::default()
        })
        .await
        .expect_err("max_jobs 0");
    assert_eq!(zero.code(), Code::InvalidArgument);
    // A TopChef PATCH revokes the lease of a held job.
    let held = claim(&mut client, &service_id, 1).await.remove(0);
    let held_id = held.job.expect("job").id;
    app.patch(&format!("/jobs/{held_id}"), &json!({"status": "WORKING"}))
        .await;
    assert_eq!(
        complete(&mut client, &held_id, &held.lease_token, json!({"sum": 1}))
            .await
            .expect_err("revoked")
            .code(),
        Code::FailedPrecondition
    );
}

#[tokio::test]
async fn watch_queue_receives_jobs_submitted_after_it_opened() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let mut client = app.job_queue().await;
    let service_id = service(&mut client, "watched", 60, 3).await;
    let backlog = submit(&mut client, &service_id, 1).await;
    let mut stream = client
        .watch_queue(pb::WatchQueueRequest {
            service_id: service_id.clone(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("backlog in time");
    assert_eq!(
        first.and_then(Result::ok).and_then(|r| r.job).map(|j| j.id),
        Some(backlog[0].clone())
    );
    let new = submit(&mut client, &service_id, 1).await;
    let pushed = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("pushed in time");
    assert_eq!(
        pushed.and_then(Result::ok).and_then(|r| r.job).map(|j| j.id),
        Some(new[0].clone())
    );

    // WatchJob follows one job to its end.
    let mut job_stream = client
        .watch_job(pb::WatchJobRequest { job_id: new[0].clone() })
        .await
        .expect("watch job")
        .into_inner();
    let current = next_within(&mut job_stream, Duration::from_secs(5), "current job from WatchJob")
        .await
        .and_then(Result::ok)
        .and_then(|r| r.job)
        .expect("current");
    assert_eq!(current.status(), pb::JobStatus::Registered);
    let leased = claim(&mut client, &service_id, 2).await;
    for l in leased {
        complete(&mut client, &l.job.expect("job").id, &l.lease_token, json!({"sum": 0}))
            .await
            .expect("complete");
    }
    let mut statuses = Vec::new();
    while let Some(Ok(update)) = tokio::time::timeout(Duration::from_secs(5), job_stream.next())
        .await
        .expect("update in time")
    {
        statuses.push(update.job.expect("job").status());
    }
    assert_eq!(statuses, vec![pb::JobStatus::Working, pb::JobStatus::Completed]);
}

#[tokio::test]
async fn watch_works_across_replicas_on_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    // A second job-queue replica on the same database.
    let replica = brigade_job_queue::Application::build(brigade_job_queue::Config::local(
        "127.0.0.1:0".parse().expect("addr"),
        app.db.dir.path().to_path_buf(),
        app.db.url.clone(),
        app.recipe_types_url(),
    ))
    .await
    .expect("replica");
    let replica_url = format!("http://{}", replica.local_addr());
    let (stop, waiter) = brigade_common::shutdown::Shutdown::new();
    let running = tokio::spawn(replica.run_until_stopped(waiter.wait()));
    let mut on_replica = JobQueueClient::new(grpc_channel(replica_url).await);
    let mut on_primary = app.job_queue().await;
    let service_id = service(&mut on_primary, "spread", 60, 3).await;
    let mut stream = on_replica
        .watch_queue(pb::WatchQueueRequest {
            service_id: service_id.clone(),
        })
        .await
        .expect("watch")
        .into_inner();
    let submitted = submit(&mut on_primary, &service_id, 1).await;
    let pushed = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("pushed across replicas");
    assert_eq!(
        pushed.and_then(Result::ok).and_then(|r| r.job).map(|j| j.id),
        Some(submitted[0].clone())
    );
    // And the other way: the replica announces to the replica that was
    // there first (which, alone until then, announced nothing).
    let mut back = on_primary
        .watch_queue(pb::WatchQueueRequest {
            service_id: service_id.clone(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(10), back.next())
        .await
        .expect("backlog")
        .and_then(Result::ok)
        .and_then(|r| r.job)
        .map(|j| j.id);
    assert_eq!(first, Some(submitted[0].clone()), "the backlog first");
    let from_replica = submit(&mut on_replica, &service_id, 1).await;
    let pushed = tokio::time::timeout(Duration::from_secs(10), back.next())
        .await
        .expect("pushed across replicas");
    assert_eq!(
        pushed.and_then(Result::ok).and_then(|r| r.job).map(|j| j.id),
        Some(from_replica[0].clone())
    );
    stop.trigger();
    running.await.expect("join").expect("replica stops cleanly");
}

#[tokio::test]
async fn rest_mirror_of_the_worker_protocol() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let id = app
        .create_service(
            "rest-worker",
            json!({"type": "object"}),
            json!({"type": "object", "required": ["ok"]}),
        )
        .await;
    let (status, batch) = app
        .post(
            &format!("/services/{id}/jobs/batch"),
            &json!({"parameters": [{"a": 1}, {"a": 2}]}),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    assert_eq!(batch["data"].as_array().map(Vec::len), Some(2));
    let (status, bad) = app
        .post(
            &format!("/services/{id}/jobs/batch"),
            &json!({"parameters": [{"a": 1}, 5]}),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    let (status, claimed) = app
        .post(&format!("/services/{id}/jobs/claim"), &json!({"max_jobs": 5}))
        .await;
    assert_eq!(status, 200, "{claimed}");
    let leased = claimed["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(leased.len(), 2, "all-or-nothing batch stored only the good one");
    let job_id = leased[0]["id"].as_str().expect("id").to_owned();
    let token = leased[0]["lease_token"].as_str().expect("token").to_owned();
    let (status, _) = app
        .post(&format!("/jobs/{job_id}/heartbeat"), &json!({"lease_token": token}))
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post(
            &format!("/jobs/{job_id}/complete"),
            &json!({"lease_token": token, "results": {}}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["title"], "JSONSchema Validation Error");
    let (status, body) = app
        .post(
            &format!("/jobs/{job_id}/complete"),
            &json!({"lease_token": "nope", "results": {"ok": true}}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["title"], "Stale Lease");
    let (status, body) = app
        .post(
            &format!("/jobs/{job_id}/complete"),
            &json!({"lease_token": token, "results": {"ok": true}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "COMPLETED");
    let other = leased[1]["id"].as_str().expect("id").to_owned();
    let other_token = leased[1]["lease_token"].as_str().expect("token").to_owned();
    let (status, body) = app
        .post(
            &format!("/jobs/{other}/fail"),
            &json!({"lease_token": other_token, "error": "lamp broke"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["status"], "ERROR");
    let (_, detail) = app.get(&format!("/jobs/{other}")).await;
    assert_eq!(detail["data"]["error_message"], "lamp broke");
    let r = app
        .http
        .post(app.url(&format!("/jobs/{other}/cancel")))
        .send()
        .await
        .expect("cancel");
    assert_eq!(read(r).await.0, 400, "an ERROR job cannot be cancelled");
}

async fn batch_completion(app: &TestApp) {
    let mut client = app.job_queue().await;
    let service_id = service(&mut client, "batch-complete", 60, 3).await;
    submit(&mut client, &service_id, 4).await;
    let leased = claim(&mut client, &service_id, 4).await;
    let id = |i: usize| leased[i].job.as_ref().expect("job").id.clone();
    let request = |i: usize, token: &str, result: serde_json::Value| pb::CompleteJobRequest {
        job_id: id(i),
        lease_token: token.to_owned(),
        results_json: result.to_string(),
    };
    let missing = uuid::Uuid::new_v4().to_string();
    let outcomes = client
        .complete_jobs(pb::CompleteJobsRequest {
            completions: vec![
                request(0, &leased[0].lease_token, json!({"sum": 0})),
                request(1, &leased[1].lease_token, json!({"sum": "bad"})),
                request(2, "stale", json!({"sum": 2})),
                pb::CompleteJobRequest {
                    job_id: missing,
                    lease_token: "x".into(),
                    results_json: "{}".into(),
                },
                request(3, &leased[3].lease_token, json!({"sum": 3})),
            ],
        })
        .await
        .expect("complete jobs")
        .into_inner()
        .outcomes;
    let codes: Vec<i32> = outcomes.iter().map(|o| o.code).collect();
    assert_eq!(
        codes,
        vec![
            0,
            Code::InvalidArgument as i32,
            Code::FailedPrecondition as i32,
            Code::NotFound as i32,
            0
        ]
    );
    assert_eq!(
        outcomes[0].job.as_ref().map(brigade_proto::jobqueue::v1::Job::status),
        Some(pb::JobStatus::Completed)
    );
    assert_eq!(
        get(&mut client, &id(0)).await.results_json.as_deref(),
        Some(r#"{"sum":0}"#)
    );
    assert_eq!(get(&mut client, &id(1)).await.status(), pb::JobStatus::Working);
    assert_eq!(get(&mut client, &id(2)).await.status(), pb::JobStatus::Working);
    assert_eq!(
        get(&mut client, &id(3)).await.results_json.as_deref(),
        Some(r#"{"sum":3}"#)
    );
    // A second batch with the same tokens completes nothing twice: the retried
    // completion answers the job as it was, another job's token is refused.
    let again = client
        .complete_jobs(pb::CompleteJobsRequest {
            completions: vec![
                request(0, &leased[0].lease_token, json!({"sum": 9})),
                request(0, &leased[3].lease_token, json!({"sum": 9})),
            ],
        })
        .await
        .expect("again")
        .into_inner()
        .outcomes;
    assert_eq!(again[0].code, 0);
    assert_eq!(
        again[0].job.as_ref().and_then(|j| j.results_json.as_deref()),
        Some(r#"{"sum":0}"#)
    );
    assert_eq!(again[1].code, Code::FailedPrecondition as i32);
}

#[tokio::test]
async fn batch_completion_outcomes_stand_alone_sqlite() {
    batch_completion(&TestApp::spawn(Backend::Sqlite).await.expect("app")).await;
}

#[tokio::test]
async fn batch_completion_outcomes_stand_alone_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    batch_completion(&app).await;
}
