//! TopChef's `/services` routes.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use brigade_proto::jobqueue::v1 as pb;
use http::{HeaderMap, StatusCode};

use super::extract::{Body, Json, PathId, Problems};
use super::model::{self, Envelope, Linked, Links, PagedLinks};
use super::{JobListQuery, JobListing, PageQuery, fetch_jobs, list_pages, schemas};
use crate::body::{BodyError, is_json_content_type, parse_json, read_bytes};
use crate::envelope::{BaseUrl, document, json, naive_date, with_location};
use crate::error::TopChefError;
use crate::state::AppState;

type Result<T, E = TopChefError> = std::result::Result<T, E>;

async fn get_service(state: &AppState, id: &str) -> Result<pb::Service> {
    let response = state
        .jq()
        .get_service(pb::GetServiceRequest { id: id.to_owned() })
        .await?;
    let missing = || TopChefError::from(tonic::Status::internal("empty response"));
    response.into_inner().service.ok_or_else(missing)
}

/// Every service, oldest first.
#[utoipa::path(
    get, path = "/services", operation_id = "list_services", tag = "TopChef",
    params(PageQuery),
    responses(
        (status = 200, description = "All services, or one page of them with `page_size`; follow `links.next`.", body = Envelope<Vec<model::ServiceOverview>, PagedLinks, model::ServiceListMeta>),
        (status = 400, description = "Deserialization Error From Client Data: `page_size` out of range, or a `page_token` that is not one this list gave. A repeated `page_size` or `page_token` is refused by the query-string parser before the handler, in plain text.",
            content((model::TopChefErrors = "application/json"), (String = "text/plain"))),
    )
)]
pub async fn list(State(state): State<AppState>, base: BaseUrl, page: PageQuery) -> Result<Response> {
    let (services, next) = list_pages(page.requested()?, |page_size, page_token| {
        let mut client = state.jq();
        let request = pb::ListServicesRequest {
            page_size,
            page_token,
            ..Default::default()
        };
        async move {
            let page = client.list_services(request).await?.into_inner();
            Ok((page.services, page.next_page_token))
        }
    })
    .await?;
    Ok(Envelope {
        data: services
            .into_iter()
            .map(model::ServiceOverview::from)
            .collect::<Vec<_>>(),
        links: PagedLinks::new(base.join("/services"), next),
        meta: model::ServiceListMeta {
            service_schema: schemas::service_overview(),
            new_service_schema: schemas::new_service(),
        },
    }
    .into_response())
}

impl Body for model::NewService {
    fn check(&self, problems: &mut Problems) {
        problems.required("name", &self.name);
        problems.required("description", &self.description);
        problems.required("job_registration_schema", &self.job_registration_schema);
        problems.required("job_result_schema", &self.job_result_schema);
        problems.optional("version", &self.version);
        empty_version(&self.version, problems);
        problems.optional("timeout", &self.timeout);
        problems.optional("max_attempts", &self.max_attempts);
        problems.optional("lease_seconds", &self.lease_seconds);
        problems.optional("max_concurrency", &self.max_concurrency);
        problems.optional("paused", &self.paused);
    }
}

/// `""` is not a version (it would silently mean the default).
fn empty_version(version: &crate::fields::Field<String>, problems: &mut Problems) {
    if let crate::fields::Field::Given(v) = version
        && v.is_empty()
    {
        problems.push("version", "Must match ^[A-Za-z0-9][A-Za-z0-9._+-]{0,49}$.");
    }
}

/// Registers a service (a job type).
#[utoipa::path(
    post, path = "/services", operation_id = "create_service", tag = "TopChef",
    request_body(content = model::NewService, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; `data.id` is the new service's id.", body = Linked<model::CreatedServiceData>,
            headers(("Location" = String, description = "Absolute URL of the new service."))),
        (status = 400, description = "Deserialization Error From Client Data (a field missing or of the wrong type, a bad version, a schema that is not a valid JSON Schema); Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = model::TopChefErrors),
        (status = 409, description = "Conflict: a service with this `(name, version)` exists.", body = model::TopChefErrors),
        model::TopChefBodyErrors,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    base: BaseUrl,
    Json(body): Json<model::NewService>,
) -> Result<Response> {
    let request = pb::CreateServiceRequest {
        name: body.name.given().unwrap_or_default(),
        description: body.description.given().unwrap_or_default(),
        version: body.version.given().unwrap_or_default(),
        job_registration_schema_json: body.job_registration_schema.given().map(|o| o.0).unwrap_or_default(),
        job_result_schema_json: body.job_result_schema.given().map(|o| o.0).unwrap_or_default(),
        timeout_seconds: body.timeout.given().map(|n| n.0),
        max_attempts: body.max_attempts.given().map(|n| n.as_i32()),
        lease_seconds: body.lease_seconds.given().map(|n| n.0),
        max_concurrency: body.max_concurrency.given().and_then(|l| l.0),
        paused: body.paused.given().unwrap_or(false),
        ..Default::default()
    };
    let response = state.jq().create_service(request).await?;
    let service = response.into_inner().service.unwrap_or_default();
    let location = base.join(&format!("/services/{}", service.id));
    let created = Linked {
        data: model::CreatedServiceData {
            message: "service successfully created",
            id: service.id,
        },
        links: Links::to(base.join("/services")),
    };
    Ok(with_location(json(StatusCode::CREATED, created), &location))
}

async fn detail_body(
    state: &AppState,
    base: &BaseUrl,
    service: pb::Service,
    listing: &JobListing,
) -> Result<Envelope<model::ServiceDetail, PagedLinks, model::ServiceDetailMeta>> {
    let (jobs, next) = fetch_jobs(state, &service.id, listing).await?;
    let self_url = base.join(&format!("/services/{}", service.id));
    Ok(Envelope {
        links: PagedLinks::with_next(self_url.clone(), listing.next_link(&self_url, next)),
        data: model::ServiceDetail::new(service, &jobs),
        meta: model::ServiceDetailMeta {
            service_schema: schemas::service_detail(),
        },
    })
}

/// One service with an overview of its jobs (at most `BRIGADE_MAX_LIST_ITEMS`, filtered like the job lists).
#[utoipa::path(
    get, path = "/services/{id}", operation_id = "get_service", tag = "TopChef",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts."), JobListQuery),
    responses(
        (status = 200, description = "The service, with its JSON Schema in `meta`; `links.next` leads to the rest of its jobs.", body = Envelope<model::ServiceDetail, PagedLinks, model::ServiceDetailMeta>),
        (status = 400, description = "Deserialization Error From Client Data: a job filter out of range.", body = model::TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = model::TopChefErrors),
    )
)]
pub async fn detail(
    State(state): State<AppState>,
    base: BaseUrl,
    PathId(id): PathId,
    query: JobListQuery,
) -> Result<Response> {
    let listing = query.checked(state.max_list_items)?;
    let service = get_service(&state, &id).await?;
    Ok(json(
        StatusCode::OK,
        detail_body(&state, &base, service, &listing).await?,
    ))
}

impl Body for model::ServicePatch {
    fn check(&self, problems: &mut Problems) {
        problems.optional("is_available", &self.is_available);
        problems.optional("description", &self.description);
        problems.optional("name", &self.name);
        problems.optional("timeout", &self.timeout);
        problems.optional("version", &self.version);
        empty_version(&self.version, problems);
        problems.optional("job_registration_schema", &self.job_registration_schema);
        problems.optional("job_result_schema", &self.job_result_schema);
        problems.optional("max_attempts", &self.max_attempts);
        problems.optional("lease_seconds", &self.lease_seconds);
        problems.optional("max_concurrency", &self.max_concurrency);
        problems.optional("paused", &self.paused);
    }
}

/// TopChef's PATCH: without a JSON body it is a heartbeat; with one, the fields
/// are checked (all problems reported, nothing changed) and then applied.
#[utoipa::path(
    patch, path = "/services/{id}", operation_id = "patch_service", tag = "TopChef",
    description = "Without a JSON body (no body, or a `Content-Type` that is not JSON) this is a heartbeat and answers `{\"meta\": \"Service checked in at …\"}`. With a JSON body the fields are all checked first (any problem is a 400 and changes nothing, not even the heartbeat clock), then applied; a change to either schema makes a new `revision`.",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = Option<model::ServicePatch>, content_type = "application/json", description = "Optional: leave it out for a heartbeat."),
    responses(
        (status = 200, description = "The service after the change, or the heartbeat message.", body = model::ServicePatched),
        (status = 400, description = "Deserialization Error From Client Data (a field of the wrong type, a bad version, an invalid schema); Request Not JSON (a JSON `Content-Type` with a malformed, non-UTF-8 or too deeply nested body).", body = model::TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = model::TopChefErrors),
        (status = 409, description = "Conflict: another service has this `(name, version)`.", body = model::TopChefErrors),
        (status = 413, description = "Request Entity Too Large: the body is over `BRIGADE_MAX_BODY_BYTES`.", body = model::TopChefErrors),
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    PathId(id): PathId,
    body: axum::body::Body,
) -> Result<Response> {
    let bytes = read_bytes(body, state.limits).await?;
    let parsed = if is_json_content_type(&headers) == Some(true) {
        parse_json(&bytes, state.limits.max_depth)
    } else {
        Err(BodyError::NotJson)
    };
    let body = match parsed {
        Err(BodyError::NotJson) => {
            let response = state.jq().heartbeat(pb::HeartbeatRequest { id }).await?;
            let at = response.into_inner().checked_in_at;
            let meta = format!("Service checked in at {}", naive_date(at.as_ref()));
            return Ok(json(
                StatusCode::OK,
                model::ServicePatched::CheckedIn(model::CheckedIn { meta }),
            ));
        }
        Err(e) => return Err(e.into()),
        Ok(v) => Json::<model::ServicePatch>::from_value(v)?.0,
    };
    let request = pb::UpdateServiceRequest {
        id,
        is_available: body.is_available.given(),
        description: body.description.given(),
        name: body.name.given(),
        timeout_seconds: body.timeout.given().map(|n| n.0),
        version: body.version.given(),
        job_registration_schema_json: body.job_registration_schema.given().map(|o| o.0),
        job_result_schema_json: body.job_result_schema.given().map(|o| o.0),
        max_attempts: body.max_attempts.given().map(|n| n.as_i32()),
        lease_seconds: body.lease_seconds.given().map(|n| n.0),
        clear_max_concurrency: matches!(
            body.max_concurrency,
            crate::fields::Field::Given(crate::fields::Limit(None))
        ),
        max_concurrency: body.max_concurrency.given().and_then(|l| l.0),
        paused: body.paused.given(),
        ..Default::default()
    };
    let response = state.jq().update_service(request).await?;
    let service = response.into_inner().service.unwrap_or_default();
    let listing = JobListQuery::default().checked(state.max_list_items)?;
    let updated = detail_body(&state, &base, service, &listing).await?;
    Ok(json(StatusCode::OK, model::ServicePatched::Updated(Box::new(updated))))
}

/// The 10 oldest REGISTERED jobs of a service.
#[utoipa::path(
    get, path = "/services/{id}/queue", operation_id = "service_queue", tag = "TopChef",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    responses(
        (status = 200, description = "Up to 10 REGISTERED jobs, oldest first.", body = Envelope<Vec<model::JobDetail>, Links, model::DataSchemaMeta>),
        (status = 204, description = "No job is waiting (empty body)."),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = model::TopChefErrors),
    )
)]
pub async fn queue(State(state): State<AppState>, base: BaseUrl, PathId(id): PathId) -> Result<Response> {
    let response = state
        .jq()
        .get_queue(pb::GetQueueRequest { service_id: id.clone() })
        .await?;
    let jobs = response.into_inner().jobs;
    if jobs.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let data_schema = schemas::job_list(
        "Job List Schema",
        "The schema for the data in the \"data\" key",
        schemas::job_detail(None, None),
    );
    Ok(Envelope {
        data: jobs.iter().map(model::JobDetail::from).collect::<Vec<_>>(),
        links: Links::to(base.join(&format!("/services/{id}/queue"))),
        meta: model::DataSchemaMeta { data_schema },
    }
    .into_response())
}

/// The oldest REGISTERED job of a service.
#[utoipa::path(
    get, path = "/services/{id}/jobs/next", operation_id = "next_job", tag = "TopChef",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    responses(
        (status = 200, description = "The oldest REGISTERED job (it is not claimed).", body = Envelope<model::JobDetail, Links, model::NextJobMeta>),
        (status = 204, description = "No job is waiting (empty body)."),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = model::TopChefErrors),
    )
)]
pub async fn next(State(state): State<AppState>, base: BaseUrl, PathId(id): PathId) -> Result<Response> {
    let response = state
        .jq()
        .next_job(pb::NextJobRequest { service_id: id.clone() })
        .await?;
    let job = response.into_inner().job;
    let Some(job) = job else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    Ok(Envelope {
        data: model::JobDetail::from(&job),
        links: Links::to(base.join(&format!("/services/{id}/jobs/next"))),
        meta: model::NextJobMeta {
            job_schema: schemas::job_detail(Some("Job Schema"), Some("The schema representing the job")),
        },
    }
    .into_response())
}

const DATA_SCHEMA_DESCRIPTION: &str = "The schema for reading data contained in the data key of this response";

/// Jobs of a service, oldest first, at most `BRIGADE_MAX_LIST_ITEMS` per answer.
#[utoipa::path(
    get, path = "/services/{id}/jobs", operation_id = "list_service_jobs", tag = "TopChef",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts."), JobListQuery),
    responses(
        (status = 200, description = "The service's jobs, at most `page_size` or `BRIGADE_MAX_LIST_ITEMS` (default 1000); `links.next` leads to the rest with the same filters; `meta.new_job_schema` holds the service's registration schema.", body = Envelope<Vec<model::JobDetail>, PagedLinks, model::ServiceJobsMeta>),
        (status = 400, description = "Deserialization Error From Client Data: `page_size` not a positive integer, an unknown `status`, a `since`/`until` that is not RFC 3339, more than 100 filter values, or a `page_token` that is not one this list gave.", body = model::TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = model::TopChefErrors),
    )
)]
pub async fn jobs(
    State(state): State<AppState>,
    base: BaseUrl,
    PathId(id): PathId,
    query: JobListQuery,
) -> Result<impl IntoResponse> {
    let listing = query.checked(state.max_list_items)?;
    let service = get_service(&state, &id).await?;
    let (jobs, next) = fetch_jobs(&state, &id, &listing).await?;
    let self_url = base.join(&format!("/services/{id}/jobs"));
    Ok(Envelope {
        data: jobs.iter().map(model::JobDetail::from).collect::<Vec<_>>(),
        links: PagedLinks::with_next(self_url.clone(), listing.next_link(&self_url, next)),
        meta: model::ServiceJobsMeta {
            new_job_schema: schemas::new_job(document(&service.job_registration_schema_json)),
            data_schema: schemas::job_list(
                "Data Schema",
                DATA_SCHEMA_DESCRIPTION,
                schemas::job_detail(Some("Data Schema"), Some(DATA_SCHEMA_DESCRIPTION)),
            ),
        },
    })
}

impl Body for model::NewJob {
    fn check(&self, problems: &mut Problems) {
        problems.required("parameters", &self.parameters);
        self.controls.check(problems);
    }
}

/// Submits a job; `parameters` are validated against the service's registration schema.
#[utoipa::path(
    post, path = "/services/{id}/jobs", operation_id = "submit_job", tag = "TopChef",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = model::NewJob, content_type = "application/json"),
    responses(
        (status = 201, description = "Created, REGISTERED (not claimable before `run_at`).", body = model::JobSubmitted,
            headers(("Location" = String, description = "Absolute URL of the new job."))),
        (status = 200, description = "The `idempotency_key` was used before with the same body: the first job, unchanged.", body = model::JobSubmitted,
            headers(("Location" = String, description = "Absolute URL of the job."))),
        (status = 409, description = "Conflict: the `idempotency_key` was used with a different body.", body = model::TopChefErrors),
        (status = 400, description = "JSONSchema Validation Error (one error object per violation); Deserialization Error From Client Data (`parameters` missing or not an object); Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = model::TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = model::TopChefErrors),
        model::TopChefBodyErrors,
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    base: BaseUrl,
    PathId(id): PathId,
    Json(body): Json<model::NewJob>,
) -> Result<Response> {
    let request = pb::SubmitJobRequest {
        service_id: id,
        parameters_json: body.parameters.given().map(|o| o.0).unwrap_or_default(),
        priority: body.controls.priority.given().map_or(0, |p| p.0),
        run_at: body.controls.run_at.given().map(|t| t.0),
        idempotency_key: body.controls.idempotency_key.given(),
        ..Default::default()
    };
    let response = state.jq().submit_job(request).await?.into_inner();
    let job = response.job.unwrap_or_default();
    let location = base.join(&format!("/jobs/{}", job.id));
    let submitted = model::JobSubmitted {
        data: (&job).into(),
        meta: format!("new job ID is {}", job.id),
    };
    let status = if response.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(with_location(json(status, submitted), &location))
}

/// TopChef's `PATCH /services/{id}/jobs`: "A PATCH request here will reset the time since the
/// service was last polled". Any body is ignored.
#[utoipa::path(
    patch, path = "/services/{id}/jobs", operation_id = "service_jobs_heartbeat", tag = "TopChef",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    responses(
        (status = 200, description = "The service checked in.", body = model::CheckedIn),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = model::TopChefErrors),
    )
)]
pub async fn jobs_heartbeat(State(state): State<AppState>, PathId(id): PathId) -> Result<Response> {
    let response = state.jq().heartbeat(pb::HeartbeatRequest { id }).await?;
    let at = response.into_inner().checked_in_at;
    let meta = format!("Service checked in at {}", naive_date(at.as_ref()));
    Ok(json(StatusCode::OK, model::CheckedIn { meta }))
}
