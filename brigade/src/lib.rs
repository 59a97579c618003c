//! All of Brigade in one process: job-queue, recipe-types and the gateway, each
//! on its own port, talking gRPC over loopback as they would across machines.

pub mod cli;

use std::net::SocketAddr;
use std::path::PathBuf;

use brigade_common::config::{LogConfig, StorageConfig};
use brigade_common::listen::{ListenAddr, dialable_url, listen};
use brigade_common::shutdown::Shutdown;
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

/// Every setting of the all-in-one binary: the addresses it owns (each
/// component's URL for the others follows from them) and, unchanged, the
/// storage and tuning settings that the three processes take on their own.
#[derive(clap::Args, Clone, Debug)]
pub struct Settings {
    /// REST gateway address, host:port.
    #[arg(
        long = "gateway-addr",
        env = "BRIGADE_GATEWAY_ADDR",
        value_name = "BRIGADE_GATEWAY_ADDR",
        default_value = brigade_gateway::config::DEFAULT_ADDR
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
            auth: Default::default(),
            tls: Default::default(),
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
            auth: Default::default(),
            tls: Default::default(),
        }
    }

    fn gateway_config(&self, job_queue_url: String, recipe_types_url: String) -> brigade_gateway::Config {
        brigade_gateway::Config {
            listen: self.gateway_addr.clone(),
            job_queue_url,
            recipe_types_url,
            limits: self.gateway.clone(),
            log: LogConfig::default(),
        }
    }

    /// Checks what clap's types cannot, before any socket opens; the error
    /// names the variable.
    pub fn validate(&self) -> Result<(), brigade_common::config::ConfigError> {
        let url = "http://127.0.0.1:1".to_owned();
        self.job_queue_config(url.clone()).validate()?;
        self.recipe_types_config(url.clone()).validate()?;
        self.gateway_config(url.clone(), url).validate()
    }
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
        let settings = settings.into();
        settings.validate()?;
        let jq_listener = listen(brigade_job_queue::startup::COMPONENT, &settings.job_queue_addr).await?;
        let rt_listener = listen(brigade_recipe_types::startup::COMPONENT, &settings.recipe_types_addr).await?;
        let gw_listener = listen(brigade_gateway::startup::COMPONENT, &settings.gateway_addr).await?;
        let jq_url = dialable_url(jq_listener.local_addr()?);
        let rt_url = dialable_url(rt_listener.local_addr()?);
        let job_queue =
            brigade_job_queue::Application::build_on(settings.job_queue_config(rt_url.clone()), jq_listener).await?;
        let recipe_types =
            brigade_recipe_types::Application::build_on(settings.recipe_types_config(jq_url.clone()), rt_listener)
                .await?;
        let gateway = brigade_gateway::Application::build_on(settings.gateway_config(jq_url, rt_url), gw_listener)?;
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
        let mut config = self.settings.recipe_types_config(dialable_url(self.job_queue.addr));
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
