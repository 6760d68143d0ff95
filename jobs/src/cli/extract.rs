//! `movielens extract`: Kaggle and FRED into the lake's raw zone.

use anyhow::Context;
use movielens::config::Settings;
use movielens::lake::Lake;
use movielens::{extract, pipeline};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Id of this extract (default: a new one); names its manifest.
    #[arg(long, value_parser = movielens::run_id::parse)]
    pub run_id: Option<String>,
}

/// Runs the extract and prints what was landed or skipped.
pub async fn land(
    settings: &Settings,
    lake: &Lake,
    run_id: &str,
) -> anyhow::Result<extract::Manifest> {
    let manifest = extract::extract(settings, lake, run_id)
        .await
        .context("extract")?;
    print_manifest(&manifest);
    Ok(manifest)
}

/// What an extract landed, one file a line (stderr).
pub fn print_manifest(manifest: &extract::Manifest) {
    for e in &manifest.entries {
        let what = if e.uploaded {
            "landed"
        } else {
            "unchanged, not uploaded"
        };
        eprintln!("{:<24} {:>12} bytes  {what}  -> {}", e.file, e.bytes, e.key);
    }
}

pub async fn execute(args: Args, settings: &Settings) -> anyhow::Result<()> {
    let lake = Lake::open(settings)?;
    let _lock = super::lock::acquire(&lake, settings, "extract").await?;
    let run_id = args.run_id.unwrap_or_else(pipeline::new_run_id);
    land(settings, &lake, &run_id).await?;
    println!("extract {run_id} complete in {}", lake.root());
    Ok(())
}
