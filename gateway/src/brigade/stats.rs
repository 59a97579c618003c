//! `GET /services/{id}/stats`: a service's queue in numbers (the console's
//! services page), counted by job-queue without reading the jobs.

use axum::extract::State;
use brigade_proto::jobqueue::v1 as pb;

use super::model::ServiceStats;
use crate::envelope::BaseUrl;
use crate::error::TopChefError;
use crate::state::AppState;
use crate::topchef::extract::PathId;
use crate::topchef::model::{Linked, Links, TopChefErrors};

/// Counts by status, due now and later, working, throughput, pause, limit and last check-in.
#[utoipa::path(
    get, path = "/services/{id}/stats", operation_id = "service_stats", tag = "TopChef",
    description = "Brigade extension. One grouped query in job-queue (no job is listed): the service's jobs by \
status, REGISTERED jobs due now and later, WORKING jobs, jobs COMPLETED in the last minute and hour, whether \
it is paused, its concurrency limit and its last check-in.",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    responses(
        (status = 200, description = "The service's queue in numbers.", body = Linked<ServiceStats>),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = TopChefErrors),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    base: BaseUrl,
    PathId(id): PathId,
) -> Result<Linked<ServiceStats>, TopChefError> {
    let stats = state
        .jq()
        .get_service_stats(pb::GetServiceStatsRequest { service_id: id.clone() })
        .await?
        .into_inner();
    Ok(Linked {
        data: ServiceStats::from(stats),
        links: Links::to(base.join(&format!("/services/{id}/stats"))),
    })
}
