//! Bulk queue controls: cancel or retry every job of a service that matches a filter.

use axum::extract::State;
use brigade_proto::jobqueue::v1 as pb;

use super::extract::{Body, Json, PathId, Problems};
use super::model::{self, Linked, Links};
use crate::envelope::BaseUrl;
use crate::error::TopChefError;
use crate::state::AppState;

type Result<T, E = TopChefError> = std::result::Result<T, E>;

impl Body for model::BulkFilter {
    fn check(&self, problems: &mut Problems) {
        problems.required("status", &self.status);
        problems.optional("since", &self.since);
        problems.optional("until", &self.until);
        problems.optional("reason", &self.reason);
    }
}

fn filter(service_id: String, body: &mut model::BulkFilter) -> pb::JobFilter {
    let statuses = std::mem::take(&mut body.status)
        .given()
        .map(|s| s.0.into_iter().map(|s| s.to_pb() as i32).collect())
        .unwrap_or_default();
    pb::JobFilter {
        service_id,
        statuses,
        since: std::mem::take(&mut body.since).given().map(|t| t.0),
        until: std::mem::take(&mut body.until).given().map(|t| t.0),
    }
}

/// Cancels every REGISTERED or WORKING job of a service whose status matches (optionally within a time range).
#[utoipa::path(
    post, path = "/services/{id}/jobs/cancel", operation_id = "cancel_jobs", tag = "Worker protocol",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = model::BulkFilter, content_type = "application/json"),
    responses(
        (status = 200, description = "How many jobs were cancelled.", body = Linked<model::BulkCount>),
        (status = 400, description = "Deserialization Error From Client Data (`status` missing or unknown, a time that is not RFC 3339); Request Not JSON.", body = model::TopChefErrors),
        (status = 404, description = "Not UUID Error or Service Not Found.", body = model::TopChefErrors),
        model::BrigadeBodyErrors,
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    base: BaseUrl,
    PathId(id): PathId,
    Json(mut body): Json<model::BulkFilter>,
) -> Result<Linked<model::BulkCount>> {
    let request = pb::CancelJobsRequest {
        filter: Some(filter(id.clone(), &mut body)),
        reason: body.reason.given().unwrap_or_default(),
    };
    let count = state.jq().cancel_jobs(request).await?.into_inner().count;
    Ok(Linked {
        data: model::BulkCount { count },
        links: Links::to(base.join(&format!("/services/{id}/jobs"))),
    })
}

/// Retries every ERROR job of a service whose status matches (optionally within a time range).
#[utoipa::path(
    post, path = "/services/{id}/jobs/retry", operation_id = "retry_jobs", tag = "Worker protocol",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = model::BulkFilter, content_type = "application/json"),
    responses(
        (status = 200, description = "How many jobs were put back to REGISTERED.", body = Linked<model::BulkCount>),
        (status = 400, description = "Deserialization Error From Client Data (`status` missing or unknown, a time that is not RFC 3339); Request Not JSON.", body = model::TopChefErrors),
        (status = 404, description = "Not UUID Error or Service Not Found.", body = model::TopChefErrors),
        model::BrigadeBodyErrors,
    )
)]
pub async fn retry(
    State(state): State<AppState>,
    base: BaseUrl,
    PathId(id): PathId,
    Json(mut body): Json<model::BulkFilter>,
) -> Result<Linked<model::BulkCount>> {
    let request = pb::RetryJobsRequest {
        filter: Some(filter(id.clone(), &mut body)),
    };
    let count = state.jq().retry_jobs(request).await?.into_inner().count;
    Ok(Linked {
        data: model::BulkCount { count },
        links: Links::to(base.join(&format!("/services/{id}/jobs"))),
    })
}
