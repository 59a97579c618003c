use brigade::cli::Command;
use brigade::{Settings, System};
use brigade_common::config::LogConfig;
use clap::Parser;

/// Brigade. With no subcommand (or `serve`) it starts job-queue, recipe-types
/// and the REST gateway in one process, taking every setting the three
/// processes take; the other subcommands call a running Brigade over gRPC.
#[derive(Parser, Debug)]
#[command(name = "brigade", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<TopCommand>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(clap::Subcommand, Debug)]
enum TopCommand {
    /// Starts the whole system (the same as no subcommand).
    Serve(ServeArgs),
    #[command(flatten)]
    Client(Command),
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    settings: Settings,
    #[command(flatten)]
    log: LogConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve).await,
        Some(TopCommand::Serve(args)) => serve(args).await,
        Some(TopCommand::Client(command)) => std::process::exit(brigade::cli::run(command).await),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    if let Err(e) = args.settings.validate() {
        eprintln!("brigade: {e}");
        std::process::exit(2);
    }
    let _telemetry = brigade_common::telemetry::init("brigade", &args.log);
    let system = match System::start(args.settings).await {
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
