//! `movielens generate`: Kaggle-shaped files plus the CPI series, deterministic
//! for a seed. Writes OUT/kaggle/*.csv and OUT/fred/CUSR0000SS62031.csv.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use movielens::config::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// 1.0 = the real dataset's size (26,024,289 ratings).
    #[arg(long)]
    scale: Option<f64>,
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn execute(args: Args, settings: &Settings) -> anyhow::Result<()> {
    let scale = args.scale.unwrap_or(settings.generate.scale);
    let seed = args.seed.unwrap_or(settings.generate.seed);
    anyhow::ensure!(
        scale > 0.0 && scale <= 1000.0,
        "--scale must be in (0, 1000], not {scale}"
    );
    let started = Instant::now();
    let summary = movielens::generate::generate(&args.out, scale, seed).with_context(|| {
        format!(
            "generating scale {scale} seed {seed} into {}",
            args.out.display()
        )
    })?;
    for (path, bytes) in &summary.files {
        println!("{:>14} bytes  {}", bytes, path.display());
    }
    println!(
        "generated {} ratings by {} users on {} movies in {:.1} s (scale {scale}, seed {seed})",
        summary.ratings,
        summary.users,
        summary.movies,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
