//! One channel to every replica behind a service URL.
//!
//! A single address (a ClusterIP Service, a load balancer) gets one HTTP/2
//! connection, so every call this process makes goes to one replica however
//! many run. Here a URL's host name is resolved again every
//! [`RESOLVE_EVERY`] (a Kubernetes headless Service answers with one address
//! per ready pod) and calls are spread over one connection per address by the
//! power-of-two-choices balancer tonic ships (`Channel::balance_channel`,
//! tower's `p2c`). A setting may also list several URLs, comma separated:
//! their addresses are balanced together.
//!
//! The set is never empty: until the first resolution, and whenever no name
//! resolves at all, the URLs themselves are the endpoints (each connection
//! then resolves its name as a plain channel does, and fails as one would), so
//! a call never waits for an address that may not come. A name whose lookup
//! fails keeps the addresses it last had. One URL whose host is an IP address
//! gets a plain channel: there is nothing to resolve or spread.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tonic::transport::channel::Change;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint, Uri};

/// How often host names are resolved again.
pub const RESOLVE_EVERY: Duration = Duration::from_secs(5);

/// Changes that may wait for the balancer before the resolver waits too.
const CHANGES: usize = 64;

/// The URLs of one setting: one, or several separated by commas.
pub fn urls(setting: &str) -> impl Iterator<Item = &str> {
    setting.split(',').map(str::trim).filter(|u| !u.is_empty())
}

/// How every endpoint of a channel is set up (timeouts, window sizes): applied
/// to each replica's endpoint alike. TLS is not in here: [`channel`] adds it,
/// naming the host of the URL so a replica's certificate is checked against
/// the name, not its address.
pub type Settings = std::sync::Arc<dyn Fn(Endpoint) -> Endpoint + Send + Sync>;

/// One URL of a setting, parsed.
#[derive(Clone, Debug)]
struct Target {
    url: String,
    uri: Uri,
    https: bool,
    host: String,
    port: u16,
}

impl Target {
    fn parse(url: &str) -> Result<Self, tonic::transport::Error> {
        // Endpoint::from_shared checks the URL the way every channel does.
        let uri = Endpoint::from_shared(url.to_owned())?.uri().clone();
        let https = uri.scheme_str() == Some("https");
        let host = uri.host().unwrap_or_default().trim_matches(['[', ']']).to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok(Self {
            url: url.to_owned(),
            uri,
            https,
            host,
            port,
        })
    }

    fn scheme(&self) -> &'static str {
        if self.https { "https" } else { "http" }
    }

    fn is_address(&self) -> bool {
        self.host.parse::<IpAddr>().is_ok()
    }

    /// The endpoint for the URL as written, or for one address its name resolved to.
    fn endpoint(
        &self,
        addr: Option<SocketAddr>,
        tls: Option<&ClientTlsConfig>,
        settings: &Settings,
    ) -> Result<Endpoint, tonic::transport::Error> {
        let mut endpoint = match addr {
            None => Endpoint::from_shared(self.url.clone())?,
            Some(addr) => Endpoint::from_shared(self.key(addr))?.origin(self.uri.clone()),
        };
        if let Some(tls) = tls.filter(|_| self.https) {
            endpoint = endpoint.tls_config(tls.clone().domain_name(self.host.clone()))?;
        }
        Ok(settings(endpoint))
    }

    /// The URL of one address, also its key in the balancer.
    fn key(&self, addr: SocketAddr) -> String {
        format!("{}://{addr}", self.scheme())
    }
}

/// A lazily connected channel to every replica named by `setting` (see the
/// module documentation); `tls` is used for the `https://` URLs.
pub fn channel(
    setting: &str,
    tls: Option<&ClientTlsConfig>,
    settings: Settings,
) -> Result<Channel, tonic::transport::Error> {
    let targets = urls(setting).map(Target::parse).collect::<Result<Vec<_>, _>>()?;
    // An empty setting: let Endpoint say why, as a plain channel would.
    let Some(first) = targets.first() else {
        return Endpoint::from_shared(setting.to_owned()).map(|e| e.connect_lazy());
    };
    if targets.len() == 1 && first.is_address() {
        return Ok(first.endpoint(None, tls, &settings)?.connect_lazy());
    }
    let (channel, changes) = Channel::balance_channel::<String>(CHANGES);
    let named = targets
        .iter()
        .map(|t| Ok((t.url.clone(), t.endpoint(None, tls, &settings)?)))
        .collect::<Result<BTreeMap<_, _>, tonic::transport::Error>>()?;
    for (key, endpoint) in &named {
        // A fresh channel with room for CHANGES: these cannot fail.
        let _ = changes.try_send(Change::Insert(key.clone(), endpoint.clone()));
    }
    let resolver = Resolver {
        last: vec![BTreeMap::new(); targets.len()],
        targets,
        tls: tls.cloned(),
        settings,
        named,
    };
    tokio::spawn(resolver.follow(changes));
    Ok(channel)
}

struct Resolver {
    targets: Vec<Target>,
    tls: Option<ClientTlsConfig>,
    settings: Settings,
    /// The endpoints of the URLs as written: the set when nothing resolves.
    named: BTreeMap<String, Endpoint>,
    /// Each target's addresses at its last successful lookup.
    last: Vec<BTreeMap<String, Endpoint>>,
}

impl Resolver {
    /// Resolves every [`RESOLVE_EVERY`] and tells the balancer what changed,
    /// until the channel is dropped.
    async fn follow(mut self, changes: tokio::sync::mpsc::Sender<Change<String, Endpoint>>) {
        let mut current: BTreeSet<String> = self.named.keys().cloned().collect();
        loop {
            let wanted = self.resolve().await;
            let wanted = if wanted.is_empty() { self.named.clone() } else { wanted };
            let keys: BTreeSet<String> = wanted.keys().cloned().collect();
            if keys != current {
                tracing::info!(
                    endpoints = ?keys,
                    "balancing calls over {} endpoint(s)",
                    keys.len()
                );
            }
            let (insert, remove) = diff(&current, &keys);
            for key in insert {
                let endpoint = wanted[&key].clone();
                if changes.send(Change::Insert(key, endpoint)).await.is_err() {
                    return;
                }
            }
            for key in remove {
                if changes.send(Change::Remove(key)).await.is_err() {
                    return;
                }
            }
            current = keys;
            tokio::select! {
                () = tokio::time::sleep(RESOLVE_EVERY) => {}
                () = changes.closed() => return,
            }
        }
    }

    /// Every target's addresses now; a target whose lookup fails keeps its last ones.
    async fn resolve(&mut self) -> BTreeMap<String, Endpoint> {
        let mut wanted = BTreeMap::new();
        for (i, target) in self.targets.iter().enumerate() {
            match tokio::net::lookup_host((target.host.as_str(), target.port)).await {
                Ok(addrs) => {
                    let mut found = BTreeMap::new();
                    for addr in addrs {
                        match target.endpoint(Some(addr), self.tls.as_ref(), &self.settings) {
                            Ok(endpoint) => {
                                found.insert(target.key(addr), endpoint);
                            }
                            Err(e) => tracing::warn!(url = %target.url, %addr, error = %e, "address skipped"),
                        }
                    }
                    self.last[i] = found;
                }
                Err(e) => {
                    tracing::warn!(url = %target.url, error = %e, "could not resolve; keeping its last addresses");
                }
            }
            wanted.extend(self.last[i].iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        wanted
    }
}

/// What to insert into and remove from `current` to make it `wanted`.
fn diff(current: &BTreeSet<String>, wanted: &BTreeSet<String>) -> (Vec<String>, Vec<String>) {
    (
        wanted.difference(current).cloned().collect(),
        current.difference(wanted).cloned().collect(),
    )
}

/// Whether a setting names one replica or several (for a setting's check).
pub fn check(setting: &str) -> Result<(), String> {
    let mut any = false;
    for url in urls(setting) {
        any = true;
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.parse::<http::Uri>().is_err() {
            return Err(format!("{url:?} is not an http:// or https:// URL"));
        }
    }
    if any {
        Ok(())
    } else {
        Err(format!("{setting:?} is not an http:// or https:// URL"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn changes_insert_new_and_remove_gone_addresses() {
        let (insert, remove) = diff(&set(&["a", "b"]), &set(&["b", "c"]));
        assert_eq!((insert, remove), (vec!["c".to_owned()], vec!["a".to_owned()]));
        let (insert, remove) = diff(&set(&["a"]), &set(&["a"]));
        assert!(insert.is_empty() && remove.is_empty());
    }

    #[test]
    fn settings_list_urls_and_refuse_what_is_not_one() {
        assert_eq!(
            urls(" http://a:1 , https://b:2,").collect::<Vec<_>>(),
            vec!["http://a:1", "https://b:2"]
        );
        assert!(check("http://job-queue:50051").is_ok());
        assert!(check("http://a:1,http://b:2").is_ok());
        assert!(check("http://a:1,ftp://b").is_err());
        assert!(check(" , ").is_err());
    }

    #[test]
    fn targets_know_their_port_and_whether_they_are_an_address() {
        let t = Target::parse("https://job-queue").expect("url");
        assert_eq!(
            (t.host.as_str(), t.port, t.https, t.is_address()),
            ("job-queue", 443, true, false)
        );
        let t = Target::parse("http://[::1]:50051").expect("url");
        assert_eq!((t.host.as_str(), t.port, t.is_address()), ("::1", 50051, true));
        assert_eq!(t.key("127.0.0.1:9".parse().expect("addr")), "http://127.0.0.1:9");
    }

    /// A name with several addresses (here the loopback name, whatever this machine
    /// resolves it to) is followed: calls go through, and the channel stays usable.
    #[tokio::test]
    async fn a_named_setting_gives_a_working_channel() {
        let settings: Settings = std::sync::Arc::new(|e: Endpoint| e.connect_timeout(Duration::from_secs(1)));
        let channel = channel("http://localhost:1,http://127.0.0.1:2", None, settings).expect("channel");
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
        // Nothing listens on ports 1 and 2: the call fails as a plain channel's would, and fast.
        let started = std::time::Instant::now();
        let outcome = tokio::time::timeout(
            Duration::from_secs(10),
            health.check(tonic_health::pb::HealthCheckRequest::default()),
        )
        .await
        .expect("answered, not hung");
        assert_eq!(outcome.expect_err("nothing listens").code(), tonic::Code::Unavailable);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
