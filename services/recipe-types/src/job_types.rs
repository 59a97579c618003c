//! Job types live in job-queue: one batched gRPC call resolves every job type
//! a definition names to its revision's schemas, and the interfaces are derived
//! here ([`interface_from_schema`]).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use brigade_common::auth::{ClientCredentials, CredentialedChannel, TracedCredentials};
use brigade_proto::jobqueue::v1 as jq;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use tonic::transport::Endpoint;

use crate::definition::{JobTypeInterfaces, JobTypeKey, interface_from_schema};
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
    client: JobQueueClient<CredentialedChannel>,
}

impl GrpcJobTypes {
    /// Connects lazily: job-queue may start after us.
    pub fn new(url: &str) -> Result<Self, tonic::transport::Error> {
        let channel = Endpoint::from_shared(url.to_owned())?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .connect_lazy();
        Ok(Self::with_channel(channel, ClientCredentials::default()))
    }

    /// On a channel of the caller's (TLS), sending `credentials` on every call.
    pub fn with_channel(channel: tonic::transport::Channel, credentials: ClientCredentials) -> Self {
        Self {
            client: JobQueueClient::with_interceptor(channel, TracedCredentials(credentials)),
        }
    }
}

/// A schema document as job-queue stores it; unparsable or absent text declares nothing.
fn schema(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

fn interfaces_of(jt: &jq::JobTypeInterface) -> JobTypeInterfaces {
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

    #[test]
    fn interfaces_come_from_the_schemas() {
        let jt = jq::JobTypeInterface {
            job_registration_schema_json:
                r#"{"properties":{"image":{"type":"string","format":"uri"}},"required":["image"]}"#.to_owned(),
            job_result_schema_json: r#"{"properties":{"score":{"type":"number"}}}"#.to_owned(),
            ..Default::default()
        };
        let interfaces = interfaces_of(&jt);
        assert_eq!(interfaces.inputs.files[0].name, "image");
        assert!(interfaces.inputs.files[0].required);
        assert!(interfaces.inputs.json.is_empty());
        assert_eq!(interfaces.outputs.json[0].json_type.as_deref(), Some("number"));
    }
}
