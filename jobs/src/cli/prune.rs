//! `movielens prune`: delete old runs and the raw files only they read.

use movielens::config::Settings;
use movielens::lake::Lake;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Runs to keep, newest first (the published run is always kept; default
    /// `run.keep_runs`).
    #[arg(long)]
    keep: Option<usize>,
}

pub async fn execute(args: Args, settings: &Settings) -> anyhow::Result<()> {
    let keep = args.keep.unwrap_or(settings.run.keep_runs);
    anyhow::ensure!(
        keep > 0,
        "say how many runs to keep: --keep N, or run.keep_runs in the configuration"
    );
    let lake = Lake::open(settings)?;
    let _lock = super::lock::acquire(&lake, settings, "prune").await?;
    report(&movielens::runs::prune(&lake, keep).await?);
    Ok(())
}

pub fn report(pruned: &movielens::runs::Pruned) {
    eprintln!(
        "pruned {} runs ({}) and {} raw files no kept run reads",
        pruned.runs.len(),
        if pruned.runs.is_empty() {
            "none".to_string()
        } else {
            pruned.runs.join(", ")
        },
        pruned.raw_objects
    );
}
