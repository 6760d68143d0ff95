//! `movielens-scheduler`: a Ballista scheduler with our object stores, session
//! configuration and batch-ETL defaults (push-staged, 30 s executor timeout).
//! Configured like the job: `--config FILE`, `MOVIELENS_CLUSTER__*`, flags.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use movielens::config::Settings;
use movielens::engine::scheduler;
use movielens::lake::Lake;

#[derive(Debug, Parser)]
#[command(name = "movielens-scheduler", version, about)]
struct Args {
    /// TOML configuration file (the same file the job reads).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (overrides cluster.bind_host).
    #[arg(long)]
    bind_host: Option<String>,
    /// Port to listen on (overrides cluster.scheduler_port).
    #[arg(long)]
    port: Option<u16>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    movielens::engine::runtime()?.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let mut settings = Settings::load(args.config.as_deref()).context("loading configuration")?;
    if let Some(host) = args.bind_host {
        settings.cluster.bind_host = host;
    }
    if let Some(port) = args.port {
        settings.cluster.scheduler_port = port;
    }
    movielens::logging::init(settings.log.format, &settings.log.level);
    let lake = Lake::open(&settings)?;
    let addr = format!(
        "{}:{}",
        settings.cluster.bind_host, settings.cluster.scheduler_port
    );
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding the scheduler to {addr}"))?;
    tracing::info!(%addr, lake = lake.root(), "scheduler listening");
    let config = scheduler::scheduler_config(
        &settings,
        &lake,
        &settings.cluster.bind_host,
        settings.cluster.scheduler_port,
    );
    scheduler::serve(listener, config).await?;
    Ok(())
}
