//! Job types live in job-queue: one batched gRPC call resolves every job type
//! a definition names to its revision's schemas, and the interfaces are derived
//! here ([`interface_from_schema`]).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use brigade_common::trace::{Propagate, TracedChannel};
use brigade_proto::jobqueue::v1 as jq;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use tonic::transport::Endpoint;

use crate::definition::{
    FileParameter, Interface, JobTypeInterfaces, JobTypeKey, JsonParameter, interface_from_schema,
};
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

// TODO(merge): remove once job-queue sends each revision's schemas.
fn interface_from_parameters(params: Vec<jq::InterfaceParameter>) -> Interface {
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

/// A schema document as job-queue stores it; unparsable or absent text declares nothing.
fn schema(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

fn interfaces_of(jt: &jq::JobTypeInterface) -> JobTypeInterfaces {
    if jt.job_registration_schema_json.is_empty() && jt.job_result_schema_json.is_empty() {
        // TODO(merge): remove: a job-queue that predates the schema fields sends the derived parameters.
        return JobTypeInterfaces {
            inputs: interface_from_parameters(jt.inputs.clone()),
            outputs: interface_from_parameters(jt.outputs.clone()),
        };
    }
    JobTypeInterfaces {
        inputs: interface_from_schema(&schema(&jt.job_registration_schema_json)),
        outputs: interface_from_schema(&schema(&jt.job_result_schema_json)),
    }
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
            Error::PeerUnavailable(
                "the job-queue service is unreachable, so job types cannot be checked; try again shortly".to_owned(),
            )
        })?;
        let mut resolved = HashMap::new();
        for jt in response.into_inner().job_types {
            let Some(key) = jt.key.clone() else { continue };
            let key = JobTypeKey {
                name: key.name,
                version: key.version,
                revision: key.revision,
            };
            let info = jt.found.then(|| JobTypeInfo {
                interfaces: interfaces_of(&jt),
                service_id: jt.service_id,
                description: jt.description,
                latest_revision: jt.latest_revision,
            });
            resolved.insert(key, info);
        }
        Ok(resolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter(name: &str, kind: &str) -> jq::InterfaceParameter {
        jq::InterfaceParameter {
            name: name.to_owned(),
            kind: kind.to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn interfaces_come_from_the_schemas() {
        let jt = jq::JobTypeInterface {
            job_registration_schema_json:
                r#"{"properties":{"image":{"type":"string","format":"uri"}},"required":["image"]}"#.to_owned(),
            job_result_schema_json: r#"{"properties":{"score":{"type":"number"}}}"#.to_owned(),
            inputs: vec![parameter("ignored", "json")],
            ..Default::default()
        };
        let interfaces = interfaces_of(&jt);
        assert_eq!(interfaces.inputs.files[0].name, "image");
        assert!(interfaces.inputs.files[0].required);
        assert!(interfaces.inputs.json.is_empty());
        assert_eq!(interfaces.outputs.json[0].json_type.as_deref(), Some("number"));
    }

    #[test]
    fn without_schemas_the_old_parameters_are_used() {
        let jt = jq::JobTypeInterface {
            inputs: vec![parameter("frames", "file")],
            outputs: vec![parameter("count", "json")],
            ..Default::default()
        };
        let interfaces = interfaces_of(&jt);
        assert_eq!(interfaces.inputs.files[0].name, "frames");
        assert_eq!(interfaces.outputs.json[0].name, "count");
    }
}
