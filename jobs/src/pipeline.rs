//! The stages wired together, as `movielens run` and the single-stage commands
//! use them: land inputs → stage → transform → answers.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tracing::info;

use crate::lake::{Lake, LakeError};
use crate::staging::RawInputs;

/// Where `--input` files land in the lake.
pub const RAW_KAGGLE: &str = "raw/kaggle";
pub const RAW_FRED: &str = "raw/fred";
pub const CPI_FILE: &str = "CUSR0000SS62031.csv";

/// A new run id: UTC time plus a short random suffix, sortable.
pub fn new_run_id() -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        &suffix[..6]
    )
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("input file {path} is missing: {hint}")]
    Missing { path: String, hint: String },
    #[error(transparent)]
    Lake(#[from] LakeError),
}

/// The raw files of one run on the local disk.
#[derive(Debug, Clone)]
pub struct LocalInputs {
    pub movies: PathBuf,
    pub links: PathBuf,
    pub ratings: PathBuf,
    pub cpi: PathBuf,
}

impl LocalInputs {
    /// Kaggle files from `dir` (ratings named `ratings_name`), CPI from `cpi` or,
    /// when not given, from `dir/`, `dir/fred/` or `dir/../fred/`.
    pub fn find(dir: &Path, ratings_name: &str, cpi: Option<&Path>) -> Result<Self, InputError> {
        let need = |path: PathBuf, hint: &str| {
            if path.is_file() {
                Ok(path)
            } else {
                Err(InputError::Missing {
                    path: path.display().to_string(),
                    hint: hint.into(),
                })
            }
        };
        let cpi = match cpi {
            Some(p) => need(p.to_path_buf(), "check the --cpi path")?,
            None => {
                let candidates = [
                    dir.join(CPI_FILE),
                    dir.join("fred").join(CPI_FILE),
                    dir.join("..").join("fred").join(CPI_FILE),
                ];
                candidates
                    .iter()
                    .find(|p| p.is_file())
                    .cloned()
                    .ok_or_else(|| InputError::Missing {
                        path: candidates[0].display().to_string(),
                        hint: "pass the CPI series with --cpi FILE".into(),
                    })?
            }
        };
        Ok(Self {
            movies: need(
                dir.join("movies_metadata.csv"),
                "--input must hold the Kaggle files",
            )?,
            links: need(dir.join("links.csv"), "--input must hold the Kaggle files")?,
            ratings: need(
                dir.join(ratings_name),
                "check --ratings (default ratings.csv)",
            )?,
            cpi,
        })
    }

    /// Uploads the files into the lake's raw zone; returns their lake keys.
    /// Ratings land as parts of about `ratings_part_bytes` (each with the
    /// header) under a directory named after the file, so transform shards can
    /// read disjoint files; see [`ratings_dir_key`].
    pub async fn land(
        &self,
        lake: &Lake,
        ratings_part_bytes: u64,
    ) -> Result<RawInputs, InputError> {
        let movies = land_file(lake, &self.movies, RAW_KAGGLE).await?;
        let links = land_file(lake, &self.links, RAW_KAGGLE).await?;
        let cpi = land_file(lake, &self.cpi, RAW_FRED).await?;

        let ratings = ratings_dir_key(&file_name(&self.ratings));
        let started = Instant::now();
        let parts = lake
            .upload_csv_parts(&self.ratings, &ratings, ratings_part_bytes)
            .await?;
        let bytes: u64 = parts.iter().map(|p| p.1).sum();
        info!(file = %self.ratings.display(), key = ratings, parts = parts.len(), bytes, secs = format!("{:.2}", started.elapsed().as_secs_f64()), "landed");
        Ok(RawInputs {
            movies,
            links,
            ratings,
            cpi,
        })
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Uploads one file to `zone/<its name>`; returns the key.
async fn land_file(lake: &Lake, path: &Path, zone: &str) -> Result<String, InputError> {
    let key = format!("{zone}/{}", file_name(path));
    let started = Instant::now();
    let bytes = lake.upload_file(path, &key).await?;
    info!(file = %path.display(), key, bytes, secs = format!("{:.2}", started.elapsed().as_secs_f64()), "landed");
    Ok(key)
}

/// Where a ratings file named `name` lands: `raw/kaggle/<name without .csv>/part-NNNNN.csv`.
pub fn ratings_dir_key(name: &str) -> String {
    format!("{RAW_KAGGLE}/{}", name.strip_suffix(".csv").unwrap_or(name))
}

/// Generates data (scale, seed) and lands it in the lake's raw zone.
pub async fn generate_into_lake(
    lake: &Lake,
    scale: f64,
    seed: u64,
    ratings_part_bytes: u64,
) -> anyhow::Result<RawInputs> {
    let tmp = tempfile::Builder::new()
        .prefix("movielens-generate-")
        .tempdir()?;
    let summary = crate::generate::generate(tmp.path(), scale, seed)?;
    info!(
        scale,
        seed,
        ratings = summary.ratings,
        users = summary.users,
        "generated data"
    );
    let inputs = LocalInputs::find(&tmp.path().join("kaggle"), "ratings.csv", None)?;
    Ok(inputs.land(lake, ratings_part_bytes).await?)
}
