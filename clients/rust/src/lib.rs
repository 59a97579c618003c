//! Client library for Brigade's job-queue: connect, register a service (job
//! type), submit jobs, and run a [`Worker`] loop that takes jobs off the queue,
//! the way River, Oban or Celery give you workers instead of raw calls.
//!
//! * [`Client`] wraps the `brigade.jobqueue.v1.JobQueue` gRPC API:
//!   [`Client::connect`] (retried with bounded exponential backoff),
//!   [`Client::register_service`] (create, or look up by name and version),
//!   [`Client::list_services`], [`Client::submit`], [`Client::submit_many`],
//!   [`Client::get_job`], [`Client::list_jobs`], [`Client::cancel_job`],
//!   [`Client::watch_job`], [`Client::watch_queue`],
//!   [`Client::wait_for_job`] (with a timeout), and the lease calls ([`Client::claim`], [`Client::extend_lease`],
//!   [`Client::complete`], [`Client::fail`]) for those who drive leases by hand.
//! * [`Worker`] claims jobs in batches, runs an async handler on each with
//!   bounded concurrency, heartbeats every lease, completes or fails each job,
//!   and shuts down gracefully on a signal.
//! * [`RecipeClient`] queues, reads, cancels and watches recipes on the
//!   recipe-types service ([`RecipeClient::wait_for_recipe`] until it ends).
//! * Every failure is an [`Error`]: results that violate the service's result
//!   schema are [`Error::ResultRejected`], a stale lease is
//!   [`Error::LeaseLost`], and so on.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use brigade_client::{Client, HandlerError, Job, ServiceDefinition};
//! use serde_json::{Value, json};
//!
//! async fn measure(job: Job) -> Result<Value, HandlerError> {
//!     let samples = job.parameters["samples"]
//!         .as_u64()
//!         .ok_or_else(|| HandlerError::new("samples must be a number"))?;
//!     Ok(json!({"mean": samples as f64 / 2.0}))
//! }
//!
//! # async fn example() -> Result<(), brigade_client::Error> {
//! let client = Client::connect("http://127.0.0.1:50051").await?;
//! let service = client
//!     .register_service(
//!         &ServiceDefinition::new(
//!             "spectrometer",
//!             json!({"type": "object", "properties": {"samples": {"type": "integer"}}, "required": ["samples"]}),
//!             json!({"type": "object", "properties": {"mean": {"type": "number"}}, "required": ["mean"]}),
//!         )
//!         .lease(Duration::from_secs(30)),
//!     )
//!     .await?;
//!
//! client.submit(&service.id, &json!({"samples": 10})).await?;
//!
//! let summary = client
//!     .worker(&service.id, measure)
//!     .concurrency(8)
//!     .grace_period(Duration::from_secs(10))
//!     .build()
//!     .run_until(async {
//!         let _ = tokio::signal::ctrl_c().await;
//!     })
//!     .await?;
//! println!("completed {} jobs", summary.completed);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod backoff;
mod cancel;
mod client;
mod error;
mod recipes;
mod types;
mod watch;
mod worker;

pub use cancel::{Cancellation, cancellation};
pub use client::{AuthorizedChannel, CANCELLED_PREFIX, Client, ConnectOptions, Credentials};
pub use error::{Error, Result};
pub use recipes::{Recipe, RecipeClient, RecipeStatus};
pub use types::{
    DEFAULT_VERSION, Job, JobFilter, JobStatus, LeasedJob, Service, ServiceDefinition, ServiceUpdate, SubmitOptions,
};
pub use watch::{JobStream, QueueEvent};
pub use worker::{HandlerError, SHUTDOWN_MESSAGE, Worker, WorkerBuilder, WorkerEvent, WorkerSummary};

/// Why a call failed, beyond its gRPC code (`brigade.errors.v1.ErrorReason`):
/// see [`Error::reason`] and [`ErrorReason::of`].
pub use brigade_proto::ErrorReason;
/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The generated protobuf types and gRPC client, for what this crate does not wrap.
pub use brigade_proto::jobqueue::v1 as proto;
