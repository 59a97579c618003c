//! Recipe-types configuration, from flags and environment variables, checked
//! before any socket opens.

use std::net::SocketAddr;
use std::path::PathBuf;

use brigade_common::auth::AuthConfig;
use brigade_common::config::{ConfigError, LogConfig, StorageConfig, check_service_url};
use brigade_common::db::DatabaseTarget;
use brigade_common::listen::ListenAddr;
use brigade_common::tls::TlsConfig;

#[derive(clap::Parser, Clone, Debug)]
#[command(name = "brigade-recipe-types", about = "Brigade recipe-types gRPC service", version)]
pub struct Config {
    /// Address the gRPC server listens on, host:port (port 0 picks a free port).
    #[arg(
        long = "recipe-types-addr",
        alias = "listen",
        env = "BRIGADE_RECIPE_TYPES_ADDR",
        value_name = "BRIGADE_RECIPE_TYPES_ADDR",
        default_value = "0.0.0.0:50052"
    )]
    pub listen: ListenAddr,
    #[command(flatten)]
    pub storage: StorageConfig,
    /// Apply the database migrations and exit (for an init container or a
    /// migration Job that runs before new replicas start).
    #[arg(long = "migrate-only")]
    pub migrate_only: bool,
    /// gRPC address of job-queue, for job-type look-ups.
    #[arg(
        long = "job-queue-url",
        env = "BRIGADE_JOB_QUEUE_URL",
        value_name = "BRIGADE_JOB_QUEUE_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    pub job_queue_url: String,
    #[command(flatten)]
    pub limits: Limits,
    #[command(flatten)]
    pub log: LogConfig,
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub tls: TlsConfig,
}

/// recipe-types' tuning: the settings the all-in-one binary takes as they are.
#[derive(clap::Args, Clone, Debug)]
#[group(id = "recipe_types_limits")]
#[command(next_help_heading = "recipe-types settings")]
pub struct Limits {
    /// Largest recipe definition accepted, in bytes.
    #[arg(long = "max-definition-bytes", env = "BRIGADE_MAX_DEFINITION_BYTES", value_name = "BRIGADE_MAX_DEFINITION_BYTES", default_value_t = Limits::default().max_definition_bytes, value_parser = clap::value_parser!(u64).range(1024..=67_108_864))]
    pub max_definition_bytes: u64,
    /// Most nodes a recipe definition may have.
    #[arg(long = "max-definition-nodes", env = "BRIGADE_MAX_DEFINITION_NODES", value_name = "BRIGADE_MAX_DEFINITION_NODES", default_value_t = Limits::default().max_definition_nodes, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_definition_nodes: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_definition_bytes: 1_048_576,
            max_definition_nodes: 1000,
        }
    }
}

impl Config {
    pub fn local(listen: SocketAddr, data_dir: PathBuf, database_url: Option<String>, job_queue_url: String) -> Self {
        Self {
            listen: listen.into(),
            storage: StorageConfig::new(database_url, data_dir),
            migrate_only: false,
            job_queue_url,
            limits: Limits::default(),
            log: LogConfig::default(),
            auth: AuthConfig::default(),
            tls: TlsConfig::default(),
        }
    }

    pub fn validate(&self) -> Result<DatabaseTarget, ConfigError> {
        check_service_url("BRIGADE_JOB_QUEUE_URL", &self.job_queue_url)?;
        self.storage.target("recipe-types.sqlite3")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        <super::Config as clap::CommandFactory>::command().debug_assert();
    }
}
