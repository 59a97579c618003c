//! Queue controls (issue 13) and recipe jobs over gRPC, against job-queue
//! replicas started on port 0 beside a stand-in recipe-types peer.

mod balancing;
mod controls;
mod fake_recipe_types;
mod recipe_jobs;
mod workers;

use std::sync::Arc;
use std::time::Duration;

use brigade_common::shutdown::Shutdown;
use brigade_job_queue::service::JobQueue;
use brigade_proto::jobqueue::v1 as pb;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_tests::{TestDatabase, grpc_channel};
use serde_json::json;
use tonic::transport::Channel;

/// One job-queue process (a replica when several share a PostgreSQL database).
pub struct Replica {
    pub url: String,
    pub queue: Arc<JobQueue>,
    stop: Shutdown,
    running: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Replica {
    pub async fn start(db: &TestDatabase, recipe_types_url: String) -> Self {
        Self::start_with(db, recipe_types_url, |_| {}).await
    }

    pub async fn start_with(
        db: &TestDatabase,
        recipe_types_url: String,
        tune: impl FnOnce(&mut brigade_job_queue::Config),
    ) -> Self {
        let mut config = brigade_job_queue::Config::local(
            "127.0.0.1:0".parse().expect("addr"),
            db.dir.path().to_path_buf(),
            db.url.clone(),
            recipe_types_url,
        );
        config.limits.reaper_interval_ms = 100;
        tune(&mut config);
        let app = brigade_job_queue::Application::build(config)
            .await
            .expect("job-queue starts");
        let url = format!("http://{}", app.local_addr());
        let queue = app.queue();
        let (stop, waiter) = Shutdown::new();
        let running = tokio::spawn(app.run_until_stopped(waiter.wait()));
        Self {
            url,
            queue,
            stop,
            running: Some(running),
        }
    }

    pub async fn client(&self) -> JobQueueClient<Channel> {
        JobQueueClient::new(grpc_channel(self.url.clone()).await)
    }

    pub async fn stop(mut self) {
        self.stop.trigger();
        if let Some(running) = self.running.take() {
            running.await.expect("join").expect("job-queue stops cleanly");
        }
    }
}

/// A recipe-types URL nobody listens on (the relay keeps retrying quietly).
pub fn nowhere() -> String {
    "http://127.0.0.1:9".to_owned()
}

/// A service taking `{"n": integer}` and answering `{"sum": integer}`.
pub async fn service(
    client: &mut JobQueueClient<Channel>,
    name: &str,
    tune: impl FnOnce(&mut pb::CreateServiceRequest),
) -> String {
    let mut request = pb::CreateServiceRequest {
        name: name.to_owned(),
        description: "queue-control tests".to_owned(),
        job_registration_schema_json: json!({"type": "object", "properties": {"n": {"type": "integer"}}}).to_string(),
        job_result_schema_json: json!({"type": "object", "properties": {"sum": {"type": "integer"}}}).to_string(),
        lease_seconds: Some(30),
        max_attempts: Some(5),
        ..Default::default()
    };
    tune(&mut request);
    client
        .create_service(request)
        .await
        .expect("create service")
        .into_inner()
        .service
        .expect("service")
        .id
}

pub async fn submit(client: &mut JobQueueClient<Channel>, request: pb::SubmitJobRequest) -> pb::Job {
    client
        .submit_job(request)
        .await
        .expect("submit")
        .into_inner()
        .job
        .expect("job")
}

pub async fn submit_n(client: &mut JobQueueClient<Channel>, service_id: &str, n: i64) -> pb::Job {
    submit(
        client,
        pb::SubmitJobRequest {
            service_id: service_id.to_owned(),
            parameters_json: json!({ "n": n }).to_string(),
            ..Default::default()
        },
    )
    .await
}

pub async fn claim(
    client: &mut JobQueueClient<Channel>,
    service_id: &str,
    max: i32,
    worker: &str,
) -> Vec<pb::LeasedJob> {
    client
        .claim_jobs(pb::ClaimJobsRequest {
            service_id: service_id.to_owned(),
            max_jobs: max,
            worker_id: worker.to_owned(),
            ..Default::default()
        })
        .await
        .expect("claim")
        .into_inner()
        .jobs
}

pub async fn complete(client: &mut JobQueueClient<Channel>, leased: &pb::LeasedJob, sum: i64) -> pb::Job {
    client
        .complete_job(pb::CompleteJobRequest {
            job_id: leased.job.as_ref().expect("job").id.clone(),
            lease_token: leased.lease_token.clone(),
            results_json: json!({ "sum": sum }).to_string(),
        })
        .await
        .expect("complete")
        .into_inner()
        .job
        .expect("job")
}

pub async fn fail_retry(client: &mut JobQueueClient<Channel>, leased: &pb::LeasedJob, message: &str) -> pb::Job {
    client
        .fail_job(pb::FailJobRequest {
            job_id: leased.job.as_ref().expect("job").id.clone(),
            lease_token: leased.lease_token.clone(),
            error_message: message.to_owned(),
            retry: true,
            ..Default::default()
        })
        .await
        .expect("fail")
        .into_inner()
        .job
        .expect("job")
}

pub async fn get(client: &mut JobQueueClient<Channel>, id: &str) -> pb::Job {
    client
        .get_job(pb::GetJobRequest { id: id.to_owned() })
        .await
        .expect("get job")
        .into_inner()
        .job
        .expect("job")
}

pub fn job_id(leased: &pb::LeasedJob) -> String {
    leased.job.as_ref().expect("job").id.clone()
}

pub fn micros(t: &prost_types::Timestamp) -> i64 {
    t.seconds * 1_000_000 + i64::from(t.nanos / 1000)
}

pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

pub const DEADLINE: Duration = Duration::from_secs(15);
