//! All of Brigade in one process: job-queue, recipe-types and the gateway, each
//! on its own port, talking gRPC over loopback as they would across machines.

use std::net::SocketAddr;
use std::path::PathBuf;

use brigade_common::shutdown::Shutdown;
use tokio::task::JoinHandle;

/// Where the three components listen and keep their data.
#[derive(Clone, Debug)]
pub struct SystemConfig {
    pub gateway_addr: SocketAddr,
    pub job_queue_addr: SocketAddr,
    pub recipe_types_addr: SocketAddr,
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
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

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
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
    config: SystemConfig,
}

/// An address that works as a client target: a wildcard bind becomes loopback.
fn dialable(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        "127.0.0.1".parse().unwrap_or(addr.ip())
    } else {
        addr.ip()
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

impl System {
    /// Binds all three (port 0 works for each) and starts serving.
    pub async fn start(config: SystemConfig) -> anyhow::Result<Self> {
        let mut job_queue = brigade_job_queue::Application::build(brigade_job_queue::Config::local(
            config.job_queue_addr,
            config.data_dir.clone(),
            config.database_url.clone(),
            "http://127.0.0.1:50052".to_owned(),
        ))
        .await?;
        let jq_addr = job_queue.local_addr();
        let recipe_types = brigade_recipe_types::Application::build(brigade_recipe_types::Config::local(
            config.recipe_types_addr,
            config.data_dir.clone(),
            config.database_url.clone(),
            dialable(jq_addr),
        ))
        .await?;
        let rt_addr = recipe_types.local_addr();
        job_queue.set_recipe_types_url(dialable(rt_addr));
        let gateway = brigade_gateway::Application::build(brigade_gateway::Config::local(
            config.gateway_addr,
            dialable(jq_addr),
            dialable(rt_addr),
        ))
        .await?;
        let gw_addr = gateway.local_addr();
        Ok(Self {
            config,
            job_queue: spawn(jq_addr, |w| job_queue.run_until_stopped(w.wait())),
            recipe_types: spawn(rt_addr, |w| recipe_types.run_until_stopped(w.wait())),
            gateway: spawn(gw_addr, |w| gateway.run_until_stopped(w.wait())),
        })
    }

    /// Starts recipe-types again on the address it had (after `recipe_types.stop()`).
    pub async fn restart_recipe_types(&mut self) -> anyhow::Result<()> {
        self.recipe_types.stop().await?;
        let app = brigade_recipe_types::Application::build(brigade_recipe_types::Config::local(
            self.recipe_types.addr,
            self.config.data_dir.clone(),
            self.config.database_url.clone(),
            dialable(self.job_queue.addr),
        ))
        .await?;
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
