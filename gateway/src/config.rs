//! Gateway configuration, from flags and environment variables.

use std::net::SocketAddr;

use brigade_common::auth::AuthConfig;
pub use brigade_common::config::ConfigError;
use brigade_common::config::{LogConfig, check_service_url};
use brigade_common::listen::ListenAddr;
use brigade_common::tls::TlsConfig;

#[derive(clap::Parser, Clone, Debug)]
#[command(name = "brigade-gateway", about = "Brigade REST gateway", version)]
pub struct Config {
    /// Address the HTTP server listens on, host:port (port 0 picks a free port).
    #[arg(
        long = "gateway-addr",
        alias = "listen",
        env = "BRIGADE_GATEWAY_ADDR",
        value_name = "BRIGADE_GATEWAY_ADDR",
        default_value = DEFAULT_ADDR
    )]
    pub listen: ListenAddr,
    /// gRPC address of job-queue.
    #[arg(
        long = "job-queue-url",
        env = "BRIGADE_JOB_QUEUE_URL",
        value_name = "BRIGADE_JOB_QUEUE_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    pub job_queue_url: String,
    /// gRPC address of recipe-types.
    #[arg(
        long = "recipe-types-url",
        env = "BRIGADE_RECIPE_TYPES_URL",
        value_name = "BRIGADE_RECIPE_TYPES_URL",
        default_value = "http://127.0.0.1:50052"
    )]
    pub recipe_types_url: String,
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub tls: TlsConfig,
    #[command(flatten)]
    pub limits: Limits,
    #[command(flatten)]
    pub log: LogConfig,
}

/// Where the gateway listens unless told otherwise (every interface).
pub const DEFAULT_ADDR: &str = "0.0.0.0:8080";

/// The gateway's tuning: the settings the all-in-one binary takes as they are.
#[derive(clap::Args, Clone, Debug)]
#[group(id = "gateway_limits")]
#[command(next_help_heading = "gateway settings")]
pub struct Limits {
    /// Largest request body accepted, in bytes (413 above).
    #[arg(long = "max-body-bytes", env = "BRIGADE_MAX_BODY_BYTES", value_name = "BRIGADE_MAX_BODY_BYTES", default_value_t = Limits::default().max_body_bytes, value_parser = clap::value_parser!(u64).range(1024..=67_108_864))]
    pub max_body_bytes: u64,
    /// Deepest JSON nesting accepted in a request body (400 above).
    #[arg(long = "max-json-depth", env = "BRIGADE_MAX_JSON_DEPTH", value_name = "BRIGADE_MAX_JSON_DEPTH", default_value_t = Limits::default().max_json_depth, value_parser = clap::value_parser!(u32).range(2..=512))]
    pub max_json_depth: u32,
    /// Time allowed for one request, in milliseconds (504 after).
    #[arg(long = "request-timeout-ms", env = "BRIGADE_REQUEST_TIMEOUT_MS", value_name = "BRIGADE_REQUEST_TIMEOUT_MS", default_value_t = Limits::default().request_timeout_ms, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub request_timeout_ms: u64,
    /// Requests served at once; more are shed with 503 and Retry-After.
    #[arg(long = "max-concurrent-requests", env = "BRIGADE_MAX_CONCURRENT_REQUESTS", value_name = "BRIGADE_MAX_CONCURRENT_REQUESTS", default_value_t = Limits::default().max_concurrent_requests, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_concurrent_requests: u32,
    /// Deadline of each gRPC call to a service, in milliseconds.
    #[arg(long = "grpc-timeout-ms", env = "BRIGADE_GRPC_TIMEOUT_MS", value_name = "BRIGADE_GRPC_TIMEOUT_MS", default_value_t = Limits::default().grpc_timeout_ms, value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub grpc_timeout_ms: u64,
    /// Most jobs one TopChef list answer holds; `links.next` leads to the rest.
    #[arg(long = "max-list-items", env = "BRIGADE_MAX_LIST_ITEMS", value_name = "BRIGADE_MAX_LIST_ITEMS", default_value_t = Limits::default().max_list_items, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_list_items: u32,
    /// Time allowed for a client to send a request's headers, in milliseconds (per connection).
    #[arg(long = "header-read-timeout-ms", env = "BRIGADE_HEADER_READ_TIMEOUT_MS", value_name = "BRIGADE_HEADER_READ_TIMEOUT_MS", default_value_t = Limits::default().header_read_timeout_ms, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub header_read_timeout_ms: u64,
    /// Time allowed for a client to send a request body, in milliseconds (408 after).
    #[arg(long = "body-read-timeout-ms", env = "BRIGADE_BODY_READ_TIMEOUT_MS", value_name = "BRIGADE_BODY_READ_TIMEOUT_MS", default_value_t = Limits::default().body_read_timeout_ms, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub body_read_timeout_ms: u64,
    /// Browser origins allowed to call the API (CORS), comma-separated exact
    /// origins such as `https://lab.example.org`; none by default.
    #[arg(
        long = "cors-origins",
        env = "BRIGADE_CORS_ORIGINS",
        value_name = "BRIGADE_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    #[command(flatten)]
    pub api: ApiInfo,
}

/// What `GET /` says about this deployment (TopChef's API metadata).
#[derive(clap::Args, Clone, Debug)]
#[group(id = "gateway_api_info")]
pub struct ApiInfo {
    /// `documentation_url` at `GET /`.
    #[arg(id = "api_documentation_url", long = "api-documentation-url", env = "BRIGADE_API_DOCUMENTATION_URL", value_name = "BRIGADE_API_DOCUMENTATION_URL", default_value = ApiInfo::DOCUMENTATION_URL)]
    pub documentation_url: String,
    /// `maintainer_name` at `GET /`.
    #[arg(long = "api-maintainer-name", env = "BRIGADE_API_MAINTAINER_NAME", value_name = "BRIGADE_API_MAINTAINER_NAME", default_value = ApiInfo::MAINTAINER_NAME)]
    pub maintainer_name: String,
    /// `maintainer_email` at `GET /`.
    #[arg(long = "api-maintainer-email", env = "BRIGADE_API_MAINTAINER_EMAIL", value_name = "BRIGADE_API_MAINTAINER_EMAIL", default_value = ApiInfo::MAINTAINER_EMAIL)]
    pub maintainer_email: String,
    /// `source_code_repository_url` at `GET /`.
    #[arg(long = "api-source-code-url", env = "BRIGADE_API_SOURCE_CODE_URL", value_name = "BRIGADE_API_SOURCE_CODE_URL", default_value = ApiInfo::SOURCE_CODE_URL)]
    pub source_code_repository_url: String,
    /// `version` at `GET /` (default: Brigade's version).
    #[arg(id = "api_version", long = "api-version", env = "BRIGADE_API_VERSION", value_name = "BRIGADE_API_VERSION", default_value = env!("CARGO_PKG_VERSION"))]
    pub version: String,
}

impl ApiInfo {
    const DOCUMENTATION_URL: &str = "https://github.com/brigade-lab/brigade#readme";
    const MAINTAINER_NAME: &str = "Brigade maintainers";
    const MAINTAINER_EMAIL: &str = "maintainers@brigade.invalid";
    const SOURCE_CODE_URL: &str = "https://github.com/brigade-lab/brigade";
}

impl Default for ApiInfo {
    fn default() -> Self {
        Self {
            documentation_url: Self::DOCUMENTATION_URL.to_owned(),
            maintainer_name: Self::MAINTAINER_NAME.to_owned(),
            maintainer_email: Self::MAINTAINER_EMAIL.to_owned(),
            source_code_repository_url: Self::SOURCE_CODE_URL.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1_048_576,
            max_json_depth: 64,
            request_timeout_ms: 30_000,
            max_concurrent_requests: 1024,
            grpc_timeout_ms: 10_000,
            max_list_items: 1000,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            cors_origins: Vec::new(),
            api: ApiInfo::default(),
        }
    }
}

impl Config {
    pub fn local(listen: SocketAddr, job_queue_url: String, recipe_types_url: String) -> Self {
        Self {
            listen: listen.into(),
            job_queue_url,
            recipe_types_url,
            auth: AuthConfig::default(),
            tls: TlsConfig::default(),
            limits: Limits::default(),
            log: LogConfig::default(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        check_service_url("BRIGADE_JOB_QUEUE_URL", &self.job_queue_url)?;
        check_service_url("BRIGADE_RECIPE_TYPES_URL", &self.recipe_types_url)?;
        for (variable, url) in [
            ("BRIGADE_JOB_QUEUE_URL", &self.job_queue_url),
            ("BRIGADE_RECIPE_TYPES_URL", &self.recipe_types_url),
        ] {
            if url.trim().starts_with("https://") && self.tls_ca().is_none() {
                return Err(ConfigError {
                    variable,
                    message: "an https:// URL needs BRIGADE_TLS_CA, the CA the service's certificate chains to"
                        .to_owned(),
                });
            }
        }
        self.limits.cors_origins()?;
        Ok(())
    }
}

impl Config {
    /// `BRIGADE_TLS_CA` (in the shared TLS settings), when set and not empty.
    pub fn tls_ca(&self) -> Option<&std::path::Path> {
        brigade_common::config::given(&self.tls.ca)
    }
}

impl Limits {
    /// The allowed CORS origins as header values; an origin is a scheme and a
    /// host (and port), nothing else (`*` is refused: origins are listed exactly).
    pub fn cors_origins(&self) -> Result<Vec<http::HeaderValue>, ConfigError> {
        let fail = |origin: &str| ConfigError {
            variable: "BRIGADE_CORS_ORIGINS",
            message: format!("{origin:?} is not an origin like https://lab.example.org"),
        };
        let origins = self.cors_origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty());
        origins
            .map(|origin| {
                let parsed = url::Url::parse(origin).map_err(|_| fail(origin))?;
                let exact = parsed.origin().ascii_serialization();
                if !["http", "https"].contains(&parsed.scheme()) || exact != origin.trim_end_matches('/') {
                    return Err(fail(origin));
                }
                http::HeaderValue::from_str(&exact).map_err(|_| fail(origin))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        <super::Config as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn empty_tls_paths_mean_not_set() {
        use clap::Parser as _;
        let config = super::Config::try_parse_from([
            "gateway",
            "--tls-cert",
            "",
            "--tls-key",
            "",
            "--tls-client-ca",
            "",
            "--tls-ca",
            "",
        ])
        .unwrap();
        assert!(config.tls.load().unwrap().is_none());
        assert!(config.tls_ca().is_none());
        let config = super::Config::try_parse_from(["gateway", "--tls-cert", "/nowhere.pem", "--tls-key", ""]).unwrap();
        assert_eq!(config.tls.load().unwrap_err().variable, "BRIGADE_TLS_KEY");
    }

    #[test]
    fn cors_origins_are_exact() {
        let mut limits = super::Limits::default();
        assert!(limits.cors_origins().unwrap().is_empty());
        limits.cors_origins = vec!["https://lab.example.org".into(), " http://localhost:3000".into()];
        assert_eq!(limits.cors_origins().unwrap().len(), 2);
        for bad in ["*", "lab.example.org", "https://lab.example.org/path", "ftp://x"] {
            limits.cors_origins = vec![bad.into()];
            let error = limits.cors_origins().unwrap_err();
            assert_eq!(error.variable, "BRIGADE_CORS_ORIGINS", "{bad}");
        }
    }
}
