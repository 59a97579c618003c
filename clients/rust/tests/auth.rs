//! A token and TLS (CA, client certificate) against a real job-queue with a
//! tokens file and certificates made here.

use std::time::Duration;

use brigade_client::{Client, ConnectOptions, Error, RecipeClient, ServiceDefinition};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use serde_json::json;

const ADMIN: &str = "brg_client_admin_0123456789abcdef0123456789";

struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "client test ca");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("ca");
    let leaf = |names: Vec<String>, cn: &str, usage: ExtendedKeyUsagePurpose| {
        let mut params = CertificateParams::new(names).expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &ca).expect("sign");
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        server: leaf(
            vec!["127.0.0.1".into()],
            "job-queue",
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
        client: leaf(
            vec!["scope-1.lab".into()],
            "scope-1.lab",
            ExtendedKeyUsagePurpose::ClientAuth,
        ),
        ca: ca.pem(),
    }
}

/// job-queue over TLS (client certificates optional) with a tokens file.
async fn job_queue(dir: &std::path::Path, pki: &Pki) -> (String, tokio::sync::oneshot::Sender<()>) {
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    };
    let tokens = json!({
        "tokens": [{"name": "admin", "token": ADMIN, "scopes": ["admin"]}],
        "certificates": [{"identity": "scope-1.lab", "scopes": ["work"], "services": ["scope-1"]}],
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("addr"));
    let mut config = brigade_job_queue::Config::local(
        listener.local_addr().expect("addr"),
        dir.to_path_buf(),
        None,
        "http://127.0.0.1:9".into(),
    );
    config.auth.tokens_file = Some(write("tokens.json", &tokens.to_string()));
    config.tls = brigade_common::tls::TlsConfig {
        cert: Some(write("server.pem", &pki.server.0)),
        key: Some(write("server.key", &pki.server.1)),
        client_ca: Some(write("ca.pem", &pki.ca)),
        ..Default::default()
    };
    let app = brigade_job_queue::Application::build_on(config, listener)
        .await
        .expect("job-queue");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    (url, stop)
}

fn options() -> ConnectOptions {
    ConnectOptions::default()
        .max_attempts(2)
        .initial_backoff(Duration::from_millis(50))
}

#[tokio::test]
async fn token_ca_and_client_certificate() {
    let pki = pki();
    let dir = tempfile::tempdir().expect("dir");
    let (url, _stop) = job_queue(dir.path(), &pki).await;

    // No CA: the server's certificate is not trusted.
    assert!(matches!(
        Client::connect_with(&url, options().token(ADMIN)).await,
        Err(Error::Connect { .. })
    ));
    // CA, no token: connected but refused.
    let anonymous = Client::connect_with(&url, options().ca_certificate(&pki.ca))
        .await
        .expect("tls");
    match anonymous.list_services().await {
        Err(Error::Rpc(status)) => assert_eq!(status.code(), tonic::Code::Unauthenticated),
        other => panic!("expected UNAUTHENTICATED, got {other:?}"),
    }
    // CA and token.
    let admin = Client::connect_with(&url, options().ca_certificate(&pki.ca).token(ADMIN))
        .await
        .expect("tls");
    let schema = json!({"type": "object"});
    let scope_1 = admin
        .register_service(&ServiceDefinition::new("scope-1", schema.clone(), schema.clone()))
        .await
        .expect("register");
    let scope_2 = admin
        .register_service(&ServiceDefinition::new("scope-2", schema.clone(), schema))
        .await
        .expect("register");
    assert_eq!(admin.list_services().await.expect("list").len(), 2);
    // A client certificate without a token: its identity is the principal.
    let worker = Client::connect_with(
        &url,
        options()
            .ca_certificate(&pki.ca)
            .client_certificate(&pki.client.0, &pki.client.1),
    )
    .await
    .expect("mtls");
    worker
        .raw()
        .heartbeat(brigade_client::proto::HeartbeatRequest { id: scope_1.id.clone() })
        .await
        .expect("the certificate works on scope-1");
    let refused = worker
        .raw()
        .heartbeat(brigade_client::proto::HeartbeatRequest { id: scope_2.id.clone() })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    // Options never show the token.
    assert!(!format!("{:?}", options().token(ADMIN)).contains(ADMIN));
    // The recipe client takes the same options (no recipe-types here: it fails to connect).
    assert!(
        RecipeClient::connect_with("https://127.0.0.1:9", options().token(ADMIN))
            .await
            .is_err()
    );
}
