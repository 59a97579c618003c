use brigade::{Settings, System};
use brigade_common::config::LogConfig;
use clap::Parser;

/// Starts job-queue, recipe-types and the REST gateway in one process. It takes
/// every setting the three processes take; each component's URL for the
/// others follows from the addresses.
#[derive(Parser, Debug)]
#[command(name = "brigade", version)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(flatten)]
    log: LogConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Err(e) = cli.settings.validate() {
        eprintln!("brigade: {e}");
        std::process::exit(2);
    }
    let _telemetry = brigade_common::telemetry::init("brigade", &cli.log);
    let system = match System::start(cli.settings).await {
        Ok(system) => system,
        Err(e) => {
            brigade_common::listen::exit_on_listen_error("brigade", &*e);
            return Err(e);
        }
    };
    println!("Brigade is running");
    for (name, component) in [
        ("REST gateway:     ", &system.gateway),
        ("job-queue gRPC:   ", &system.job_queue),
        ("recipe-types gRPC:", &system.recipe_types),
    ] {
        let scope = if component.addr.ip().is_unspecified() {
            " (listening on every interface)"
        } else {
            ""
        };
        println!("  {name}   {}{scope}", component.url());
    }
    brigade_common::shutdown::signal().await;
    system.stop().await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
