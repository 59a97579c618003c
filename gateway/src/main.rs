use brigade_gateway::{Application, Config};
use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let checked = config
        .validate()
        .and_then(|()| config.auth.check_exposure(config.listen.addrs()));
    if let Err(e) = checked {
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
