//! `Worker` against a real Brigade: jobs submitted over REST are completed,
//! handler errors fail jobs, leases are kept alive, dead workers' jobs come
//! back, and shutdown is graceful.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brigade_client::{Error, HandlerError, Job, JobStatus, SHUTDOWN_MESSAGE, WorkerEvent};
use common::{TestSystem, eventually, n_of, squares, within};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

/// Records how often the handler ran for each job.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<HashMap<String, usize>>>);

impl Calls {
    fn record(&self, job: &Job) {
        *self.0.lock().expect("lock").entry(job.id.clone()).or_default() += 1;
    }

    fn of(&self, job_id: &str) -> usize {
        self.0.lock().expect("lock").get(job_id).copied().unwrap_or(0)
    }
}

fn square_handler(
    calls: Calls,
    worker: &'static str,
) -> impl Fn(Job) -> futures::future::BoxFuture<'static, Result<Value, HandlerError>> + Send + Sync + 'static {
    move |job: Job| {
        let calls = calls.clone();
        Box::pin(async move {
            calls.record(&job);
            let n = n_of(&job.parameters);
            Ok(json!({"square": n * n, "worker": worker}))
        })
    }
}

#[tokio::test]
async fn a_job_submitted_over_rest_is_completed_and_visible_over_rest() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client
        .register_service(&squares("rest-squares"))
        .await
        .expect("service");
    let calls = Calls::default();
    let (stop, stopped) = oneshot::channel::<()>();
    let (idle_tx, mut idle) = mpsc::unbounded_channel();
    let worker = client
        .worker(&service.id, square_handler(calls.clone(), "w1"))
        .concurrency(2)
        // Polling alone would take a minute: only the queue watch can wake the worker in time.
        .poll_interval(Duration::from_secs(60))
        .on_event(move |e| {
            if matches!(e, WorkerEvent::Idle) {
                let _ = idle_tx.send(());
            }
        })
        .build();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    // Submit only once the worker found the queue empty and went to sleep.
    within(Duration::from_secs(10), "the worker to go idle", idle.recv()).await;

    let job_id = sys.rest_submit(&service.id, json!({"n": 12})).await;
    let data = eventually(Duration::from_secs(10), "the job to be COMPLETED over REST", || async {
        let data = sys.rest_job(&job_id).await;
        (data["status"] == "COMPLETED").then_some(data)
    })
    .await;
    assert_eq!(data["results"], json!({"square": 144, "worker": "w1"}));
    assert_eq!(data["attempts"], 1, "attempts counts deliveries");
    assert_eq!(calls.of(&job_id), 1);

    // The typed client sees the same.
    let job = client.get_job(&job_id).await.expect("job");
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.results, Some(json!({"square": 144, "worker": "w1"})));

    stop.send(()).expect("worker running");
    let summary = within(Duration::from_secs(10), "the worker to stop", running)
        .await
        .expect("task")
        .expect("worker ok");
    assert_eq!(summary.claimed, 1);
    assert_eq!(summary.completed, 1);
    sys.stop().await;
}

#[tokio::test]
async fn a_handler_error_marks_the_job_error_with_its_message() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client.register_service(&squares("erroring")).await.expect("service");
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = client
        .worker(&service.id, |job: Job| async move {
            Err::<Value, _>(HandlerError::new(format!("sensor {} offline", n_of(&job.parameters))))
        })
        .build();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));

    let job_id = sys.rest_submit(&service.id, json!({"n": 7})).await;
    let data = eventually(Duration::from_secs(10), "the job to be ERROR", || async {
        let data = sys.rest_job(&job_id).await;
        (data["status"] == "ERROR").then_some(data)
    })
    .await;
    assert_eq!(data["error_message"], "sensor 7 offline");
    assert_eq!(data["results"], Value::Null);
    let job = client.get_job(&job_id).await.expect("job");
    assert_eq!(job.status, JobStatus::Error);
    assert_eq!(job.attempts, 1, "a final failure is not retried: one delivery");

    stop.send(()).expect("running");
    let summary = within(Duration::from_secs(10), "stop", running)
        .await
        .expect("task")
        .expect("ok");
    assert_eq!(summary.failed, 1);
    assert_eq!(summary.completed, 0);
    sys.stop().await;
}

#[tokio::test]
async fn a_retryable_error_and_a_panic() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client.register_service(&squares("flaky")).await.expect("service");
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = client
        .worker(&service.id, |job: Job| async move {
            let n = n_of(&job.parameters);
            if n < 0 {
                panic!("negative input {n}");
            }
            if job.attempts == 0 {
                return Err(HandlerError::retryable("warming up"));
            }
            Ok(json!({"square": n * n}))
        })
        .build();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));

    let flaky = client.submit(&service.id, &json!({"n": 5})).await.expect("submit").id;
    let panics = client.submit(&service.id, &json!({"n": -1})).await.expect("submit").id;
    let done = eventually(Duration::from_secs(10), "the retried job to complete", || async {
        let job = client.get_job(&flaky).await.expect("job");
        (job.status == JobStatus::Completed).then_some(job)
    })
    .await;
    assert_eq!(done.attempts, 1);
    assert_eq!(done.results, Some(json!({"square": 25})));
    let broken = eventually(Duration::from_secs(10), "the panicking job to fail", || async {
        let job = client.get_job(&panics).await.expect("job");
        (job.status == JobStatus::Error).then_some(job)
    })
    .await;
    assert_eq!(
        broken.error_message.as_deref(),
        Some("handler panicked: negative input -1")
    );

    stop.send(()).expect("running");
    within(Duration::from_secs(10), "stop", running)
        .await
        .expect("task")
        .expect("ok");
    sys.stop().await;
}

#[tokio::test]
async fn a_dead_workers_job_is_redelivered_after_the_lease_and_completed_once() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client
        .register_service(&squares("short-lease").lease(Duration::from_secs(2)))
        .await
        .expect("service");
    assert_eq!(service.lease, Duration::from_secs(2));
    let job_id = client.submit(&service.id, &json!({"n": 9})).await.expect("submit").id;

    // Worker A takes the job and hangs in it; then its process "dies".
    let a_calls = Calls::default();
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let a_handler = {
        let a_calls = a_calls.clone();
        move |job: Job| {
            a_calls.record(&job);
            let started_tx = started_tx.clone();
            async move {
                let _ = started_tx.send(job.id.clone());
                std::future::pending::<Result<Value, HandlerError>>().await
            }
        }
    };
    let worker_a = client.worker(&service.id, a_handler).build();
    let a = tokio::spawn(worker_a.run_until(std::future::pending()));
    let started_id = within(Duration::from_secs(10), "worker A to start the job", started.recv())
        .await
        .expect("started");
    assert_eq!(started_id, job_id);
    a.abort();
    assert!(a.await.expect_err("aborted").is_cancelled());
    let held = client.get_job(&job_id).await.expect("job");
    assert_eq!(held.status, JobStatus::Working);
    assert_eq!(held.attempts, 1, "attempts counts deliveries");

    // Worker B gets it once A's lease has run out.
    let b_calls = Calls::default();
    let events = Arc::new(Mutex::new(Vec::new()));
    let (stop, stopped) = oneshot::channel::<()>();
    let worker_b = {
        let events = events.clone();
        client
            .worker(&service.id, square_handler(b_calls.clone(), "B"))
            .on_event(move |e| events.lock().expect("lock").push(format!("{e:?}")))
            .build()
    };
    let b = tokio::spawn(worker_b.run_until(async {
        let _ = stopped.await;
    }));
    let done = eventually(Duration::from_secs(15), "worker B to complete the job", || async {
        let job = client.get_job(&job_id).await.expect("job");
        (job.status == JobStatus::Completed).then_some(job)
    })
    .await;
    assert_eq!(done.results, Some(json!({"square": 81, "worker": "B"})));
    assert_eq!(done.attempts, 2, "two deliveries: exactly one lease expired");
    assert_eq!(a_calls.of(&job_id), 1);
    assert_eq!(b_calls.of(&job_id), 1);

    stop.send(()).expect("running");
    let summary = within(Duration::from_secs(10), "B to stop", b)
        .await
        .expect("task")
        .expect("ok");
    assert_eq!(summary.completed, 1, "{:?}", events.lock().expect("lock"));
    assert_eq!(summary.lease_lost, 0);
    assert_eq!(b_calls.of(&job_id), 1, "completed exactly once");
    sys.stop().await;
}

#[tokio::test]
async fn heartbeats_keep_a_job_longer_than_its_lease() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client
        .register_service(&squares("long-work").lease(Duration::from_secs(2)))
        .await
        .expect("service");
    let calls = Calls::default();
    let handler = {
        let calls = calls.clone();
        move |job: Job| {
            calls.record(&job);
            async move {
                // Work that outlasts two leases; only heartbeats keep the job ours.
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(json!({"square": n_of(&job.parameters).pow(2)}))
            }
        }
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = client.worker(&service.id, handler).concurrency(2).build();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    let job_id = client.submit(&service.id, &json!({"n": 6})).await.expect("submit").id;
    let done = eventually(Duration::from_secs(20), "the long job to complete", || async {
        let job = client.get_job(&job_id).await.expect("job");
        job.status.is_terminal().then_some(job)
    })
    .await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.attempts, 1, "one delivery: the lease never expired");
    assert_eq!(calls.of(&job_id), 1, "never re-delivered");
    stop.send(()).expect("running");
    let summary = within(Duration::from_secs(10), "stop", running)
        .await
        .expect("task")
        .expect("ok");
    assert_eq!(summary.lease_lost, 0);
    assert_eq!(summary.completed, 1);
    sys.stop().await;
}

#[tokio::test]
async fn rejected_results_fail_the_job_and_are_reported_as_result_rejected() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client.register_service(&squares("bad-results")).await.expect("service");
    let rejections = Arc::new(Mutex::new(Vec::<Vec<String>>::new()));
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = {
        let rejections = rejections.clone();
        client
            .worker(&service.id, |_job: Job| async { Ok(json!({"square": "lots"})) })
            .on_event(move |event| {
                if let WorkerEvent::Error {
                    error: Error::ResultRejected { violations },
                    ..
                } = event
                {
                    rejections.lock().expect("lock").push(violations.clone());
                }
            })
            .build()
    };
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    let job_id = client.submit(&service.id, &json!({"n": 2})).await.expect("submit").id;
    let failed = eventually(Duration::from_secs(10), "the job to fail", || async {
        let job = client.get_job(&job_id).await.expect("job");
        (job.status == JobStatus::Error).then_some(job)
    })
    .await;
    let message = failed.error_message.expect("message");
    assert!(
        message.starts_with("results rejected by the result schema:"),
        "{message}"
    );
    assert!(message.contains("lots"), "{message}");
    assert!(failed.results.is_none());
    let seen = rejections.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].iter().any(|v| v.contains("lots")), "{seen:?}");
    stop.send(()).expect("running");
    within(Duration::from_secs(10), "stop", running)
        .await
        .expect("task")
        .expect("ok");
    sys.stop().await;
}

#[tokio::test]
async fn concurrency_is_bounded_and_batches_are_drained() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client.register_service(&squares("bounded")).await.expect("service");
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(client.submit(&service.id, &json!({"n": n})).await.expect("submit").id);
    }
    let running_now = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let handler = {
        let (running_now, most) = (running_now.clone(), most.clone());
        move |job: Job| {
            let (running_now, most) = (running_now.clone(), most.clone());
            async move {
                let now = running_now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(150)).await;
                running_now.fetch_sub(1, Ordering::SeqCst);
                Ok(json!({"square": n_of(&job.parameters).pow(2)}))
            }
        }
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = client
        .worker(&service.id, handler)
        .concurrency(2)
        .batch_size(5)
        .watch_queue(false)
        .poll_interval(Duration::from_millis(100))
        .build();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    eventually(Duration::from_secs(15), "all jobs to complete", || async {
        for id in &ids {
            if client.get_job(id).await.expect("job").status != JobStatus::Completed {
                return None;
            }
        }
        Some(())
    })
    .await;
    assert_eq!(
        most.load(Ordering::SeqCst),
        2,
        "at most two at once, and two did run together"
    );
    stop.send(()).expect("running");
    let summary = within(Duration::from_secs(10), "stop", running)
        .await
        .expect("task")
        .expect("ok");
    assert_eq!(summary.completed, 7);
    assert_eq!(summary.claimed, 7);
    sys.stop().await;
}

#[tokio::test]
async fn shutdown_lets_running_handlers_finish_and_claims_nothing_new() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client.register_service(&squares("drains")).await.expect("service");
    let gate = Arc::new(tokio::sync::Notify::new());
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let handler = {
        let gate = gate.clone();
        move |job: Job| {
            let (gate, started_tx) = (gate.clone(), started_tx.clone());
            async move {
                let _ = started_tx.send(job.id.clone());
                gate.notified().await;
                Ok(json!({"square": n_of(&job.parameters).pow(2)}))
            }
        }
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let (stopping_tx, mut stopping) = mpsc::unbounded_channel();
    let worker = client
        .worker(&service.id, handler)
        .concurrency(2)
        .grace_period(Duration::from_secs(30))
        .on_event(move |event| {
            if matches!(event, WorkerEvent::Stopping) {
                let _ = stopping_tx.send(());
            }
        })
        .build();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    let first = client.submit(&service.id, &json!({"n": 3})).await.expect("submit").id;
    within(Duration::from_secs(10), "the handler to start", started.recv()).await;

    stop.send(()).expect("running");
    // A claim already on the wire when the signal came may still land; once the
    // worker says it is stopping, nothing new is claimed.
    within(Duration::from_secs(10), "the worker to stop claiming", stopping.recv()).await;
    let second = client.submit(&service.id, &json!({"n": 4})).await.expect("submit").id;
    assert!(!running.is_finished(), "waits for the running handler");
    gate.notify_one();
    let summary = within(Duration::from_secs(10), "the worker to drain", running)
        .await
        .expect("task")
        .expect("ok");
    assert_eq!(summary.completed, 1);
    assert_eq!(summary.claimed, 1);
    assert_eq!(summary.released, 0);
    assert_eq!(client.get_job(&first).await.expect("job").status, JobStatus::Completed);
    let untouched = client.get_job(&second).await.expect("job");
    assert_eq!(untouched.status, JobStatus::Registered);
    assert_eq!(untouched.attempts, 0);
    sys.stop().await;
}

#[tokio::test]
async fn after_the_grace_period_held_jobs_are_handed_back_at_once() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    // A long lease: only an explicit hand-back can make the job available soon.
    let service = client
        .register_service(&squares("hands-back").lease(Duration::from_secs(300)))
        .await
        .expect("service");
    let dropped = Arc::new(AtomicBool::new(false));
    let (started_tx, mut started) = mpsc::unbounded_channel();
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let handler = {
        let dropped = dropped.clone();
        move |job: Job| {
            let guard = SetOnDrop(dropped.clone());
            let started_tx = started_tx.clone();
            async move {
                let _guard = guard;
                let _ = started_tx.send(job.id.clone());
                std::future::pending::<Result<Value, HandlerError>>().await
            }
        }
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = client
        .worker(&service.id, handler)
        .grace_period(Duration::from_millis(300))
        .build();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    let job_id = client.submit(&service.id, &json!({"n": 3})).await.expect("submit").id;
    within(Duration::from_secs(10), "the handler to start", started.recv()).await;
    stop.send(()).expect("running");
    let summary = within(Duration::from_secs(10), "the worker to stop", running)
        .await
        .expect("task")
        .expect("ok");
    assert_eq!(summary.released, 1);
    assert!(dropped.load(Ordering::SeqCst), "the handler was stopped");
    // Available again after the service's retry backoff (a second by
    // default), long before the 300 s lease would end.
    let job = client.get_job(&job_id).await.expect("job");
    assert_eq!(job.status, JobStatus::Registered);
    assert_eq!(job.error_message.as_deref(), Some(SHUTDOWN_MESSAGE));
    assert!(job.lease_expires_at.is_none());
    let handed_back = tokio::time::Instant::now();
    eventually(Duration::from_secs(10), "re-delivery after the backoff", || async {
        let again = client.claim(&service.id, 1, None, "next").await.expect("claim");
        (again.len() == 1).then_some(())
    })
    .await;
    assert!(handed_back.elapsed() < Duration::from_secs(10));
    sys.stop().await;
}

#[tokio::test]
async fn a_cancelled_job_stops_its_handler() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client
        .register_service(&squares("cancels").lease(Duration::from_secs(3)))
        .await
        .expect("service");
    let dropped = Arc::new(AtomicBool::new(false));
    let (started_tx, mut started) = mpsc::unbounded_channel();
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let handler = {
        let dropped = dropped.clone();
        move |job: Job| {
            let guard = SetOnDrop(dropped.clone());
            let started_tx = started_tx.clone();
            async move {
                let _guard = guard;
                let _ = started_tx.send(job.id.clone());
                std::future::pending::<Result<Value, HandlerError>>().await
            }
        }
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = client.worker(&service.id, handler).build();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    let job_id = client.submit(&service.id, &json!({"n": 3})).await.expect("submit").id;
    within(Duration::from_secs(10), "the handler to start", started.recv()).await;
    let cancelled = client.cancel_job(&job_id).await.expect("cancel");
    assert!(cancelled.cancelled);
    eventually(Duration::from_secs(10), "the handler to be stopped", || async {
        dropped.load(Ordering::SeqCst).then_some(())
    })
    .await;
    stop.send(()).expect("running");
    let summary = within(Duration::from_secs(10), "stop", running)
        .await
        .expect("task")
        .expect("ok");
    assert_eq!(summary.lease_lost, 1);
    assert_eq!(summary.released, 0);
    assert_eq!(client.get_job(&job_id).await.expect("job").status, JobStatus::Error);
    sys.stop().await;
}

#[tokio::test]
async fn a_worker_for_a_missing_service_fails_fast() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let missing = uuid::Uuid::new_v4().to_string();
    let result = within(
        Duration::from_secs(10),
        "the worker to give up",
        client
            .worker(missing, |_job: Job| async { Ok(json!({})) })
            .build()
            .run_until(std::future::pending()),
    )
    .await;
    assert!(matches!(result, Err(Error::NotFound(_))), "{result:?}");
    sys.stop().await;
}

#[tokio::test]
async fn a_cancel_reaches_the_running_handler_within_a_second() {
    let sys = TestSystem::start().await;
    let client = sys.client().await;
    let service = client.register_service(&squares("cancellable")).await.expect("service");
    let job_id = client.submit(&service.id, &json!({"n": 3})).await.expect("submit").id;
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let handler = move |job: Job| {
        let (started_tx, seen_tx) = (started_tx.clone(), seen_tx.clone());
        async move {
            let token = brigade_client::cancellation();
            let _ = started_tx.send(job.id.clone());
            // Long work that checks its flag, as an instrument controller would.
            while !token.is_cancelled() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let _ = seen_tx.send((tokio::time::Instant::now(), token.reason()));
            Err::<Value, _>(HandlerError::new("stopped on cancel"))
        }
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let worker = {
        let events = events.clone();
        client
            .worker(&service.id, handler)
            // Heartbeats far apart: only the queue watch can be this quick.
            .lease(Duration::from_secs(60))
            .heartbeat_interval(Duration::from_secs(20))
            .on_event(move |e| events.lock().expect("lock").push(format!("{e:?}")))
            .build()
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    within(Duration::from_secs(10), "the handler to start", started.recv())
        .await
        .expect("started");
    let cancelled_at = tokio::time::Instant::now();
    client
        .cancel_job_because(&job_id, "sample damaged")
        .await
        .expect("cancel");
    let (saw_at, reason) = within(Duration::from_secs(5), "the handler to see the cancel", seen.recv())
        .await
        .expect("seen");
    assert!(
        saw_at.duration_since(cancelled_at) < Duration::from_secs(1),
        "cancel reached the handler in {:?}",
        saw_at.duration_since(cancelled_at)
    );
    assert_eq!(reason.as_deref(), Some("sample damaged"));
    eventually(Duration::from_secs(5), "the Cancelled event", || async {
        events
            .lock()
            .expect("lock")
            .iter()
            .any(|e| e.contains("Cancelled") && e.contains("sample damaged"))
            .then_some(())
    })
    .await;
    let job = client.get_job(&job_id).await.expect("job");
    assert_eq!(job.status, JobStatus::Error);
    let _ = stop.send(());
    running.await.expect("join").expect("worker stops");
}
