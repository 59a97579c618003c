//! `Client` against a real Brigade: connecting, registering, submitting,
//! listing, watching and waiting, and the lease calls, including result-schema
//! rejections and error reasons.

mod common;

use std::time::{Duration, SystemTime};

use brigade_client::{Client, ConnectOptions, Error, ErrorReason, JobFilter, JobStatus, ServiceUpdate, SubmitOptions};
use common::{TestSystem, eventually, squares, start_system, within};
use futures::StreamExt;
use serde_json::json;

#[tokio::test]
async fn connect_gives_up_after_bounded_retries() {
    // A port nobody listens on: bind, note it, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let options = ConnectOptions::default()
        .max_attempts(3)
        .initial_backoff(Duration::from_millis(10))
        .max_backoff(Duration::from_millis(20));
    let result = within(
        Duration::from_secs(10),
        "connect to give up",
        Client::connect_with(format!("http://127.0.0.1:{port}"), options),
    )
    .await;
    match result {
        Err(Error::Connect { attempts, .. }) => assert_eq!(attempts, 3),
        other => panic!("expected Error::Connect, got {other:?}"),
    }
    assert!(matches!(
        Client::connect("not a url").await,
        Err(Error::Connect { attempts: 0, .. })
    ));
}

#[tokio::test]
async fn connect_retries_until_the_server_comes_up() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let options = ConnectOptions::default()
        .max_attempts(100)
        .initial_backoff(Duration::from_millis(20))
        .max_backoff(Duration::from_millis(100));
    let connecting = tokio::spawn(Client::connect_with(format!("http://{addr}"), options));
    // Let the first attempts fail before the server exists.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!connecting.is_finished(), "connected to nothing?");
    let dir = tempfile::tempdir().expect("temp dir");
    let system = start_system(dir.path(), addr).await;
    let client = within(Duration::from_secs(15), "the retried connect", connecting)
        .await
        .expect("task")
        .expect("connects once the server is up");
    let service = client.register_service(&squares("late")).await.expect("usable");
    assert_eq!(service.name, "late");
    system.stop().await.expect("stops");
}

#[tokio::test]
async fn register_service_creates_once_then_finds_it() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let lease = Duration::from_secs(7);
    let first = client
        .register_service(&squares("spectrometer").lease(lease).max_attempts(5))
        .await
        .expect("created");
    assert_eq!(first.version, brigade_client::DEFAULT_VERSION);
    assert_eq!(first.lease, lease);
    assert_eq!(first.max_attempts, 5);
    assert_eq!(first.result_schema["required"], json!(["square"]));

    let again = client.register_service(&squares("spectrometer")).await.expect("found");
    assert_eq!(again.id, first.id);

    let v2 = client
        .register_service(&squares("spectrometer").version("2.0.0"))
        .await
        .expect("another version is another service");
    assert_ne!(v2.id, first.id);
    assert_eq!(client.get_service(&v2.id).await.expect("get").version, "2.0.0");
    assert_eq!(
        client
            .find_service("spectrometer", "2.0.0")
            .await
            .expect("list")
            .map(|s| s.id),
        Some(v2.id)
    );
    assert!(client.find_service("spectrometer", "9").await.expect("list").is_none());

    let bad = client
        .register_service(&brigade_client::ServiceDefinition::new("", json!({}), json!({})))
        .await;
    assert!(matches!(bad, Err(Error::InvalidArgument { .. })), "{bad:?}");
    sys.stop().await;
}

#[tokio::test]
async fn submit_get_and_not_found() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client.register_service(&squares("submit")).await.expect("service");

    let job = client.submit(&service.id, &json!({"n": 4})).await.expect("submitted");
    assert_eq!(job.status, JobStatus::Registered);
    assert_eq!(job.parameters, json!({"n": 4}));
    let read = client.get_job(&job.id).await.expect("read back");
    assert_eq!(read.id, job.id);
    assert_eq!(read.service_id, service.id);
    assert!(read.results.is_none());

    match client.submit(&service.id, &json!({"n": "four"})).await {
        Err(Error::InvalidArgument { violations, .. }) => {
            assert!(!violations.is_empty());
            assert!(violations.iter().all(|v| v.starts_with("parameters")), "{violations:?}");
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    let missing = uuid::Uuid::new_v4().to_string();
    assert!(matches!(client.get_job(&missing).await, Err(Error::NotFound(_))));
    assert!(matches!(client.get_service(&missing).await, Err(Error::NotFound(_))));
    assert!(matches!(
        client.submit(&missing, &json!({"n": 1})).await,
        Err(Error::NotFound(_))
    ));
    sys.stop().await;
}

#[tokio::test]
async fn results_violating_the_schema_are_result_rejected_and_the_job_stays_leased() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client.register_service(&squares("rejects")).await.expect("service");
    let job = client.submit(&service.id, &json!({"n": 3})).await.expect("submitted");

    let mut leased = client
        .claim(&service.id, 5, Some(Duration::from_secs(30)), "test")
        .await
        .expect("claimed");
    assert_eq!(leased.len(), 1);
    let leased = leased.remove(0);
    assert_eq!(leased.job.id, job.id);
    assert_eq!(leased.job.status, JobStatus::Working);
    assert!(!leased.lease_token.is_empty());

    match client
        .complete(&job.id, &leased.lease_token, &json!({"square": "nine", "extra": 1}))
        .await
    {
        Err(Error::ResultRejected { violations }) => {
            assert!(violations.len() >= 2, "{violations:?}");
            assert!(violations.iter().any(|v| v.contains("nine")), "{violations:?}");
        }
        other => panic!("expected ResultRejected, got {other:?}"),
    }
    assert!(matches!(
        client.complete(&job.id, &leased.lease_token, &json!([9])).await,
        Err(Error::ResultRejected { .. })
    ));
    let still = client.get_job(&job.id).await.expect("read");
    assert_eq!(still.status, JobStatus::Working);
    assert!(still.results.is_none());

    // A stale token changes nothing.
    assert!(matches!(
        client.complete(&job.id, "not-the-token", &json!({"square": 9})).await,
        Err(Error::LeaseLost { .. })
    ));
    assert!(matches!(
        client.extend_lease(&job.id, "not-the-token", None).await,
        Err(Error::LeaseLost { .. })
    ));
    client
        .extend_lease(&job.id, &leased.lease_token, Some(Duration::from_secs(60)))
        .await
        .expect("the real token still holds the lease");

    let done = client
        .complete(&job.id, &leased.lease_token, &json!({"square": 9}))
        .await
        .expect("valid results are accepted");
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.results, Some(json!({"square": 9})));
    // Completed once: a retried completion with the same token answers the
    // completed job unchanged; another token is refused.
    let again = client
        .complete(&job.id, &leased.lease_token, &json!({"square": 10}))
        .await
        .expect("a retried completion answers the job");
    assert_eq!(again.results, Some(json!({"square": 9})));
    assert!(matches!(
        client.complete(&job.id, "not-the-token", &json!({"square": 9})).await,
        Err(Error::LeaseLost { .. })
    ));
    sys.stop().await;
}

#[tokio::test]
async fn fail_with_and_without_retry() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client.register_service(&squares("fails")).await.expect("service");
    let job = client.submit(&service.id, &json!({"n": 1})).await.expect("submitted");

    let leased = client.claim(&service.id, 1, None, "t").await.expect("claim").remove(0);
    let retried = client
        .fail(&job.id, &leased.lease_token, "try again", true)
        .await
        .expect("failed with retry");
    assert_eq!(retried.status, JobStatus::Registered);
    assert_eq!(retried.attempts, 1);

    // The retry waits out the service's backoff (a second by default).
    let leased = eventually(Duration::from_secs(10), "the retried job after its backoff", || async {
        client.claim(&service.id, 1, None, "t").await.expect("claim").pop()
    })
    .await;
    let failed = client
        .fail(&job.id, &leased.lease_token, "broken", false)
        .await
        .expect("failed");
    assert_eq!(failed.status, JobStatus::Error);
    assert_eq!(failed.error_message.as_deref(), Some("broken"));
    let waited = within(
        Duration::from_secs(5),
        "wait_for_job",
        client.wait_for_job(&job.id, Duration::from_secs(5)),
    )
    .await
    .expect("terminal");
    assert_eq!(waited.status, JobStatus::Error);
    sys.stop().await;
}

#[tokio::test]
async fn lists_and_batch_submit_cover_every_service_and_job() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let first = client.register_service(&squares("list-a")).await.expect("service a");
    assert!(matches!(
        client.create_service(&squares("list-a")).await,
        Err(Error::AlreadyExists(_))
    ));
    let second = client.create_service(&squares("list-b")).await.expect("service b");
    let services: Vec<String> = client
        .list_services()
        .await
        .expect("services")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert!(
        services.contains(&first.id) && services.contains(&second.id),
        "{services:?}"
    );

    let batch = client
        .submit_many(&first.id, &[json!({"n": 1}), json!({"n": 2}), json!({"n": 3})])
        .await
        .expect("batch");
    assert_eq!(
        batch.iter().map(|j| j.parameters["n"].clone()).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let other = client.submit(&second.id, &json!({"n": 9})).await.expect("other");

    // All or none: one bad entry queues nothing (the list below still has three).
    match client
        .submit_many(&first.id, &[json!({"n": 4}), json!({"n": "five"})])
        .await
    {
        Err(Error::InvalidArgument { violations, .. }) => {
            assert!(violations.iter().all(|v| v.starts_with("parameters")), "{violations:?}");
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    let ids = |jobs: Vec<brigade_client::Job>| jobs.into_iter().map(|j| j.id).collect::<Vec<_>>();
    let of_first = ids(client.list_jobs(Some(&first.id)).await.expect("jobs of a"));
    assert_eq!(of_first, ids(batch.clone()));
    let all = ids(client.list_jobs(None).await.expect("all jobs"));
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(all.contains(&other.id));
    assert!(client.heartbeat(&first.id).await.expect("heartbeat") <= std::time::SystemTime::now());
    sys.stop().await;
}

#[tokio::test]
async fn watch_streams_follow_a_job_and_wait_for_job_times_out() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client.register_service(&squares("watch")).await.expect("service");
    let mut queue = client.watch_queue(&service.id).await.expect("watch queue");
    let job = client.submit(&service.id, &json!({"n": 3})).await.expect("submitted");
    let queued = within(Duration::from_secs(5), "the queue to show the job", queue.next())
        .await
        .expect("an item")
        .expect("a job");
    assert_eq!(
        (queued.id.as_str(), queued.status),
        (job.id.as_str(), JobStatus::Registered)
    );

    match client.wait_for_job(&job.id, Duration::from_millis(300)).await {
        Err(Error::Timeout { after, .. }) => assert_eq!(after, Duration::from_millis(300)),
        other => panic!("expected Timeout, got {other:?}"),
    }

    let mut watch = client.watch_job(&job.id).await.expect("watch job");
    let first = within(Duration::from_secs(5), "the job's state", watch.next()).await;
    assert_eq!(first.expect("an item").expect("a job").status, JobStatus::Registered);
    let leased = client.claim(&service.id, 1, None, "t").await.expect("claim").remove(0);
    client
        .complete(&job.id, &leased.lease_token, &json!({"square": 9}))
        .await
        .expect("completed");
    let mut seen = Vec::new();
    while let Some(item) = within(Duration::from_secs(5), "the job stream", watch.next()).await {
        seen.push(item.expect("a job").status);
    }
    assert_eq!(seen.last(), Some(&JobStatus::Completed), "{seen:?}");
    let done = client
        .wait_for_job(&job.id, Duration::from_secs(5))
        .await
        .expect("terminal");
    assert_eq!(done.results, Some(json!({"square": 9})));

    let missing = uuid::Uuid::new_v4().to_string();
    assert!(matches!(
        client.wait_for_job(&missing, Duration::from_secs(5)).await,
        Err(Error::NotFound(_))
    ));
    sys.stop().await;
}

#[tokio::test]
async fn cancel_and_error_reasons() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client.register_service(&squares("cancel")).await.expect("service");
    let job = client.submit(&service.id, &json!({"n": 2})).await.expect("submitted");
    let leased = client.claim(&service.id, 1, None, "t").await.expect("claim").remove(0);
    let cancelled = client.cancel_job(&job.id).await.expect("cancelled");
    assert_eq!((cancelled.status, cancelled.cancelled), (JobStatus::Error, true));
    // The holder's lease is gone: the server says STALE_LEASE, the client LeaseLost.
    let stale = client
        .raw()
        .complete_job(brigade_client::proto::CompleteJobRequest {
            job_id: job.id.clone(),
            lease_token: leased.lease_token.clone(),
            results_json: json!({"square": 4}).to_string(),
        })
        .await
        .expect_err("stale lease");
    assert_eq!(ErrorReason::of(&stale), Some(ErrorReason::StaleLease));
    assert!(matches!(
        client
            .complete(&job.id, &leased.lease_token, &json!({"square": 4}))
            .await,
        Err(Error::LeaseLost { .. })
    ));
    // Cancelling a finished job is refused; no reason the client maps to a variant.
    let refused = client.cancel_job(&job.id).await.expect_err("already finished");
    assert_eq!(
        refused.status().map(tonic::Status::code),
        Some(tonic::Code::FailedPrecondition)
    );
    sys.stop().await;
}

#[tokio::test]
async fn wait_for_job_follows_the_job_across_a_server_restart() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let dir = tempfile::tempdir().expect("temp dir");
    let system = start_system(dir.path(), addr).await;
    let client = Client::connect(format!("http://{addr}")).await.expect("connect");
    let service = client.register_service(&squares("restart")).await.expect("service");
    let job = client.submit(&service.id, &json!({"n": 5})).await.expect("submitted");
    let waiting = {
        let (client, id) = (client.clone(), job.id.clone());
        tokio::spawn(async move { client.wait_for_job(&id, Duration::from_secs(30)).await })
    };

    system.stop().await.expect("stops");
    assert!(!waiting.is_finished(), "the wait ended with the server: {waiting:?}");
    let system = start_system(dir.path(), addr).await;
    let leased = eventually(Duration::from_secs(15), "a claim after the restart", || async {
        client
            .claim(&service.id, 1, None, "t")
            .await
            .ok()
            .and_then(|mut jobs| jobs.pop())
    })
    .await;
    client
        .complete(&job.id, &leased.lease_token, &json!({"square": 25}))
        .await
        .expect("completed");
    let done = within(Duration::from_secs(15), "the wait to see the result", waiting)
        .await
        .expect("task")
        .expect("terminal");
    assert_eq!(
        (done.status, done.results),
        (JobStatus::Completed, Some(json!({"square": 25})))
    );
    system.stop().await.expect("stops");
}

#[tokio::test]
async fn submit_with_controls_orders_defers_and_never_duplicates() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client.register_service(&squares("controls")).await.expect("service");
    let opts = brigade_client::SubmitOptions::new;

    let (low, created) = client
        .submit_with(&service.id, &json!({"n": 1}), &opts().priority(1))
        .await
        .expect("low");
    assert!(created);
    let (high, _) = client
        .submit_with(&service.id, &json!({"n": 2}), &opts().priority(9))
        .await
        .expect("high");
    assert_eq!(high.priority, 9);
    let later = std::time::SystemTime::now() + Duration::from_secs(3600);
    let (deferred, _) = client
        .submit_with(&service.id, &json!({"n": 3}), &opts().run_at(later))
        .await
        .expect("deferred");
    assert!(deferred.due_at.is_some_and(|d| d > std::time::SystemTime::now()));

    // Higher priority first; the deferred job is not claimable yet.
    let claimed = client.claim(&service.id, 10, None, "w").await.expect("claim");
    let ids: Vec<_> = claimed.iter().map(|j| j.job.id.clone()).collect();
    assert_eq!(ids, vec![high.id.clone(), low.id.clone()]);

    // The same key returns the first job; a different body under it is refused.
    let keyed = opts().idempotency_key("batch-7");
    let (first, created) = client
        .submit_with(&service.id, &json!({"n": 4}), &keyed)
        .await
        .expect("first");
    assert!(created);
    assert_eq!(first.idempotency_key.as_deref(), Some("batch-7"));
    let (again, created) = client
        .submit_with(&service.id, &json!({"n": 4}), &keyed)
        .await
        .expect("again");
    assert!(!created);
    assert_eq!(again.id, first.id);
    let conflict = client.submit_with(&service.id, &json!({"n": 5}), &keyed).await;
    assert!(matches!(conflict, Err(Error::AlreadyExists(_))), "{conflict:?}");
    sys.stop().await;
}

#[tokio::test]
async fn service_controls_are_sent_updated_and_shown() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client
        .create_service(
            &squares("instrument")
                .max_concurrency(1)
                .paused(true)
                .retry_backoff(Duration::from_millis(250), Duration::from_secs(4)),
        )
        .await
        .expect("created");
    assert_eq!((service.max_concurrency, service.paused), (Some(1), true));
    assert_eq!(service.retry_backoff_base, Duration::from_millis(250));
    assert_eq!(service.retry_backoff_cap, Duration::from_secs(4));

    let update = ServiceUpdate::new()
        .max_concurrency(3)
        .retry_backoff_base(Duration::from_millis(500))
        .description("changed");
    let updated = client.update_service(&service.id, &update).await.expect("updated");
    assert_eq!(updated.max_concurrency, Some(3));
    assert_eq!(updated.retry_backoff_base, Duration::from_millis(500));
    assert_eq!(updated.description, "changed");
    // Fields the update does not set stay as they were.
    assert!(updated.paused);
    assert_eq!(updated.retry_backoff_cap, Duration::from_secs(4));
    let cleared = client
        .update_service(&service.id, &ServiceUpdate::new().no_concurrency_limit())
        .await
        .expect("cleared");
    assert_eq!(cleared.max_concurrency, None);
    assert_eq!(
        client.get_service(&service.id).await.expect("get").max_concurrency,
        None
    );
    sys.stop().await;
}

#[tokio::test]
async fn a_paused_service_hands_out_nothing_until_resumed() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client.register_service(&squares("pausable")).await.expect("service");
    assert!(client.pause(&service.id).await.expect("pause").paused);
    let job = client
        .submit(&service.id, &json!({"n": 1}))
        .await
        .expect("still accepted");
    assert!(client.claim(&service.id, 5, None, "w").await.expect("claim").is_empty());
    assert!(!client.resume(&service.id).await.expect("resume").paused);
    let claimed = client.claim(&service.id, 5, None, "w").await.expect("claim");
    assert_eq!(
        claimed.iter().map(|j| j.job.id.as_str()).collect::<Vec<_>>(),
        [job.id.as_str()]
    );
    sys.stop().await;
}

#[tokio::test]
async fn max_concurrency_one_leaves_a_second_claim_empty() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client
        .register_service(&squares("microscope").max_concurrency(1))
        .await
        .expect("service");
    let first = client.submit(&service.id, &json!({"n": 1})).await.expect("first");
    let second = client.submit(&service.id, &json!({"n": 2})).await.expect("second");
    let working = client.claim(&service.id, 5, None, "a").await.expect("claim");
    assert_eq!(working.len(), 1);
    assert_eq!(working[0].job.id, first.id);
    assert!(client.claim(&service.id, 5, None, "b").await.expect("claim").is_empty());
    client
        .complete(&first.id, &working[0].lease_token, &json!({"square": 1}))
        .await
        .expect("complete");
    let next = client.claim(&service.id, 5, None, "b").await.expect("claim");
    assert_eq!(
        next.iter().map(|j| j.job.id.as_str()).collect::<Vec<_>>(),
        [second.id.as_str()]
    );
    sys.stop().await;
}

#[tokio::test]
async fn submit_many_with_controls_orders_defers_and_never_duplicates() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client
        .register_service(&squares("batch-controls"))
        .await
        .expect("service");
    let opts = SubmitOptions::new;
    let later = SystemTime::now() + Duration::from_secs(3600);
    let batch = vec![
        (json!({"n": 1}), opts().priority(1).idempotency_key("b-1")),
        (json!({"n": 2}), opts().priority(7).idempotency_key("b-2")),
        (json!({"n": 3}), opts().run_at(later)),
        (json!({"n": 4}), opts()),
    ];
    let jobs = client.submit_many_with(&service.id, &batch).await.expect("batch");
    assert!(jobs.iter().all(|(_, created)| *created));
    let (low, high, deferred, plain) = (&jobs[0].0, &jobs[1].0, &jobs[2].0, &jobs[3].0);
    assert_eq!((low.priority, high.priority), (1, 7));
    assert_eq!(low.idempotency_key.as_deref(), Some("b-1"));
    assert!(
        deferred
            .due_at
            .is_some_and(|d| d > SystemTime::now() + Duration::from_secs(1800))
    );

    let again = client.submit_many_with(&service.id, &batch[..2]).await.expect("again");
    assert_eq!(
        again.iter().map(|(j, c)| (j.id.as_str(), *c)).collect::<Vec<_>>(),
        [(low.id.as_str(), false), (high.id.as_str(), false)]
    );
    let conflict = client
        .submit_many_with(&service.id, &[(json!({"n": 9}), opts().idempotency_key("b-1"))])
        .await;
    assert!(matches!(conflict, Err(Error::AlreadyExists(_))), "{conflict:?}");

    let claimed = client.claim(&service.id, 10, None, "w").await.expect("claim");
    let ids: Vec<_> = claimed.iter().map(|j| j.job.id.as_str()).collect();
    assert_eq!(ids, [high.id.as_str(), low.id.as_str(), plain.id.as_str()]);
    sys.stop().await;
}

#[tokio::test]
async fn retry_and_delete_a_job() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client
        .register_service(&squares("retry-delete").max_attempts(1))
        .await
        .expect("service");
    let job = client.submit(&service.id, &json!({"n": 3})).await.expect("job");
    let leased = client.claim(&service.id, 1, None, "w").await.expect("claim");
    let failed = client
        .fail(&job.id, &leased[0].lease_token, "broken", false)
        .await
        .expect("fail");
    assert_eq!(failed.status, JobStatus::Error);
    assert!(client.claim(&service.id, 1, None, "w").await.expect("claim").is_empty());
    assert_eq!(
        client.retry_job(&job.id).await.expect("retry").status,
        JobStatus::Registered
    );
    let again = eventually(Duration::from_secs(10), "the retried job", || async {
        client.claim(&service.id, 1, None, "w").await.expect("claim").pop()
    })
    .await;
    assert_eq!(again.job.id, job.id);
    client
        .complete(&job.id, &again.lease_token, &json!({"square": 9}))
        .await
        .expect("complete");
    client.delete_job(&job.id).await.expect("delete");
    assert!(matches!(client.get_job(&job.id).await, Err(Error::NotFound(_))));
    assert!(client.list_jobs(Some(&service.id)).await.expect("list").is_empty());
    sys.stop().await;
}

#[tokio::test]
async fn bulk_cancel_and_retry_by_status() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client
        .register_service(&squares("bulk").max_attempts(1))
        .await
        .expect("service");
    let jobs = client
        .submit_many(&service.id, &[json!({"n": 1}), json!({"n": 2}), json!({"n": 3})])
        .await
        .expect("jobs");
    let working = client.claim(&service.id, 1, None, "w").await.expect("claim");
    let working_id = working[0].job.id.clone();
    let mut waiting: Vec<_> = jobs
        .iter()
        .map(|j| j.id.clone())
        .filter(|id| *id != working_id)
        .collect();
    waiting.sort();

    let registered = JobFilter::new(&service.id).statuses([JobStatus::Registered]);
    assert_eq!(
        client.cancel_jobs(&registered, "bench closed").await.expect("cancel"),
        2
    );
    let listed = client.list_jobs(Some(&service.id)).await.expect("list");
    let mut cancelled: Vec<_> = listed.iter().filter(|j| j.cancelled).map(|j| j.id.clone()).collect();
    cancelled.sort();
    assert_eq!(cancelled, waiting);
    assert!(
        listed
            .iter()
            .any(|j| j.id == working_id && j.status == JobStatus::Working)
    );

    let failed = JobFilter::new(&service.id).statuses([JobStatus::Error]);
    assert_eq!(client.retry_jobs(&failed).await.expect("retry"), 2);
    let listed = client.list_jobs(Some(&service.id)).await.expect("list");
    let mut requeued: Vec<_> = listed
        .iter()
        .filter(|j| j.status == JobStatus::Registered)
        .map(|j| j.id.clone())
        .collect();
    requeued.sort();
    assert_eq!(requeued, waiting);
    sys.stop().await;
}
