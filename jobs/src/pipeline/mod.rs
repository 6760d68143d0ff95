//! The stages wired together: inputs landed in the lake, and [`run`], the whole
//! pipeline as one function that `movielens run` calls.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tracing::info;

use crate::lake::{CsvSplit, Lake, LakeError};
use crate::raw;
use crate::staging::RawInputs;

mod run;
pub use run::{Observer, RunError, RunOutcome, Source, land_inputs, run};

/// Which source a raw file came from (a label for the extract's manifest;
/// files land by checksum, see [`crate::raw`]).
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

    /// Lands the files in the lake's raw zone under their checksums (files
    /// the lake holds already are not uploaded again) and records them as
    /// `run_id`'s inputs; returns their lake keys. Ratings land as parts cut
    /// by `ratings_split` (each with the header), so transform shards can
    /// read disjoint files.
    pub async fn land(
        &self,
        lake: &Lake,
        ratings_split: CsvSplit,
        run_id: &str,
    ) -> Result<RawInputs, InputError> {
        let source = |p: &Path| p.display().to_string();
        let movies = raw::land_file(lake, &self.movies, &source(&self.movies)).await?;
        let links = raw::land_file(lake, &self.links, &source(&self.links)).await?;
        let cpi = raw::land_file(lake, &self.cpi, &source(&self.cpi)).await?;
        let ratings =
            raw::land_ratings(lake, &self.ratings, ratings_split, &source(&self.ratings)).await?;
        let inputs = RawInputs {
            movies: movies.key.clone(),
            links: links.key.clone(),
            ratings: ratings.key.clone(),
            cpi: cpi.key.clone(),
        };
        raw::write_manifest(
            lake,
            run_id,
            BTreeMap::from([
                ("movies".to_string(), movies),
                ("links".to_string(), links),
                ("ratings".to_string(), ratings),
                ("cpi".to_string(), cpi),
            ]),
        )
        .await?;
        Ok(inputs)
    }
}

/// Generates data (scale, seed) and lands it in the lake's raw zone.
pub async fn generate_into_lake(
    lake: &Lake,
    scale: f64,
    seed: u64,
    ratings_split: CsvSplit,
    run_id: &str,
) -> Result<RawInputs, RunError> {
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
    Ok(inputs.land(lake, ratings_split, run_id).await?)
}
