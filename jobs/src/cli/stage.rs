//! `movielens stage`: land raw files in the lake (from `--input`) and stage them.

use std::path::PathBuf;

use anyhow::Context;
use movielens::config::Settings;
use movielens::lake::Lake;
use movielens::pipeline::{self, LocalInputs, Source};
use movielens::staging::{self, RawInputs, StageSummary};

/// Where the raw inputs come from.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// Directory with the Kaggle files (movies_metadata.csv, links.csv, ratings).
    #[arg(long, value_name = "DIR")]
    pub input: Option<PathBuf>,
    /// Ratings file inside --input (links always come from links.csv).
    #[arg(long, value_name = "NAME", default_value = "ratings.csv")]
    pub ratings: String,
    /// The FRED CPI series CSV (default: found next to --input).
    #[arg(long, value_name = "FILE")]
    pub cpi: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    inputs: InputArgs,
    /// Run id to stage under (default: a new one).
    #[arg(long, value_parser = movielens::run_id::parse)]
    run_id: Option<String>,
}

/// Lands `--input` files, or finds files already in the lake's raw zone.
pub async fn raw_inputs(
    args: &InputArgs,
    lake: &Lake,
    settings: &Settings,
    run_id: &str,
) -> anyhow::Result<RawInputs> {
    let source = match &args.input {
        Some(dir) => Source::Files(LocalInputs::find(dir, &args.ratings, args.cpi.as_deref())?),
        // No --input: the files of the latest complete `movielens extract`.
        None => Source::LatestExtract {
            ratings: args.ratings.clone(),
        },
    };
    Ok(pipeline::land_inputs(settings, lake, &source, run_id, &mut ()).await?)
}

pub fn print_rejects(summary: &StageSummary) {
    if summary.rejects.is_empty() {
        eprintln!("staging: no record dropped or changed");
        return;
    }
    eprintln!("staging: records dropped or changed (details in the staged `rejects` table)");
    for ((file, action, reason), n) in &summary.rejects {
        eprintln!("  {file:<24} {action:<8} {reason:<24} {n:>8}");
    }
}

pub async fn execute(args: Args, settings: &Settings) -> anyhow::Result<()> {
    let lake = Lake::open(settings)?;
    let _lock = super::lock::acquire(&lake, settings, "stage").await?;
    let run_id = args.run_id.unwrap_or_else(pipeline::new_run_id);
    let inputs = raw_inputs(&args.inputs, &lake, settings, &run_id).await?;
    let summary = staging::stage(&lake, &inputs, &run_id)
        .await
        .context("staging")?;
    print_rejects(&summary);
    for (table, rows) in &summary.tables {
        println!("{table:<16} {rows:>10} rows");
    }
    println!("staged run {run_id} in {}", lake.root());
    Ok(())
}
