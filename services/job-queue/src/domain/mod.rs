//! Job-queue domain: services (job types), their revisions, jobs and statuses.

pub mod interface;
pub mod schema;

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
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Service {
    pub id: String,
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
}

impl Service {
    /// TopChef's rule: strictly more than `timeout` seconds since the last check-in.
    pub fn has_timed_out(&self, now_micros: i64) -> bool {
        now_micros - self.last_checked_in > self.timeout_seconds.saturating_mul(1_000_000)
    }
}

/// One revision of a service's schemas.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ServiceRevision {
    pub service_id: String,
    pub revision: i64,
    pub job_registration_schema: String,
    pub job_result_schema: String,
    pub created: i64,
}

/// A job as stored.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Job {
    pub seq: i64,
    pub id: String,
    pub service_id: String,
    pub status: String,
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
}

impl Job {
    pub fn status(&self) -> JobStatus {
        JobStatus::parse(&self.status).unwrap_or(JobStatus::Error)
    }
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
}

pub const DEFAULT_VERSION: &str = "1.0.0";
pub const DEFAULT_TIMEOUT_SECONDS: i64 = 30;
pub const DEFAULT_MAX_ATTEMPTS: i32 = 3;
pub const DEFAULT_LEASE_SECONDS: i64 = 30;
pub const MAX_NAME_LEN: usize = 200;

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
    fn timeout_is_strictly_greater() {
        let s = Service {
            id: String::new(),
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
        };
        assert!(!s.has_timed_out(1_000_000));
        assert!(s.has_timed_out(1_000_001));
    }
}
