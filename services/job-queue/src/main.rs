use brigade_job_queue::{Application, Config};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    if let Err(e) = config.validate() {
        eprintln!("brigade-job-queue: {e}");
        std::process::exit(2);
    }
    let _telemetry = brigade_common::telemetry::init("brigade-job-queue");
    let app = Application::build(config).await?;
    app.run_until_stopped(brigade_common::shutdown::signal()).await
}
