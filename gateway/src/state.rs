//! What every handler shares: gRPC clients to both services and the limits.

use std::time::Duration;

use brigade_common::auth::{ClientCredentials, TracedCredentials};
use brigade_common::config::ConfigError;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_proto::recipetypes::v1::recipe_types_client::RecipeTypesClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic_health::pb::health_client::HealthClient;

use crate::body::BodyLimits;
use crate::config::Config;

/// gRPC messages up to this size are accepted from the services.
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// What every outgoing call carries: the trace context and request id, and
/// credentials: inside a REST request the caller's own token (forwarded, see
/// `auth::check`), outside one (readiness) the gateway's `BRIGADE_SERVICE_TOKEN`.
pub type ServiceChannel = InterceptedService<Channel, TracedCredentials>;

#[derive(Clone)]
pub struct AppState {
    pub job_queue: JobQueueClient<ServiceChannel>,
    pub recipe_types: RecipeTypesClient<ServiceChannel>,
    /// The raw channel to job-queue (for a token store that asks job-queue).
    pub job_queue_channel: Channel,
    pub job_queue_health: HealthClient<Channel>,
    pub recipe_types_health: HealthClient<Channel>,
    pub limits: BodyLimits,
    /// Most jobs one TopChef list answer holds.
    pub max_list_items: i32,
    pub api: std::sync::Arc<crate::config::ApiInfo>,
    /// Fires when the gateway starts to stop, so long-lived responses end.
    pub draining: Draining,
}

/// Whether the gateway is stopping: an event stream ends on it, since a
/// graceful shutdown waits for every response in flight.
#[derive(Clone)]
pub struct Draining(std::sync::Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Draining {
    fn default() -> Self {
        Self(std::sync::Arc::new(tokio::sync::watch::channel(false).0))
    }
}

impl Draining {
    pub fn start(&self) {
        self.0.send_replace(true);
    }

    /// Resolves once [`start`](Self::start) was called (at once if it was already).
    pub async fn started(&self) {
        let mut seen = self.0.subscribe();
        let _ = seen.wait_for(|stopping| *stopping).await;
    }
}

/// A channel that connects on first use and reconnects after failures, with a
/// deadline on every call, to every replica the setting names (one URL or
/// several; host names re-resolved, see `brigade_common::balance`), so that
/// with a headless Service the calls spread over every job-queue pod.
fn channel(url: &str, timeout: Duration, tls: Option<&ClientTlsConfig>) -> Result<Channel, tonic::transport::Error> {
    let settings: brigade_common::balance::Settings = std::sync::Arc::new(move |endpoint: Endpoint| {
        endpoint
            .connect_timeout(Duration::from_secs(2))
            .timeout(timeout)
            .tcp_nodelay(true)
            // Error details (schema violations) arrive in trailers; allow generous ones.
            .http2_max_header_list_size(1 << 20)
            .http2_keep_alive_interval(Duration::from_secs(30))
    });
    brigade_common::balance::channel(url, tls, settings)
}

impl AppState {
    /// A job-queue client for one call (clients are cheap handles on one channel).
    pub fn jq(&self) -> JobQueueClient<ServiceChannel> {
        self.job_queue.clone()
    }

    pub fn rt(&self) -> RecipeTypesClient<ServiceChannel> {
        self.recipe_types.clone()
    }

    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let timeout = Duration::from_millis(config.limits.grpc_timeout_ms);
        // TLS to the services: their CA (`BRIGADE_TLS_CA`) and, when the gateway
        // has a certificate of its own, that as its client identity.
        let tls = config.tls.client()?.map(|tls| tls.tonic());
        let jq = channel(&config.job_queue_url, timeout, tls.as_ref())?;
        let rt = channel(&config.recipe_types_url, timeout, tls.as_ref())?;
        let outgoing = TracedCredentials(ClientCredentials::new(config.auth.service_token().as_ref()).map_err(
            |_| ConfigError {
                variable: "BRIGADE_SERVICE_TOKEN",
                message: "not a valid header value".to_owned(),
            },
        )?);
        Ok(Self {
            job_queue: JobQueueClient::with_interceptor(jq.clone(), outgoing.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
            job_queue_channel: jq.clone(),
            recipe_types: RecipeTypesClient::with_interceptor(rt.clone(), outgoing)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
            job_queue_health: HealthClient::new(jq),
            recipe_types_health: HealthClient::new(rt),
            limits: BodyLimits {
                max_bytes: config.limits.max_body_bytes,
                max_depth: config.limits.max_json_depth,
                read_timeout: Duration::from_millis(config.limits.body_read_timeout_ms),
            },
            max_list_items: i32::try_from(config.limits.max_list_items).unwrap_or(1000),
            api: std::sync::Arc::new(config.limits.api.clone()),
            draining: Draining::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use brigade_common::auth::{BearerToken, with_caller_authorization};
    use http::HeaderMap;
    use tonic::service::Interceptor;

    use super::*;

    fn sent(outgoing: &mut TracedCredentials) -> Option<String> {
        let request = outgoing.call(tonic::Request::new(())).unwrap();
        let value = request.metadata().get("authorization")?;
        Some(value.to_str().unwrap().to_owned())
    }

    /// Inside a REST request only the caller's token goes out (or none); outside
    /// one, the gateway's own.
    #[tokio::test]
    async fn the_callers_token_inside_a_request_the_gateways_outside() {
        let own = BearerToken::new("brg_the_gateways_own_token_0000000000");
        let mut outgoing = TracedCredentials(ClientCredentials::new(Some(&own)).unwrap());
        assert_eq!(
            sent(&mut outgoing).as_deref(),
            Some("Bearer brg_the_gateways_own_token_0000000000")
        );
        let mut caller = HeaderMap::new();
        caller.insert(
            http::header::AUTHORIZATION,
            "Bearer brg_a_callers_token_000000000000".parse().unwrap(),
        );
        let mut inside = outgoing.clone();
        let forwarded = with_caller_authorization(&caller, async move { sent(&mut inside) }).await;
        assert_eq!(forwarded.as_deref(), Some("Bearer brg_a_callers_token_000000000000"));
        let mut inside = outgoing.clone();
        let anonymous = with_caller_authorization(&HeaderMap::new(), async move { sent(&mut inside) }).await;
        assert_eq!(anonymous, None);
    }
}
