//! The generator: Kaggle-shaped files at any scale, deterministic for a seed.
//!
//! Scale 1.0 matches the real dataset's sizes (45,466 metadata records, 45,843
//! links, 26,024,289 ratings by 270,896 users, 1995-01-09 … 2017-08-04) and
//! reproduces every quirk of the real files (see `../shared/data/README.md` and
//! [`quirks`]). Rare quirks appear at least once at any scale, so a small
//! generated set exercises all of them.

mod catalog;
mod cpi;
mod metadata;
mod ratings;
mod rng;
mod side_files;
mod words;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub use catalog::Catalog;

/// Sizes of the real dataset (scale 1.0).
pub mod full {
    pub const LINKS: u64 = 45_843;
    pub const METADATA_RECORDS: u64 = 45_466;
    pub const RATINGS: u64 = 26_024_289;
    pub const USERS: u64 = 270_896;
}

/// How often each quirk occurs at scale 1.0 (counts in the real files).
pub mod quirks {
    pub const SPLIT_RECORDS: u64 = 3;
    pub const DUPLICATE_EXTRA_ROWS: u64 = 30;
    pub const EMPTY_TMDB_IDS: u64 = 219;
    pub const REPEATED_TMDB_IDS: u64 = 29;
    pub const EMPTY_RELEASE_DATES: u64 = 87;
    /// Share of ratings whose movieId is not in links.csv (as in ratings_small).
    pub const RATINGS_NOT_IN_LINKS: f64 = 0.0005;
    pub const SHARE_EMPTY_GENRES: f64 = 0.05;
    pub const SHARE_ZERO_BUDGET: f64 = 0.80;
    pub const SHARE_ZERO_REVENUE: f64 = 0.84;
}

/// Scales a count, keeping at least `min` so every quirk shows up.
pub(crate) fn scaled(full: u64, scale: f64, min: u64) -> u64 {
    ((full as f64 * scale).round() as u64).max(min)
}

/// What was written.
#[derive(Debug, Clone)]
pub struct GenerateSummary {
    pub files: Vec<(PathBuf, u64)>,
    pub ratings: u64,
    pub users: u64,
    pub movies: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("generating {file}: {source}")]
pub struct GenerateError {
    file: String,
    #[source]
    source: std::io::Error,
}

pub(crate) fn create(path: &Path) -> Result<BufWriter<File>, GenerateError> {
    File::create(path)
        .map(|f| BufWriter::with_capacity(1 << 20, f))
        .map_err(|source| GenerateError {
            file: path.display().to_string(),
            source,
        })
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> GenerateError + '_ {
    move |source| GenerateError {
        file: path.display().to_string(),
        source,
    }
}

/// Writes the seven Kaggle files and the CPI series into `out`
/// (`out/kaggle/*.csv`, `out/fred/CUSR0000SS62031.csv`).
pub fn generate(out: &Path, scale: f64, seed: u64) -> Result<GenerateSummary, GenerateError> {
    let kaggle = out.join("kaggle");
    let fred = out.join("fred");
    for dir in [&kaggle, &fred] {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let catalog = Catalog::build(scale, seed);
    let mut files = Vec::new();
    let mut write = |name: &Path,
                     f: &dyn Fn(&mut BufWriter<File>) -> std::io::Result<()>|
     -> Result<(), GenerateError> {
        let mut w = create(name)?;
        f(&mut w).and_then(|_| w.flush()).map_err(io_err(name))?;
        let len = std::fs::metadata(name).map_err(io_err(name))?.len();
        files.push((name.to_path_buf(), len));
        Ok(())
    };
    write(&kaggle.join("links.csv"), &|w| catalog.write_links(w))?;
    write(&kaggle.join("movies_metadata.csv"), &|w| {
        metadata::write(&catalog, scale, seed, w)
    })?;
    write(&kaggle.join("keywords.csv"), &|w| {
        side_files::write_keywords(&catalog, seed, w)
    })?;
    write(&kaggle.join("credits.csv"), &|w| {
        side_files::write_credits(&catalog, seed, w)
    })?;
    write(&fred.join("CUSR0000SS62031.csv"), &|w| cpi::write(seed, w))?;
    let ratings_path = kaggle.join("ratings.csv");
    let (ratings, users) = ratings::write(&catalog, scale, seed, &ratings_path)?;
    let len = std::fs::metadata(&ratings_path)
        .map_err(io_err(&ratings_path))?
        .len();
    files.push((ratings_path, len));
    Ok(GenerateSummary {
        files,
        ratings,
        users,
        movies: catalog.movies.len() as u64,
    })
}

#[cfg(test)]
mod tests;
