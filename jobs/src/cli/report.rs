//! `movielens report`: the answers as one self-contained HTML page (charts,
//! tables, definitions, lineage), for people rather than scripts.

use std::path::PathBuf;

use anyhow::Context;
use movielens::config::Settings;
use movielens::lake::Lake;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the page.
    #[arg(long, value_name = "FILE", default_value = "report.html")]
    out: PathBuf,
}

pub async fn execute(args: Args, settings: &Settings) -> anyhow::Result<()> {
    let lake = Lake::open(settings)?;
    let answers = movielens::answers::read(&lake).await?;
    let html = movielens::report::build(&lake, &answers).await?;
    std::fs::write(&args.out, html).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("report written to {}", args.out.display());
    Ok(())
}
