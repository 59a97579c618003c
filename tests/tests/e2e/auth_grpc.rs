//! Tokens, scopes and TLS on the gRPC services (issue 14): real job-queue and
//! recipe-types servers on port 0 with a tokens file, real clients.
//!
//! * every RPC of both services refuses a call without a token
//!   (UNAUTHENTICATED) and one without its scope (PERMISSION_DENIED), and lets
//!   the right scope through (built from the descriptor set, so a new RPC is
//!   covered as soon as it exists);
//! * a `work` token limited to one service claims only there; a revoked token
//!   is refused on its next call, on job-queue and on recipe-types (which asks
//!   job-queue, no cache);
//! * recipe-types without an accepted service token answers a clear error;
//! * TLS, mTLS (optional and required), a certificate's identity as principal,
//!   recipe-types reaching job-queue over https;
//! * `brigade token create|list|revoke` end to end;
//! * the logs of a process that used tokens hold no secret, random part or hash.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use brigade_common::auth::{Scope, TokenHash, method_paths, methods};
use brigade_common::tls::TlsConfig;
use brigade_proto::jobqueue::v1 as pb;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_proto::recipetypes::v1 as rt;
use brigade_proto::recipetypes::v1::recipe_types_client::RecipeTypesClient;
use brigade_tests::processes::binary;
use brigade_tests::{Backend, DEADLINE, TestDatabase, eventually, output_within};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Request};

const ADMIN: &str = "brg_admin_0123456789abcdef0123456789abcdef";
const JOB_QUEUE_TOKEN: &str = "brg_jobqueue_0123456789abcdef0123456789abcd";
const RECIPE_TYPES_TOKEN: &str = "brg_recipetypes_0123456789abcdef0123456789ab";
const READER: &str = "brg_reader_0123456789abcdef0123456789abcdef";
const SUBMITTER: &str = "brg_submitter_0123456789abcdef0123456789abc";
const WORKER: &str = "brg_worker_0123456789abcdef0123456789abcdef";
const NOTHING: &str = "brg_nothing_0123456789abcdef0123456789abcde";
/// The subject CN of the client certificate the tokens file maps to a worker.
const CERT_IDENTITY: &str = "microscope-2.lab";
/// A certificate identity with `admin`, named only through delegation below.
const ADMIN_CERT_IDENTITY: &str = "operator.lab";

fn tokens_file(dir: &Path) -> PathBuf {
    let path = dir.join("tokens.json");
    let file = json!({
        "tokens": [
            {"name": "admin", "token": ADMIN, "scopes": ["admin"]},
            {"name": "job-queue", "token": JOB_QUEUE_TOKEN, "scopes": ["admin"]},
            {"name": "recipe-types", "token": RECIPE_TYPES_TOKEN, "scopes": ["admin"]},
            {"name": "reader", "token": READER, "scopes": ["read"]},
            {"name": "submitter", "token": SUBMITTER, "scopes": ["submit"]},
            {"name": "worker", "token": WORKER, "scopes": ["work"]},
            {"name": "nothing", "token": NOTHING, "scopes": []},
        ],
        "certificates": [
            {"identity": CERT_IDENTITY, "scopes": ["work"], "services": ["microscope-2"]},
            {"identity": ADMIN_CERT_IDENTITY, "scopes": ["admin"]},
        ],
    });
    std::fs::write(&path, file.to_string()).expect("tokens file");
    path
}

/// Test certificates: a CA, a server certificate for 127.0.0.1 (both server
/// and client use, so services can show it to each other) and a client
/// certificate for [`CERT_IDENTITY`].
struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
    other_ca: String,
}

fn ca() -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "brigade e2e ca");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("ca")
}

fn pki() -> Pki {
    let ca = ca();
    let leaf = |names: Vec<String>, cn: &str, usages: Vec<ExtendedKeyUsagePurpose>| {
        let mut params = CertificateParams::new(names).expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = usages;
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &ca).expect("sign");
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        server: leaf(
            vec!["127.0.0.1".into(), "localhost".into()],
            "brigade-service",
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth],
        ),
        client: leaf(
            vec![CERT_IDENTITY.into()],
            CERT_IDENTITY,
            vec![ExtendedKeyUsagePurpose::ClientAuth],
        ),
        ca: ca.pem(),
        other_ca: self::ca().pem(),
    }
}

/// The PEM files of [`Pki`] on disk, as the services read them.
struct PkiFiles {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn write_pki(pki: &Pki, dir: &Path) -> PkiFiles {
    let files = PkiFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    std::fs::write(&files.ca, &pki.ca).expect("ca");
    std::fs::write(&files.cert, &pki.server.0).expect("cert");
    std::fs::write(&files.key, &pki.server.1).expect("key");
    files
}

#[derive(Clone, Default)]
struct Options {
    /// recipe-types' BRIGADE_SERVICE_TOKEN (job-queue's is always set).
    recipe_types_token: Option<String>,
    tls: Option<TlsConfig>,
}

/// job-queue and recipe-types with the tokens file, stopped when dropped.
struct Stack {
    job_queue: String,
    recipe_types: String,
    _stop: Vec<tokio::sync::oneshot::Sender<()>>,
    _db: TestDatabase,
}

impl Stack {
    async fn start(backend: Backend, options: Options) -> Option<Self> {
        let db = TestDatabase::new(backend).await?;
        let tokens = tokens_file(db.dir.path());
        let local = "127.0.0.1:0".parse().expect("addr");
        let jq_listener = TcpListener::bind(local).await.expect("bind");
        let rt_listener = TcpListener::bind(local).await.expect("bind");
        let scheme = if options.tls.is_some() { "https" } else { "http" };
        let jq_url = format!("{scheme}://{}", jq_listener.local_addr().expect("addr"));
        let rt_url = format!("{scheme}://{}", rt_listener.local_addr().expect("addr"));
        let auth = |token: Option<String>| brigade_common::auth::AuthConfig {
            tokens_file: Some(tokens.clone()),
            service_token: token,
            ..Default::default()
        };
        let mut jq = brigade_job_queue::Config::local(local, db.dir.path().into(), db.url.clone(), rt_url.clone());
        jq.auth = auth(Some(JOB_QUEUE_TOKEN.to_owned()));
        jq.tls = options.tls.clone().unwrap_or_default();
        let mut rtc = brigade_recipe_types::Config::local(local, db.dir.path().into(), db.url.clone(), jq_url.clone());
        rtc.auth = auth(options.recipe_types_token.clone());
        rtc.tls = options.tls.clone().unwrap_or_default();
        let jq_app = brigade_job_queue::Application::build_on(jq, jq_listener)
            .await
            .expect("job-queue builds");
        let rt_app = brigade_recipe_types::Application::build_on(rtc, rt_listener)
            .await
            .expect("recipe-types builds");
        let (jq_stop, jq_stopped) = tokio::sync::oneshot::channel::<()>();
        let (rt_stop, rt_stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(jq_app.run_until_stopped(async move {
            let _ = jq_stopped.await;
        }));
        tokio::spawn(rt_app.run_until_stopped(async move {
            let _ = rt_stopped.await;
        }));
        Some(Self {
            job_queue: jq_url,
            recipe_types: rt_url,
            _stop: vec![jq_stop, rt_stop],
            _db: db,
        })
    }
}

async fn channel(url: &str, tls: Option<ClientTlsConfig>) -> Result<Channel, tonic::transport::Error> {
    let mut endpoint = Endpoint::from_shared(url.to_owned())?
        .connect_timeout(Duration::from_secs(5))
        .timeout(DEADLINE);
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls)?;
    }
    endpoint.connect().await
}

async fn plain(url: &str) -> Channel {
    channel(url, None).await.expect("connect")
}

fn authorized<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().expect("header"));
    }
    request
}

/// Calls `path` with an empty message (valid for every request type) and
/// returns the outcome's code; a stream that opens is OK.
async fn call_code(channel: Channel, path: &str, token: Option<&str>) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let path: tonic::codegen::http::uri::PathAndQuery = path.parse().expect("path");
    let request = authorized(futures::stream::once(async {}), token);
    match tokio::time::timeout(DEADLINE, grpc.streaming(request, path, codec)).await {
        Ok(Ok(_)) => Code::Ok,
        Ok(Err(status)) => status.code(),
        Err(_) => panic!("no answer within {DEADLINE:?}"),
    }
}

/// A token that holds `scope`, and one that does not.
fn tokens_for(scope: Scope) -> (&'static str, &'static str) {
    match scope {
        Scope::Read => (READER, NOTHING),
        Scope::Submit => (SUBMITTER, WORKER),
        Scope::Work => (WORKER, SUBMITTER),
        Scope::Admin => (ADMIN, SUBMITTER),
    }
}

#[tokio::test]
async fn every_rpc_of_both_services_needs_its_scope() {
    let options = Options {
        recipe_types_token: Some(RECIPE_TYPES_TOKEN.to_owned()),
        ..Default::default()
    };
    let Some(stack) = Stack::start(Backend::Sqlite, options).await else {
        return;
    };
    let services = [
        (methods::JOB_QUEUE_SERVICE, methods::job_queue(), &stack.job_queue),
        (
            methods::RECIPE_TYPES_SERVICE,
            methods::recipe_types(),
            &stack.recipe_types,
        ),
    ];
    let mut checked = 0;
    for (service, scopes, url) in services {
        let channel = plain(url).await;
        let paths = method_paths(brigade_proto::FILE_DESCRIPTOR_SET, service);
        assert!(paths.len() > 10, "{service}: {paths:?}");
        for path in paths {
            let scope = scopes.scope(&path).unwrap_or_else(|| panic!("{path} has no scope"));
            let (holder, lacking) = tokens_for(scope);
            assert_eq!(
                call_code(channel.clone(), &path, None).await,
                Code::Unauthenticated,
                "{path} without a token"
            );
            assert_eq!(
                call_code(channel.clone(), &path, Some("brg_not_a_known_token_at_all_0000000000")).await,
                Code::Unauthenticated,
                "{path} with an unknown token"
            );
            assert_eq!(
                call_code(channel.clone(), &path, Some(lacking)).await,
                Code::PermissionDenied,
                "{path} without {scope}"
            );
            let code = call_code(channel.clone(), &path, Some(holder)).await;
            assert!(
                !matches!(code, Code::Unauthenticated | Code::PermissionDenied),
                "{path} with {scope}: {code:?}"
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} methods checked");
    // Health stays open: probes carry no token.
    let mut health = tonic_health::pb::health_client::HealthClient::new(plain(&stack.job_queue).await);
    health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("health without a token");
}

async fn create_service(client: &mut JobQueueClient<Channel>, name: &str) -> String {
    client
        .create_service(authorized(
            pb::CreateServiceRequest {
                name: name.to_owned(),
                description: "auth tests".to_owned(),
                job_registration_schema_json: json!({"type": "object"}).to_string(),
                job_result_schema_json: json!({"type": "object"}).to_string(),
                ..Default::default()
            },
            Some(ADMIN),
        ))
        .await
        .expect("create service")
        .into_inner()
        .service
        .expect("service")
        .id
}

async fn submit(client: &mut JobQueueClient<Channel>, service_id: &str) -> String {
    client
        .submit_job(authorized(
            pb::SubmitJobRequest {
                service_id: service_id.to_owned(),
                parameters_json: "{}".to_owned(),
                ..Default::default()
            },
            Some(SUBMITTER),
        ))
        .await
        .expect("submit")
        .into_inner()
        .job
        .expect("job")
        .id
}

async fn claim(
    client: &mut JobQueueClient<Channel>,
    service_id: &str,
    token: &str,
) -> Result<Vec<pb::LeasedJob>, tonic::Status> {
    client
        .claim_jobs(authorized(
            pb::ClaimJobsRequest {
                service_id: service_id.to_owned(),
                max_jobs: 10,
                worker_id: "auth-test".to_owned(),
                ..Default::default()
            },
            Some(token),
        ))
        .await
        .map(|r| r.into_inner().jobs)
}

#[tokio::test]
async fn work_limited_tokens_and_revocation_sqlite() {
    work_limited_tokens_and_revocation(Backend::Sqlite).await;
}

#[tokio::test]
async fn work_limited_tokens_and_revocation_postgres() {
    work_limited_tokens_and_revocation(Backend::Postgres).await;
}

async fn work_limited_tokens_and_revocation(backend: Backend) {
    let Some(stack) = Stack::start(
        backend,
        Options {
            recipe_types_token: Some(RECIPE_TYPES_TOKEN.to_owned()),
            ..Default::default()
        },
    )
    .await
    else {
        return;
    };
    let mut jq = JobQueueClient::new(plain(&stack.job_queue).await);
    let a = create_service(&mut jq, "microscope-1").await;
    let b = create_service(&mut jq, "microscope-2").await;
    let job_a = submit(&mut jq, &a).await;
    let job_b = submit(&mut jq, &b).await;

    // A stored token, limited to microscope-1; the plaintext comes back once.
    let created = jq
        .create_token(authorized(
            pb::CreateTokenRequest {
                name: "m1".to_owned(),
                scopes: vec!["work".to_owned()],
                services: vec!["microscope-1".to_owned()],
            },
            Some(ADMIN),
        ))
        .await
        .expect("create token")
        .into_inner();
    let secret = created.secret.clone();
    let record = created.token.expect("record");
    assert!(secret.starts_with("brg_") && secret.len() == 68, "{secret}");
    assert!(record.id.starts_with("tok_"));
    assert_eq!(record.services, ["microscope-1"]);
    // Bad requests are 4xx-like codes.
    for bad in [
        pb::CreateTokenRequest {
            name: "x".into(),
            scopes: vec!["root".into()],
            services: vec![],
        },
        pb::CreateTokenRequest {
            name: "x".into(),
            scopes: vec!["read".into()],
            services: vec!["microscope-1".into()],
        },
        pb::CreateTokenRequest {
            name: String::new(),
            scopes: vec!["read".into()],
            services: vec![],
        },
    ] {
        let status = jq.create_token(authorized(bad, Some(ADMIN))).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    }
    // Only admin may create tokens.
    let status = jq
        .create_token(authorized(
            pb::CreateTokenRequest {
                name: "sneaky".into(),
                scopes: vec!["admin".into()],
                services: vec![],
            },
            Some(&secret),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Service B is refused, naming it; service A is served.
    let refused = claim(&mut jq, &b, &secret).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("microscope-2"), "{}", refused.message());
    let heartbeat = jq
        .heartbeat(authorized(pb::HeartbeatRequest { id: b.clone() }, Some(&secret)))
        .await
        .unwrap_err();
    assert_eq!(heartbeat.code(), Code::PermissionDenied);
    let leased = claim(&mut jq, &a, &secret).await.expect("claim from A");
    assert_eq!(leased.len(), 1);
    let lease_a = leased[0].clone();
    assert_eq!(lease_a.job.as_ref().expect("job").id, job_a);
    jq.heartbeat(authorized(pb::HeartbeatRequest { id: a.clone() }, Some(&secret)))
        .await
        .expect("heartbeat on A");

    // B's job, leased by an unrestricted worker, cannot be finished with A's token.
    let lease_b = claim(&mut jq, &b, WORKER).await.expect("claim B")[0].clone();
    assert_eq!(lease_b.job.as_ref().expect("job").id, job_b);
    let complete_b = jq
        .complete_job(authorized(
            pb::CompleteJobRequest {
                job_id: job_b.clone(),
                lease_token: lease_b.lease_token.clone(),
                results_json: "{}".into(),
            },
            Some(&secret),
        ))
        .await
        .unwrap_err();
    assert_eq!(complete_b.code(), Code::PermissionDenied);
    let fail_b = jq
        .fail_job(authorized(
            pb::FailJobRequest {
                job_id: job_b.clone(),
                lease_token: lease_b.lease_token.clone(),
                error_message: "no".into(),
                ..Default::default()
            },
            Some(&secret),
        ))
        .await
        .unwrap_err();
    assert_eq!(fail_b.code(), Code::PermissionDenied);
    jq.complete_job(authorized(
        pb::CompleteJobRequest {
            job_id: job_a.clone(),
            lease_token: lease_a.lease_token.clone(),
            results_json: "{}".into(),
        },
        Some(&secret),
    ))
    .await
    .expect("complete A's job");

    // Listing shows the token, never a secret or hash.
    let listed = jq
        .list_tokens(authorized(pb::ListTokensRequest::default(), Some(ADMIN)))
        .await
        .expect("list")
        .into_inner();
    let shown = format!("{listed:?}");
    assert!(shown.contains(&record.id));
    assert!(!shown.contains(&secret) && !shown.contains(&secret[4..20]));
    assert!(!shown.contains(&TokenHash::of(&secret).to_hex()));
    let listed_record = listed.tokens.iter().find(|t| t.id == record.id).expect("listed");
    assert!(listed_record.last_used.is_some(), "last use recorded");

    // recipe-types asks job-queue about stored tokens (read via work).
    let mut recipe_types = RecipeTypesClient::new(plain(&stack.recipe_types).await);
    recipe_types
        .list_recipe_types(authorized(rt::ListRecipeTypesRequest::default(), Some(&secret)))
        .await
        .expect("recipe-types accepts a stored token");

    // Revoked: refused on the very next call, by both services.
    let revoked = jq
        .revoke_token(authorized(
            pb::RevokeTokenRequest { id: record.id.clone() },
            Some(ADMIN),
        ))
        .await
        .expect("revoke")
        .into_inner()
        .token
        .expect("record");
    assert!(revoked.revoked.is_some());
    let status = claim(&mut jq, &a, &secret).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = recipe_types
        .list_recipe_types(authorized(rt::ListRecipeTypesRequest::default(), Some(&secret)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let active = jq
        .list_tokens(authorized(pb::ListTokensRequest::default(), Some(ADMIN)))
        .await
        .expect("list")
        .into_inner();
    assert!(
        active.tokens.iter().all(|t| t.id != record.id),
        "revoked tokens are hidden"
    );
    let all = jq
        .list_tokens(authorized(pb::ListTokensRequest { include_revoked: true }, Some(ADMIN)))
        .await
        .expect("list")
        .into_inner();
    assert!(all.tokens.iter().any(|t| t.id == record.id && t.revoked.is_some()));
    let unknown = jq
        .revoke_token(authorized(
            pb::RevokeTokenRequest { id: "tok_nope".into() },
            Some(ADMIN),
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
async fn recipe_types_without_an_accepted_service_token_is_refused_clearly() {
    for token in [None, Some("brg_not_in_the_file_0123456789abcdef0123".to_owned())] {
        let Some(stack) = Stack::start(
            Backend::Sqlite,
            Options {
                recipe_types_token: token.clone(),
                ..Default::default()
            },
        )
        .await
        else {
            return;
        };
        let mut jq = JobQueueClient::new(plain(&stack.job_queue).await);
        let secret = jq
            .create_token(authorized(
                pb::CreateTokenRequest {
                    name: "reader".into(),
                    scopes: vec!["read".into()],
                    services: vec![],
                },
                Some(ADMIN),
            ))
            .await
            .expect("create")
            .into_inner()
            .secret;
        let mut recipe_types = RecipeTypesClient::new(plain(&stack.recipe_types).await);
        let started = std::time::Instant::now();
        let status = recipe_types
            .list_recipe_types(authorized(rt::ListRecipeTypesRequest::default(), Some(&secret)))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{token:?}: {status:?}");
        assert!(status.message().contains("unavailable"), "{}", status.message());
        assert!(started.elapsed() < Duration::from_secs(10), "answered at once");
        // Its own file still works.
        recipe_types
            .list_recipe_types(authorized(rt::ListRecipeTypesRequest::default(), Some(ADMIN)))
            .await
            .expect("file tokens need no job-queue");
    }
}

fn tls_client(pki: &Pki, ca: &str, client: bool) -> ClientTlsConfig {
    let config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
    if client {
        config.identity(Identity::from_pem(&pki.client.0, &pki.client.1))
    } else {
        config
    }
}

#[tokio::test]
async fn tls_and_mtls_with_certificate_principals() {
    let pki = pki();
    let dir = tempfile::tempdir().expect("dir");
    let files = write_pki(&pki, dir.path());
    let tls = |required: bool| TlsConfig {
        cert: Some(files.cert.clone()),
        key: Some(files.key.clone()),
        client_ca: Some(files.ca.clone()),
        client_cert_required: required,
        ca: Some(files.ca.clone()),
    };

    // Optional client certificates.
    let Some(stack) = Stack::start(
        Backend::Sqlite,
        Options {
            recipe_types_token: Some(RECIPE_TYPES_TOKEN.to_owned()),
            tls: Some(tls(false)),
        },
    )
    .await
    else {
        return;
    };
    assert!(stack.job_queue.starts_with("https://127.0.0.1:"));
    // Plaintext and an untrusted CA fail.
    assert!(
        channel(&stack.job_queue.replace("https", "http"), None)
            .await
            .map(|_| ())
            .is_err()
            || {
                let mut c = JobQueueClient::new(plain(&stack.job_queue.replace("https", "http")).await);
                c.list_services(authorized(pb::ListServicesRequest::default(), Some(ADMIN)))
                    .await
                    .is_err()
            },
        "plaintext must not be served"
    );
    assert!(
        channel(&stack.job_queue, Some(tls_client(&pki, &pki.other_ca, false)))
            .await
            .is_err(),
        "a client without the CA must fail"
    );
    let mut by_token = JobQueueClient::new(
        channel(&stack.job_queue, Some(tls_client(&pki, &pki.ca, false)))
            .await
            .expect("tls"),
    );
    let m1 = create_service(&mut by_token, "microscope-1").await;
    let m2 = create_service(&mut by_token, "microscope-2").await;
    submit(&mut by_token, &m2).await;
    // No token, no certificate: refused.
    let status = by_token
        .list_services(authorized(pb::ListServicesRequest::default(), None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    // The certificate's identity is the principal: work on microscope-2 only.
    let mut by_cert = JobQueueClient::new(
        channel(&stack.job_queue, Some(tls_client(&pki, &pki.ca, true)))
            .await
            .expect("mtls"),
    );
    let leased = claim_without_token(&mut by_cert, &m2)
        .await
        .expect("certificate claims");
    assert_eq!(leased.len(), 1);
    let refused = claim_without_token(&mut by_cert, &m1).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let status = by_cert
        .cancel_jobs(Request::new(pb::CancelJobsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::PermissionDenied,
        "a worker certificate is not admin"
    );
    // recipe-types reaches job-queue over https to check a stored token.
    let secret = by_token
        .create_token(authorized(
            pb::CreateTokenRequest {
                name: "tls-reader".into(),
                scopes: vec!["read".into()],
                services: vec![],
            },
            Some(ADMIN),
        ))
        .await
        .expect("create")
        .into_inner()
        .secret;
    let mut recipe_types = RecipeTypesClient::new(
        channel(&stack.recipe_types, Some(tls_client(&pki, &pki.ca, false)))
            .await
            .expect("tls"),
    );
    recipe_types
        .list_recipe_types(authorized(rt::ListRecipeTypesRequest::default(), Some(&secret)))
        .await
        .expect("remote check over https");
    // The command line over https, with --ca.
    let out = output_within(
        brigade()
            .env("BRIGADE_JOB_QUEUE_URL", &stack.job_queue)
            .env("BRIGADE_TOKEN", ADMIN)
            .args(["token", "list", "--json", "--ca"])
            .arg(&files.ca),
        DEADLINE,
        "brigade token list over https",
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    let out = output_within(
        brigade()
            .env("BRIGADE_JOB_QUEUE_URL", &stack.job_queue)
            .env("BRIGADE_TOKEN", ADMIN)
            .args(["token", "list"]),
        DEADLINE,
        "brigade token list over https without a CA",
    )
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ca"), "{out:?}");
    drop(stack);

    // Required client certificates.
    let Some(stack) = Stack::start(
        Backend::Sqlite,
        Options {
            recipe_types_token: Some(RECIPE_TYPES_TOKEN.to_owned()),
            tls: Some(tls(true)),
        },
    )
    .await
    else {
        return;
    };
    let without_cert = match channel(&stack.job_queue, Some(tls_client(&pki, &pki.ca, false))).await {
        Err(_) => true,
        Ok(channel) => JobQueueClient::new(channel)
            .list_services(authorized(pb::ListServicesRequest::default(), Some(ADMIN)))
            .await
            .is_err(),
    };
    assert!(
        without_cert,
        "a client without a certificate must fail when one is required"
    );
    let mut by_cert = JobQueueClient::new(
        channel(&stack.job_queue, Some(tls_client(&pki, &pki.ca, true)))
            .await
            .expect("mtls"),
    );
    by_cert
        .list_services(authorized(pb::ListServicesRequest::default(), Some(ADMIN)))
        .await
        .expect("certificate and token");
    by_cert
        .list_services(Request::new(pb::ListServicesRequest::default()))
        .await
        .expect("the certificate alone reads (work implies read)");
}

async fn claim_without_token(
    client: &mut JobQueueClient<Channel>,
    service_id: &str,
) -> Result<Vec<pb::LeasedJob>, tonic::Status> {
    client
        .claim_jobs(Request::new(pb::ClaimJobsRequest {
            service_id: service_id.to_owned(),
            max_jobs: 10,
            worker_id: "cert".into(),
            ..Default::default()
        }))
        .await
        .map(|r| r.into_inner().jobs)
}

fn brigade() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary("brigade"));
    for variable in [
        "BRIGADE_JOB_QUEUE_URL",
        "BRIGADE_RECIPE_TYPES_URL",
        "BRIGADE_TOKEN",
        "BRIGADE_TLS_CA",
        "DATABASE_URL",
        "RUST_LOG",
    ] {
        command.env_remove(variable);
    }
    command.stdin(Stdio::null());
    command
}

async fn cli(job_queue: &str, token: &str, args: &[&str]) -> std::process::Output {
    output_within(
        brigade()
            .env("BRIGADE_JOB_QUEUE_URL", job_queue)
            .env("BRIGADE_TOKEN", token)
            .args(args),
        DEADLINE,
        &format!("brigade {}", args.join(" ")),
    )
    .await
}

/// A job-queue process with the tokens file, its stderr captured for a scan.
struct Process {
    child: tokio::process::Child,
    url: String,
    log: tokio::task::JoinHandle<String>,
}

async fn start_job_queue_process(dir: &Path) -> Process {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        l.local_addr().expect("addr").port()
    };
    let mut child = tokio::process::Command::new(binary("brigade-job-queue"))
        .env("BRIGADE_JOB_QUEUE_ADDR", format!("127.0.0.1:{port}"))
        .env("BRIGADE_DATA_DIR", dir)
        .env("BRIGADE_TOKENS_FILE", tokens_file(dir))
        .env("BRIGADE_SERVICE_TOKEN", JOB_QUEUE_TOKEN)
        // Nothing listens there: revision notices stay in the outbox.
        .env("BRIGADE_RECIPE_TYPES_URL", "http://127.0.0.1:9")
        .env("RUST_LOG", "debug")
        .env("BRIGADE_LOG_FORMAT", "json")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn job-queue");
    let mut stderr = child.stderr.take().expect("stderr");
    let log = tokio::spawn(async move {
        let mut text = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text).await;
        text
    });
    let url = format!("http://127.0.0.1:{port}");
    eventually(DEADLINE, "job-queue process serving", || {
        let url = url.clone();
        async move { channel(&url, None).await.ok() }
    })
    .await;
    Process { child, url, log }
}

#[tokio::test]
async fn token_cli_end_to_end_and_no_secret_in_the_logs() {
    let dir = tempfile::tempdir().expect("dir");
    let mut process = start_job_queue_process(dir.path()).await;
    let mut jq = JobQueueClient::new(plain(&process.url).await);
    let m1 = create_service(&mut jq, "microscope-1").await;
    let m2 = create_service(&mut jq, "microscope-2").await;
    submit(&mut jq, &m1).await;

    // create: the secret once, with a warning on stderr.
    let out = cli(
        &process.url,
        ADMIN,
        &[
            "token",
            "create",
            "--scope",
            "work",
            "--service",
            "microscope-1",
            "--json",
        ],
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    let created: Value = serde_json::from_slice(&out.stdout).expect("json");
    let secret = created["secret"].as_str().expect("secret").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["name"], "microscope-1");
    assert_eq!(created["scopes"], json!(["work"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be shown again"));
    let table = cli(
        &process.url,
        ADMIN,
        &["token", "create", "--scope", "read", "--name", "dashboard"],
    )
    .await;
    assert!(table.status.success(), "{table:?}");
    let table_text = String::from_utf8_lossy(&table.stdout).to_string();
    assert!(
        table_text.contains("dashboard") && table_text.contains("brg_"),
        "{table_text}"
    );
    let dashboard_secret = table_text
        .split_whitespace()
        .find(|w| w.starts_with("brg_"))
        .expect("secret in the table")
        .to_owned();

    // The token works, where it may.
    assert_eq!(claim(&mut jq, &m1, &secret).await.expect("claim").len(), 1);
    assert_eq!(
        claim(&mut jq, &m2, &secret).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let bad = "brg_ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    assert_eq!(
        claim(&mut jq, &m1, bad).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    // list: the id, never the secret.
    let out = cli(&process.url, ADMIN, &["token", "list", "--json"]).await;
    assert!(out.status.success(), "{out:?}");
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(listed.contains(&id) && !listed.contains(&secret), "{listed}");
    let out = cli(&process.url, ADMIN, &["token", "list"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("microscope-1"));
    // Only admin lists.
    let out = cli(&process.url, &secret, &["token", "list"]).await;
    assert!(!out.status.success());

    // revoke: refused on the next call.
    let out = cli(&process.url, ADMIN, &["token", "revoke", &id]).await;
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&id));
    assert_eq!(
        claim(&mut jq, &m1, &secret).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let out = cli(&process.url, &secret, &["services", "list"]).await;
    assert!(!out.status.success());

    // Stop and read everything the process logged.
    process.child.start_kill().expect("kill");
    let _ = process.child.wait().await;
    let log = tokio::time::timeout(DEADLINE, process.log)
        .await
        .expect("log")
        .expect("log");
    assert!(log.contains("brigade::audit"), "audit events are logged");
    assert!(
        log.contains("CreateToken") && log.contains("RevokeToken"),
        "admin actions audited"
    );
    assert!(log.contains("request refused"), "refusals are logged");
    for token in [
        ADMIN,
        JOB_QUEUE_TOKEN,
        WORKER,
        secret.as_str(),
        dashboard_secret.as_str(),
        bad,
    ] {
        let random = &token[4..];
        let hash = TokenHash::of(token).to_hex();
        for (what, needle) in [("token", token), ("random part", random), ("hash", hash.as_str())] {
            assert!(!log.contains(needle), "the log holds a {what}");
        }
        // A shorter run of the random part would still be a leak.
        assert!(!log.contains(&random[..16]), "the log holds part of a token");
    }
}

/// `x-brigade-client-certificate` (how the gateway forwards a caller known by
/// its certificate alone) names a principal only when an `admin` caller sends
/// it: a reader cannot borrow an admin certificate's identity, and an admin
/// acting for a worker certificate gets that worker's scopes and limits.
#[tokio::test]
async fn a_delegated_certificate_counts_only_from_an_admin_caller() {
    let stack = Stack::start(
        Backend::Sqlite,
        Options {
            recipe_types_token: Some(RECIPE_TYPES_TOKEN.to_owned()),
            tls: None,
        },
    )
    .await
    .expect("sqlite");
    let create = |token: &str, delegated: &str| {
        let mut request = authorized(
            pb::CreateServiceRequest {
                name: format!("delegated-{}", uuid::Uuid::new_v4().simple()),
                description: "d".into(),
                job_registration_schema_json: json!({"type": "object"}).to_string(),
                job_result_schema_json: json!({"type": "object"}).to_string(),
                ..Default::default()
            },
            Some(token),
        );
        request.metadata_mut().insert(
            brigade_common::auth::DELEGATED_CERTIFICATE,
            delegated.parse().expect("header"),
        );
        request
    };
    let mut client = JobQueueClient::new(plain(&stack.job_queue).await);
    let borrowed = client
        .create_service(create(READER, ADMIN_CERT_IDENTITY))
        .await
        .expect_err("a reader naming an admin certificate is still a reader");
    assert_eq!(borrowed.code(), Code::PermissionDenied, "{borrowed:?}");
    let narrowed = client
        .create_service(create(ADMIN, CERT_IDENTITY))
        .await
        .expect_err("an admin acting for a worker certificate has the worker's scopes");
    assert_eq!(narrowed.code(), Code::PermissionDenied, "{narrowed:?}");
    client
        .create_service(create(ADMIN, ADMIN_CERT_IDENTITY))
        .await
        .expect("an admin acting for an admin certificate");
    let unknown = client
        .create_service(create(ADMIN, "nobody.lab"))
        .await
        .expect_err("an unknown certificate identity");
    assert_eq!(unknown.code(), Code::Unauthenticated, "{unknown:?}");
}
