use brigade_recipe_types::{Application, Config};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    if let Err(e) = config.validate() {
        eprintln!("brigade-recipe-types: {e}");
        std::process::exit(2);
    }
    let _telemetry = brigade_common::telemetry::init("brigade-recipe-types");
    let app = Application::build(config).await?;
    app.run_until_stopped(brigade_common::shutdown::signal()).await
}
