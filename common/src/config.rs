//! Configuration pieces every process shares: storage settings and the error
//! that names the variable at fault.

use std::path::PathBuf;

use crate::db::DatabaseTarget;

/// A bad configuration value; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

/// Where a service keeps its rows.
#[derive(clap::Args, Clone, Debug)]
pub struct StorageConfig {
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
    /// Database connections in the pool.
    #[arg(long = "db-max-connections", env = "BRIGADE_DB_MAX_CONNECTIONS", value_name = "BRIGADE_DB_MAX_CONNECTIONS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: u32,
}

impl StorageConfig {
    pub fn new(database_url: Option<String>, data_dir: PathBuf) -> Self {
        Self {
            database_url,
            data_dir,
            db_max_connections: 10,
        }
    }

    /// The database to open; `file_name` names the SQLite file in the data dir.
    pub fn target(&self, file_name: &str) -> Result<DatabaseTarget, ConfigError> {
        DatabaseTarget::resolve(self.database_url.as_deref(), &self.data_dir, file_name).map_err(|e| ConfigError {
            variable: "DATABASE_URL",
            message: e.to_string(),
        })
    }
}

/// The http:// or https:// URL of another Brigade process, or several of its
/// replicas' URLs separated by commas (see [`crate::balance`]).
pub fn check_service_url(variable: &'static str, url: &str) -> Result<(), ConfigError> {
    crate::balance::check(url).map_err(|message| ConfigError { variable, message })
}

/// How log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event; coloured only on a terminal.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging settings every process takes, checked like the rest.
#[derive(clap::Args, Clone, Debug, Default)]
#[command(next_help_heading = "Logging")]
pub struct LogConfig {
    /// Log line format.
    #[arg(
        long = "log-format",
        env = "BRIGADE_LOG_FORMAT",
        value_name = "BRIGADE_LOG_FORMAT",
        value_enum,
        ignore_case = true,
        default_value_t = LogFormat::Text
    )]
    pub format: LogFormat,
    /// Which events are logged, as tracing directives (`info`, `brigade=debug,warn`).
    #[arg(long = "log-filter", env = "RUST_LOG", value_name = "RUST_LOG", value_parser = parse_log_filter)]
    pub filter: Option<String>,
}

fn parse_log_filter(text: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(text)
        .map(|_| text.to_owned())
        .map_err(|e| format!("not a log filter: {e}"))
}

/// A path from a flag or variable where an empty value means "not set", as
/// Kubernetes ConfigMaps leave optional settings empty. Use with
/// `value_parser = optional_path` and read it through [`given`].
pub fn optional_path(text: &str) -> Result<std::path::PathBuf, std::convert::Infallible> {
    Ok(std::path::PathBuf::from(text.trim()))
}

/// The path of an [`optional_path`] setting, `None` when absent or empty.
pub fn given(path: &Option<std::path::PathBuf>) -> Option<&std::path::Path> {
    path.as_deref().filter(|p| !p.as_os_str().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_filters_are_checked() {
        assert!(parse_log_filter("info").is_ok());
        assert!(parse_log_filter("brigade=debug,warn").is_ok());
        assert!(parse_log_filter("brigade=[").is_err());
    }
}
