//! `movielens runs`: every curated run of the lake with its state, oldest first.

use movielens::config::Settings;
use movielens::lake::Lake;

use super::answers::Format;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub async fn execute(args: Args, settings: &Settings) -> anyhow::Result<()> {
    let lake = Lake::open(settings)?;
    let runs = movielens::runs::list(&lake).await?;
    if let Format::Json = args.format {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(());
    }
    println!(
        "{:<32}  {:<10}  {:<25}  {:>12}  failed checks",
        "run", "state", "completed", "fact rows"
    );
    for r in &runs {
        println!(
            "{:<32}  {:<10}  {:<25}  {:>12}  {}",
            r.run_id,
            r.state.name(),
            r.completed_at.as_deref().unwrap_or("-"),
            r.fact_rows
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into()),
            r.failed_checks.join(", ")
        );
    }
    if runs.is_empty() {
        println!("(no runs in {})", lake.root());
    }
    Ok(())
}
