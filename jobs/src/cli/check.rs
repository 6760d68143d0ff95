//! `movielens check`: the data-quality checks, on the warehouse when one is
//! configured, else on the lake. Exits non-zero when any check fails.

use movielens::checks;
use movielens::config::Settings;
use movielens::lake::Lake;

use super::answers::Format;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Check this run's tables in the lake, published or not (default: the
    /// warehouse when one is configured, else the published run).
    #[arg(long, value_parser = movielens::run_id::parse)]
    run_id: Option<String>,
}

pub async fn execute(args: Args, settings: &Settings) -> anyhow::Result<()> {
    let lake = Lake::open(settings)?;
    let report = match &args.run_id {
        Some(id) => {
            checks::check_lake(settings, &lake, movielens::transform::Which::Run(id)).await?
        }
        None => checks::check(settings, &lake).await?,
    };
    match args.format {
        Format::Table => print!("{}", checks::render_text(&report)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(report.judge()?)
}
