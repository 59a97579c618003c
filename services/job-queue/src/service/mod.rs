//! Job-queue rules: what each operation checks and changes. No SQL and no wire
//! types here. Services (job types) in `services.rs`, jobs and leases in `jobs.rs`.

mod access;
mod batcher;
mod controls;
mod handed;
mod jobs;
mod leases;
mod services;
mod stats;
mod tokens;

pub use crate::domain::notice::{JobStatusNotice, OUTBOX_TOPIC_JOB_STATUS};
pub use leases::{LeaseExtension, Progress};
pub use stats::ServiceStats;
pub use tokens::{DatabaseTokenStore, NewToken};

use std::sync::Arc;

use serde_json::Value;

use crate::domain::Job;
use crate::domain::schema::{self, SchemaCache};
use crate::error::{Error, Result};
use crate::events::Events;
use crate::repository::Repository;

/// TopChef's queue shows at most this many jobs.
pub const QUEUE_PAGE: i64 = 10;
pub const OUTBOX_TOPIC_REVISION: &str = "job_type_revision";
/// How often an update that lost a race with another write is re-applied
/// before the caller is told to retry.
const UPDATE_ATTEMPTS: usize = 5;

/// Bounds on what one request may ask for.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_document_bytes: usize,
    pub max_batch: usize,
    pub max_claim: i64,
    pub max_lease_seconds: i64,
    pub max_page_size: i64,
    pub default_page_size: i64,
    /// Concurrent writers of submitted jobs (group commit lanes): one for
    /// SQLite, which takes one writer at a time, more for PostgreSQL.
    pub submit_lanes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_document_bytes: 1 << 20,
            max_batch: 1000,
            max_claim: 1000,
            max_lease_seconds: 24 * 3600,
            max_page_size: 1000,
            default_page_size: 1000,
            submit_lanes: 1,
        }
    }
}

/// A request for a new service.
#[derive(Clone, Debug, Default)]
pub struct NewService {
    pub name: String,
    pub description: String,
    pub version: Option<String>,
    pub job_registration_schema: String,
    pub job_result_schema: String,
    pub timeout_seconds: Option<i64>,
    pub max_attempts: Option<i32>,
    pub lease_seconds: Option<i64>,
    pub max_concurrency: Option<i32>,
    pub paused: bool,
    pub retry_backoff_base_ms: Option<i64>,
    pub retry_backoff_cap_ms: Option<i64>,
}

/// One job of a submit, with its controls. Times are microseconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Submission {
    pub parameters: String,
    pub priority: i32,
    pub run_at: Option<i64>,
    pub idempotency_key: Option<String>,
    pub recipe_id: Option<String>,
    pub recipe_node: Option<String>,
}

const MAX_KEY_BYTES: usize = 200;

impl Submission {
    /// Plain parameters, no controls.
    pub fn plain(parameters: String) -> Self {
        Self {
            parameters,
            ..Self::default()
        }
    }

    fn check(&self, field: &dyn Fn(&str) -> String) -> Result<()> {
        for (name, value) in [
            ("idempotency_key", &self.idempotency_key),
            ("recipe_id", &self.recipe_id),
            ("recipe_node", &self.recipe_node),
        ] {
            if let Some(text) = value
                && (text.is_empty() || text.len() > MAX_KEY_BYTES || text.contains('\0'))
            {
                return Err(Error::invalid(
                    field(name),
                    format!("must be 1 to {MAX_KEY_BYTES} bytes, no NUL"),
                ));
            }
        }
        if self.recipe_node.is_some() && self.recipe_id.is_none() {
            return Err(Error::invalid(field("recipe_node"), "needs a recipe_id"));
        }
        Ok(())
    }

    /// Whether a resubmit under the same key asks for the same job as `first`.
    fn matches(&self, parameters: &Value, first: &Job) -> bool {
        let same_parameters = serde_json::from_str::<Value>(&first.parameters).is_ok_and(|v| &v == parameters);
        let run_at = self.run_at.filter(|at| *at > first.date_submitted);
        // The due time moves once the job has been tried; only a fresh job can be compared.
        let same_run_at =
            first.attempts > 0 || first.status != crate::domain::JobStatus::Registered || run_at == first.due_at;
        same_parameters && self.priority == first.priority && same_run_at
    }
}

/// A page of results and where the next one starts.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<i64>,
}

/// The payload of a job-type revision notice in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RevisionNotice {
    pub name: String,
    pub version: String,
    pub revision: i64,
}

pub struct JobQueue {
    repo: Arc<dyn Repository>,
    schemas: SchemaCache,
    events: Events,
    limits: Limits,
    inserts: batcher::InsertBatcher,
    handed: handed::Handed,
}

impl JobQueue {
    /// Needs a Tokio runtime: it starts the submission writers.
    pub fn new(repo: Arc<dyn Repository>, events: Events, limits: Limits) -> Self {
        Self {
            inserts: batcher::InsertBatcher::start(repo.clone(), limits.submit_lanes),
            repo,
            schemas: SchemaCache::default(),
            events,
            limits,
            handed: handed::Handed::default(),
        }
    }

    pub fn repository(&self) -> &Arc<dyn Repository> {
        &self.repo
    }

    pub fn events(&self) -> &Events {
        &self.events
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn parse_document(&self, field: &str, text: &str) -> Result<Value> {
        if text.len() > self.limits.max_document_bytes {
            return Err(Error::invalid(
                field,
                format!("document is larger than {} bytes", self.limits.max_document_bytes),
            ));
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| Error::invalid(field, format!("not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(Error::invalid(field, "must be a JSON object"));
        }
        Ok(value)
    }

    /// Parses and meta-validates a schema; returns its canonical text.
    fn checked_schema(&self, field: &str, text: &str) -> Result<String> {
        let value = self.parse_document(field, text)?;
        schema::compile(&value).map_err(|m| Error::invalid(field, m))?;
        Ok(value.to_string())
    }

    /// Validates an arbitrary instance against an arbitrary schema (TopChef's /validator).
    pub fn validate_json(&self, schema_text: &str, instance_text: &str) -> Result<Vec<String>> {
        let schema_value = self.parse_document("schema", schema_text)?;
        if instance_text.len() > self.limits.max_document_bytes {
            return Err(Error::invalid("object", "document is too large"));
        }
        let instance: Value = serde_json::from_str(instance_text)
            .map_err(|e| Error::invalid("object", format!("not valid JSON: {e}")))?;
        let validator = schema::compile(&schema_value).map_err(|m| Error::invalid("schema", m))?;
        Ok(schema::violations(&validator, &instance))
    }

    fn publish(&self, jobs: &[Job]) {
        for job in jobs {
            self.events.publish(job);
        }
    }

    fn page_size(&self, requested: i64) -> i64 {
        if requested <= 0 {
            self.limits.default_page_size
        } else {
            requested.min(self.limits.max_page_size)
        }
    }

    fn check_lease(&self, seconds: i64) -> Result<i64> {
        if (1..=self.limits.max_lease_seconds).contains(&seconds) {
            Ok(seconds)
        } else {
            Err(Error::invalid(
                "lease_seconds",
                format!("must be between 1 and {}", self.limits.max_lease_seconds),
            ))
        }
    }
}

fn parse_token(token: &str) -> Result<i64> {
    if token.is_empty() {
        return Ok(0);
    }
    token
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| Error::invalid("page_token", "not a page token this service issued"))
}
