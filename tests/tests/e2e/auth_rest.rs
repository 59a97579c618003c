//! The REST half of authentication, on the real system with a tokens file:
//! every route of the gateway's table against its declared scope, refusals in
//! each route's envelope, CORS, HTTPS and mTLS with certificates made here,
//! the all-in-one refusing a public address without tokens, and no token in
//! the captured logs.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brigade::{Settings, System, SystemConfig};
use brigade_common::auth::{Scope, TokenRecord};
use brigade_gateway::auth::Access;
use brigade_tests::processes::binary;
use brigade_tests::{DEADLINE, eventually, output_within, read};
use http::Method;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

/// The tokens of one run, by what they may do.
struct Tokens {
    none: String,
    read: String,
    submit: String,
    work: String,
    admin: String,
}

impl Tokens {
    fn all(&self) -> [&str; 5] {
        [&self.none, &self.read, &self.submit, &self.work, &self.admin]
    }

    /// A token that may do `scope`, and one that may not.
    fn for_scope(&self, scope: Scope) -> (&str, &str) {
        match scope {
            Scope::Read => (&self.read, &self.none),
            Scope::Submit => (&self.submit, &self.work),
            Scope::Work => (&self.work, &self.submit),
            Scope::Admin => (&self.admin, &self.submit),
        }
    }
}

/// Writes a tokens file (plaintext entries, one per scope, and a client
/// certificate identity allowed to read) and returns its tokens.
fn tokens_file(path: &Path) -> Tokens {
    let mut entries = Vec::new();
    let mut make = |name: &str, scopes: &[Scope]| {
        let (token, _) = TokenRecord::create(name, scopes.iter().copied().collect::<BTreeSet<_>>(), Vec::new())
            .expect("random token");
        let token = token.expose().to_owned();
        entries.push(json!({"name": name, "token": token, "scopes": scopes}));
        token
    };
    let tokens = Tokens {
        none: make("nobody", &[]),
        read: make("reader", &[Scope::Read]),
        submit: make("submitter", &[Scope::Submit]),
        work: make("worker", &[Scope::Work]),
        admin: make("operator", &[Scope::Admin]),
    };
    let file = json!({
        "tokens": entries,
        "certificates": [{"identity": "microscope-1", "scopes": ["read"]}],
    });
    std::fs::write(path, serde_json::to_vec_pretty(&file).expect("json")).expect("write tokens file");
    tokens
}

/// The whole system on port 0 (SQLite), with `configure` applied to its settings.
async fn start(dir: &Path, configure: impl FnOnce(&mut Settings)) -> System {
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let mut settings = Settings::from(SystemConfig {
        gateway_addr: any,
        job_queue_addr: any,
        recipe_types_addr: any,
        database_url: None,
        data_dir: dir.to_path_buf(),
    });
    configure(&mut settings);
    System::start(settings).await.expect("system starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(DEADLINE).build().expect("client")
}

/// A concrete path for a route template: ids that need not exist.
fn concrete(template: &str) -> String {
    template
        .replace("{id}", "00000000-0000-4000-8000-000000000001")
        .replace("{name}", "no-such-recipe-type")
        .replace("{revision_num}", "1")
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    method: &Method,
    path: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = http.request(method.clone(), format!("{base}{path}"));
    if [Method::POST, Method::PATCH].contains(method) {
        request = request.json(&json!({}));
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// The refusal is in the route's envelope, with the status inside it.
fn assert_envelope(path: &str, status: u16, body: &Value, what: &str) {
    if path.starts_with("/v6/") || path.starts_with("/v7/") {
        assert!(
            body["detail"].is_string(),
            "{what}: Scale envelope expected, got {body}"
        );
    } else {
        assert_eq!(
            body["errors"][0]["status_code"], status,
            "{what}: TopChef envelope expected, got {body}"
        );
        assert!(body["errors"][0]["title"].is_string(), "{what}: {body}");
        assert!(body["errors"][0]["detail"].is_string(), "{what}: {body}");
    }
}

/// Captures every log line of this thread's tasks as JSON (the test runs on
/// a current-thread runtime, so the whole system logs here).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    // Tests on other threads may have met these call sites with no subscriber
    // and cached that nobody listens: ask every call site again.
    tracing::callsite::rebuild_interest_cache();
    // Other tests of this binary hit the same callsites from other threads; a
    // callsite registered while this dispatcher was being added can keep an
    // interest computed without it (and drop our events). Recompute now.
    tracing::callsite::rebuild_interest_cache();
    (captured, guard)
}

#[tokio::test(flavor = "current_thread")]
async fn every_route_checks_its_declared_scope_in_its_envelope() {
    let (logs, _guard) = capture_logs();
    let dir = tempfile::tempdir().expect("dir");
    let tokens = tokens_file(&dir.path().join("tokens.json"));
    let tokens_path = dir.path().join("tokens.json");
    let system = start(dir.path(), |s| s.auth.tokens_file = Some(tokens_path)).await;
    let base = format!("http://{}", system.gateway.addr);
    let http = http();
    // Again once the system is up, for callsites first hit meanwhile elsewhere.
    tracing::callsite::rebuild_interest_cache();
    let routes = brigade_gateway::routes::access();
    assert_eq!(routes.len(), brigade_gateway::routes::served().len());
    // Only probes, metrics and the API's description are open: a new route left open fails here.
    let open: BTreeSet<String> = routes
        .iter()
        .filter(|(_, _, access)| *access == Access::Open)
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect();
    let expected: BTreeSet<String> = [
        "/",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/docs/redoc.standalone.js",
        "/console",
        "/console/console.js",
        "/console/console.css",
    ]
    .iter()
    .map(|path| format!("GET {path}"))
    .collect();
    assert_eq!(open, expected);
    let mut checked = 0;
    for (method, template, access) in &routes {
        let path = concrete(template);
        let what = format!("{method} {template}");
        let Access::Scope(scope) = *access else {
            let status = call(&http, &base, method, &path, None).await.status().as_u16();
            assert!(![401, 403].contains(&status), "{what} is open but answered {status}");
            continue;
        };
        // No token: 401 with the challenge, in the route's envelope.
        let response = call(&http, &base, method, &path, None).await;
        let challenge = response.headers().get("www-authenticate").cloned();
        let (status, body) = read(response).await;
        assert_eq!(status, 401, "{what} without a token: {body}");
        assert_eq!(
            challenge.as_ref().and_then(|v| v.to_str().ok()),
            Some(r#"Bearer realm="brigade""#),
            "{what}"
        );
        assert_envelope(&path, 401, &body, &what);
        // A token nobody issued: 401, invalid_token.
        let response = call(
            &http,
            &base,
            method,
            &path,
            Some("brg_not_a_token_anyone_issued_000000"),
        )
        .await;
        let challenge = response.headers().get("www-authenticate").cloned();
        assert_eq!(response.status(), 401, "{what} with an unknown token");
        assert!(
            challenge
                .and_then(|v| v.to_str().ok().map(str::to_owned))
                .is_some_and(|v| v.contains(r#"error="invalid_token""#)),
            "{what}"
        );
        // A token without the scope: 403 in the envelope.
        let (allowed, lacking) = tokens.for_scope(scope);
        let (status, body) = read(call(&http, &base, method, &path, Some(lacking)).await).await;
        assert_eq!(status, 403, "{what} with a token lacking {scope}: {body}");
        assert_envelope(&path, 403, &body, &what);
        // The right scope: past the check (a 404 for an id that does not exist is fine).
        let status = call(&http, &base, method, &path, Some(allowed)).await.status().as_u16();
        assert!(
            ![401, 403].contains(&status),
            "{what} with a {scope} token answered {status}"
        );
        // admin implies every scope.
        let status = call(&http, &base, method, &path, Some(&tokens.admin))
            .await
            .status()
            .as_u16();
        assert!(
            ![401, 403].contains(&status),
            "{what} with the admin token answered {status}"
        );
        checked += 1;
    }
    assert!(checked > 40, "only {checked} protected routes");

    // A whole flow with the right tokens.
    let (status, body) = read(
        http.post(format!("{base}/services"))
            .bearer_auth(&tokens.admin)
            .json(
                &json!({"name": "scoped", "description": "d", "job_registration_schema": {}, "job_result_schema": {}}),
            )
            .send()
            .await
            .expect("create"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let service = body["data"]["id"].as_str().expect("id").to_owned();
    let (status, body) = read(
        http.post(format!("{base}/services/{service}/jobs"))
            .bearer_auth(&tokens.submit)
            .json(&json!({"parameters": {}}))
            .send()
            .await
            .expect("submit"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = read(
        http.get(format!("{base}/services/{service}/jobs"))
            .bearer_auth(&tokens.read)
            .send()
            .await
            .expect("list"),
    )
    .await;
    assert_eq!(status, 200);

    // Failures are counted by reason.
    let (_, metrics) = (200, http.get(format!("{base}/metrics")).send().await.expect("metrics"));
    let metrics = metrics.text().await.expect("text");
    assert!(
        metrics.contains(r#"brigade_auth_failures_total{component="gateway",reason="missing"}"#),
        "{metrics}"
    );

    // Audit: state-changing calls are logged with principal, action, target and outcome.
    let text = logs.text();
    let audit: Vec<Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["target"] == "brigade::audit")
        .collect();
    let created = audit
        .iter()
        .find(|e| e["fields"]["action"] == "POST /services" && e["fields"]["outcome"] == 201)
        .unwrap_or_else(|| panic!("no audit event for the created service in {audit:?}"));
    assert_eq!(created["fields"]["principal"], "operator");
    assert!(created["fields"]["token_id"].as_str().is_some_and(|id| !id.is_empty()));
    let submitted = audit
        .iter()
        .find(|e| e["fields"]["action"] == "POST /services/{id}/jobs" && e["fields"]["outcome"] == 201)
        .expect("audit event for the submitted job");
    assert_eq!(submitted["fields"]["target"], format!("id={service}"));
    assert!(
        audit
            .iter()
            .any(|e| e["fields"]["outcome"] == 401 && e["fields"]["action"] == "DELETE /jobs/{id}"),
        "refused calls are audited too"
    );
    assert!(
        !audit
            .iter()
            .any(|e| e["fields"]["action"].as_str().is_some_and(|a| a.starts_with("GET ")))
    );
    assert!(text.contains("request refused"), "refusals are logged");

    // No token, nor its random part, in any log line.
    for token in tokens.all() {
        assert!(!text.contains(token), "a token reached the logs");
        assert!(!text.contains(&token[4..]), "a token's random part reached the logs");
    }
    system.stop().await.expect("stop");
}

#[tokio::test]
async fn without_tokens_every_route_is_open_on_loopback() {
    let dir = tempfile::tempdir().expect("dir");
    let system = start(dir.path(), |_| {}).await;
    let base = format!("http://{}", system.gateway.addr);
    let http = http();
    for (method, template, _) in brigade_gateway::routes::access() {
        let path = concrete(&template);
        let status = call(&http, &base, &method, &path, None).await.status().as_u16();
        assert!(
            ![401, 403].contains(&status),
            "{method} {template} answered {status} with auth off"
        );
    }
    system.stop().await.expect("stop");
}

#[tokio::test]
async fn cors_only_for_the_configured_origins() {
    let allowed = "https://lab.example.org";
    let dir = tempfile::tempdir().expect("dir");
    let with_cors = start(dir.path(), |s| s.gateway.cors_origins = vec![allowed.to_owned()]).await;
    let other_dir = tempfile::tempdir().expect("dir");
    let without = start(other_dir.path(), |_| {}).await;
    let http = http();
    let preflight = |base: String, origin: &'static str| {
        http.request(Method::OPTIONS, format!("{base}/services"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type")
            .send()
    };
    let base = format!("http://{}", with_cors.gateway.addr);
    let response = preflight(base.clone(), allowed).await.expect("preflight");
    assert!(response.status().is_success());
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
    };
    assert_eq!(
        header(&response, "access-control-allow-origin").as_deref(),
        Some(allowed)
    );
    let methods = header(&response, "access-control-allow-methods").unwrap_or_default();
    for method in ["get", "post", "patch", "delete"] {
        assert!(methods.contains(method), "{methods}");
    }
    let headers = header(&response, "access-control-allow-headers").unwrap_or_default();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );

    let response = preflight(base.clone(), "https://evil.example")
        .await
        .expect("preflight");
    assert_eq!(header(&response, "access-control-allow-origin"), None);

    let response = http
        .get(format!("{base}/services"))
        .header("origin", allowed)
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "access-control-allow-origin").as_deref(),
        Some(allowed)
    );
    let response = http
        .get(format!("{base}/services"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("get");
    assert_eq!(header(&response, "access-control-allow-origin"), None);

    // A plain OPTIONS keeps the API's own answer.
    let response = http
        .request(Method::OPTIONS, format!("{base}/services"))
        .send()
        .await
        .expect("options");
    assert_eq!(response.status(), 200);
    assert!(header(&response, "allow").is_some_and(|a| a.contains("post")));

    // By default: no CORS header at all.
    let base = format!("http://{}", without.gateway.addr);
    let response = preflight(base.clone(), allowed).await.expect("preflight");
    assert!(
        !response
            .headers()
            .keys()
            .any(|k| k.as_str().starts_with("access-control-")),
        "{:?}",
        response.headers()
    );
    assert!(header(&response, "allow").is_some());
    with_cors.stop().await.expect("stop");
    without.stop().await.expect("stop");
}

struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "brigade test ca");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("ca");
    let leaf = |name: &str, usage: &[ExtendedKeyUsagePurpose]| {
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = usage.to_vec();
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &ca).expect("sign");
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        // The all-in-one's parts show the server certificate to each other too.
        server: leaf(
            "localhost",
            &[ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth],
        ),
        client: leaf("microscope-1", &[ExtendedKeyUsagePurpose::ClientAuth]),
        ca: ca.pem(),
    }
}

/// One HTTP/1.1 request over TLS, trusting `ca`, presenting `client` when given.
async fn https(
    addr: std::net::SocketAddr,
    ca: &str,
    client: Option<&(String, String)>,
    request: &str,
) -> std::io::Result<String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.expect("ca pem")).expect("root");
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<Result<_, _>>()
                    .expect("cert pem"),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key pem"),
            )
            .expect("client auth"),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    tls.read_to_string(&mut response).await?;
    Ok(response)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write pem");
    path
}

#[tokio::test]
async fn the_gateway_serves_https_and_knows_client_certificates() {
    let pki = pki();
    let dir = tempfile::tempdir().expect("dir");
    let tokens = tokens_file(&dir.path().join("tokens.json"));
    let (cert, key) = (
        write(dir.path(), "server.pem", &pki.server.0),
        write(dir.path(), "server.key", &pki.server.1),
    );
    let client_ca = write(dir.path(), "ca.pem", &pki.ca);
    let tokens_path = dir.path().join("tokens.json");
    let system = start(dir.path(), |s| {
        s.auth.tokens_file = Some(tokens_path);
        s.tls.cert = Some(cert);
        s.tls.key = Some(key);
        s.tls.client_ca = Some(client_ca.clone());
        s.tls.ca = Some(client_ca);
    })
    .await;
    let addr = system.gateway.addr;
    let get = |path: &str, token: Option<&str>| {
        let auth = token
            .map(|t| format!("authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n{auth}connection: close\r\n\r\n")
    };
    let response = https(addr, &pki.ca, None, &get("/healthz", None)).await.expect("https");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let response = https(addr, &pki.ca, None, &get("/services", None))
        .await
        .expect("https");
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    let response = https(addr, &pki.ca, None, &get("/services", Some(&tokens.read)))
        .await
        .expect("https");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // A verified client certificate is a principal of its own (read, from the file).
    let response = https(addr, &pki.ca, Some(&pki.client), &get("/services", None))
        .await
        .expect("mtls");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let delete =
        "DELETE /jobs/00000000-0000-4000-8000-000000000001 HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n";
    let response = https(addr, &pki.ca, Some(&pki.client), delete).await.expect("mtls");
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    // Plain HTTP on the TLS port gets no answer.
    let plain = http().get(format!("http://{addr}/healthz")).send().await;
    assert!(plain.is_err() || !plain.expect("response").status().is_success());
    // The all-in-one's gRPC listeners serve TLS too: verified with the CA, refused in plaintext.
    for port in [system.job_queue.addr.port(), system.recipe_types.addr.port()] {
        let tls = brigade_common::tls::ClientTls::from_pem(pki.ca.clone().into_bytes(), None);
        let channel = brigade_common::tls::endpoint(
            &format!("https://localhost:{port}"),
            Some(&tls),
            std::time::Duration::from_secs(5),
        )
        .expect("endpoint")
        .connect()
        .await
        .expect("a TLS connection with the CA");
        let serving = tonic_health::pb::health_client::HealthClient::new(channel)
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .expect("health over TLS")
            .into_inner();
        assert_eq!(serving.status, 1, "SERVING over TLS on port {port}");
        let plaintext = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("endpoint")
            .connect()
            .await;
        if let Ok(channel) = plaintext {
            let answer = tonic_health::pb::health_client::HealthClient::new(channel)
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await;
            assert!(answer.is_err(), "plaintext gRPC must not be served on port {port}");
        }
    }
    system.stop().await.expect("stop");
}

fn brigade(dir: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary("brigade"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("BRIGADE_DATA_DIR", dir)
        .env("BRIGADE_JOB_QUEUE_ADDR", "127.0.0.1:0")
        .env("BRIGADE_RECIPE_TYPES_ADDR", "127.0.0.1:0")
        .stdin(Stdio::null());
    command
}

#[tokio::test]
async fn brigade_refuses_a_public_address_without_authentication() {
    let dir = tempfile::tempdir().expect("dir");
    let output = output_within(
        brigade(dir.path()).env("BRIGADE_GATEWAY_ADDR", "0.0.0.0:0"),
        DEADLINE,
        "brigade on 0.0.0.0 without tokens",
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("BRIGADE_AUTH"), "{stderr}");
    assert!(stderr.contains("BRIGADE_TOKENS_FILE"), "{stderr}");
    assert!(stderr.contains("0.0.0.0"), "{stderr}");
}

/// Starts `command`, reads its banner until the REST gateway's URL, and checks
/// that URL answers `/healthz`; returns the whole banner.
async fn banner_and_health(command: &mut tokio::process::Command) -> String {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn brigade");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut banner = String::new();
    let url = tokio::time::timeout(DEADLINE, async {
        while let Some(line) = lines.next_line().await.expect("stdout") {
            banner.push_str(&line);
            banner.push('\n');
            if let Some(rest) = line.trim().strip_prefix("REST gateway:") {
                return rest.split_whitespace().next().map(str::to_owned);
            }
        }
        None
    })
    .await
    .expect("banner in time")
    .expect("banner names the REST gateway");
    // The rest of the banner follows at once.
    while let Ok(Ok(Some(line))) = tokio::time::timeout(Duration::from_millis(500), lines.next_line()).await {
        banner.push_str(&line);
        banner.push('\n');
    }
    let http = http();
    eventually(DEADLINE, "brigade's /healthz", || {
        let request = http.get(format!("{url}/healthz")).send();
        async move { request.await.ok().filter(|r| r.status().is_success()) }
    })
    .await;
    let _ = child.start_kill();
    let _ = child.wait().await;
    banner
}

#[tokio::test]
async fn brigade_starts_on_a_public_address_with_auth_off_and_says_so() {
    let dir = tempfile::tempdir().expect("dir");
    let banner = banner_and_health(
        brigade(dir.path())
            .env("BRIGADE_GATEWAY_ADDR", "0.0.0.0:0")
            .env("BRIGADE_AUTH", "off"),
    )
    .await;
    assert!(!banner.contains("http://0.0.0.0"), "{banner}");
    assert!(banner.contains("BRIGADE_AUTH=off"), "{banner}");

    let dir = tempfile::tempdir().expect("dir");
    let banner = banner_and_health(brigade(dir.path()).env("BRIGADE_GATEWAY_ADDR", "127.0.0.1:0")).await;
    assert!(
        banner.contains("authentication is off: listening on loopback only"),
        "{banner}"
    );
    let _ = std::io::stderr().flush();
}
