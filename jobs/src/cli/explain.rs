//! `movielens explain STEP`: the plan of one transform step, for profiling.
//!
//! Plain `EXPLAIN` goes through the configured engine (the plan Ballista
//! gets). `--analyze` runs the step in this process with DataFusion's
//! `EXPLAIN ANALYZE`, which reports rows and time per operator: Ballista
//! spreads that over stages and executors, one process shows it in one tree.

use anyhow::Context;
use movielens::config::Settings;
use movielens::engine::{Engine, runtime_for_lake, session_config};
use movielens::lake::Lake;
use movielens::transform;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The table whose step to explain (e.g. fact_rating, genre_popularity).
    pub table: String,
    /// Run the step locally and report per-operator metrics.
    #[arg(long)]
    pub analyze: bool,
}

pub async fn execute(args: Args, settings: &Settings) -> anyhow::Result<()> {
    let step = transform::find_step(&args.table).with_context(|| {
        let known: Vec<&str> = transform::CURATED
            .iter()
            .chain(transform::MARTS.iter())
            .map(|s| s.table)
            .collect();
        format!("no step writes {:?}; steps: {}", args.table, known.join(", "))
    })?;
    let lake = Lake::open(settings)?;
    let text = if args.analyze {
        let ctx = datafusion::prelude::SessionContext::new_with_config_rt(
            session_config(settings),
            runtime_for_lake(&lake)?,
        );
        transform::explain(&ctx, &lake, settings, step, true).await?
    } else {
        let engine = Engine::connect(settings, &lake).await?;
        transform::explain(&engine.ctx, &lake, settings, step, false).await?
    };
    print!("{text}");
    Ok(())
}
