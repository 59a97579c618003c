use brigade_gateway::{Application, Config};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    if let Err(e) = config.validate() {
        eprintln!("brigade-gateway: {e}");
        std::process::exit(2);
    }
    let _telemetry = brigade_common::telemetry::init("brigade-gateway", &config.log);
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            brigade_common::listen::exit_on_listen_error("brigade-gateway", &*e);
            return Err(e);
        }
    };
    app.run_until_stopped(brigade_common::shutdown::signal()).await
}
