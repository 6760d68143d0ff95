//! Subcommands, one file each. Global flags override the configuration for
//! every subcommand.

mod answers;
mod check;
mod cluster;
mod config;
mod explain;
mod extract;
mod generate;
mod load;
mod lock;
mod models;
mod prune;
mod publish;
mod report;
mod run;
mod runs;
mod stage;
mod summary;
mod transform;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use movielens::config::{LogFormat, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "movielens",
    version,
    about = "The Movies Dataset + FRED CPI → a warehouse that answers four questions, on Ballista."
)]
pub struct Cli {
    /// TOML configuration file (layered over built-in defaults, under MOVIELENS_* env).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Lake root: a local directory or s3://bucket/prefix (overrides `lake`).
    #[arg(long, global = true, value_name = "DIR|s3://…")]
    lake: Option<String>,
    /// Log format: human or json (overrides `log.format`).
    #[arg(long, global = true, value_name = "FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// Wait for another writer's lock on the lake instead of failing at once.
    #[arg(long, global = true)]
    wait: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the effective configuration, secrets masked.
    Config(config::Args),
    /// List the catalogue of models: each table, its SQL file and what it reads.
    Models(models::Args),
    /// Write Kaggle-shaped data and a FRED CPI series at any scale.
    Generate(generate::Args),
    /// Download the Kaggle dataset and the FRED CPI series into the lake's raw zone.
    Extract(extract::Args),
    /// Land raw files in the lake and stage them (parse, clean, type).
    Stage(stage::Args),
    /// Build the star model and the marts with SQL on Ballista.
    Transform(transform::Args),
    /// Show the DataFusion plan of one transform step (`--analyze`: run it, time each operator).
    Explain(explain::Args),
    /// Load the published curated run into the warehouse (Postgres or Redshift).
    Load(load::Args),
    /// Data-quality checks on the warehouse (or the lake); non-zero exit on failure.
    Check(check::Args),
    /// Print the four answers from the published marts.
    Answers(answers::Args),
    /// Write the answers as a self-contained HTML page with charts and lineage.
    Report(report::Args),
    /// Everything end to end: (generate) → stage → transform → check → publish → (load) → answers → report.
    Run(run::Args),
    /// List the lake's runs with their state (published, passed, failed, …).
    Runs(runs::Args),
    /// Publish a run whose checks pass (after `transform --no-publish`, or to roll back).
    Publish(publish::Args),
    /// See and steer a remote cluster: `status` (executors, running jobs and stages), `cancel JOB`.
    Cluster(cluster::Args),
    /// Delete all but the newest runs (and the published one), and raw files only they read.
    Prune(prune::Args),
}

/// Loads the settings with the global flags applied and starts logging.
fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(cli.config.as_deref()).context("loading configuration")?;
    if let Some(lake) = &cli.lake {
        settings.lake = lake.clone();
    }
    if cli.wait {
        settings.run.lock_wait = true;
    }
    if let Some(format) = cli.log_format {
        settings.log.format = format;
    }
    movielens::logging::init(settings.log.format, &settings.log.level);
    if settings.log.format == LogFormat::Json {
        movielens::progress::disable();
    }
    Ok(settings)
}

/// Why a command stopped before it finished.
#[derive(Debug, thiserror::Error)]
pub enum Stopped {
    #[error(
        "stopped by {name}: the command was cancelled and its engine and temp files cleaned up"
    )]
    Signal { name: &'static str, exit_code: u8 },
    #[error(
        "stopped: still running after the deadline of {secs} s (run.deadline_secs); \
         nothing was published by this command"
    )]
    Deadline { secs: u64 },
}

impl Stopped {
    /// The exit code a shell would give: 128 + the signal, 1 for a deadline.
    pub fn exit_code(&self) -> u8 {
        match self {
            Stopped::Signal { exit_code, .. } => *exit_code,
            Stopped::Deadline { .. } => 1,
        }
    }
}

/// Resolves on SIGINT (Ctrl-C), SIGTERM (Airflow's task timeout, systemd) or
/// SIGHUP (the SSH session of an Airflow task that was killed hung up).
async fn stop_signal() -> Stopped {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => Stopped::Signal { name: "SIGTERM", exit_code: 143 },
        _ = int.recv() => Stopped::Signal { name: "SIGINT", exit_code: 130 },
        _ = hup.recv() => Stopped::Signal { name: "SIGHUP", exit_code: 129 },
    }
}

/// Runs the command until it ends, a signal arrives or the deadline passes.
/// Stopping drops the command's future, so everything it holds is released
/// the ordinary way: the embedded engine and its work dir, the lake's lock,
/// temp dirs.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = settings(&cli)?;
    let secs = settings.run.deadline_secs;
    let deadline = async move {
        if secs == 0 {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
    };
    tokio::select! {
        result = dispatch(cli, settings) => result,
        stopped = stop_signal() => {
            tracing::warn!(%stopped, "stopping");
            Err(stopped.into())
        }
        () = deadline => Err(Stopped::Deadline { secs }.into()),
    }
}

async fn dispatch(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command {
        Command::Config(args) => config::execute(args, &settings),
        Command::Models(args) => models::execute(args, &settings),
        Command::Generate(args) => generate::execute(args, &settings),
        Command::Extract(args) => extract::execute(args, &settings).await,
        Command::Stage(args) => stage::execute(args, &settings).await,
        Command::Transform(args) => transform::execute(args, settings).await,
        Command::Explain(args) => explain::execute(args, &settings).await,
        Command::Load(args) => load::execute(args, &settings).await,
        Command::Check(args) => check::execute(args, &settings).await,
        Command::Answers(args) => answers::execute(args, &settings).await,
        Command::Report(args) => report::execute(args, &settings).await,
        Command::Run(args) => run::execute(args, settings).await,
        Command::Runs(args) => runs::execute(args, &settings).await,
        Command::Publish(args) => publish::execute(args, &settings).await,
        Command::Prune(args) => prune::execute(args, &settings).await,
        Command::Cluster(args) => cluster::execute(args, &settings).await,
    }
}
