//! `brigade jobs list|get|submit|cancel|retry|watch`.

use brigade_proto::jobqueue::v1 as pb;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use tokio_stream::StreamExt;

use super::output::{self, print_fields, print_json, print_table, spin};
use super::{CliError, CliResult, Connection, Outcome, json_argument};

#[derive(clap::Subcommand, Debug)]
pub enum JobsCommand {
    /// Lists jobs, newest pages first as the server orders them.
    List {
        /// Only jobs of this service.
        #[arg(long)]
        service: Option<String>,
        /// Only jobs in these statuses (repeat or comma-separate).
        #[arg(long, value_enum, value_delimiter = ',')]
        status: Vec<Status>,
        /// Most jobs to list.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Shows one job with its attempts.
    Get { id: String },
    /// Submits a job to a service.
    Submit {
        service_id: String,
        /// Job parameters: JSON or @FILE (@- for standard input).
        #[arg(long)]
        params: String,
        /// Higher runs first.
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        priority: i32,
        /// Not claimable before this time (RFC 3339).
        #[arg(long = "run-at", value_parser = parse_rfc3339)]
        run_at: Option<prost_types::Timestamp>,
        /// A second submit with the same key returns the first job.
        #[arg(long = "idempotency-key")]
        idempotency_key: Option<String>,
    },
    /// Cancels a REGISTERED or WORKING job.
    Cancel {
        id: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Puts a job in ERROR back to REGISTERED with a fresh attempt budget.
    Retry { id: String },
    /// Follows a job until it finishes: exit 0 on COMPLETED, 1 on ERROR.
    Watch { id: String },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
#[value(rename_all = "UPPER")]
pub enum Status {
    Registered,
    Working,
    Completed,
    Error,
}

impl From<Status> for pb::JobStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Registered => Self::Registered,
            Status::Working => Self::Working,
            Status::Completed => Self::Completed,
            Status::Error => Self::Error,
        }
    }
}

fn parse_rfc3339(value: &str) -> Result<prost_types::Timestamp, String> {
    let t = chrono::DateTime::parse_from_rfc3339(value).map_err(|e| format!("not an RFC 3339 time: {e}"))?;
    Ok(prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    })
}

pub async fn run(command: JobsCommand, c: &Connection) -> CliResult<Outcome> {
    let mut client = c.job_queue().await?;
    let (what, job) = match command {
        JobsCommand::List { service, status, limit } => {
            let mut jobs = Vec::new();
            let mut page_token = String::new();
            loop {
                let request = pb::ListJobsRequest {
                    service_id: service.clone().unwrap_or_default(),
                    page_size: 100,
                    page_token,
                    statuses: status.iter().map(|s| pb::JobStatus::from(*s) as i32).collect(),
                    ..Default::default()
                };
                let page = spin("listing jobs", client.list_jobs(c.request(request)))
                    .await
                    .map_err(|s| CliError::from_status("cannot list jobs", &s))?
                    .into_inner();
                jobs.extend(page.jobs);
                page_token = page.next_page_token;
                if page_token.is_empty() || jobs.len() >= limit {
                    break;
                }
            }
            jobs.truncate(limit);
            if c.json {
                print_json(&Value::Array(jobs.iter().map(job_json).collect()));
            } else {
                print_table(
                    &["ID", "SERVICE", "STATUS", "PRIORITY", "ATTEMPTS", "SUBMITTED"],
                    jobs.iter()
                        .map(|j| {
                            vec![
                                j.id.clone(),
                                j.service_id.clone(),
                                status_name(j.status).to_owned(),
                                j.priority.to_string(),
                                format!("{}/{}", j.attempts, j.max_attempts),
                                output::timestamp_cell(j.date_submitted.as_ref()),
                            ]
                        })
                        .collect(),
                );
            }
            return Ok(Outcome::Success);
        }
        JobsCommand::Watch { id } => return watch(c, &mut client, id).await,
        JobsCommand::Get { id } => {
            let what = format!("cannot get job {id}");
            let call = client.get_job(c.request(pb::GetJobRequest { id }));
            let r = spin("getting job", call).await.map(|r| r.into_inner().job);
            (what, r)
        }
        JobsCommand::Submit {
            service_id,
            params,
            priority,
            run_at,
            idempotency_key,
        } => {
            let what = format!("cannot submit a job to service {service_id}");
            let request = pb::SubmitJobRequest {
                service_id,
                parameters_json: json_argument("--params", &params)?,
                priority,
                run_at,
                idempotency_key,
                ..Default::default()
            };
            let call = client.submit_job(c.request(request));
            (what, spin("submitting job", call).await.map(|r| r.into_inner().job))
        }
        JobsCommand::Cancel { id, reason } => {
            let what = format!("cannot cancel job {id}");
            let call = client.cancel_job(c.request(pb::CancelJobRequest { job_id: id, reason }));
            (what, spin("cancelling job", call).await.map(|r| r.into_inner().job))
        }
        JobsCommand::Retry { id } => {
            let what = format!("cannot retry job {id}");
            let call = client.retry_job(c.request(pb::RetryJobRequest { job_id: id }));
            (what, spin("retrying job", call).await.map(|r| r.into_inner().job))
        }
    };
    let job = job
        .map_err(|s| CliError::from_status(&what, &s))?
        .ok_or_else(|| CliError::new(&what, "the server sent no job"))?;
    show(c, &job);
    Ok(Outcome::Success)
}

async fn watch(
    c: &Connection,
    client: &mut pb::job_queue_client::JobQueueClient<super::client::Authorized>,
    id: String,
) -> CliResult<Outcome> {
    let what = format!("cannot watch job {id}");
    // No deadline: a watch lasts as long as the job does.
    let mut stream = client
        .watch_job(pb::WatchJobRequest { job_id: id.clone() })
        .await
        .map_err(|s| CliError::from_status(&what, &s))?
        .into_inner();
    let bar = (output::interactive() && !c.json).then(|| {
        let bar = ProgressBar::new(100);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos:>3}% {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        bar
    });
    let mut last_line = String::new();
    while let Some(message) = stream.next().await {
        let job = message
            .map_err(|s| CliError::from_status(&what, &s))?
            .job
            .ok_or_else(|| CliError::new(&what, "the server sent no job"))?;
        let line = live_line(&job);
        if let Some(bar) = &bar {
            bar.set_position(u64::try_from(job.progress.unwrap_or(0)).unwrap_or(0));
            bar.set_message(line.clone());
        } else if c.json {
            println!("{}", job_json(&job));
        } else if line != last_line {
            println!("{id} {line}");
        }
        last_line = line;
        match pb::JobStatus::try_from(job.status) {
            Ok(pb::JobStatus::Completed) => {
                if let Some(bar) = bar {
                    bar.finish_with_message(last_line);
                }
                return Ok(Outcome::Success);
            }
            Ok(pb::JobStatus::Error) => {
                if let Some(bar) = bar {
                    bar.abandon_with_message(last_line);
                }
                let reason = job
                    .cancel_reason
                    .filter(|_| job.cancelled)
                    .map(|r| format!("cancelled: {r}"))
                    .or(job.error_message)
                    .unwrap_or_else(|| "no error message".to_owned());
                return Err(CliError::new(format!("job {id} ended in ERROR"), reason));
            }
            _ => {}
        }
    }
    if let Some(bar) = bar {
        bar.abandon();
    }
    Err(CliError::new(
        what,
        "the server ended the watch before the job finished",
    ))
}

/// One status line: status, progress and its message.
fn live_line(job: &pb::Job) -> String {
    let mut line = status_name(job.status).to_owned();
    if let Some(p) = job.progress {
        line.push_str(&format!(" {p}%"));
    }
    if let Some(m) = &job.progress_message {
        line.push_str(&format!(" {m}"));
    }
    line
}

fn show(c: &Connection, job: &pb::Job) {
    if c.json {
        print_json(&job_json(job));
        return;
    }
    print_fields(vec![
        ("id", job.id.clone()),
        ("service", job.service_id.clone()),
        ("status", status_name(job.status).to_owned()),
        ("priority", job.priority.to_string()),
        ("attempts", format!("{}/{}", job.attempts, job.max_attempts)),
        ("submitted", output::timestamp_cell(job.date_submitted.as_ref())),
        ("due", output::timestamp_cell(job.due_at.as_ref())),
        ("progress", live_line(job)),
        ("parameters", output::compact(&job.parameters_json)),
        (
            "results",
            output::optional(job.results_json.as_deref().map(output::compact)),
        ),
        ("error", output::optional(job.error_message.as_ref())),
        ("idempotency key", output::optional(job.idempotency_key.as_ref())),
    ]);
    if !job.attempt_history.is_empty() {
        print_table(
            &["ATTEMPT", "WORKER", "CLAIMED", "FINISHED", "OUTCOME", "ERROR"],
            job.attempt_history
                .iter()
                .map(|a| {
                    vec![
                        a.number.to_string(),
                        a.worker_id.clone(),
                        output::timestamp_cell(a.claimed.as_ref()),
                        output::timestamp_cell(a.finished.as_ref()),
                        a.outcome.clone(),
                        output::optional(a.error_message.as_ref()),
                    ]
                })
                .collect(),
        );
    }
}

pub fn status_name(status: i32) -> &'static str {
    match pb::JobStatus::try_from(status) {
        Ok(pb::JobStatus::Registered) => "REGISTERED",
        Ok(pb::JobStatus::Working) => "WORKING",
        Ok(pb::JobStatus::Completed) => "COMPLETED",
        Ok(pb::JobStatus::Error) => "ERROR",
        _ => "UNKNOWN",
    }
}

pub fn job_json(j: &pb::Job) -> Value {
    json!({
        "id": j.id,
        "service_id": j.service_id,
        "status": status_name(j.status),
        "parameters": output::json_text(&j.parameters_json),
        "results": j.results_json.as_deref().map(output::json_text),
        "date_submitted": output::timestamp_json(j.date_submitted.as_ref()),
        "attempts": j.attempts,
        "max_attempts": j.max_attempts,
        "lease_expires_at": output::timestamp_json(j.lease_expires_at.as_ref()),
        "error_message": j.error_message,
        "service_revision": j.service_revision,
        "cancelled": j.cancelled,
        "cancel_reason": j.cancel_reason,
        "priority": j.priority,
        "due_at": output::timestamp_json(j.due_at.as_ref()),
        "idempotency_key": j.idempotency_key,
        "progress": j.progress,
        "progress_message": j.progress_message,
        "recipe_id": j.recipe_id,
        "recipe_node": j.recipe_node,
        "attempt_history": j.attempt_history.iter().map(|a| json!({
            "number": a.number,
            "worker_id": a.worker_id,
            "claimed": output::timestamp_json(a.claimed.as_ref()),
            "finished": output::timestamp_json(a.finished.as_ref()),
            "outcome": a.outcome,
            "error_message": a.error_message,
        })).collect::<Vec<_>>(),
    })
}
