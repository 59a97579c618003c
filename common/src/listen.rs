//! Listen addresses: `host:port` with host names resolved, bound before a
//! process touches its database, and errors that name the component and address.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;

use tokio::net::TcpListener;

/// A `host:port` to listen on; the host may be a name (`localhost:8080`),
/// resolved when the value is read so a bad one fails with the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenAddr {
    text: String,
    addrs: Vec<SocketAddr>,
}

impl ListenAddr {
    /// The resolved addresses, in resolver order.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<SocketAddr> for ListenAddr {
    fn from(addr: SocketAddr) -> Self {
        Self {
            text: addr.to_string(),
            addrs: vec![addr],
        }
    }
}

impl FromStr for ListenAddr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(addr.into());
        }
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("{text:?} is not host:port"))?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(format!("{text:?} is not host:port"));
        }
        let addrs: Vec<SocketAddr> = text
            .to_socket_addrs()
            .map_err(|e| format!("{host:?} does not resolve: {e}"))?
            .collect();
        if addrs.is_empty() {
            return Err(format!("{host:?} resolves to no address"));
        }
        Ok(Self {
            text: text.to_owned(),
            addrs,
        })
    }
}

/// A listener that could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("{component} cannot listen on {addr}: {}", reason(.source))]
pub struct ListenError {
    pub component: &'static str,
    pub addr: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

fn reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::AddrInUse => "address already in use".to_owned(),
        ErrorKind::AddrNotAvailable => "address not available on this machine".to_owned(),
        ErrorKind::PermissionDenied => "permission denied".to_owned(),
        kind => kind.to_string(),
    }
}

/// Binds the first of `addr`'s addresses that can be bound (port 0 picks a
/// free port); on failure the error is the first address's.
pub async fn listen(component: &'static str, addr: &ListenAddr) -> Result<TcpListener, ListenError> {
    let mut first_error = None;
    for &candidate in addr.addrs() {
        match TcpListener::bind(candidate).await {
            Ok(listener) => return Ok(listener),
            Err(source) => {
                first_error.get_or_insert(ListenError {
                    component,
                    addr: candidate,
                    source,
                });
            }
        }
    }
    Err(first_error.unwrap_or_else(|| ListenError {
        component,
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        source: std::io::ErrorKind::AddrNotAvailable.into(),
    }))
}

/// A URL a user can open for a bound address: a wildcard bind becomes loopback.
pub fn dialable_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if !ip.is_unspecified() => ip,
        std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// Ends the process with exit status 2 and one line when `error` is a
/// [`ListenError`] (the operator's to fix, like a bad setting); returns otherwise.
pub fn exit_on_listen_error(program: &str, error: &(dyn std::error::Error + 'static)) {
    if let Some(e) = error.downcast_ref::<ListenError>() {
        eprintln!("{program}: {e}");
        std::process::exit(2);
    }
}
