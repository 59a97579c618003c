//! One REST call is one trace across the three processes: the gateway, then
//! recipe-types, then job-queue, joined by W3C `traceparent` over gRPC. An
//! in-process OTLP receiver collects what Brigade exports.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brigade_tests::{Backend, TestApp, eventually};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use serde_json::json;

/// (trace id, span name, component attribute)
type Collected = Arc<Mutex<Vec<(Vec<u8>, String, Option<String>)>>>;

struct Receiver {
    spans: Collected,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                for span in scope.spans {
                    let component = span.attributes.iter().find(|kv| kv.key == "component").and_then(|kv| {
                        match kv.value.as_ref().and_then(|v| v.value.clone()) {
                            Some(AnyValue::StringValue(s)) => Some(s),
                            _ => None,
                        }
                    });
                    spans.push((span.trace_id, span.name, component));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test]
async fn one_validation_call_is_one_trace_across_three_processes() {
    let spans: Collected = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind receiver");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let receiver = TraceServiceServer::new(Receiver { spans: spans.clone() });
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(receiver)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let telemetry = brigade_common::telemetry::init_with_endpoint("brigade-tests", Some(endpoint));

    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    app.create_service(
        "traced",
        json!({"type": "object", "properties": {"in_file": {"type": "string", "format": "uri"}}}),
        json!({"type": "object"}),
    )
    .await;
    let definition = json!({
        "input": {"files": [{"name": "in_file"}]},
        "nodes": {"a": {"dependencies": [], "input": {"in_file": {"type": "recipe", "input": "in_file"}},
                        "node_type": {"node_type": "job", "job_type_name": "traced", "job_type_version": "1.0.0", "job_type_revision": 1}}}
    });
    let (status, report) = app
        .post("/v6/recipe-types/validation/", &json!({"definition": definition}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(report["is_valid"], true, "{report}");

    let trace = eventually(
        Duration::from_secs(20),
        "spans from all three processes in one trace",
        || async {
            telemetry.flush();
            let spans = spans.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
            // Other tests in this binary export spans here too once the global
            // subscriber is installed: look at every root of this route, not the first.
            spans
                .iter()
                .filter(|(_, name, _)| name == "POST /v6/recipe-types/validation/")
                .find_map(|root| {
                    let in_trace: Vec<_> = spans.iter().filter(|(id, _, _)| *id == root.0).collect();
                    let components: HashSet<Option<String>> = in_trace.iter().map(|(_, _, c)| c.clone()).collect();
                    let names: HashMap<String, Option<String>> =
                        in_trace.iter().map(|(_, n, c)| (n.clone(), c.clone())).collect();
                    (components.contains(&Some("brigade.recipetypes.v1.RecipeTypes".to_owned()))
                        && components.contains(&Some("brigade.jobqueue.v1.JobQueue".to_owned())))
                    .then_some(names)
                })
        },
    )
    .await;
    assert_eq!(
        trace.get("brigade.recipetypes.v1.RecipeTypes/ValidateRecipeType"),
        Some(&Some("brigade.recipetypes.v1.RecipeTypes".to_owned()))
    );
    assert_eq!(
        trace.get("brigade.jobqueue.v1.JobQueue/ResolveJobTypes"),
        Some(&Some("brigade.jobqueue.v1.JobQueue".to_owned()))
    );
}
