//! `movielens load`: the published curated run into the warehouse
//! (`warehouse.kind` = postgres or redshift).

use anyhow::Context;
use movielens::config::Settings;
use movielens::lake::Lake;
use movielens::warehouse::{self, LoadSummary};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Load only if this is the published curated run (default: whatever is published).
    #[arg(long, value_parser = movielens::run_id::parse)]
    run_id: Option<String>,
}

pub fn print_summary(summary: &LoadSummary) {
    for (table, rows, secs) in &summary.tables {
        eprintln!("loaded {table:<24} {rows:>10} rows  {secs:>7.2} s");
    }
    eprintln!(
        "warehouse holds run {}: {} rows in {:.2} s",
        summary.run_id,
        summary.rows(),
        summary.seconds
    );
}

pub async fn execute(args: Args, settings: &Settings) -> anyhow::Result<()> {
    let lake = Lake::open(settings)?;
    let summary = warehouse::load(settings, &lake, args.run_id.as_deref())
        .await
        .context("loading the warehouse")?;
    print_summary(&summary);
    Ok(())
}
