use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use brigade_proto::ErrorReason;
use tonic::Code;
use tower::ServiceExt;

use super::*;
use crate::auth::{Principal, StaticTokenStore, TokenRecord};

const CLAIM: &str = "/brigade.jobqueue.v1.JobQueue/ClaimJobs";
const CANCEL: &str = "/brigade.jobqueue.v1.JobQueue/CancelJob";
const UNLISTED: &str = "/brigade.jobqueue.v1.JobQueue/NewRpc";

/// A real tower service behind the layer: answers OK and names the principal it was given.
fn echo() -> impl Service<
    http::Request<Body>,
    Response = http::Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<http::Response<Body>, Infallible>> + Send,
> + Clone
+ Send
+ 'static {
    tower::service_fn(|request: http::Request<Body>| async move {
        let name = request
            .extensions()
            .get::<Principal>()
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let mut response = tonic::Status::ok("").into_http::<Body>();
        response.headers_mut().insert("x-principal", name.parse().unwrap());
        Ok(response)
    })
}

struct Fixture {
    layer: AuthLayer,
    worker: BearerToken,
    admin: BearerToken,
}

fn fixture() -> Fixture {
    let (worker, worker_record) =
        TokenRecord::create("scope-a", BTreeSet::from([Scope::Work]), vec!["a".into()]).unwrap();
    let (admin, admin_record) = TokenRecord::create("root", BTreeSet::from([Scope::Admin]), vec![]).unwrap();
    let store = StaticTokenStore::from_records(vec![worker_record, admin_record]);
    let methods = MethodScopes::new(&[(CLAIM, Scope::Work), (CANCEL, Scope::Admin)]);
    Fixture {
        layer: AuthLayer::new(Authenticator::new(Arc::new(store), "test"), methods),
        worker,
        admin,
    }
}

async fn call(layer: &AuthLayer, path: &str, authorization: Option<String>) -> (Option<Code>, String) {
    let mut request = http::Request::builder().uri(path);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = layer
        .layer(echo())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = tonic::Status::from_header_map(response.headers());
    let principal = response
        .headers()
        .get("x-principal")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    match status {
        Some(s) if s.code() != Code::Ok => {
            let reason = ErrorReason::of(&s);
            let expected = match s.code() {
                Code::Unauthenticated => Some(ErrorReason::Unauthenticated),
                Code::PermissionDenied => Some(ErrorReason::PermissionDenied),
                _ => reason,
            };
            assert_eq!(reason, expected, "reason of {s:?}");
            (Some(s.code()), principal)
        }
        _ => (None, principal),
    }
}

fn bearer(token: &BearerToken) -> Option<String> {
    Some(format!("Bearer {}", token.expose()))
}

#[tokio::test]
async fn the_layer_authenticates_then_checks_the_method_scope() {
    let f = fixture();
    assert_eq!(call(&f.layer, CLAIM, None).await.0, Some(Code::Unauthenticated));
    assert_eq!(
        call(&f.layer, CLAIM, Some("Bearer brg_wrong".into())).await.0,
        Some(Code::Unauthenticated)
    );
    assert_eq!(
        call(&f.layer, CLAIM, Some("Basic x".into())).await.0,
        Some(Code::Unauthenticated)
    );
    assert_eq!(call(&f.layer, CLAIM, bearer(&f.worker)).await, (None, "scope-a".into()));
    assert_eq!(
        call(&f.layer, CANCEL, bearer(&f.worker)).await.0,
        Some(Code::PermissionDenied)
    );
    assert_eq!(call(&f.layer, CANCEL, bearer(&f.admin)).await, (None, "root".into()));
    // Deny by default: a method missing from the table is refused even to admin.
    assert_eq!(
        call(&f.layer, UNLISTED, bearer(&f.admin)).await.0,
        Some(Code::PermissionDenied)
    );
    // Probes and tools need no token.
    assert_eq!(call(&f.layer, "/grpc.health.v1.Health/Check", None).await.0, None);
    assert_eq!(
        call(
            &f.layer,
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            None
        )
        .await
        .0,
        None
    );
}

#[tokio::test]
async fn authentication_off_passes_everything_as_anonymous() {
    let layer = AuthLayer::new(Authenticator::off("test"), MethodScopes::default());
    assert_eq!(call(&layer, CANCEL, None).await, (None, "anonymous".into()));
}

#[tokio::test]
async fn failures_are_counted() {
    let f = fixture();
    let before = crate::auth::AUTH_FAILURES
        .with_label_values(&["test", "forbidden"])
        .get();
    call(&f.layer, CANCEL, bearer(&f.worker)).await;
    let after = crate::auth::AUTH_FAILURES
        .with_label_values(&["test", "forbidden"])
        .get();
    assert!(after > before);
    assert!(crate::metrics::render().contains("brigade_auth_failures_total"));
}

/// A writer that keeps everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Refused requests of every kind, through the layer and the authenticator:
/// what each answered, as text.
async fn refusals(f: &Fixture, near: &str) -> Vec<String> {
    let mut texts = Vec::new();
    for (path, authorization) in [
        (CANCEL, bearer(&f.worker)),
        (CLAIM, Some(format!("Bearer {near}"))),
        (CLAIM, Some(format!("Token {}", f.worker.expose()))),
        (UNLISTED, bearer(&f.admin)),
        (CLAIM, bearer(&f.worker)),
    ] {
        let response = f
            .layer
            .layer(echo())
            .oneshot(
                http::Request::builder()
                    .uri(path)
                    .header("authorization", authorization.unwrap())
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        texts.push(format!("{:?}", response.headers()));
    }
    let auth = Authenticator::new(Arc::new(StaticTokenStore::from_records(vec![])), "test");
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {near}").parse().unwrap());
    let error = auth.authenticate_header(&headers).await.unwrap_err();
    texts.push(format!("{error} {error:?} {:?}", error.grpc_status()));

    texts
}

#[tokio::test]
async fn no_token_or_hash_reaches_a_log_line_or_an_error() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .json()
        .with_current_span(true)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let f = fixture();
    // A token one character off the worker's, as an attacker guessing would send.
    let mut near = f.worker.expose().to_owned();
    near.pop();
    near.push('x');
    // Twice: a call site first met on another thread (other tests refuse requests
    // too) while this subscriber was being installed may have cached that nobody
    // listens. Once every call site here is registered, asking them all again
    // sticks; only the second pass's lines are kept.
    refusals(&f, &near).await;
    tracing::callsite::rebuild_interest_cache();
    captured.0.lock().unwrap().clear();
    let texts = refusals(&f, &near).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request refused"), "nothing was logged: {logs}");
    assert!(logs.contains("scope-a"), "the principal's name should be logged");
    let everything = format!("{logs}\n{}", texts.join("\n"));
    for secret in [f.worker.expose(), f.admin.expose(), near.as_str()] {
        let hash = crate::auth::TokenHash::of(secret).to_hex();
        // The random part, so a truncated or re-prefixed copy is caught too.
        let tail = &secret[crate::auth::TOKEN_PREFIX.len()..];
        for needle in [secret, tail, &tail[..16], hash.as_str(), &hash[..16]] {
            assert!(!everything.contains(needle), "a secret leaked: {everything}");
        }
    }
}

#[test]
fn client_credentials_add_the_token_unless_one_is_forwarded() {
    use tonic::service::Interceptor;
    let token = BearerToken::generate().unwrap();
    let mut credentials = ClientCredentials::new(Some(&token)).unwrap();
    assert!(!format!("{credentials:?}").contains(token.expose()));
    let request = credentials.call(tonic::Request::new(())).unwrap();
    let sent = request.metadata().get("authorization").unwrap();
    assert_eq!(sent.to_str().unwrap(), format!("Bearer {}", token.expose()));
    assert!(sent.is_sensitive());

    let mut forwarded = tonic::Request::new(());
    let mut caller = http::HeaderMap::new();
    caller.insert("authorization", "Bearer brg_caller".parse().unwrap());
    forward_authorization(&caller, forwarded.metadata_mut());
    let request = credentials.call(forwarded).unwrap();
    assert_eq!(
        request.metadata().get("authorization").unwrap().to_str().unwrap(),
        "Bearer brg_caller"
    );

    let mut none = ClientCredentials::new(None).unwrap();
    assert!(
        none.call(tonic::Request::new(()))
            .unwrap()
            .metadata()
            .get("authorization")
            .is_none()
    );
}

#[tokio::test]
async fn inside_a_request_only_the_callers_token_is_sent() {
    use tonic::service::Interceptor;
    let own = BearerToken::new("brg_own_token");
    let credentials = ClientCredentials::new(Some(&own)).unwrap();
    let sent = |mut c: ClientCredentials| {
        c.call(tonic::Request::new(()))
            .unwrap()
            .metadata()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let mut caller = http::HeaderMap::new();
    caller.insert("authorization", "Bearer brg_caller".parse().unwrap());
    let inside = with_caller_authorization(&caller, async { sent(credentials.clone()) }).await;
    assert_eq!(inside.as_deref(), Some("Bearer brg_caller"));
    let anonymous = with_caller_authorization(&http::HeaderMap::new(), async { sent(credentials.clone()) }).await;
    assert_eq!(
        anonymous, None,
        "the gateway's own token must not be lent to an anonymous caller"
    );
    assert_eq!(sent(credentials).as_deref(), Some("Bearer brg_own_token"));
}
