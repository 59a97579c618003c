//! Job-queue configuration, from flags and environment variables, checked
//! before any socket opens.

use std::net::SocketAddr;
use std::path::PathBuf;

use brigade_common::config::{ConfigError, LogConfig, StorageConfig, check_service_url};
use brigade_common::db::DatabaseTarget;
use brigade_common::listen::ListenAddr;

#[derive(clap::Parser, Clone, Debug)]
#[command(name = "brigade-job-queue", about = "Brigade job-queue gRPC service", version)]
pub struct Config {
    /// Address the gRPC server listens on, host:port (port 0 picks a free port).
    #[arg(
        long = "job-queue-addr",
        alias = "listen",
        env = "BRIGADE_JOB_QUEUE_ADDR",
        value_name = "BRIGADE_JOB_QUEUE_ADDR",
        default_value = "0.0.0.0:50051"
    )]
    pub listen: ListenAddr,
    #[command(flatten)]
    pub storage: StorageConfig,
    /// Apply the database migrations and exit (for an init container or a
    /// migration Job that runs before new replicas start).
    #[arg(long = "migrate-only")]
    pub migrate_only: bool,
    /// gRPC address of recipe-types, for job-type revision notices.
    #[arg(
        long = "recipe-types-url",
        env = "BRIGADE_RECIPE_TYPES_URL",
        value_name = "BRIGADE_RECIPE_TYPES_URL",
        default_value = "http://127.0.0.1:50052"
    )]
    pub recipe_types_url: String,
    #[command(flatten)]
    pub limits: Limits,
    #[command(flatten)]
    pub log: LogConfig,
}

/// job-queue's tuning: the settings the all-in-one binary takes as they are.
#[derive(clap::Args, Clone, Debug)]
#[group(id = "job_queue_limits")]
#[command(next_help_heading = "job-queue settings")]
pub struct Limits {
    /// How often expired leases are looked for, in milliseconds.
    #[arg(long = "reaper-interval-ms", env = "BRIGADE_REAPER_INTERVAL_MS", value_name = "BRIGADE_REAPER_INTERVAL_MS", default_value_t = Limits::default().reaper_interval_ms, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub reaper_interval_ms: u64,
    /// Largest parameters, results or schema document accepted, in bytes.
    #[arg(long = "max-document-bytes", env = "BRIGADE_MAX_DOCUMENT_BYTES", value_name = "BRIGADE_MAX_DOCUMENT_BYTES", default_value_t = Limits::default().max_document_bytes, value_parser = clap::value_parser!(u64).range(1024..=67_108_864))]
    pub max_document_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            reaper_interval_ms: 1000,
            max_document_bytes: 1_048_576,
        }
    }
}

impl Config {
    /// A configuration for tests and the all-in-one binary: everything default
    /// but the listen address, data dir and database.
    pub fn local(
        listen: SocketAddr,
        data_dir: PathBuf,
        database_url: Option<String>,
        recipe_types_url: String,
    ) -> Self {
        Self {
            listen: listen.into(),
            storage: StorageConfig::new(database_url, data_dir),
            migrate_only: false,
            recipe_types_url,
            limits: Limits::default(),
            log: LogConfig::default(),
        }
    }

    /// Checks what clap's types cannot; the error names the variable.
    pub fn validate(&self) -> Result<DatabaseTarget, ConfigError> {
        check_service_url("BRIGADE_RECIPE_TYPES_URL", &self.recipe_types_url)?;
        self.storage.target("job-queue.sqlite3")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        <super::Config as clap::CommandFactory>::command().debug_assert();
    }
}
