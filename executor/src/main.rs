//! `movielens-executor`: a Ballista executor with our object stores, an explicit
//! memory pool and a 5 s heartbeat. Configured like the job: `--config FILE`,
//! `MOVIELENS_CLUSTER__*`, flags.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use movielens::config::Settings;
use movielens::engine::executor::{self, ExecutorPlacement};
use movielens::engine::executor_metrics::{self, ExecutorMetrics};
use movielens::lake::Lake;

#[derive(Debug, Parser)]
#[command(name = "movielens-executor", version, about)]
struct Args {
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Scheduler as HOST:PORT (overrides cluster.scheduler_host/port).
    #[arg(long)]
    scheduler: Option<String>,
    /// Flight (data) port (overrides cluster.executor_port).
    #[arg(long)]
    port: Option<u16>,
    /// gRPC port (overrides cluster.executor_grpc_port; default --port + 1 when --port is given).
    #[arg(long)]
    grpc_port: Option<u16>,
    /// Address others reach this executor at (overrides cluster.external_host).
    #[arg(long)]
    external_host: Option<String>,
    /// Shuffle directory (overrides cluster.work_dir).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Task slots (overrides cluster.executor_vcores).
    #[arg(long)]
    vcores: Option<usize>,
    /// Memory pool in MiB (overrides cluster.executor_memory_mb).
    #[arg(long)]
    memory_mb: Option<u64>,
    /// Prometheus metrics port, 0 = none (overrides cluster.executor_metrics_port).
    #[arg(long)]
    metrics_port: Option<u16>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    movielens::engine::runtime()?.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let mut settings = Settings::load(args.config.as_deref()).context("loading configuration")?;
    let cluster = &mut settings.cluster;
    if let Some(s) = &args.scheduler {
        let (host, port) = s
            .rsplit_once(':')
            .context("--scheduler must be HOST:PORT")?;
        cluster.scheduler_host = host.to_string();
        cluster.scheduler_port = port
            .parse()
            .with_context(|| format!("--scheduler port {port:?}"))?;
    }
    if let Some(port) = args.port {
        cluster.executor_port = port;
        cluster.executor_grpc_port = port + 1;
    }
    if let Some(port) = args.grpc_port {
        cluster.executor_grpc_port = port;
    }
    if let Some(host) = args.external_host {
        cluster.external_host = host;
    }
    if let Some(v) = args.vcores {
        cluster.executor_vcores = v;
    }
    if let Some(p) = args.metrics_port {
        cluster.executor_metrics_port = p;
    }
    if let Some(mb) = args.memory_mb {
        cluster.executor_memory_mb = mb;
    }
    movielens::logging::init(settings.log.format, &settings.log.level);
    let lake = Lake::open(&settings)?;
    // Without a configured work dir, use a temporary one that is removed on exit.
    let temp;
    let work_dir = match args.work_dir.or_else(|| {
        Some(settings.cluster.work_dir.clone())
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    }) {
        Some(dir) => dir,
        None => {
            temp = tempfile::Builder::new()
                .prefix("movielens-executor-")
                .tempdir()?;
            temp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("creating work dir {}", work_dir.display()))?;
    let c = &settings.cluster;
    let placement = ExecutorPlacement {
        bind_host: c.bind_host.clone(),
        external_host: if c.external_host.is_empty() {
            "127.0.0.1".into()
        } else {
            c.external_host.clone()
        },
        port: c.executor_port,
        grpc_port: c.executor_grpc_port,
        vcores: if c.executor_vcores == 0 {
            settings.partitions()
        } else {
            c.executor_vcores
        },
        memory_bytes: executor::memory_bytes(&settings),
        work_dir: work_dir.display().to_string(),
    };
    let metrics = ExecutorMetrics::new(placement.vcores);
    if c.executor_metrics_port != 0 {
        let addr = format!("{}:{}", c.bind_host, c.executor_metrics_port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("binding the metrics port {addr} (cluster.executor_metrics_port; 0 turns it off)"))?;
        let served = metrics.clone();
        tokio::spawn(async move {
            if let Err(e) = executor_metrics::serve(listener, served).await {
                tracing::error!(error = %e, "metrics endpoint stopped");
            }
        });
        tracing::info!(%addr, "metrics at /metrics");
    }
    tracing::info!(scheduler = %format!("{}:{}", c.scheduler_host, c.scheduler_port), port = c.executor_port, work_dir = %work_dir.display(), "executor starting");
    executor::run(executor::executor_config(
        &settings, &lake, placement, metrics,
    ))
    .await?;
    Ok(())
}
