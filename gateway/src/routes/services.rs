//! TopChef's `/services` routes.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use brigade_proto::jobqueue::v1 as pb;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{
    FieldErrors, PageQuery, as_object, fetch_jobs, job_detail, job_overview, links, list_pages, object_body, path_id,
    take_bool, take_object, take_positive_int, take_string,
};
use crate::body::{BodyError, is_json_content_type, parse_json, read_bytes};
use crate::envelope::{BaseUrl, document, json, naive_date, no_content, with_location};
use crate::error::TopChefError;
use crate::openapi::model as doc;
use crate::schemas;
use crate::state::AppState;

type Result<T, E = TopChefError> = std::result::Result<T, E>;

fn overview(s: &pb::Service) -> Value {
    json!({"description": s.description, "id": s.id, "name": s.name})
}

fn detail_data(s: &pb::Service, jobs: &[pb::Job]) -> Value {
    json!({
        "description": s.description,
        "has_timed_out": s.has_timed_out,
        "id": s.id,
        "is_service_available": s.is_service_available,
        "job_registration_schema": document(&s.job_registration_schema_json),
        "job_result_schema": document(&s.job_result_schema_json),
        "jobs": jobs.iter().map(job_overview).collect::<Vec<_>>(),
        "name": s.name,
        "timeout": s.timeout_seconds,
        "version": s.version,
        "revision": s.revision,
        "max_attempts": s.max_attempts,
        "lease_seconds": s.lease_seconds,
    })
}

async fn get_service(state: &AppState, id: &str) -> Result<pb::Service> {
    let response = state
        .job_queue
        .clone()
        .get_service(pb::GetServiceRequest { id: id.to_owned() })
        .await?;
    response
        .into_inner()
        .service
        .ok_or_else(|| TopChefError::from_grpc(&tonic::Status::internal("empty response")))
}

/// Every service, oldest first.
#[utoipa::path(
    get,
    path = "/services",
    operation_id = "list_services",
    tag = "TopChef",
    params(PageQuery),
    responses(
        (status = 200, description = "All services, or one page of them with `page_size`; follow `links.next`.", body = doc::ServiceList),
        (status = 400, description = "Deserialization Error From Client Data: `page_size` out of range, or a `page_token` that is not one this list gave. A repeated `page_size` or `page_token` is refused by the query-string parser before the handler, in plain text.",
            content((doc::TopChefErrors = "application/json"), (String = "text/plain"))),
    )
)]
pub async fn list(State(state): State<AppState>, headers: HeaderMap, page: PageQuery) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let client = state.job_queue.clone();
    let (services, next) = list_pages(page.requested()?, |page_size, page_token| {
        let mut client = client.clone();
        async move {
            let page = client
                .list_services(pb::ListServicesRequest {
                    page_size,
                    page_token,
                    ..Default::default()
                })
                .await?
                .into_inner();
            Ok((page.services, page.next_page_token))
        }
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        json!({
            "data": services.iter().map(overview).collect::<Vec<_>>(),
            "links": links(base.join("/services"), next),
            "meta": {"service_schema": schemas::service_overview(), "new_service_schema": schemas::new_service()},
        }),
    ))
}

/// Registers a service (a job type).
#[utoipa::path(
    post,
    path = "/services",
    operation_id = "create_service",
    tag = "TopChef",
    request_body(content = doc::NewService, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; `data.id` is the new service's id.", body = doc::CreatedService,
            headers(("Location" = String, description = "Absolute URL of the new service."))),
        (status = 400, description = "Deserialization Error From Client Data (a field missing or of the wrong type, a bad version, a schema that is not a valid JSON Schema); Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = doc::TopChefErrors),
        (status = 409, description = "Conflict: a service with this `(name, version)` exists.", body = doc::TopChefErrors),
        doc::TopChefBodyErrors,
    )
)]
pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let mut body = object_body(&state, &headers, body).await?;
    let mut problems = FieldErrors::default();
    let name = take_string(&mut body, "name", true, &mut problems);
    let description = take_string(&mut body, "description", true, &mut problems);
    let registration = take_object(&mut body, "job_registration_schema", true, &mut problems);
    let result = take_object(&mut body, "job_result_schema", true, &mut problems);
    let version = take_string(&mut body, "version", false, &mut problems);
    let timeout = take_positive_int(&mut body, "timeout", &mut problems);
    let max_attempts = take_positive_int(&mut body, "max_attempts", &mut problems);
    let lease = take_positive_int(&mut body, "lease_seconds", &mut problems);
    problems.into_result()?;
    let request = pb::CreateServiceRequest {
        name: name.unwrap_or_default(),
        description: description.unwrap_or_default(),
        version: version.unwrap_or_default(),
        job_registration_schema_json: registration.unwrap_or_default(),
        job_result_schema_json: result.unwrap_or_default(),
        timeout_seconds: timeout,
        max_attempts: max_attempts.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
        lease_seconds: lease,
        ..Default::default()
    };
    if request.version.is_empty() && body.contains_key("version") {
        return Err(TopChefError::deserialization(vec![(
            "version".into(),
            "must not be empty".into(),
        )]));
    }
    let service = state
        .job_queue
        .clone()
        .create_service(request)
        .await?
        .into_inner()
        .service
        .unwrap_or_default();
    let response = json(
        StatusCode::CREATED,
        json!({
            "data": {"message": "service successfully created", "id": service.id},
            "links": {"self": base.join("/services")},
        }),
    );
    Ok(with_location(
        response,
        &base.join(&format!("/services/{}", service.id)),
    ))
}

async fn detail_response(state: &AppState, base: &BaseUrl, service: pb::Service) -> Result<Response> {
    let (jobs, _) = fetch_jobs(state, &service.id, None).await?;
    Ok(json(
        StatusCode::OK,
        json!({
            "data": detail_data(&service, &jobs),
            "links": {"self": base.join(&format!("/services/{}", service.id))},
            "meta": {"service_schema": schemas::service_detail()},
        }),
    ))
}

/// One service with an overview of each of its jobs.
#[utoipa::path(
    get,
    path = "/services/{id}",
    operation_id = "get_service",
    tag = "TopChef",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    responses(
        (status = 200, description = "The service, with its JSON Schema in `meta`.", body = doc::ServiceDetailResponse),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = doc::TopChefErrors),
    )
)]
pub async fn detail(State(state): State<AppState>, headers: HeaderMap, Path(raw): Path<String>) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let id = path_id(&raw)?;
    let service = get_service(&state, &id).await?;
    detail_response(&state, &base, service).await
}

/// TopChef's PATCH: without a JSON body it is a heartbeat; with one, the fields
/// are checked (all problems reported, nothing changed) and then applied.
#[utoipa::path(
    patch,
    path = "/services/{id}",
    operation_id = "patch_service",
    tag = "TopChef",
    description = "Without a JSON body (no body, or a `Content-Type` that is not JSON) this is a heartbeat and answers `{\"meta\": \"Service checked in at …\"}`. With a JSON body the fields are all checked first (any problem is a 400 and changes nothing, not even the heartbeat clock), then applied; a change to either schema makes a new `revision`.",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = Option<doc::ServicePatch>, content_type = "application/json", description = "Optional: leave it out for a heartbeat."),
    responses(
        (status = 200, description = "The service after the change, or the heartbeat message.", body = doc::ServicePatched),
        (status = 400, description = "Deserialization Error From Client Data (a field of the wrong type, a bad version, an invalid schema); Request Not JSON (a JSON `Content-Type` with a malformed, non-UTF-8 or too deeply nested body).", body = doc::TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = doc::TopChefErrors),
        (status = 409, description = "Conflict: another service has this `(name, version)`.", body = doc::TopChefErrors),
        (status = 413, description = "Request Entity Too Large: the body is over `BRIGADE_MAX_BODY_BYTES`.", body = doc::TopChefErrors),
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Body,
) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let id = path_id(&raw)?;
    let bytes = read_bytes(body, state.limits).await?;
    let claims_json = is_json_content_type(&headers) == Some(true);
    let parsed = if claims_json {
        parse_json(&bytes, state.limits.max_depth)
    } else {
        Err(BodyError::NotJson)
    };
    let mut body = match parsed {
        Err(BodyError::NotJson) => {
            let at = state
                .job_queue
                .clone()
                .heartbeat(pb::HeartbeatRequest { id })
                .await?
                .into_inner()
                .checked_in_at;
            return Ok(json(
                StatusCode::OK,
                json!({"meta": format!("Service checked in at {}", naive_date(at.as_ref()))}),
            ));
        }
        Err(e) => return Err(e.into()),
        Ok(v) => as_object(v)?,
    };
    let mut problems = FieldErrors::default();
    let is_available = take_bool(&mut body, "is_available", &mut problems);
    let request = pb::UpdateServiceRequest {
        id,
        is_available,
        description: take_string(&mut body, "description", false, &mut problems),
        name: take_string(&mut body, "name", false, &mut problems),
        timeout_seconds: take_positive_int(&mut body, "timeout", &mut problems),
        version: take_string(&mut body, "version", false, &mut problems),
        job_registration_schema_json: take_object(&mut body, "job_registration_schema", false, &mut problems),
        job_result_schema_json: take_object(&mut body, "job_result_schema", false, &mut problems),
        max_attempts: take_positive_int(&mut body, "max_attempts", &mut problems)
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
        lease_seconds: take_positive_int(&mut body, "lease_seconds", &mut problems),
        ..Default::default()
    };
    problems.into_result()?;
    let service = state
        .job_queue
        .clone()
        .update_service(request)
        .await?
        .into_inner()
        .service
        .unwrap_or_default();
    detail_response(&state, &base, service).await
}

/// The 10 oldest REGISTERED jobs of a service.
#[utoipa::path(
    get,
    path = "/services/{id}/queue",
    operation_id = "service_queue",
    tag = "TopChef",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    responses(
        (status = 200, description = "Up to 10 REGISTERED jobs, oldest first.", body = doc::Queue),
        (status = 204, description = "No job is waiting (empty body)."),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = doc::TopChefErrors),
    )
)]
pub async fn queue(State(state): State<AppState>, headers: HeaderMap, Path(raw): Path<String>) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let id = path_id(&raw)?;
    let jobs = state
        .job_queue
        .clone()
        .get_queue(pb::GetQueueRequest { service_id: id.clone() })
        .await?
        .into_inner()
        .jobs;
    if jobs.is_empty() {
        return Ok(no_content());
    }
    Ok(json(
        StatusCode::OK,
        json!({
            "data": jobs.iter().map(job_detail).collect::<Vec<_>>(),
            "links": {"self": base.join(&format!("/services/{id}/queue"))},
            "meta": {"data_schema": schemas::job_list(
                "Job List Schema",
                "The schema for the data in the \"data\" key",
                schemas::job_detail(None, None),
            )},
        }),
    ))
}

/// The oldest REGISTERED job of a service.
#[utoipa::path(
    get,
    path = "/services/{id}/jobs/next",
    operation_id = "next_job",
    tag = "TopChef",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    responses(
        (status = 200, description = "The oldest REGISTERED job (it is not claimed).", body = doc::NextJob),
        (status = 204, description = "No job is waiting (empty body)."),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = doc::TopChefErrors),
    )
)]
pub async fn next(State(state): State<AppState>, headers: HeaderMap, Path(raw): Path<String>) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let id = path_id(&raw)?;
    let job = state
        .job_queue
        .clone()
        .next_job(pb::NextJobRequest { service_id: id.clone() })
        .await?
        .into_inner()
        .job;
    let Some(job) = job else { return Ok(no_content()) };
    Ok(json(
        StatusCode::OK,
        json!({
            "data": job_detail(&job),
            "links": {"self": base.join(&format!("/services/{id}/jobs/next"))},
            "meta": {"job_schema": schemas::job_detail(Some("Job Schema"), Some("The schema representing the job"))},
        }),
    ))
}

const DATA_SCHEMA_DESCRIPTION: &str = "The schema for reading data contained in the data key of this response";

/// Every job of a service, oldest first.
#[utoipa::path(
    get,
    path = "/services/{id}/jobs",
    operation_id = "list_service_jobs",
    tag = "TopChef",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts."), PageQuery),
    responses(
        (status = 200, description = "The service's jobs, or one page of them with `page_size`; `meta.new_job_schema` holds the service's registration schema.", body = doc::ServiceJobList),
        (status = 400, description = "Deserialization Error From Client Data: `page_size` out of range, or a `page_token` that is not one this list gave. A repeated `page_size` or `page_token` is refused by the query-string parser before the handler, in plain text.",
            content((doc::TopChefErrors = "application/json"), (String = "text/plain"))),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = doc::TopChefErrors),
    )
)]
pub async fn jobs(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    page: PageQuery,
) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let id = path_id(&raw)?;
    let paging = page.requested()?;
    let service = get_service(&state, &id).await?;
    let (jobs, next) = fetch_jobs(&state, &id, paging).await?;
    Ok(json(
        StatusCode::OK,
        json!({
            "data": jobs.iter().map(job_detail).collect::<Vec<_>>(),
            "links": links(base.join(&format!("/services/{id}/jobs")), next),
            "meta": {
                "new_job_schema": schemas::new_job(document(&service.job_registration_schema_json)),
                "data_schema": schemas::job_list(
                    "Data Schema",
                    DATA_SCHEMA_DESCRIPTION,
                    schemas::job_detail(Some("Data Schema"), Some(DATA_SCHEMA_DESCRIPTION)),
                ),
            },
        }),
    ))
}

/// Submits a job; `parameters` are validated against the service's registration schema.
#[utoipa::path(
    post,
    path = "/services/{id}/jobs",
    operation_id = "submit_job",
    tag = "TopChef",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = doc::NewJob, content_type = "application/json"),
    responses(
        (status = 201, description = "Created, REGISTERED.", body = doc::JobSubmitted,
            headers(("Location" = String, description = "Absolute URL of the new job."))),
        (status = 400, description = "JSONSchema Validation Error (one error object per violation); Deserialization Error From Client Data (`parameters` missing or not an object); Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = doc::TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = doc::TopChefErrors),
        doc::TopChefBodyErrors,
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Body,
) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let id = path_id(&raw)?;
    let mut body = object_body(&state, &headers, body).await?;
    let mut problems = FieldErrors::default();
    let parameters = take_object(&mut body, "parameters", true, &mut problems);
    problems.into_result()?;
    let job = state
        .job_queue
        .clone()
        .submit_job(pb::SubmitJobRequest {
            service_id: id,
            parameters_json: parameters.unwrap_or_default(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .job
        .unwrap_or_default();
    let response = json(
        StatusCode::CREATED,
        json!({"data": job_detail(&job), "meta": format!("new job ID is {}", job.id)}),
    );
    Ok(with_location(response, &base.join(&format!("/jobs/{}", job.id))))
}
