//! `movielens transform`: the SQL plans on Ballista, from the published staging
//! run to a new published curated run.

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
    #[arg(long)]
    pub run_id: Option<String>,
}

pub async fn execute(args: Args, mut settings: Settings) -> anyhow::Result<()> {
    if let Some(url) = args.scheduler {
        settings.engine.scheduler = url;
    }
    let lake = Lake::open(&settings)?;
    let engine = Engine::connect(&settings, &lake).await?;
    let run_id = args.run_id.unwrap_or_else(pipeline::new_run_id);
    let summary = movielens::transform::transform(&engine, &lake, &settings, &run_id)
        .await
        .context("transform")?;
    for (table, rows, secs) in &summary.tables {
        println!("{table:<24} {rows:>10} rows  {secs:>7.2} s");
    }
    println!("published curated run {run_id} in {}", lake.root());
    Ok(())
}
