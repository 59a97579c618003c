//! Plain Rust views of the job-queue's services and jobs, with JSON documents
//! parsed into [`serde_json::Value`].

use std::time::{Duration, SystemTime};

use brigade_proto::jobqueue::v1 as pb;
use serde_json::Value;

use crate::error::{Error, Result};

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobStatus {
    /// Waiting in the queue to be claimed.
    Registered,
    /// Leased by a worker.
    Working,
    /// Finished with results (terminal).
    Completed,
    /// Failed for good, or cancelled (terminal).
    Error,
    /// A status this client does not know.
    Unknown(i32),
}

impl JobStatus {
    /// Whether the job will not change any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Error)
    }

    fn from_pb(value: i32) -> Self {
        match pb::JobStatus::try_from(value) {
            Ok(pb::JobStatus::Registered) => JobStatus::Registered,
            Ok(pb::JobStatus::Working) => JobStatus::Working,
            Ok(pb::JobStatus::Completed) => JobStatus::Completed,
            Ok(pb::JobStatus::Error) => JobStatus::Error,
            _ => JobStatus::Unknown(value),
        }
    }

    fn to_pb(self) -> i32 {
        match self {
            JobStatus::Registered => pb::JobStatus::Registered as i32,
            JobStatus::Working => pb::JobStatus::Working as i32,
            JobStatus::Completed => pb::JobStatus::Completed as i32,
            JobStatus::Error => pb::JobStatus::Error as i32,
            JobStatus::Unknown(value) => value,
        }
    }
}

/// Which jobs of a service a bulk operation
/// ([`Client::cancel_jobs`](crate::Client::cancel_jobs),
/// [`Client::retry_jobs`](crate::Client::retry_jobs)) touches.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobFilter {
    /// The service whose jobs are touched.
    pub service_id: String,
    /// Jobs in one of these statuses (empty: the server's default for the operation).
    pub statuses: Vec<JobStatus>,
    /// Submitted at or after then.
    pub since: Option<SystemTime>,
    /// Submitted before then.
    pub until: Option<SystemTime>,
}

impl JobFilter {
    /// Every job of the service (narrow it with the setters).
    pub fn new(service_id: impl Into<String>) -> Self {
        Self {
            service_id: service_id.into(),
            statuses: Vec::new(),
            since: None,
            until: None,
        }
    }

    /// Only jobs in one of `statuses`.
    #[must_use]
    pub fn statuses(mut self, statuses: impl IntoIterator<Item = JobStatus>) -> Self {
        self.statuses = statuses.into_iter().collect();
        self
    }

    /// Only jobs submitted at or after `at`.
    #[must_use]
    pub fn since(mut self, at: SystemTime) -> Self {
        self.since = Some(at);
        self
    }

    /// Only jobs submitted before `at`.
    #[must_use]
    pub fn until(mut self, at: SystemTime) -> Self {
        self.until = Some(at);
        self
    }

    pub(crate) fn to_pb(&self) -> pb::JobFilter {
        pb::JobFilter {
            service_id: self.service_id.clone(),
            statuses: self.statuses.iter().map(|s| s.to_pb()).collect(),
            since: self.since.map(prost_types::Timestamp::from),
            until: self.until.map(prost_types::Timestamp::from),
        }
    }
}

/// One job, as the job-queue last reported it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Job {
    /// The job's UUID.
    pub id: String,
    /// The UUID of the service (job type) it belongs to.
    pub service_id: String,
    /// Its status.
    pub status: JobStatus,
    /// The parameters it was submitted with.
    pub parameters: Value,
    /// Its results, once set.
    pub results: Option<Value>,
    /// When it was submitted.
    pub date_submitted: Option<SystemTime>,
    /// Deliveries so far: each claim counts one (a completed first try shows 1).
    pub attempts: i32,
    /// Attempts allowed before the job ends in ERROR.
    pub max_attempts: i32,
    /// When the current lease ends, while one is held.
    pub lease_expires_at: Option<SystemTime>,
    /// Why the job failed (set on ERROR, and kept when a failed attempt is retried).
    pub error_message: Option<String>,
    /// The service revision whose schemas apply to this job.
    pub service_revision: i64,
    /// Whether it was cancelled.
    pub cancelled: bool,
    /// Higher is claimed first (then oldest).
    pub priority: i32,
    /// When a REGISTERED job becomes claimable (its `run_at`, or a retry's backoff); `None` when due now.
    pub due_at: Option<SystemTime>,
    /// The key it was submitted under, if any.
    pub idempotency_key: Option<String>,
    /// The worker's last progress report, 0–100.
    pub progress: Option<i32>,
}

/// Controls for one submitted job; every one is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubmitOptions {
    /// Higher is claimed first (default 0).
    pub priority: i32,
    /// Not claimable before then.
    pub run_at: Option<SystemTime>,
    /// A second submit with the same key for the same service returns the first job
    /// (`created == false`); a different body under a used key is [`Error::AlreadyExists`].
    pub idempotency_key: Option<String>,
}

impl SubmitOptions {
    /// No controls: priority 0, due now, no key.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the priority.
    #[must_use]
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Makes the job claimable only from `at`.
    #[must_use]
    pub fn run_at(mut self, at: SystemTime) -> Self {
        self.run_at = Some(at);
        self
    }

    /// Sets the idempotency key.
    #[must_use]
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    pub(crate) fn run_at_pb(&self) -> Option<prost_types::Timestamp> {
        self.run_at.map(prost_types::Timestamp::from)
    }
}

/// A job claimed under a lease: present `lease_token` to extend, complete or fail it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LeasedJob {
    /// The job, now WORKING.
    pub job: Job,
    /// Proof of the lease; changes on every claim.
    pub lease_token: String,
    /// When the lease ends unless it is extended (server clock).
    pub lease_expires_at: Option<SystemTime>,
}

/// A service (job type) registered with the job-queue.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Service {
    /// The service's UUID; jobs are submitted and claimed by it.
    pub id: String,
    /// Its name; (name, version) is unique.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Free text.
    pub description: String,
    /// Bumped each time a schema changes.
    pub revision: i64,
    /// JSON schema the parameters of each job must satisfy.
    pub registration_schema: Value,
    /// JSON schema the results of each job must satisfy.
    pub result_schema: Value,
    /// Seconds without a check-in before the service counts as timed out.
    pub timeout_seconds: i64,
    /// Attempts a job gets before it ends in ERROR.
    pub max_attempts: i32,
    /// The default lease length.
    pub lease: Duration,
    /// Most jobs WORKING at once across all workers and replicas; `None`: no limit.
    pub max_concurrency: Option<i32>,
    /// No claims while paused; submits are still accepted.
    pub paused: bool,
    /// The retry backoff's first delay (exponential with jitter).
    pub retry_backoff_base: Duration,
    /// The retry backoff's longest delay.
    pub retry_backoff_cap: Duration,
}

/// What [`Client::register_service`](crate::Client::register_service) creates
/// (or finds, by name and version).
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceDefinition {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) description: String,
    pub(crate) registration_schema: Value,
    pub(crate) result_schema: Value,
    pub(crate) timeout_seconds: Option<i64>,
    pub(crate) max_attempts: Option<i32>,
    pub(crate) lease: Option<Duration>,
    pub(crate) max_concurrency: Option<i32>,
    pub(crate) paused: bool,
    pub(crate) retry_backoff_base: Option<Duration>,
    pub(crate) retry_backoff_cap: Option<Duration>,
}

/// The version a service gets when none is given (the server's default too).
pub const DEFAULT_VERSION: &str = "1.0.0";

impl ServiceDefinition {
    /// A service named `name`, version [`DEFAULT_VERSION`], whose jobs take
    /// parameters matching `registration_schema` and produce results matching
    /// `result_schema` (both JSON Schema objects).
    pub fn new(name: impl Into<String>, registration_schema: Value, result_schema: Value) -> Self {
        Self {
            name: name.into(),
            version: DEFAULT_VERSION.to_owned(),
            description: String::new(),
            registration_schema,
            result_schema,
            timeout_seconds: None,
            max_attempts: None,
            lease: None,
            max_concurrency: None,
            paused: false,
            retry_backoff_base: None,
            retry_backoff_cap: None,
        }
    }

    /// Sets the version; (name, version) identifies the service.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Seconds without a check-in before the service counts as timed out.
    pub fn timeout_seconds(mut self, seconds: i64) -> Self {
        self.timeout_seconds = Some(seconds);
        self
    }

    /// Attempts a job gets (failed-with-retry or expired) before it ends in ERROR.
    pub fn max_attempts(mut self, attempts: i32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// The default lease length of the service's jobs (whole seconds, rounded up).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// At most `limit` (at least 1) jobs WORKING at once, e.g. 1 for an instrument.
    pub fn max_concurrency(mut self, limit: i32) -> Self {
        self.max_concurrency = Some(limit);
        self
    }

    /// Creates the service paused: no claims until it is resumed.
    pub fn paused(mut self, paused: bool) -> Self {
        self.paused = paused;
        self
    }

    /// The retry backoff: first delay `base`, longest `cap` (milliseconds on the wire).
    pub fn retry_backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.retry_backoff_base = Some(base);
        self.retry_backoff_cap = Some(cap);
        self
    }

    pub(crate) fn to_request(&self) -> pb::CreateServiceRequest {
        pb::CreateServiceRequest {
            name: self.name.clone(),
            description: self.description.clone(),
            version: self.version.clone(),
            job_registration_schema_json: self.registration_schema.to_string(),
            job_result_schema_json: self.result_schema.to_string(),
            timeout_seconds: self.timeout_seconds,
            max_attempts: self.max_attempts,
            lease_seconds: self.lease.map(lease_seconds),
            max_concurrency: self.max_concurrency,
            paused: self.paused,
            retry_backoff_base_ms: self.retry_backoff_base.map(millis),
            retry_backoff_cap_ms: self.retry_backoff_cap.map(millis),
        }
    }
}

/// The changes [`Client::update_service`](crate::Client::update_service) makes:
/// only the fields set here; the rest stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceUpdate {
    name: Option<String>,
    description: Option<String>,
    available: Option<bool>,
    timeout_seconds: Option<i64>,
    max_attempts: Option<i32>,
    lease: Option<Duration>,
    max_concurrency: Option<Option<i32>>,
    paused: Option<bool>,
    retry_backoff_base: Option<Duration>,
    retry_backoff_cap: Option<Duration>,
}

impl ServiceUpdate {
    /// Changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renames the service.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Marks the service available or not (TopChef's flag).
    #[must_use]
    pub fn available(mut self, available: bool) -> Self {
        self.available = Some(available);
        self
    }

    /// Seconds without a check-in before the service counts as timed out.
    #[must_use]
    pub fn timeout_seconds(mut self, seconds: i64) -> Self {
        self.timeout_seconds = Some(seconds);
        self
    }

    /// Attempts a job gets.
    #[must_use]
    pub fn max_attempts(mut self, attempts: i32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// The default lease length (whole seconds, rounded up).
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// At most `limit` (at least 1) jobs WORKING at once.
    #[must_use]
    pub fn max_concurrency(mut self, limit: i32) -> Self {
        self.max_concurrency = Some(Some(limit));
        self
    }

    /// Removes the concurrency limit.
    #[must_use]
    pub fn no_concurrency_limit(mut self) -> Self {
        self.max_concurrency = Some(None);
        self
    }

    /// Pauses (`true`) or resumes (`false`) the service.
    #[must_use]
    pub fn paused(mut self, paused: bool) -> Self {
        self.paused = Some(paused);
        self
    }

    /// The retry backoff's first delay.
    #[must_use]
    pub fn retry_backoff_base(mut self, base: Duration) -> Self {
        self.retry_backoff_base = Some(base);
        self
    }

    /// The retry backoff's longest delay.
    #[must_use]
    pub fn retry_backoff_cap(mut self, cap: Duration) -> Self {
        self.retry_backoff_cap = Some(cap);
        self
    }

    pub(crate) fn to_request(&self, id: &str) -> pb::UpdateServiceRequest {
        pb::UpdateServiceRequest {
            id: id.to_owned(),
            is_available: self.available,
            description: self.description.clone(),
            name: self.name.clone(),
            timeout_seconds: self.timeout_seconds,
            max_attempts: self.max_attempts,
            lease_seconds: self.lease.map(lease_seconds),
            max_concurrency: self.max_concurrency.flatten(),
            clear_max_concurrency: self.max_concurrency == Some(None),
            paused: self.paused,
            retry_backoff_base_ms: self.retry_backoff_base.map(millis),
            retry_backoff_cap_ms: self.retry_backoff_cap.map(millis),
            ..Default::default()
        }
    }
}

/// A duration in whole milliseconds, saturating.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn from_millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// A lease length in the whole seconds the protocol speaks, rounded up, at least 1.
pub(crate) fn lease_seconds(lease: Duration) -> i64 {
    let whole = lease.as_secs() + u64::from(lease.subsec_nanos() > 0);
    i64::try_from(whole.max(1)).unwrap_or(i64::MAX)
}

/// A protobuf timestamp (seconds, nanos since the epoch) as a `SystemTime`.
pub(crate) fn time(seconds: i64, nanos: i32) -> Option<SystemTime> {
    let seconds = u64::try_from(seconds).ok()?;
    let nanos = u32::try_from(nanos).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::new(seconds, nanos))
}

fn document(field: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::Malformed(format!("{field} is not valid JSON: {e}")))
}

impl Job {
    pub(crate) fn from_pb(job: pb::Job) -> Result<Self> {
        Ok(Job {
            parameters: document("parameters", &job.parameters_json)?,
            results: job
                .results_json
                .as_deref()
                .map(|t| document("results", t))
                .transpose()?,
            date_submitted: job.date_submitted.and_then(|t| time(t.seconds, t.nanos)),
            lease_expires_at: job.lease_expires_at.and_then(|t| time(t.seconds, t.nanos)),
            status: JobStatus::from_pb(job.status),
            id: job.id,
            service_id: job.service_id,
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            error_message: job.error_message,
            service_revision: job.service_revision,
            cancelled: job.cancelled,
            priority: job.priority,
            due_at: job.due_at.and_then(|t| time(t.seconds, t.nanos)),
            idempotency_key: job.idempotency_key,
            progress: job.progress,
        })
    }

    pub(crate) fn from_opt(job: Option<pb::Job>) -> Result<Self> {
        Job::from_pb(job.ok_or_else(|| Error::Malformed("the response carries no job".to_owned()))?)
    }
}

impl LeasedJob {
    pub(crate) fn from_pb(leased: pb::LeasedJob) -> Result<Self> {
        Ok(LeasedJob {
            lease_expires_at: leased.lease_expires_at.and_then(|t| time(t.seconds, t.nanos)),
            job: Job::from_opt(leased.job)?,
            lease_token: leased.lease_token,
        })
    }
}

impl Service {
    pub(crate) fn from_pb(s: pb::Service) -> Result<Self> {
        Ok(Service {
            registration_schema: document("job_registration_schema", &s.job_registration_schema_json)?,
            result_schema: document("job_result_schema", &s.job_result_schema_json)?,
            id: s.id,
            name: s.name,
            version: s.version,
            description: s.description,
            revision: s.revision,
            timeout_seconds: s.timeout_seconds,
            max_attempts: s.max_attempts,
            lease: Duration::from_secs(u64::try_from(s.lease_seconds).unwrap_or(0)),
            max_concurrency: s.max_concurrency,
            paused: s.paused,
            retry_backoff_base: from_millis(s.retry_backoff_base_ms),
            retry_backoff_cap: from_millis(s.retry_backoff_cap_ms),
        })
    }

    pub(crate) fn from_opt(s: Option<pb::Service>) -> Result<Self> {
        Service::from_pb(s.ok_or_else(|| Error::Malformed("the response carries no service".to_owned()))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_seconds_round_up_and_stay_positive() {
        assert_eq!(lease_seconds(Duration::from_secs(2)), 2);
        assert_eq!(lease_seconds(Duration::from_millis(2001)), 3);
        assert_eq!(lease_seconds(Duration::ZERO), 1);
        assert_eq!(lease_seconds(Duration::from_millis(10)), 1);
    }

    #[test]
    fn statuses_map_and_terminality() {
        assert_eq!(
            JobStatus::from_pb(pb::JobStatus::Completed as i32),
            JobStatus::Completed
        );
        assert_eq!(JobStatus::from_pb(42), JobStatus::Unknown(42));
        assert!(JobStatus::Error.is_terminal());
        assert!(!JobStatus::Working.is_terminal());
    }
}
