//! Recipe-types configuration, from flags and environment variables, checked
//! before any socket opens.

use std::net::SocketAddr;
use std::path::PathBuf;

use brigade_common::db::DatabaseTarget;

#[derive(clap::Parser, Clone, Debug)]
#[command(name = "brigade-recipe-types", about = "Brigade recipe-types gRPC service", version)]
pub struct Config {
    /// Address the gRPC server listens on (port 0 picks a free port).
    #[arg(
        long = "listen",
        env = "BRIGADE_RECIPE_TYPES_ADDR",
        value_name = "BRIGADE_RECIPE_TYPES_ADDR",
        default_value = "0.0.0.0:50052"
    )]
    pub listen: SocketAddr,
    /// postgres:// selects PostgreSQL; sqlite:// or nothing selects SQLite.
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        value_name = "DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Where the SQLite file lives.
    #[arg(
        long = "data-dir",
        env = "BRIGADE_DATA_DIR",
        value_name = "BRIGADE_DATA_DIR",
        default_value = "./brigade-data"
    )]
    pub data_dir: PathBuf,
    /// gRPC address of job-queue, for job-type look-ups.
    #[arg(
        long = "job-queue-url",
        env = "BRIGADE_JOB_QUEUE_URL",
        value_name = "BRIGADE_JOB_QUEUE_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    pub job_queue_url: String,
    /// Database connections in the pool.
    #[arg(long = "db-max-connections", env = "BRIGADE_DB_MAX_CONNECTIONS", value_name = "BRIGADE_DB_MAX_CONNECTIONS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: u32,
    /// Largest recipe definition accepted, in bytes.
    #[arg(long = "max-definition-bytes", env = "BRIGADE_MAX_DEFINITION_BYTES", value_name = "BRIGADE_MAX_DEFINITION_BYTES", default_value_t = 1_048_576, value_parser = clap::value_parser!(u64).range(1024..=67_108_864))]
    pub max_definition_bytes: u64,
    /// Most nodes a recipe definition may have.
    #[arg(long = "max-definition-nodes", env = "BRIGADE_MAX_DEFINITION_NODES", value_name = "BRIGADE_MAX_DEFINITION_NODES", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_definition_nodes: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid value for {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl Config {
    pub fn local(listen: SocketAddr, data_dir: PathBuf, database_url: Option<String>, job_queue_url: String) -> Self {
        Self {
            listen,
            database_url,
            data_dir,
            job_queue_url,
            db_max_connections: 10,
            max_definition_bytes: 1_048_576,
            max_definition_nodes: 1000,
        }
    }

    pub fn validate(&self) -> Result<DatabaseTarget, ConfigError> {
        let url = self.job_queue_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.parse::<http::Uri>().is_err() {
            return Err(ConfigError {
                variable: "BRIGADE_JOB_QUEUE_URL",
                message: format!("{url:?} is not an http:// or https:// URL"),
            });
        }
        DatabaseTarget::resolve(self.database_url.as_deref(), &self.data_dir, "recipe-types.sqlite3").map_err(|e| {
            ConfigError {
                variable: "DATABASE_URL",
                message: e.to_string(),
            }
        })
    }
}
