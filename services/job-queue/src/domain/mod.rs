//! Job-queue domain: services (job types), their revisions, jobs and statuses.

mod ids;
pub mod notice;
pub mod schema;

pub use ids::{Id, JobId, JobKind, RowVersion, ServiceId, ServiceKind};

use std::fmt;

/// A job's status, TopChef's four values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobStatus {
    Registered,
    Working,
    Completed,
    Error,
}

impl JobStatus {
    pub const ALL: [JobStatus; 4] = [Self::Registered, Self::Working, Self::Completed, Self::Error];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "REGISTERED",
            Self::Working => "WORKING",
            Self::Completed => "COMPLETED",
            Self::Error => "ERROR",
        }
    }

    /// Exactly as stored; anything else is not a status.
    pub fn from_stored(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Case-insensitive, as TopChef accepts `"working"`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Error)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A service as stored. Times are microseconds since the Unix epoch, JSON documents are text.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    pub id: ServiceId,
    pub name: String,
    pub version: String,
    pub description: String,
    pub revision: i64,
    pub job_registration_schema: String,
    pub job_result_schema: String,
    pub timeout_seconds: i64,
    pub is_available: bool,
    pub last_checked_in: i64,
    pub created: i64,
    pub max_attempts: i32,
    pub lease_seconds: i64,
    /// Bumped by every write; an update names the version it read.
    pub row_version: RowVersion,
    /// Most jobs WORKING at once; `None` is no limit.
    pub max_concurrency: Option<i32>,
    /// No claims while paused.
    pub paused: bool,
    pub retry_backoff_base_ms: i64,
    pub retry_backoff_cap_ms: i64,
}

impl Service {
    /// TopChef's rule: strictly more than `timeout` seconds since the last check-in.
    pub fn has_timed_out(&self, now_micros: i64) -> bool {
        now_micros - self.last_checked_in > self.timeout_seconds.saturating_mul(1_000_000)
    }
}

/// One revision of a service's schemas.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceRevision {
    pub service_id: ServiceId,
    pub revision: i64,
    pub job_registration_schema: String,
    pub job_result_schema: String,
    pub created: i64,
}

/// A job as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// Position in submission order (0 before the job is stored).
    pub seq: i64,
    pub id: JobId,
    pub service_id: ServiceId,
    pub status: JobStatus,
    pub parameters: String,
    pub results: Option<String>,
    pub date_submitted: i64,
    pub attempts: i32,
    pub max_attempts: i32,
    pub lease_token: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub error_message: Option<String>,
    pub service_revision: i64,
    pub cancelled: bool,
    pub updated: i64,
    /// Higher first, then oldest.
    pub priority: i32,
    /// When a REGISTERED job becomes claimable; `None` is now.
    pub due_at: Option<i64>,
    pub idempotency_key: Option<String>,
    pub recipe_id: Option<String>,
    pub recipe_node: Option<String>,
    pub progress: Option<i32>,
    pub progress_message: Option<String>,
    pub cancel_reason: Option<String>,
    /// Grows with every write to the job.
    pub row_version: i64,
    /// The lease token whose completion, failure or cancellation applied last.
    pub applied_token: Option<String>,
}

/// One delivery of a job to a worker.
#[derive(Clone, Debug, PartialEq)]
pub struct JobAttempt {
    pub number: i32,
    pub worker_id: String,
    pub claimed: i64,
    pub finished: Option<i64>,
    pub outcome: AttemptOutcome,
    pub error_message: Option<String>,
}

/// How an attempt ended (or that it still runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttemptOutcome {
    Running,
    Completed,
    Failed,
    Retried,
    Expired,
    Released,
    Cancelled,
}

impl AttemptOutcome {
    pub const ALL: [Self; 7] = [
        Self::Running,
        Self::Completed,
        Self::Failed,
        Self::Retried,
        Self::Expired,
        Self::Released,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::Retried => "RETRIED",
            Self::Expired => "EXPIRED",
            Self::Released => "RELEASED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn from_stored(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The delay before a failed attempt's retry: `min(cap, base * 2^(attempt-1))`
/// plus up to a fifth more, so retries of many jobs spread out. `unit` is a
/// random number in `[0, 1)`.
pub fn retry_delay_ms(base_ms: i64, cap_ms: i64, attempt: i32, unit: f64) -> i64 {
    let exponent = u32::try_from(attempt.saturating_sub(1).clamp(0, 40)).unwrap_or(0);
    let delay = base_ms.saturating_mul(1_i64 << exponent).min(cap_ms).max(0);
    delay + (delay as f64 * 0.2 * unit.clamp(0.0, 1.0)) as i64
}

/// A random number in `[0, 1)` from the operating system's generator (through uuid).
pub fn random_unit() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1_u64 << 53) as f64
}

/// Fields a service update may change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServicePatch {
    pub is_available: Option<bool>,
    pub description: Option<String>,
    pub name: Option<String>,
    pub timeout_seconds: Option<i64>,
    pub version: Option<String>,
    pub job_registration_schema: Option<String>,
    pub job_result_schema: Option<String>,
    pub max_attempts: Option<i32>,
    pub lease_seconds: Option<i64>,
    /// `Some(None)` removes the limit.
    pub max_concurrency: Option<Option<i32>>,
    pub paused: Option<bool>,
    pub retry_backoff_base_ms: Option<i64>,
    pub retry_backoff_cap_ms: Option<i64>,
}

impl ServicePatch {
    /// `current` with this patch's fields applied, checked in at `now`. The
    /// revision grows when a schema changes meaning (not merely its spelling).
    pub fn apply(&self, current: &Service, now: i64) -> Service {
        let mut next = current.clone();
        if let Some(available) = self.is_available {
            next.is_available = available;
        }
        if let Some(description) = &self.description {
            next.description.clone_from(description);
        }
        if let Some(name) = &self.name {
            next.name.clone_from(name);
        }
        if let Some(timeout) = self.timeout_seconds {
            next.timeout_seconds = timeout;
        }
        if let Some(version) = &self.version {
            next.version.clone_from(version);
        }
        if let Some(attempts) = self.max_attempts {
            next.max_attempts = attempts;
        }
        if let Some(lease) = self.lease_seconds {
            next.lease_seconds = lease;
        }
        if let Some(limit) = self.max_concurrency {
            next.max_concurrency = limit;
        }
        if let Some(paused) = self.paused {
            next.paused = paused;
        }
        if let Some(base) = self.retry_backoff_base_ms {
            next.retry_backoff_base_ms = base;
        }
        if let Some(cap) = self.retry_backoff_cap_ms {
            next.retry_backoff_cap_ms = cap;
        }
        let mut schemas_changed = false;
        if let Some(text) = &self.job_registration_schema {
            schemas_changed |= !same_json(text, &current.job_registration_schema);
            next.job_registration_schema.clone_from(text);
        }
        if let Some(text) = &self.job_result_schema {
            schemas_changed |= !same_json(text, &current.job_result_schema);
            next.job_result_schema.clone_from(text);
        }
        if schemas_changed {
            next.revision = current.revision + 1;
        }
        next.last_checked_in = now;
        next
    }
}

fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

pub const DEFAULT_VERSION: &str = "1.0.0";
pub const DEFAULT_TIMEOUT_SECONDS: i64 = 30;
pub const DEFAULT_MAX_ATTEMPTS: i32 = 3;
pub const DEFAULT_LEASE_SECONDS: i64 = 30;
pub const MAX_NAME_LEN: usize = 200;
pub const DEFAULT_RETRY_BACKOFF_BASE_MS: i64 = 1000;
pub const DEFAULT_RETRY_BACKOFF_CAP_MS: i64 = 300_000;

/// `^[A-Za-z0-9][A-Za-z0-9._+-]{0,49}$`, checked by hand to avoid a regex engine for one rule.
pub fn is_valid_version(v: &str) -> bool {
    let bytes = v.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 50
        && bytes[0].is_ascii_alphanumeric()
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
}

pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_parses_case_insensitively() {
        assert_eq!(JobStatus::parse("working"), Some(JobStatus::Working));
        assert_eq!(JobStatus::parse("COMPLETED"), Some(JobStatus::Completed));
        assert_eq!(JobStatus::parse("done"), None);
        assert_eq!(JobStatus::from_stored("working"), None, "storage is exact");
        assert_eq!(JobStatus::from_stored("WORKING"), Some(JobStatus::Working));
    }

    #[test]
    fn version_rule() {
        assert!(is_valid_version("1.0.0"));
        assert!(is_valid_version("2.1-beta+3"));
        assert!(!is_valid_version(""));
        assert!(!is_valid_version("-1"));
        assert!(!is_valid_version("1 0"));
        assert!(!is_valid_version(&"a".repeat(51)));
    }

    #[test]
    fn retry_delay_doubles_up_to_the_cap() {
        assert_eq!(retry_delay_ms(1000, 300_000, 1, 0.0), 1000);
        assert_eq!(retry_delay_ms(1000, 300_000, 2, 0.0), 2000);
        assert_eq!(retry_delay_ms(1000, 300_000, 4, 0.0), 8000);
        assert_eq!(retry_delay_ms(1000, 5000, 10, 0.0), 5000);
        assert_eq!(retry_delay_ms(1000, 5000, 100, 0.0), 5000);
        let jittered = retry_delay_ms(1000, 300_000, 1, 0.99);
        assert!((1000..1200).contains(&jittered), "{jittered}");
        let u = random_unit();
        assert!((0.0..1.0).contains(&u));
    }

    #[test]
    fn timeout_is_strictly_greater() {
        let s = Service {
            id: ServiceId::generate(),
            name: String::new(),
            version: String::new(),
            description: String::new(),
            revision: 1,
            job_registration_schema: String::new(),
            job_result_schema: String::new(),
            timeout_seconds: 1,
            is_available: false,
            last_checked_in: 0,
            created: 0,
            max_attempts: 3,
            lease_seconds: 30,
            row_version: RowVersion::FIRST,
            max_concurrency: None,
            paused: false,
            retry_backoff_base_ms: DEFAULT_RETRY_BACKOFF_BASE_MS,
            retry_backoff_cap_ms: DEFAULT_RETRY_BACKOFF_CAP_MS,
        };
        assert!(!s.has_timed_out(1_000_000));
        assert!(s.has_timed_out(1_000_001));
    }
}
