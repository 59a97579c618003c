use brigade_job_queue::startup::open_repository;
use brigade_job_queue::{Application, Config};
use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let target = match config.validate() {
        Ok(target) => target,
        Err(e) => {
            eprintln!("brigade-job-queue: {e}");
            std::process::exit(2);
        }
    };
    let _telemetry = brigade_common::telemetry::init("brigade-job-queue", &config.log);
    if config.migrate_only {
        open_repository(&target, 1).await?;
        tracing::info!(database = %target.redacted(), "migrations applied");
        return Ok(());
    }
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            brigade_common::listen::exit_on_listen_error("brigade-job-queue", &*e);
            return Err(e);
        }
    };
    app.run_until_stopped(brigade_common::shutdown::signal()).await
}
