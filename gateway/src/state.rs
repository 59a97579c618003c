//! What every handler shares: gRPC clients to both services and the limits.

use std::time::Duration;

use brigade_common::trace::{Propagate, TracedChannel};
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_proto::recipetypes::v1::recipe_types_client::RecipeTypesClient;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_client::HealthClient;

use crate::body::BodyLimits;
use crate::config::Config;

/// gRPC messages up to this size are accepted from the services.
const MAX_MESSAGE_BYTES: usize = 64 << 20;

#[derive(Clone)]
pub struct AppState {
    pub job_queue: JobQueueClient<TracedChannel>,
    pub recipe_types: RecipeTypesClient<TracedChannel>,
    pub job_queue_health: HealthClient<Channel>,
    pub recipe_types_health: HealthClient<Channel>,
    pub limits: BodyLimits,
    /// Most jobs one TopChef list answer holds.
    pub max_list_items: i32,
    pub api: std::sync::Arc<crate::config::ApiInfo>,
}

/// A channel that connects on first use and reconnects after failures, with a
/// deadline on every call.
fn channel(url: &str, timeout: Duration) -> Result<Channel, tonic::transport::Error> {
    Ok(Endpoint::from_shared(url.to_owned())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(timeout)
        .tcp_nodelay(true)
        // Error details (schema violations) arrive in trailers; allow generous ones.
        .http2_max_header_list_size(1 << 20)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .connect_lazy())
}

impl AppState {
    /// A job-queue client for one call (clients are cheap handles on one channel).
    pub fn jq(&self) -> JobQueueClient<TracedChannel> {
        self.job_queue.clone()
    }

    pub fn rt(&self) -> RecipeTypesClient<TracedChannel> {
        self.recipe_types.clone()
    }

    pub fn new(config: &Config) -> Result<Self, tonic::transport::Error> {
        let timeout = Duration::from_millis(config.limits.grpc_timeout_ms);
        let jq = channel(&config.job_queue_url, timeout)?;
        let rt = channel(&config.recipe_types_url, timeout)?;
        Ok(Self {
            job_queue: JobQueueClient::with_interceptor(jq.clone(), Propagate)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
            recipe_types: RecipeTypesClient::with_interceptor(rt.clone(), Propagate)
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
        })
    }
}
