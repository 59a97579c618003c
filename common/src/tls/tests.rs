//! Real TLS connections on port 0, with certificates made here by rcgen.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::Mutex;

use axum::extract::ConnectInfo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::auth::{AuthLayer, Authenticator, MethodScopes, Principal, Scope, StaticTokenStore};

struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "brigade test ca");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let leaf = |name: &str, usage: ExtendedKeyUsagePurpose| {
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        server: leaf("localhost", ExtendedKeyUsagePurpose::ServerAuth),
        client: leaf("microscope-1", ExtendedKeyUsagePurpose::ClientAuth),
        ca: ca.pem(),
    }
}

fn server_tls(pki: &Pki, mtls: bool) -> ServerTls {
    let ca = mtls.then(|| pki.ca.clone().into_bytes());
    ServerTls::from_pem(pki.server.0.clone().into(), pki.server.1.clone().into(), ca, mtls).unwrap()
}

// ---- REST (axum on a TlsListener) ----

async fn serve_whoami(tls: &ServerTls) -> SocketAddr {
    let listener = TlsListener::bind("127.0.0.1:0".parse().unwrap(), tls.rustls().unwrap())
        .await
        .unwrap();
    let addr = axum::serve::Listener::local_addr(&listener).unwrap();
    let app = axum::Router::new().route(
        "/whoami",
        axum::routing::get(|ConnectInfo(peer): ConnectInfo<TlsPeer>| async move {
            peer.identity.unwrap_or_else(|| "nobody".to_owned())
        }),
    );
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<TlsPeer>())
            .await
            .unwrap();
    });
    addr
}

/// One HTTP/1.1 GET over TLS, trusting `ca`, presenting `client` when given.
async fn get(addr: SocketAddr, ca: &str, client: Option<&(String, String)>) -> std::io::Result<String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<Result<_, _>>()
                    .unwrap(),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(b"GET /whoami HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await?;
    let mut response = String::new();
    tls.read_to_string(&mut response).await?;
    Ok(response)
}

fn ok_body(response: &std::io::Result<String>) -> Option<&str> {
    let text = response.as_ref().ok()?;
    text.starts_with("HTTP/1.1 200")
        .then(|| text.rsplit("\r\n\r\n").next().unwrap_or(""))
}

#[tokio::test]
async fn rest_tls_serves_clients_that_trust_the_ca() {
    let pki = pki();
    let addr = serve_whoami(&server_tls(&pki, false)).await;
    assert_eq!(ok_body(&get(addr, &pki.ca, None).await), Some("nobody"));
    let stranger = self::pki();
    assert!(
        get(addr, &stranger.ca, None).await.is_err(),
        "a client without our CA must refuse the server"
    );
}

#[tokio::test]
async fn rest_mtls_requires_a_client_certificate_and_reads_its_identity() {
    let pki = pki();
    let addr = serve_whoami(&server_tls(&pki, true)).await;
    let without = get(addr, &pki.ca, None).await;
    assert_eq!(
        ok_body(&without),
        None,
        "served without a client certificate: {without:?}"
    );
    let stranger = self::pki();
    let foreign = get(addr, &pki.ca, Some(&stranger.client)).await;
    assert_eq!(
        ok_body(&foreign),
        None,
        "served a certificate from another CA: {foreign:?}"
    );
    assert_eq!(
        ok_body(&get(addr, &pki.ca, Some(&pki.client)).await),
        Some("microscope-1")
    );
}

// ---- gRPC (tonic with ServerTlsConfig, behind the auth layer) ----

/// tonic's health service under a Brigade-like name, recording who called, so
/// the auth layer (which lets `/grpc.health.` through) is exercised for real.
#[derive(Clone)]
struct Recorder<S> {
    inner: S,
    seen: Arc<Mutex<Vec<Principal>>>,
}

impl<S> tonic::server::NamedService for Recorder<S> {
    const NAME: &'static str = "brigade.test.v1.Health";
}

impl<S> tower::Service<http::Request<tonic::body::Body>> for Recorder<S>
where
    S: tower::Service<http::Request<tonic::body::Body>, Error = Infallible>,
{
    type Response = S::Response;
    type Error = Infallible;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<tonic::body::Body>) -> Self::Future {
        if let Some(principal) = request.extensions().get::<Principal>() {
            self.seen.lock().unwrap().push(principal.clone());
        }
        *request.uri_mut() = "/grpc.health.v1.Health/Check".parse().unwrap();
        self.inner.call(request)
    }
}

const CHECK: &str = "/brigade.test.v1.Health/Check";

async fn serve_grpc(tls: &ServerTls) -> (SocketAddr, Arc<Mutex<Vec<Principal>>>) {
    let store = StaticTokenStore::parse(
        r#"{"certificates": [{"identity": "microscope-1", "scopes": ["work"], "services": ["microscope-1"]}]}"#,
    )
    .unwrap();
    let layer = AuthLayer::new(
        Authenticator::new(Arc::new(store), "test"),
        MethodScopes::new(&[(CHECK, Scope::Work)]),
    );
    let (_, health) = tonic_health::server::health_reporter();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = Recorder {
        inner: health,
        seen: seen.clone(),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tonic::transport::Server::builder()
        .tls_config(tls.tonic())
        .unwrap()
        .layer(layer)
        .add_service(recorder);
    tokio::spawn(async move {
        server
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await
            .unwrap();
    });
    (addr, seen)
}

async fn check(addr: SocketAddr, ca: &str, client: Option<&(String, String)>) -> Result<(), String> {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some((cert, key)) = client {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let channel = tonic::transport::Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| e.to_string())?;
    let codec =
        tonic_prost::ProstCodec::<tonic_health::pb::HealthCheckRequest, tonic_health::pb::HealthCheckResponse>::default(
        );
    grpc.unary(
        tonic::Request::new(tonic_health::pb::HealthCheckRequest::default()),
        http::uri::PathAndQuery::from_static(CHECK),
        codec,
    )
    .await
    .map(|_| ())
    .map_err(|status| format!("{:?}: {}", status.code(), status.message()))
}

#[tokio::test]
async fn grpc_tls_without_client_certificate_is_unauthenticated_not_unreachable() {
    let pki = pki();
    let (addr, _) = serve_grpc(&server_tls(&pki, false)).await;
    // TLS works; the call has no credential, so the auth layer refuses it.
    let error = check(addr, &pki.ca, None).await.unwrap_err();
    assert!(error.starts_with("Unauthenticated"), "{error}");
    let stranger = self::pki();
    let error = check(addr, &stranger.ca, None).await.unwrap_err();
    assert!(
        !error.starts_with("Unauthenticated"),
        "a client without our CA reached the server: {error}"
    );
}

#[tokio::test]
async fn grpc_mtls_identity_becomes_the_principal() {
    let pki = pki();
    let (addr, seen) = serve_grpc(&server_tls(&pki, true)).await;
    let error = check(addr, &pki.ca, None).await.unwrap_err();
    assert!(
        !error.starts_with("Unauthenticated"),
        "served without a client certificate: {error}"
    );
    assert!(seen.lock().unwrap().is_empty());
    check(addr, &pki.ca, Some(&pki.client)).await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].name, "microscope-1");
    assert_eq!(seen[0].token_id, "cert:microscope-1");
    assert_eq!(seen[0].scopes, BTreeSet::from([Scope::Work]));
}

// ---- loading ----

#[test]
fn identity_is_the_common_name_then_the_dns_name() {
    let pki = pki();
    let client = CertificateDer::from_pem_slice(pki.client.0.as_bytes()).unwrap();
    assert_eq!(certificate_identity(&client).as_deref(), Some("microscope-1"));
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["worker.lab.example".to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    let san_only = params.self_signed(&key).unwrap();
    assert_eq!(
        certificate_identity(san_only.der()).as_deref(),
        Some("worker.lab.example")
    );
}

#[test]
fn bad_files_name_their_variable() {
    let pki = pki();
    let other = self::pki();
    let cases = [
        (
            ServerTls::from_pem(b"junk".to_vec(), pki.server.1.clone().into(), None, false),
            "BRIGADE_TLS_CERT",
        ),
        (
            ServerTls::from_pem(pki.server.0.clone().into(), b"junk".to_vec(), None, false),
            "BRIGADE_TLS_KEY",
        ),
        // A key that does not belong to the certificate.
        (
            ServerTls::from_pem(pki.server.0.clone().into(), other.server.1.clone().into(), None, false),
            "BRIGADE_TLS_KEY",
        ),
        (
            ServerTls::from_pem(pki.server.0.clone().into(), pki.server.1.clone().into(), None, true),
            "BRIGADE_TLS_CLIENT_CA",
        ),
    ];
    for (result, variable) in cases {
        let error = result.unwrap_err();
        assert_eq!(error.variable, variable, "{error}");
        assert!(!error.to_string().contains("PRIVATE KEY"));
    }
    let config = TlsConfig {
        cert: Some("/nonexistent/cert.pem".into()),
        ..TlsConfig::default()
    };
    assert_eq!(config.load().unwrap_err().variable, "BRIGADE_TLS_KEY");
    assert!(TlsConfig::default().load().unwrap().is_none());
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, &pki.server.0).unwrap();
    std::fs::write(&key, &pki.server.1).unwrap();
    let config = TlsConfig {
        cert: Some(cert),
        key: Some(key),
        ..TlsConfig::default()
    };
    let tls = config.load().unwrap().unwrap();
    assert!(!format!("{tls:?}").contains("PRIVATE"));
}
