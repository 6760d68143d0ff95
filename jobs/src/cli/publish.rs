//! `movielens publish RUN`: make a run whose checks pass the one readers see
//! (after `transform --no-publish`, or to roll back to an earlier good run).

use movielens::checks;
use movielens::config::Settings;
use movielens::lake::Lake;
use movielens::runs::{self, PublishError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run to publish (see `movielens runs`).
    #[arg(value_parser = movielens::run_id::parse)]
    run_id: String,
}

/// Checks `run_id` (unless `already_checked` says a passed check is on record)
/// and publishes it; a failed check prints the report and is an error naming
/// the failed checks.
pub async fn publish_after_checks(
    settings: &Settings,
    lake: &Lake,
    run_id: &str,
    already_checked: bool,
) -> anyhow::Result<()> {
    let published = if already_checked {
        runs::publish(settings, lake, run_id).await
    } else {
        runs::check_and_publish(settings, lake, run_id).await
    };
    match published {
        Ok(report) => {
            eprint!("{}", checks::render_text(&report));
            Ok(())
        }
        Err(PublishError::Failed { report, .. }) => {
            eprint!("{}", checks::render_text(&report));
            report.judge()?;
            unreachable!("PublishError::Failed holds a report with failed checks")
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn execute(args: Args, settings: &Settings) -> anyhow::Result<()> {
    let lake = Lake::open(settings)?;
    let _lock = super::lock::acquire(&lake, settings, "publish").await?;
    publish_after_checks(settings, &lake, &args.run_id, true).await?;
    println!("published curated run {} in {}", args.run_id, lake.root());
    Ok(())
}
