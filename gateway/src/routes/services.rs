//! TopChef's `/services` routes.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use brigade_proto::jobqueue::v1 as pb;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{
    FieldErrors, PageQuery, as_object, fetch_jobs, job_detail, job_overview, links, path_id, take_object,
    take_positive_int, take_string,
};
use crate::body::{BodyError, is_json_content_type, json_body, parse_json, read_bytes};
use crate::envelope::{BaseUrl, document, json, naive_date, no_content, with_location};
use crate::error::TopChefError;
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

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(page): Query<PageQuery>,
) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let mut client = state.job_queue.clone();
    let (services, next) = match page.requested()? {
        Some((size, token)) => {
            let r = client
                .list_services(pb::ListServicesRequest {
                    page_size: size,
                    page_token: token,
                })
                .await?
                .into_inner();
            (r.services, Some(r.next_page_token).filter(|t| !t.is_empty()))
        }
        None => {
            let mut all = Vec::new();
            let mut token = String::new();
            loop {
                let r = client
                    .list_services(pb::ListServicesRequest {
                        page_size: super::MAX_PAGE_SIZE,
                        page_token: token,
                    })
                    .await?
                    .into_inner();
                all.extend(r.services);
                if r.next_page_token.is_empty() {
                    break (all, None);
                }
                token = r.next_page_token;
            }
        }
    };
    Ok(json(
        StatusCode::OK,
        json!({
            "data": services.iter().map(overview).collect::<Vec<_>>(),
            "links": links(base.join("/services"), next),
            "meta": {"service_schema": schemas::service_overview(), "new_service_schema": schemas::new_service()},
        }),
    ))
}

pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let mut body = as_object(json_body(&headers, body, state.limits).await?)?;
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

pub async fn detail(State(state): State<AppState>, headers: HeaderMap, Path(raw): Path<String>) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let id = path_id(&raw)?;
    let service = get_service(&state, &id).await?;
    detail_response(&state, &base, service).await
}

/// TopChef's PATCH: without a JSON body it is a heartbeat; with one, the fields
/// are checked (all problems reported, nothing changed) and then applied.
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
    let is_available = match body.remove("is_available") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(b),
        Some(_) => {
            problems.push("is_available", "Not a valid boolean.");
            None
        }
    };
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

pub async fn jobs(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Query(page): Query<PageQuery>,
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

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Body,
) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let id = path_id(&raw)?;
    let mut body = as_object(json_body(&headers, body, state.limits).await?)?;
    let mut problems = FieldErrors::default();
    let parameters = take_object(&mut body, "parameters", true, &mut problems);
    problems.into_result()?;
    let job = state
        .job_queue
        .clone()
        .submit_job(pb::SubmitJobRequest {
            service_id: id,
            parameters_json: parameters.unwrap_or_default(),
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
