use brigade_job_queue::startup::open_repository;
use brigade_job_queue::{Application, Config};
use clap::Parser;

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
    let _telemetry = brigade_common::telemetry::init("brigade-job-queue");
    if config.migrate_only {
        open_repository(&target, 1).await?;
        tracing::info!(database = %target.redacted(), "migrations applied");
        return Ok(());
    }
    let app = Application::build(config).await?;
    app.run_until_stopped(brigade_common::shutdown::signal()).await
}
