use brigade_gateway::{Application, Config};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    if let Err(e) = config.validate() {
        eprintln!("brigade-gateway: {e}");
        std::process::exit(2);
    }
    let _telemetry = brigade_common::telemetry::init("brigade-gateway");
    let app = Application::build(config).await?;
    app.run_until_stopped(brigade_common::shutdown::signal()).await
}
