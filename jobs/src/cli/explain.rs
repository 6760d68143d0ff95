//! `movielens explain STEP`: the plan of one transform step, for profiling.
//!
//! The step is planned by DataFusion in this process, over the published
//! staging and curated runs; `--analyze` also runs it and reports rows and time
//! per operator. Ballista re-plans joins at run time from measured sizes, so
//! for the plans the cluster really ran, per stage and with metrics, run the
//! transform with `MOVIELENS_LOG__LEVEL=info,ballista_scheduler=debug`.

use anyhow::Context;
use datafusion::prelude::SessionContext;
use movielens::config::Settings;
use movielens::engine::{runtime_for_lake, session_config};
use movielens::lake::Lake;
use movielens::transform;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The table whose step to explain (e.g. fact_rating, genre_popularity).
    pub table: String,
    /// Run the step and report rows and time per operator.
    #[arg(long)]
    pub analyze: bool,
}

pub async fn execute(args: Args, settings: &Settings) -> anyhow::Result<()> {
    let step = transform::find_step(&args.table).with_context(|| {
        let known: Vec<&str> = transform::steps().map(|s| s.table).collect();
        format!(
            "no step writes {:?}; steps: {}",
            args.table,
            known.join(", ")
        )
    })?;
    let lake = Lake::open(settings)?;
    let ctx =
        SessionContext::new_with_config_rt(session_config(settings), runtime_for_lake(&lake)?);
    let text = transform::explain(&ctx, &lake, settings, step, args.analyze).await?;
    print!("{text}");
    Ok(())
}
