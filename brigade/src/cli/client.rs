//! Dialing the services: addresses and token from flags or environment, a
//! connect timeout, a deadline on every unary call and the bearer token on
//! every call.

use std::time::Duration;

use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_proto::recipetypes::v1::recipe_types_client::RecipeTypesClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::{CliError, CliResult};

/// Where the command line finds Brigade, and how it calls it.
#[derive(clap::Args, Clone, Debug)]
pub struct Connection {
    /// job-queue gRPC URL.
    #[arg(
        long = "job-queue-url",
        env = "BRIGADE_JOB_QUEUE_URL",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub job_queue_url: String,
    /// recipe-types gRPC URL.
    #[arg(
        long = "recipe-types-url",
        env = "BRIGADE_RECIPE_TYPES_URL",
        default_value = "http://127.0.0.1:50052",
        global = true
    )]
    pub recipe_types_url: String,
    /// API token, sent as `authorization: Bearer <token>`.
    #[arg(long = "token", env = "BRIGADE_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// PEM CA bundle that the servers' certificates must chain to (for https:// URLs).
    #[arg(long = "ca", env = "BRIGADE_TLS_CA", global = true)]
    pub ca: Option<std::path::PathBuf>,
    /// PEM client certificate, for servers that require one (mTLS); needs --client-key.
    #[arg(long = "client-cert", global = true, requires = "client_key")]
    pub client_cert: Option<std::path::PathBuf>,
    /// PEM private key of --client-cert.
    #[arg(long = "client-key", global = true, requires = "client_cert")]
    pub client_key: Option<std::path::PathBuf>,
    /// Seconds a call may take (watches are not limited).
    #[arg(long = "timeout", env = "BRIGADE_TIMEOUT", default_value = "30", value_parser = super::parse_seconds, global = true)]
    pub timeout: Duration,
    /// Print JSON instead of tables.
    #[arg(long = "json", global = true)]
    pub json: bool,
}

/// Adds the bearer token, when there is one, to every call.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub type Authorized = InterceptedService<Channel, Bearer>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl Connection {
    pub async fn job_queue(&self) -> CliResult<JobQueueClient<Authorized>> {
        let channel = self.channel("job-queue", &self.job_queue_url).await?;
        Ok(JobQueueClient::with_interceptor(channel, self.bearer()?))
    }

    pub async fn recipe_types(&self) -> CliResult<RecipeTypesClient<Authorized>> {
        let channel = self.channel("recipe-types", &self.recipe_types_url).await?;
        Ok(RecipeTypesClient::with_interceptor(channel, self.bearer()?))
    }

    /// A unary request with the call deadline.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(self.timeout);
        request
    }

    fn bearer(&self) -> CliResult<Bearer> {
        match &self.token {
            None => Ok(Bearer(None)),
            Some(token) => format!("Bearer {token}")
                .parse()
                .map(|v| Bearer(Some(v)))
                .map_err(|_| CliError::new("invalid token", "it must be printable ASCII")),
        }
    }

    /// The CA (`--ca`, else the system's roots are not consulted: tonic has
    /// none built in) and the optional client certificate.
    fn tls(&self) -> CliResult<ClientTlsConfig> {
        let read = |flag: &str, path: &std::path::Path| {
            std::fs::read(path)
                .map_err(|e| CliError::new(format!("cannot read {flag} {}", path.display()), e.to_string()))
        };
        let mut config = ClientTlsConfig::new();
        match &self.ca {
            Some(ca) => config = config.ca_certificate(Certificate::from_pem(read("--ca", ca)?)),
            None => return Err(CliError::new("an https:// URL needs --ca (or BRIGADE_TLS_CA)", "")),
        }
        if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
            config = config.identity(Identity::from_pem(
                read("--client-cert", cert)?,
                read("--client-key", key)?,
            ));
        }
        Ok(config)
    }

    async fn channel(&self, component: &str, url: &str) -> CliResult<Channel> {
        // A setting listing several replicas (as the services take it): one
        // short-lived command needs only the first.
        let url = brigade_common::balance::urls(url).next().unwrap_or(url);
        let what = format!("cannot reach {component} at {url}");
        let mut endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|e| CliError::new(&what, root_cause(&e)))?
            .connect_timeout(CONNECT_TIMEOUT);
        if url.starts_with("https://") {
            endpoint = endpoint
                .tls_config(self.tls()?)
                .map_err(|e| CliError::new(&what, root_cause(&e)))?;
        }
        match tokio::time::timeout(CONNECT_TIMEOUT, endpoint.connect()).await {
            Ok(Ok(channel)) => Ok(channel),
            Ok(Err(e)) => Err(CliError::new(what, root_cause(&e))),
            Err(_) => Err(CliError::new(what, format!("no connection within {CONNECT_TIMEOUT:?}"))),
        }
    }
}

/// The innermost cause of an error: the part that says what went wrong
/// ("Connection refused (os error 111)"), not "transport error".
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
