//! `movielens transform`: the SQL plans on Ballista, from the run's staging
//! (or the latest staged run) to a curated run, which is checked and, when
//! every check passes, published.

use anyhow::Context;
use movielens::config::Settings;
use movielens::engine::Engine;
use movielens::lake::Lake;
use movielens::pipeline;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Ballista scheduler, df://HOST:PORT (default: the embedded engine).
    #[arg(long, value_name = "URL")]
    pub scheduler: Option<String>,
    /// Run id to write under (default: a new one).
    #[arg(long, value_parser = movielens::run_id::parse)]
    pub run_id: Option<String>,
    /// Write and record the run, but neither check nor publish it
    /// (`movielens publish RUN` does both later).
    #[arg(long)]
    pub no_publish: bool,
}

pub async fn execute(args: Args, mut settings: Settings) -> anyhow::Result<()> {
    if let Some(url) = args.scheduler {
        settings.engine.scheduler = url;
    }
    let lake = Lake::open(&settings)?;
    let _lock = super::lock::acquire(&lake, &settings, "transform").await?;
    let engine = Engine::connect(&settings, &lake).await?;
    let run_id = args.run_id.unwrap_or_else(pipeline::new_run_id);
    let summary = movielens::transform::transform(&engine, &lake, &settings, &run_id)
        .await
        .context("transform")?;
    drop(engine);
    for (table, rows, secs) in &summary.tables {
        println!("{table:<24} {rows:>10} rows  {secs:>7.2} s");
    }
    if args.no_publish {
        println!(
            "curated run {run_id} written in {} (not published)",
            lake.root()
        );
        return Ok(());
    }
    super::publish::publish_after_checks(&settings, &lake, &run_id, false).await?;
    println!("published curated run {run_id} in {}", lake.root());
    Ok(())
}
