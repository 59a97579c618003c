//! Liveness and readiness.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::envelope::json;
use crate::state::AppState;

/// Liveness: the gateway process is up.
#[utoipa::path(
    get, path = "/healthz", operation_id = "healthz", tag = "Health",
    responses((status = 200, description = "The gateway is up.", body = super::model::Liveness))
)]
pub async fn healthz() -> Response {
    let status = super::model::LivenessStatus::Ok;
    json(StatusCode::OK, super::model::Liveness { status })
}

/// Prometheus metrics of this process, in the text exposition format.
#[utoipa::path(
    get, path = "/metrics", operation_id = "metrics", tag = "Health",
    responses((status = 200, description = "Prometheus text exposition format.", content_type = "text/plain", body = String))
)]
pub async fn metrics() -> Response {
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        brigade_common::metrics::render_fresh().await,
    )
        .into_response()
}

async fn serving(mut client: HealthClient<Channel>) -> bool {
    let request = tonic::Request::new(HealthCheckRequest { service: String::new() });
    matches!(
        client.check(request).await.map(|r| r.into_inner().status()),
        Ok(ServingStatus::Serving)
    )
}

/// Readiness: both services answer SERVING over gRPC health.
#[utoipa::path(
    get, path = "/readyz", operation_id = "readyz", tag = "Health",
    responses(
        (status = 200, description = "job-queue and recipe-types both serve.", body = super::model::Readiness),
        (status = 503, description = "A service does not serve (or the gateway is shedding load).",
            body = super::model::NotReady),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let (jq, rt) = tokio::join!(
        serving(state.job_queue_health.clone()),
        serving(state.recipe_types_health.clone())
    );
    let status = if jq && rt {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let readiness = super::model::Readiness {
        status: if jq && rt {
            super::model::ReadinessStatus::Ready
        } else {
            super::model::ReadinessStatus::NotReady
        },
        job_queue: jq.into(),
        recipe_types: rt.into(),
    };
    json(status, readiness)
}
