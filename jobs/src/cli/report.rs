//! `movielens report`: the answers as one self-contained HTML page (charts,
//! tables, definitions, lineage), for people rather than scripts.

use std::path::PathBuf;

use anyhow::Context;
use movielens::config::Settings;
use movielens::lake::Lake;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the page (default `report.html`, unless `--run-id` is given).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also keep the page in the lake as this run's report
    /// (`reports/<run>/report.html`), as `movielens run` does; Airflow's report
    /// stage uses it.
    #[arg(long, value_parser = movielens::run_id::parse)]
    run_id: Option<String>,
}

pub async fn execute(args: Args, settings: &Settings) -> anyhow::Result<()> {
    let lake = Lake::open(settings)?;
    let answers = movielens::answers::read(&lake).await?;
    let html = movielens::report::build(&lake, &answers).await?;
    if let Some(run_id) = &args.run_id {
        let key = movielens::report::report_key(run_id);
        lake.put(&key, html.clone().into_bytes()).await?;
        eprintln!("report written to {}", lake.url(&key));
    }
    let out = match (args.out, &args.run_id) {
        (Some(out), _) => Some(out),
        (None, None) => Some(PathBuf::from("report.html")),
        (None, Some(_)) => None,
    };
    if let Some(out) = out {
        std::fs::write(&out, html).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("report written to {}", out.display());
    }
    Ok(())
}
