//! Job types live in job-queue: one batched gRPC call resolves every job type
//! a definition names to its interfaces.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use brigade_common::trace::{Propagate, TracedChannel};
use brigade_proto::jobqueue::v1 as jq;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use tonic::transport::Endpoint;

use crate::definition::{FileParameter, Interface, JobTypeInterfaces, JobTypeKey, JsonParameter};
use crate::error::{Error, Result};

/// A job type revision as job-queue describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct JobTypeInfo {
    pub interfaces: JobTypeInterfaces,
    pub service_id: String,
    pub description: String,
    pub latest_revision: i64,
}

#[async_trait]
pub trait JobTypes: Send + Sync + 'static {
    /// `None` for a key whose job type or revision does not exist.
    async fn resolve(&self, keys: &[JobTypeKey]) -> Result<HashMap<JobTypeKey, Option<JobTypeInfo>>>;
}

pub struct GrpcJobTypes {
    client: JobQueueClient<TracedChannel>,
}

impl GrpcJobTypes {
    /// Connects lazily: job-queue may start after us.
    pub fn new(url: &str) -> Result<Self, tonic::transport::Error> {
        let channel = Endpoint::from_shared(url.to_owned())?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .connect_lazy();
        Ok(Self {
            client: JobQueueClient::with_interceptor(channel, Propagate),
        })
    }
}

fn interface(params: Vec<jq::InterfaceParameter>) -> Interface {
    let mut out = Interface::default();
    for p in params {
        if p.kind == "file" {
            out.files.push(FileParameter {
                name: p.name,
                media_types: p.media_types,
                required: p.required,
                multiple: p.multiple,
            });
        } else {
            out.json.push(JsonParameter {
                name: p.name,
                json_type: Some(p.json_type).filter(|t| !t.is_empty()),
                required: p.required,
            });
        }
    }
    out
}

#[async_trait]
impl JobTypes for GrpcJobTypes {
    async fn resolve(&self, keys: &[JobTypeKey]) -> Result<HashMap<JobTypeKey, Option<JobTypeInfo>>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let request = jq::ResolveJobTypesRequest {
            keys: keys
                .iter()
                .map(|k| jq::JobTypeKey {
                    name: k.name.clone(),
                    version: k.version.clone(),
                    revision: k.revision,
                })
                .collect(),
        };
        let response = self.client.clone().resolve_job_types(request).await.map_err(|status| {
            tracing::warn!(code = ?status.code(), message = %status.message(), "job-queue lookup failed");
            Error::Unavailable(
                "the job-queue service is unreachable, so job types cannot be checked; try again shortly".to_owned(),
            )
        })?;
        let mut resolved = HashMap::new();
        for jt in response.into_inner().job_types {
            let Some(key) = jt.key else { continue };
            let key = JobTypeKey {
                name: key.name,
                version: key.version,
                revision: key.revision,
            };
            let info = jt.found.then(|| JobTypeInfo {
                interfaces: JobTypeInterfaces {
                    inputs: interface(jt.inputs),
                    outputs: interface(jt.outputs),
                },
                service_id: jt.service_id,
                description: jt.description,
                latest_revision: jt.latest_revision,
            });
            resolved.insert(key, info);
        }
        Ok(resolved)
    }
}
