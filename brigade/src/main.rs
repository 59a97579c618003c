use std::net::SocketAddr;
use std::path::PathBuf;

use brigade::{System, SystemConfig};
use clap::Parser;

/// Starts job-queue, recipe-types and the REST gateway in one process.
#[derive(Parser, Debug)]
#[command(name = "brigade", version)]
struct Cli {
    /// REST gateway address.
    #[arg(
        long = "gateway-addr",
        env = "BRIGADE_GATEWAY_ADDR",
        value_name = "BRIGADE_GATEWAY_ADDR",
        default_value = "0.0.0.0:8080"
    )]
    gateway_addr: SocketAddr,
    /// job-queue gRPC address.
    #[arg(
        long = "job-queue-addr",
        env = "BRIGADE_JOB_QUEUE_ADDR",
        value_name = "BRIGADE_JOB_QUEUE_ADDR",
        default_value = "127.0.0.1:50051"
    )]
    job_queue_addr: SocketAddr,
    /// recipe-types gRPC address.
    #[arg(
        long = "recipe-types-addr",
        env = "BRIGADE_RECIPE_TYPES_ADDR",
        value_name = "BRIGADE_RECIPE_TYPES_ADDR",
        default_value = "127.0.0.1:50052"
    )]
    recipe_types_addr: SocketAddr,
    /// postgres:// for PostgreSQL; nothing for the embedded SQLite files.
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        value_name = "DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// Where the SQLite files live.
    #[arg(
        long = "data-dir",
        env = "BRIGADE_DATA_DIR",
        value_name = "BRIGADE_DATA_DIR",
        default_value = "./brigade-data"
    )]
    data_dir: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Err(e) = brigade_common::db::DatabaseTarget::resolve(cli.database_url.as_deref(), &cli.data_dir, "x") {
        eprintln!("brigade: invalid value for DATABASE_URL: {e}");
        std::process::exit(2);
    }
    let _telemetry = brigade_common::telemetry::init("brigade");
    let system = System::start(SystemConfig {
        gateway_addr: cli.gateway_addr,
        job_queue_addr: cli.job_queue_addr,
        recipe_types_addr: cli.recipe_types_addr,
        database_url: cli.database_url,
        data_dir: cli.data_dir,
    })
    .await?;
    println!("Brigade is running");
    println!("  REST gateway:        http://{}", system.gateway.addr);
    println!("  job-queue gRPC:      http://{}", system.job_queue.addr);
    println!("  recipe-types gRPC:   http://{}", system.recipe_types.addr);
    brigade_common::shutdown::signal().await;
    system.stop().await
}
