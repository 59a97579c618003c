//! Job-queue configuration, from flags and environment variables, checked
//! before any socket opens.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use brigade_common::auth::AuthConfig;
use brigade_common::config::{ConfigError, LogConfig, StorageConfig, check_service_url};
use brigade_common::db::DatabaseTarget;
use brigade_common::listen::ListenAddr;
use brigade_common::tls::TlsConfig;

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
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub tls: TlsConfig,
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
    /// How long finished (COMPLETED, ERROR) jobs are kept: seconds, or a
    /// number with `s`, `m`, `h` or `d`; `0` keeps everything.
    #[arg(long = "job-retention", env = "BRIGADE_JOB_RETENTION", value_name = "BRIGADE_JOB_RETENTION", default_value = "30d", value_parser = parse_retention)]
    pub job_retention: Duration,
    /// Most jobs or services one list call returns (larger page sizes are capped).
    #[arg(long = "max-page-size", env = "BRIGADE_MAX_PAGE_SIZE", value_name = "BRIGADE_MAX_PAGE_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..=100_000))]
    pub max_page_size: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            reaper_interval_ms: 1000,
            max_document_bytes: 1_048_576,
            job_retention: Duration::from_secs(30 * 86_400),
            max_page_size: 1000,
        }
    }
}

/// `30d`, `12h`, `90m`, `45s` or plain seconds.
pub fn parse_retention(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 30d, 12h, 90m, 45s or 0"))?;
    let seconds = match unit {
        's' => Some(n),
        'm' => n.checked_mul(60),
        'h' => n.checked_mul(3600),
        'd' => n.checked_mul(86_400),
        _ => None,
    }
    .filter(|s| *s <= 100 * 365 * 86_400)
    .ok_or_else(|| format!("{text:?} is not a duration such as 30d, 12h, 90m, 45s or 0 (at most 100 years)"))?;
    Ok(Duration::from_secs(seconds))
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
            auth: AuthConfig::default(),
            tls: TlsConfig::default(),
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
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        <super::Config as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn retention_takes_units() {
        assert_eq!(parse_retention("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_retention("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_retention("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_retention("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_retention("0"), Ok(Duration::ZERO));
        assert!(parse_retention("").is_err());
        assert!(parse_retention("3w").is_err());
        assert!(parse_retention("-1d").is_err());
        assert!(parse_retention("99999999999d").is_err());
    }
}
