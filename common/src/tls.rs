//! TLS on every listener (rustls, ring): a server identity from PEM files,
//! optional client certificates verified against a CA (mTLS), and the verified
//! certificate's identity for authentication. tonic takes a
//! [`ServerTlsConfig`](tonic::transport::ServerTlsConfig); axum takes a
//! [`TlsListener`] (its handshakes run concurrently, off the accept loop).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::config::{ConfigError, given, optional_path};

/// A handshake slower than this is dropped, so idle sockets cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(clap::Args, Clone, Debug, Default)]
pub struct TlsConfig {
    /// PEM certificate chain of this server; with BRIGADE_TLS_KEY turns TLS on.
    #[arg(long = "tls-cert", env = "BRIGADE_TLS_CERT", value_name = "BRIGADE_TLS_CERT", value_parser = optional_path)]
    pub cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    #[arg(long = "tls-key", env = "BRIGADE_TLS_KEY", value_name = "BRIGADE_TLS_KEY", value_parser = optional_path)]
    pub key: Option<PathBuf>,
    /// PEM CA bundle that client certificates must chain to (mTLS).
    #[arg(
        long = "tls-client-ca",
        env = "BRIGADE_TLS_CLIENT_CA",
        value_name = "BRIGADE_TLS_CLIENT_CA", value_parser = optional_path
    )]
    pub client_ca: Option<PathBuf>,
    /// Refuse clients without a certificate (otherwise one is verified when sent).
    #[arg(
        long = "tls-client-cert-required",
        env = "BRIGADE_TLS_CLIENT_CERT_REQUIRED",
        value_name = "BRIGADE_TLS_CLIENT_CERT_REQUIRED"
    )]
    pub client_cert_required: bool,
    /// PEM CA bundle that the other services' certificates must chain to, for
    /// this process's outgoing `https://` calls (which also present this
    /// process's own certificate, for peers that require client certificates).
    #[arg(long = "tls-ca", env = "BRIGADE_TLS_CA", value_name = "BRIGADE_TLS_CA", value_parser = optional_path)]
    pub ca: Option<PathBuf>,
}

impl TlsConfig {
    /// The server's TLS settings, or `None` when no certificate is configured.
    pub fn load(&self) -> Result<Option<ServerTls>, ConfigError> {
        let fail = |variable: &'static str, message: String| ConfigError { variable, message };
        match (given(&self.cert), given(&self.key)) {
            (None, None) if given(&self.client_ca).is_none() => Ok(None),
            (None, None) => Err(fail(
                "BRIGADE_TLS_CERT",
                "a client CA needs a server certificate".into(),
            )),
            (Some(_), None) => Err(fail("BRIGADE_TLS_KEY", "missing: the certificate needs its key".into())),
            (None, Some(_)) => Err(fail(
                "BRIGADE_TLS_CERT",
                "missing: the key needs its certificate".into(),
            )),
            (Some(cert), Some(key)) => {
                ServerTls::from_files(cert, key, given(&self.client_ca), self.client_cert_required)
                    .map(Some)
                    .map_err(|e| fail(e.variable, e.message))
            }
        }
    }
}

impl TlsConfig {
    /// TLS for outgoing calls: `None` without `BRIGADE_TLS_CA` (peers are then
    /// reached over plaintext `http://`, or `https://` fails to verify).
    pub fn client(&self) -> Result<Option<ClientTls>, ConfigError> {
        let Some(ca) = given(&self.ca) else {
            return Ok(None);
        };
        let fail = |e: TlsError| ConfigError {
            variable: e.variable,
            message: e.message,
        };
        let ca = read("BRIGADE_TLS_CA", ca).map_err(fail)?;
        certificates("BRIGADE_TLS_CA", &ca).map_err(fail)?;
        let identity = match (given(&self.cert), given(&self.key)) {
            (Some(cert), Some(key)) => Some((
                read("BRIGADE_TLS_CERT", cert).map_err(fail)?,
                read("BRIGADE_TLS_KEY", key).map_err(fail)?,
            )),
            _ => None,
        };
        Ok(Some(ClientTls { ca, identity }))
    }
}

/// What a client trusts (a CA) and, optionally, the certificate it shows (mTLS).
#[derive(Clone)]
pub struct ClientTls {
    ca: Vec<u8>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("client_certificate", &self.identity.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// From PEM text: the CA bundle and an optional (certificate, key) pair.
    pub fn from_pem(ca: Vec<u8>, identity: Option<(Vec<u8>, Vec<u8>)>) -> Self {
        Self { ca, identity }
    }

    /// For tonic's `Endpoint::tls_config`.
    pub fn tonic(&self) -> tonic::transport::ClientTlsConfig {
        use tonic::transport::{Certificate, Identity};
        let config = tonic::transport::ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&self.ca));
        match &self.identity {
            Some((cert, key)) => config.identity(Identity::from_pem(cert, key)),
            None => config,
        }
    }
}

/// How Brigade's services dial each other: a connect timeout, and a deadline
/// of ten seconds on every call.
fn dialing(connect_timeout: Duration) -> crate::balance::Settings {
    std::sync::Arc::new(move |endpoint: tonic::transport::Endpoint| {
        endpoint
            .connect_timeout(connect_timeout)
            .timeout(Duration::from_secs(10))
    })
}

/// An endpoint for `url`, set up as [`dialing`] says, with TLS when the URL is
/// `https://` and `tls` is given.
pub fn endpoint(
    url: &str,
    tls: Option<&ClientTls>,
    connect_timeout: Duration,
) -> Result<tonic::transport::Endpoint, tonic::transport::Error> {
    let mut endpoint = dialing(connect_timeout)(tonic::transport::Endpoint::from_shared(url.to_owned())?);
    if let Some(tls) = tls
        && url.starts_with("https://")
    {
        endpoint = endpoint.tls_config(tls.tonic())?;
    }
    Ok(endpoint)
}

/// A lazily connected channel to every replica `setting` names (one URL or
/// several, comma separated; host names followed as [`crate::balance`] says),
/// set up as [`endpoint`] is: the one way Brigade's services dial each other.
pub fn channel(
    setting: &str,
    tls: Option<&ClientTls>,
    connect_timeout: Duration,
) -> Result<tonic::transport::Channel, tonic::transport::Error> {
    crate::balance::channel(setting, tls.map(ClientTls::tonic).as_ref(), dialing(connect_timeout))
}

/// A TLS file that cannot be used; names the variable, never quotes a key.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct TlsError {
    pub variable: &'static str,
    pub message: String,
}

/// A server's certificate, key and client-certificate policy, checked at load.
pub struct ServerTls {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_ca: Option<(Vec<u8>, Vec<CertificateDer<'static>>)>,
    client_cert_required: bool,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("certificates", &self.certs.len())
            .field("mtls", &self.client_ca.is_some())
            .field("client_cert_required", &self.client_cert_required)
            .finish_non_exhaustive()
    }
}

impl Clone for ServerTls {
    fn clone(&self) -> Self {
        Self {
            cert_pem: self.cert_pem.clone(),
            key_pem: self.key_pem.clone(),
            certs: self.certs.clone(),
            key: self.key.clone_key(),
            client_ca: self.client_ca.clone(),
            client_cert_required: self.client_cert_required,
        }
    }
}

fn read(variable: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError {
        variable,
        message: format!("{}: {e}", path.display()),
    })
}

fn certificates(variable: &'static str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| TlsError {
            variable,
            message: "not a PEM certificate file".into(),
        })?;
    if certs.is_empty() {
        return Err(TlsError {
            variable,
            message: "no certificate in the file".into(),
        });
    }
    Ok(certs)
}

impl ServerTls {
    pub fn from_files(
        cert: &Path,
        key: &Path,
        client_ca: Option<&Path>,
        client_cert_required: bool,
    ) -> Result<Self, TlsError> {
        let ca = client_ca.map(|p| read("BRIGADE_TLS_CLIENT_CA", p)).transpose()?;
        Self::from_pem(
            read("BRIGADE_TLS_CERT", cert)?,
            read("BRIGADE_TLS_KEY", key)?,
            ca,
            client_cert_required,
        )
    }

    pub fn from_pem(
        cert_pem: Vec<u8>,
        key_pem: Vec<u8>,
        client_ca_pem: Option<Vec<u8>>,
        client_cert_required: bool,
    ) -> Result<Self, TlsError> {
        let certs = certificates("BRIGADE_TLS_CERT", &cert_pem)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError {
            variable: "BRIGADE_TLS_KEY",
            message: "no PEM private key in the file".into(),
        })?;
        let client_ca = client_ca_pem
            .map(|pem| certificates("BRIGADE_TLS_CLIENT_CA", &pem).map(|certs| (pem, certs)))
            .transpose()?;
        if client_cert_required && client_ca.is_none() {
            return Err(TlsError {
                variable: "BRIGADE_TLS_CLIENT_CA",
                message: "required client certificates need a CA to verify them against".into(),
            });
        }
        let tls = Self {
            cert_pem,
            key_pem,
            certs,
            key,
            client_ca,
            client_cert_required,
        };
        tls.rustls()?; // the key must match the certificate; fail at start-up, not at the first client
        Ok(tls)
    }

    /// For tonic's `Server::builder().tls_config(…)`.
    pub fn tonic(&self) -> tonic::transport::ServerTlsConfig {
        use tonic::transport::{Certificate, Identity};
        let mut config = tonic::transport::ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .timeout(HANDSHAKE_TIMEOUT);
        if let Some((pem, _)) = &self.client_ca {
            config = config
                .client_ca_root(Certificate::from_pem(pem))
                .client_auth_optional(!self.client_cert_required);
        }
        config
    }

    /// A rustls server config (HTTP/2 and HTTP/1.1 by ALPN), for [`TlsListener`].
    pub fn rustls(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let fail = |variable: &'static str| {
            move |e: rustls::Error| TlsError {
                variable,
                message: e.to_string(),
            }
        };
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(fail("BRIGADE_TLS_CERT"))?;
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some((_, cas)) => {
                let mut roots = rustls::RootCertStore::empty();
                for ca in cas {
                    roots.add(ca.clone()).map_err(fail("BRIGADE_TLS_CLIENT_CA"))?;
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let verifier = if self.client_cert_required {
                    verifier
                } else {
                    verifier.allow_unauthenticated()
                };
                builder.with_client_cert_verifier(verifier.build().map_err(|e| TlsError {
                    variable: "BRIGADE_TLS_CLIENT_CA",
                    message: e.to_string(),
                })?)
            }
        };
        let mut config = builder
            .with_single_cert(self.certs.clone(), self.key.clone_key())
            .map_err(fail("BRIGADE_TLS_KEY"))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The identity of a certificate: its subject CN, else its first DNS name.
pub fn certificate_identity(der: &CertificateDer<'_>) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    if let Some(cn) = cert.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()) {
        return Some(cn.to_owned());
    }
    let san = cert.subject_alternative_name().ok()??;
    san.value.general_names.iter().find_map(|name| match name {
        x509_parser::extensions::GeneralName::DNSName(dns) => Some((*dns).to_owned()),
        _ => None,
    })
}

/// The verified client certificate's identity of a gRPC call served by tonic with TLS.
pub fn grpc_peer_identity<B>(request: &http::Request<B>) -> Option<String> {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let certs = request
        .extensions()
        .get::<TlsConnectInfo<TcpConnectInfo>>()?
        .peer_certs()?;
    certificate_identity(certs.first()?)
}

/// A TCP listener that hands axum finished TLS connections.
pub struct TlsListener {
    incoming: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
}

impl TlsListener {
    pub async fn bind(addr: SocketAddr, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        Self::from_listener(TcpListener::bind(addr).await?, config)
    }

    /// Accepts on `listener` until this listener is dropped.
    pub fn from_listener(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (sender, incoming) = mpsc::channel(64);
        tokio::spawn(accept_loop(listener, TlsAcceptor::from(config), sender));
        Ok(Self { incoming, local_addr })
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    sender: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, remote) = tokio::select! {
            _ = sender.closed() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // e.g. out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = sender.send((tls, remote)).await;
                }
                Ok(Err(error)) => tracing::debug!(%remote, %error, "tls handshake failed"),
                Err(_) => tracing::debug!(%remote, "tls handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(connection) => connection,
            // The accept loop only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

/// Who is on the other end of an axum TLS connection: use with
/// `into_make_service_with_connect_info::<TlsPeer>()` and read it with
/// `ConnectInfo<TlsPeer>`. The identity comes from a verified client certificate.
#[derive(Clone, Debug)]
pub struct TlsPeer {
    pub remote_addr: SocketAddr,
    pub identity: Option<String>,
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>> for TlsPeer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        let (_, session) = stream.io().get_ref();
        Self {
            remote_addr: *stream.remote_addr(),
            identity: session
                .peer_certificates()
                .and_then(|certs| certs.first())
                .and_then(certificate_identity),
        }
    }
}

#[cfg(test)]
mod tests;
