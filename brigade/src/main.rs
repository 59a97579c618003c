use brigade::cli::Command;
use brigade::{Settings, System};
use brigade_common::config::LogConfig;
use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// A resource command alone, so the server's flags and variables (parsed
/// with their defaults and checked by clap) play no part in it.
#[derive(Parser, Debug)]
#[command(name = "brigade", version)]
struct ClientCli {
    #[command(subcommand)]
    command: Command,
}

/// Whether the first argument names a resource command (not `serve`).
fn names_a_client_command(first: Option<&std::ffi::OsString>) -> bool {
    let Some(first) = first.and_then(|a| a.to_str()) else {
        return false;
    };
    Command::augment_subcommands(clap::Command::new("brigade"))
        .get_subcommands()
        .any(|c| c.get_name() == first)
}

// Parsed once at start-up: the size of the settings variant costs nothing.
#[allow(clippy::large_enum_variant)]
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
    if names_a_client_command(std::env::args_os().nth(1).as_ref()) {
        let code = brigade::cli::run(ClientCli::parse().command).await;
        std::process::exit(code);
    }
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
    let notice = args.settings.auth_notice();
    let gateway_scheme = if args.settings.tls.cert.is_some() {
        "https"
    } else {
        "http"
    };
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
        let mut url = component.url();
        if name.starts_with("REST") {
            url = url.replacen("http", gateway_scheme, 1);
        }
        println!("  {name}   {url}{scope}");
    }
    if let Some(notice) = notice {
        println!("  {notice}");
    }
    brigade_common::shutdown::signal().await;
    system.stop().await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
        <super::ClientCli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn resource_commands_skip_the_server_settings() {
        let arg = |s: &str| Some(std::ffi::OsString::from(s));
        assert!(super::names_a_client_command(arg("jobs").as_ref()));
        assert!(super::names_a_client_command(arg("recipe-types").as_ref()));
        assert!(!super::names_a_client_command(arg("serve").as_ref()));
        assert!(!super::names_a_client_command(arg("--gateway-addr").as_ref()));
        assert!(!super::names_a_client_command(None));
    }
}
