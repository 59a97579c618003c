//! All of Brigade in one process: job-queue, recipe-types and the gateway, each
//! on its own port, talking gRPC over loopback as they would across machines.

pub mod cli;

use std::net::SocketAddr;
use std::path::PathBuf;

use brigade_common::auth::{AuthConfig, AuthMode};
use brigade_common::config::{LogConfig, StorageConfig};
use brigade_common::listen::{ListenAddr, dialable_url, listen};
use brigade_common::shutdown::Shutdown;
use brigade_common::tls::TlsConfig;
use tokio::task::JoinHandle;

/// Where the three components listen and keep their data (everything else at
/// its default); see [`Settings`] for the whole configuration.
#[derive(Clone, Debug)]
pub struct SystemConfig {
    pub gateway_addr: SocketAddr,
    pub job_queue_addr: SocketAddr,
    pub recipe_types_addr: SocketAddr,
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
}

/// Where the all-in-one's REST gateway listens unless told otherwise: loopback,
/// like both gRPC listeners, so a first run without tokens is not on the network.
pub const DEFAULT_GATEWAY_ADDR: &str = "127.0.0.1:8080";

/// Every setting of the all-in-one binary: the addresses it owns (each
/// component's URL for the others follows from them) and, unchanged, the
/// storage and tuning settings that the three processes take on their own.
#[derive(clap::Args, Clone, Debug)]
pub struct Settings {
    /// REST gateway address, host:port (loopback unless told otherwise).
    #[arg(
        long = "gateway-addr",
        env = "BRIGADE_GATEWAY_ADDR",
        value_name = "BRIGADE_GATEWAY_ADDR",
        default_value = DEFAULT_GATEWAY_ADDR
    )]
    pub gateway_addr: ListenAddr,
    /// job-queue gRPC address, host:port (loopback unless told otherwise).
    #[arg(
        long = "job-queue-addr",
        env = "BRIGADE_JOB_QUEUE_ADDR",
        value_name = "BRIGADE_JOB_QUEUE_ADDR",
        default_value = "127.0.0.1:50051"
    )]
    pub job_queue_addr: ListenAddr,
    /// recipe-types gRPC address, host:port (loopback unless told otherwise).
    #[arg(
        long = "recipe-types-addr",
        env = "BRIGADE_RECIPE_TYPES_ADDR",
        value_name = "BRIGADE_RECIPE_TYPES_ADDR",
        default_value = "127.0.0.1:50052"
    )]
    pub recipe_types_addr: ListenAddr,
    #[command(flatten)]
    pub storage: StorageConfig,
    #[command(flatten)]
    pub job_queue: brigade_job_queue::config::Limits,
    #[command(flatten)]
    pub recipe_types: brigade_recipe_types::config::Limits,
    #[command(flatten)]
    pub gateway: brigade_gateway::config::Limits,
    /// One authentication setting for all three components.
    #[command(flatten)]
    pub auth: AuthConfig,
    /// One certificate for all three listeners (today the gateway's).
    #[command(flatten)]
    pub tls: TlsConfig,
}

impl From<SystemConfig> for Settings {
    fn from(c: SystemConfig) -> Self {
        Self {
            gateway_addr: c.gateway_addr.into(),
            job_queue_addr: c.job_queue_addr.into(),
            recipe_types_addr: c.recipe_types_addr.into(),
            storage: StorageConfig::new(c.database_url, c.data_dir),
            job_queue: Default::default(),
            recipe_types: Default::default(),
            gateway: Default::default(),
            auth: AuthConfig::default(),
            tls: TlsConfig::default(),
        }
    }
}

impl Settings {
    fn job_queue_config(&self, recipe_types_url: String) -> brigade_job_queue::Config {
        brigade_job_queue::Config {
            listen: self.job_queue_addr.clone(),
            storage: self.storage.clone(),
            migrate_only: false,
            recipe_types_url,
            limits: self.job_queue.clone(),
            log: LogConfig::default(),
            auth: self.auth.clone(),
            tls: self.tls.clone(),
        }
    }

    fn recipe_types_config(&self, job_queue_url: String) -> brigade_recipe_types::Config {
        brigade_recipe_types::Config {
            listen: self.recipe_types_addr.clone(),
            storage: self.storage.clone(),
            migrate_only: false,
            job_queue_url,
            limits: self.recipe_types.clone(),
            log: LogConfig::default(),
            auth: self.auth.clone(),
            tls: self.tls.clone(),
        }
    }

    fn gateway_config(&self, job_queue_url: String, recipe_types_url: String) -> brigade_gateway::Config {
        brigade_gateway::Config {
            listen: self.gateway_addr.clone(),
            job_queue_url,
            recipe_types_url,
            auth: self.auth.clone(),
            tls: self.tls.clone(),
            limits: self.gateway.clone(),
            log: LogConfig::default(),
        }
    }

    /// Every address the three components listen on.
    pub fn listen_addrs(&self) -> Vec<SocketAddr> {
        [&self.gateway_addr, &self.job_queue_addr, &self.recipe_types_addr]
            .into_iter()
            .flat_map(|addr| addr.addrs().iter().copied())
            .collect()
    }

    /// What start-up says about authentication, when it is off.
    pub fn auth_notice(&self) -> Option<&'static str> {
        match (&self.auth.tokens_file, self.auth.mode) {
            (_, AuthMode::Off) => Some("authentication is off (BRIGADE_AUTH=off): every caller may do everything"),
            (None, AuthMode::On) => Some("authentication is off: listening on loopback only"),
            (Some(_), AuthMode::On) => None,
        }
    }

    /// Checks what clap's types cannot, before any socket opens; the error
    /// names the variable.
    ///
    /// A non-loopback address without tokens is refused here (naming
    /// `BRIGADE_AUTH` and `BRIGADE_TOKENS_FILE`) unless `BRIGADE_AUTH=off`.
    pub fn validate(&self) -> Result<(), brigade_common::config::ConfigError> {
        let url = "http://127.0.0.1:1".to_owned();
        self.job_queue_config(url.clone()).validate()?;
        self.recipe_types_config(url.clone()).validate()?;
        self.gateway_config(url.clone(), url).validate()?;
        if brigade_common::config::given(&self.tls.cert).is_some()
            && brigade_common::config::given(&self.tls.ca).is_none()
        {
            return Err(brigade_common::config::ConfigError {
                variable: "BRIGADE_TLS_CA",
                message: "with BRIGADE_TLS_CERT all three parts serve TLS and call each other over https://localhost: \
                          give the CA the certificate chains to (the certificate must name localhost)"
                    .to_owned(),
            });
        }
        self.auth.check_exposure(&self.listen_addrs())
    }

    /// The URL the parts dial each other on: `https://localhost:port` when they serve TLS.
    fn peer_url(&self, addr: SocketAddr) -> String {
        if brigade_common::config::given(&self.tls.cert).is_some() {
            format!("https://localhost:{}", addr.port())
        } else {
            dialable_url(addr)
        }
    }
}

/// The credential the three components show each other. With tokens
/// configured and no `BRIGADE_SERVICE_TOKEN`, a random admin token is made at
/// start-up and held in memory only: its SHA-256 is added to a private copy of
/// the tokens file (`internal-tokens.json`, mode 0600, in the data directory),
/// which all three then read. Without tokens (or with one given) nothing changes.
fn internal_credentials(settings: &Settings) -> anyhow::Result<AuthConfig> {
    let auth = &settings.auth;
    let Some(source) = brigade_common::config::given(&auth.tokens_file) else {
        return Ok(auth.clone());
    };
    if !auth.is_enabled() || auth.service_token().is_some() {
        return Ok(auth.clone());
    }
    let text = std::fs::read_to_string(source)
        .map_err(|e| anyhow::anyhow!("BRIGADE_TOKENS_FILE: cannot read {}: {}", source.display(), e.kind()))?;
    let mut file: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("BRIGADE_TOKENS_FILE: {e}"))?;
    let token = brigade_common::auth::BearerToken::generate()?;
    let entry = serde_json::json!({
        "name": "brigade-internal",
        "sha256": token.hash().to_hex(),
        "scopes": ["admin"],
    });
    match file.get_mut("tokens").and_then(serde_json::Value::as_array_mut) {
        Some(tokens) => tokens.push(entry),
        None => {
            if let Some(object) = file.as_object_mut() {
                object.insert("tokens".to_owned(), serde_json::Value::Array(vec![entry]));
            }
        }
    }
    std::fs::create_dir_all(&settings.storage.data_dir)?;
    let path = settings.storage.data_dir.join("internal-tokens.json");
    write_private(&path, serde_json::to_string_pretty(&file)?.as_bytes())?;
    Ok(AuthConfig {
        tokens_file: Some(path),
        service_token: Some(token.expose().to_owned()),
        ..auth.clone()
    })
}

/// Writes a file only its owner can read (replacing an older one).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(bytes)
}

/// One running component: stop it alone, or wait for it.
pub struct Component {
    pub addr: SocketAddr,
    stop: Shutdown,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Component {
    /// Asks the component to drain and stop, and waits until it has. Stopping
    /// a stopped component does nothing.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        self.stop.trigger();
        match self.task.take() {
            Some(task) => task.await?,
            None => Ok(()),
        }
    }

    /// A URL a user can open (loopback for a wildcard bind).
    pub fn url(&self) -> String {
        dialable_url(self.addr)
    }
}

fn spawn<F>(addr: SocketAddr, run: impl FnOnce(brigade_common::shutdown::ShutdownWaiter) -> F) -> Component
where
    F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let (stop, waiter) = Shutdown::new();
    Component {
        addr,
        task: Some(tokio::spawn(run(waiter))),
        stop,
    }
}

pub struct System {
    pub gateway: Component,
    pub job_queue: Component,
    pub recipe_types: Component,
    settings: Settings,
}

impl System {
    /// Binds all three listeners first (port 0 works for each), so a taken
    /// port fails before any database is opened, then builds and serves.
    pub async fn start(settings: impl Into<Settings>) -> anyhow::Result<Self> {
        let mut settings = settings.into();
        settings.validate()?;
        settings.auth = internal_credentials(&settings)?;
        let jq_listener = listen(brigade_job_queue::startup::COMPONENT, &settings.job_queue_addr).await?;
        let rt_listener = listen(brigade_recipe_types::startup::COMPONENT, &settings.recipe_types_addr).await?;
        let gw_listener = listen(brigade_gateway::startup::COMPONENT, &settings.gateway_addr).await?;
        let jq_url = settings.peer_url(jq_listener.local_addr()?);
        let rt_url = settings.peer_url(rt_listener.local_addr()?);
        if let Some(notice) = settings.auth_notice() {
            tracing::warn!("{notice}");
        }
        // Each component checks callers itself: job-queue against the tokens
        // file and its token table, recipe-types and the gateway against the
        // file and then job-queue (`Authenticate`), with the internal credential.
        let gateway_config = settings.gateway_config(jq_url.clone(), rt_url.clone());
        let gateway_state = brigade_gateway::state::AppState::new(&gateway_config)?;
        let authenticator = brigade_gateway::startup::authenticator(&gateway_config, &gateway_state.job_queue_channel)?;
        let job_queue =
            brigade_job_queue::Application::build_on(settings.job_queue_config(rt_url.clone()), jq_listener).await?;
        let recipe_types =
            brigade_recipe_types::Application::build_on(settings.recipe_types_config(jq_url.clone()), rt_listener)
                .await?;
        let gateway =
            brigade_gateway::Application::build_with(gateway_config, gw_listener, gateway_state, &authenticator)?;
        Ok(Self {
            job_queue: spawn(job_queue.local_addr(), |w| job_queue.run_until_stopped(w.wait())),
            recipe_types: spawn(recipe_types.local_addr(), |w| recipe_types.run_until_stopped(w.wait())),
            gateway: spawn(gateway.local_addr(), |w| gateway.run_until_stopped(w.wait())),
            settings,
        })
    }

    /// Starts recipe-types again on the address it had (after `recipe_types.stop()`).
    pub async fn restart_recipe_types(&mut self) -> anyhow::Result<()> {
        self.recipe_types.stop().await?;
        let mut config = self
            .settings
            .recipe_types_config(self.settings.peer_url(self.job_queue.addr));
        config.listen = self.recipe_types.addr.into();
        let app = brigade_recipe_types::Application::build(config).await?;
        self.recipe_types = spawn(app.local_addr(), |w| app.run_until_stopped(w.wait()));
        Ok(())
    }

    /// Stops the gateway first (no new requests), then both services.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.gateway.stop().await?;
        let (a, b) = tokio::join!(self.job_queue.stop(), self.recipe_types.stop());
        a?;
        b
    }
}
