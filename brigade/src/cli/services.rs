//! `brigade services list|get|create|pause|resume`.

use brigade_proto::jobqueue::v1 as pb;
use serde_json::{Value, json};

use super::output::{self, print_fields, print_json, print_table, spin};
use super::{CliError, CliResult, Connection, Outcome, json_argument};

#[derive(clap::Subcommand, Debug)]
pub enum ServicesCommand {
    /// Lists services.
    List {
        /// Most services to list.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Shows one service.
    Get { id: String },
    /// Creates a service.
    Create(CreateArgs),
    /// Pauses a service: no claims until resumed (submits are still accepted).
    Pause { id: String },
    /// Resumes a paused service.
    Resume { id: String },
}

#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    #[arg(long)]
    name: String,
    #[arg(long, default_value = "")]
    description: String,
    /// Version string (default 1.0.0).
    #[arg(long)]
    version: Option<String>,
    /// JSON Schema of job parameters: JSON or @FILE.
    #[arg(long = "registration-schema", default_value = "{}")]
    registration_schema: String,
    /// JSON Schema of job results: JSON or @FILE.
    #[arg(long = "result-schema", default_value = "{}")]
    result_schema: String,
    /// Seconds without a check-in before the service counts as timed out.
    #[arg(long = "service-timeout")]
    service_timeout: Option<i64>,
    #[arg(long = "max-attempts")]
    max_attempts: Option<i32>,
    #[arg(long = "lease-seconds")]
    lease_seconds: Option<i64>,
    #[arg(long = "max-concurrency")]
    max_concurrency: Option<i32>,
    /// Create it paused.
    #[arg(long)]
    paused: bool,
}

pub async fn run(command: ServicesCommand, c: &Connection) -> CliResult<Outcome> {
    let mut client = c.job_queue().await?;
    match command {
        ServicesCommand::List { limit } => {
            let mut services = Vec::new();
            let mut page_token = String::new();
            loop {
                let request = pb::ListServicesRequest {
                    page_size: 100,
                    page_token,
                    ..Default::default()
                };
                let page = spin("listing services", client.list_services(c.request(request)))
                    .await
                    .map_err(|s| CliError::from_status("cannot list services", &s))?
                    .into_inner();
                services.extend(page.services);
                page_token = page.next_page_token;
                if page_token.is_empty() || services.len() >= limit {
                    break;
                }
            }
            services.truncate(limit);
            if c.json {
                print_json(&Value::Array(services.iter().map(service_json).collect()));
            } else {
                print_table(
                    &["ID", "NAME", "VERSION", "REV", "AVAILABLE", "PAUSED", "DESCRIPTION"],
                    services
                        .iter()
                        .map(|s| {
                            vec![
                                s.id.clone(),
                                s.name.clone(),
                                s.version.clone(),
                                s.revision.to_string(),
                                s.is_service_available.to_string(),
                                s.paused.to_string(),
                                s.description.clone(),
                            ]
                        })
                        .collect(),
                );
            }
        }
        ServicesCommand::Get { id } => {
            let what = format!("cannot get service {id}");
            let service = spin(
                "getting service",
                client.get_service(c.request(pb::GetServiceRequest { id })),
            )
            .await
            .map_err(|s| CliError::from_status(&what, &s))?
            .into_inner()
            .service;
            show(c, service, &what)?;
        }
        ServicesCommand::Create(args) => {
            let request = pb::CreateServiceRequest {
                name: args.name,
                description: args.description,
                version: args.version.unwrap_or_default(),
                job_registration_schema_json: json_argument("--registration-schema", &args.registration_schema)?,
                job_result_schema_json: json_argument("--result-schema", &args.result_schema)?,
                timeout_seconds: args.service_timeout,
                max_attempts: args.max_attempts,
                lease_seconds: args.lease_seconds,
                max_concurrency: args.max_concurrency,
                paused: args.paused,
                ..Default::default()
            };
            let what = "cannot create service";
            let service = spin("creating service", client.create_service(c.request(request)))
                .await
                .map_err(|s| CliError::from_status(what, &s))?
                .into_inner()
                .service;
            show(c, service, what)?;
        }
        ServicesCommand::Pause { id } => set_paused(c, &mut client, id, true).await?,
        ServicesCommand::Resume { id } => set_paused(c, &mut client, id, false).await?,
    }
    Ok(Outcome::Success)
}

async fn set_paused(
    c: &Connection,
    client: &mut pb::job_queue_client::JobQueueClient<super::client::Authorized>,
    id: String,
    paused: bool,
) -> CliResult {
    let verb = if paused { "pause" } else { "resume" };
    let what = format!("cannot {verb} service {id}");
    let request = pb::UpdateServiceRequest {
        id,
        paused: Some(paused),
        ..Default::default()
    };
    let service = spin(&format!("{verb} service"), client.update_service(c.request(request)))
        .await
        .map_err(|s| CliError::from_status(&what, &s))?
        .into_inner()
        .service;
    show(c, service, &what)
}

fn show(c: &Connection, service: Option<pb::Service>, what: &str) -> CliResult {
    let service = service.ok_or_else(|| CliError::new(what, "the server sent no service"))?;
    if c.json {
        print_json(&service_json(&service));
    } else {
        print_fields(vec![
            ("id", service.id.clone()),
            ("name", service.name.clone()),
            ("version", service.version.clone()),
            ("revision", service.revision.to_string()),
            ("description", service.description.clone()),
            ("available", service.is_service_available.to_string()),
            ("timed out", service.has_timed_out.to_string()),
            ("paused", service.paused.to_string()),
            ("timeout (s)", service.timeout_seconds.to_string()),
            ("max attempts", service.max_attempts.to_string()),
            ("lease (s)", service.lease_seconds.to_string()),
            ("max concurrency", output::optional(service.max_concurrency)),
            (
                "last checked in",
                output::timestamp_cell(service.last_checked_in.as_ref()),
            ),
            ("created", output::timestamp_cell(service.created.as_ref())),
            (
                "registration schema",
                output::compact(&service.job_registration_schema_json),
            ),
            ("result schema", output::compact(&service.job_result_schema_json)),
        ]);
    }
    Ok(())
}

pub fn service_json(s: &pb::Service) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "version": s.version,
        "revision": s.revision,
        "job_registration_schema": output::json_text(&s.job_registration_schema_json),
        "job_result_schema": output::json_text(&s.job_result_schema_json),
        "timeout_seconds": s.timeout_seconds,
        "is_service_available": s.is_service_available,
        "has_timed_out": s.has_timed_out,
        "last_checked_in": output::timestamp_json(s.last_checked_in.as_ref()),
        "created": output::timestamp_json(s.created.as_ref()),
        "max_attempts": s.max_attempts,
        "lease_seconds": s.lease_seconds,
        "max_concurrency": s.max_concurrency,
        "paused": s.paused,
        "retry_backoff_base_ms": s.retry_backoff_base_ms,
        "retry_backoff_cap_ms": s.retry_backoff_cap_ms,
    })
}
