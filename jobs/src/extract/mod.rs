//! Extract: Kaggle and FRED to the raw zone of the lake, safely repeatable.
//!
//! Downloads go to a temporary directory; every file is checked (complete zip,
//! CPI that parses, not an HTML page) before anything is landed. Each file is
//! landed with its SHA-256 in a manifest; a file whose checksum matches the
//! last manifest is not uploaded again. The manifest is written last, so a
//! half-finished extract is never mistaken for a complete one.

mod fred;
mod http;
mod kaggle;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use tracing::info;

use crate::config::Settings;
use crate::lake::{CsvSplit, Lake, LakeError};
use crate::pipeline::{RAW_FRED, RAW_KAGGLE};
use crate::raw;
use crate::staging::RawInputs;

pub use kaggle::{Credentials, credentials};

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("no Kaggle credentials: {detail}")]
    Credentials { detail: String },
    #[error(
        "Kaggle rejected the credentials for {user} (HTTP {status} from {url}); check KAGGLE_USERNAME/KAGGLE_KEY or {source_hint}"
    )]
    Rejected {
        user: String,
        status: u16,
        url: String,
        source_hint: String,
    },
    #[error("Kaggle has no dataset {dataset} (HTTP 404 from {url}); check extract.kaggle_dataset")]
    NotFound { dataset: String, url: String },
    #[error("{url} answered HTTP {status}")]
    Http { url: String, status: u16 },
    #[error("gave up on {url} after {attempts} attempts: {reason}")]
    GaveUp {
        url: String,
        attempts: u32,
        reason: String,
    },
    #[error("downloaded {file} is unusable: {detail}; nothing was landed")]
    BadZip { file: String, detail: String },
    #[error("{url} did not serve a usable CPI series: {detail}; nothing was landed")]
    BadCsv { url: String, detail: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "extract {extract_id} has no {file}; run `movielens extract` again or pass --input DIR"
    )]
    NotInExtract { extract_id: String, file: String },
    #[error("HTTP client: {0}")]
    Client(String),
    #[error(transparent)]
    Lake(#[from] LakeError),
}

/// One landed file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub source_url: String,
    pub file: String,
    /// Lake key (a directory of parts for ratings).
    pub key: String,
    pub bytes: u64,
    pub sha256: String,
    pub fetched_at: String,
    /// False when the lake held this content already and the upload was skipped.
    pub uploaded: bool,
}

/// What one extract landed; `raw/_MANIFEST.json` is the latest complete one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub extract_id: String,
    pub completed_at: String,
    pub entries: Vec<ManifestEntry>,
}

pub const MANIFEST_KEY: &str = "raw/_MANIFEST.json";

/// The latest complete extract, if any.
pub async fn latest(lake: &Lake) -> Result<Option<Manifest>, LakeError> {
    lake.read_json(MANIFEST_KEY).await
}

impl Manifest {
    /// The lake keys of a run's inputs from this extract: the Kaggle files,
    /// ratings from the file named `ratings_name`, and the CPI series file
    /// `cpi_file` (`<series>.csv`).
    pub fn raw_inputs(
        &self,
        ratings_name: &str,
        cpi_file: &str,
    ) -> Result<RawInputs, ExtractError> {
        let key = |name: &str| {
            self.entries
                .iter()
                .find(|e| e.file == name)
                .map(|e| e.key.clone())
                .ok_or_else(|| ExtractError::NotInExtract {
                    extract_id: self.extract_id.clone(),
                    file: name.into(),
                })
        };
        Ok(RawInputs {
            movies: key("movies_metadata.csv")?,
            links: key("links.csv")?,
            ratings: key(ratings_name)?,
            cpi: key(cpi_file)?,
        })
    }
}

/// Downloads the Kaggle dataset and the FRED series and lands them in `raw/`.
pub async fn extract(
    settings: &Settings,
    lake: &Lake,
    extract_id: &str,
) -> Result<Manifest, ExtractError> {
    let x = &settings.extract;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(x.timeout_secs))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| ExtractError::Client(e.to_string()))?;
    let policy = http::RetryPolicy {
        retries: x.retries,
        backoff: Duration::from_millis(x.backoff_ms),
    };
    let tmp = tempfile::Builder::new()
        .prefix("movielens-extract-")
        .tempdir()
        .map_err(|source| ExtractError::Io {
            what: "creating a temporary directory".into(),
            source,
        })?;

    // Kaggle.
    let creds = kaggle::credentials(&x.kaggle_config_dir)?;
    let kaggle_url = kaggle::download_url(&x.kaggle_base_url, &x.kaggle_dataset);
    let zip_path = tmp.path().join("dataset.zip");
    let auth = http::BasicAuth {
        user: &creds.user,
        key: &creds.key,
    };
    match http::download(
        &client,
        &kaggle_url,
        Some(&auth),
        &zip_path,
        &policy,
        "kaggle",
    )
    .await?
    {
        http::Fetched::Done(bytes) => info!(url = kaggle_url, bytes, "downloaded dataset"),
        http::Fetched::Status(status @ (401 | 403)) => {
            return Err(ExtractError::Rejected {
                user: creds.user,
                status,
                url: kaggle_url,
                source_hint: creds.source,
            });
        }
        http::Fetched::Status(404) => {
            return Err(ExtractError::NotFound {
                dataset: x.kaggle_dataset.clone(),
                url: kaggle_url,
            });
        }
        http::Fetched::Status(status) => {
            return Err(ExtractError::Http {
                url: kaggle_url,
                status,
            });
        }
    }
    let kaggle_dir = tmp.path().join("kaggle");
    std::fs::create_dir_all(&kaggle_dir).map_err(|source| ExtractError::Io {
        what: "creating the unzip directory".into(),
        source,
    })?;
    let csvs = kaggle::unzip_csvs(&zip_path, &kaggle_dir)?;

    // FRED.
    let fred_url = fred::download_url(&x.fred_base_url, &x.fred_series, &x.fred_start, &x.fred_end);
    let cpi_path = tmp.path().join(format!("{}.csv", x.fred_series));
    match http::download(&client, &fred_url, None, &cpi_path, &policy, "fred").await? {
        http::Fetched::Done(_) => {}
        http::Fetched::Status(status) => {
            return Err(ExtractError::Http {
                url: fred_url,
                status,
            });
        }
    }
    let months = fred::validate(&cpi_path, &fred_url)?;
    info!(url = fred_url, months, "downloaded CPI series");

    // Land under their checksums: what the lake holds already (from an
    // earlier extract or run) is not uploaded again.
    let mut entries = Vec::new();
    let files = csvs
        .iter()
        .map(|p| (p, &kaggle_url, RAW_KAGGLE))
        .chain(std::iter::once((&cpi_path, &fred_url, RAW_FRED)));
    for (path, url, zone) in files {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let is_ratings = zone == RAW_KAGGLE && file.starts_with("ratings");
        let landed = if is_ratings {
            raw::land_ratings(lake, path, CsvSplit::for_ratings(settings), url).await?
        } else {
            raw::land_file(lake, path, url).await?
        };
        entries.push(ManifestEntry {
            source_url: url.to_string(),
            file,
            key: landed.key,
            bytes: landed.bytes,
            sha256: landed.sha256,
            fetched_at: chrono::Utc::now().to_rfc3339(),
            uploaded: landed.uploaded,
        });
    }
    let manifest = Manifest {
        extract_id: extract_id.into(),
        completed_at: chrono::Utc::now().to_rfc3339(),
        entries,
    };
    let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    lake.put(&format!("raw/_manifests/{extract_id}.json"), json.clone())
        .await?;
    // Last: only now is this extract the one readers see.
    lake.put(MANIFEST_KEY, json).await?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_have_the_official_shapes() {
        assert_eq!(
            kaggle::download_url("https://www.kaggle.com/", "rounakbanik/the-movies-dataset"),
            "https://www.kaggle.com/api/v1/datasets/download/rounakbanik/the-movies-dataset"
        );
        assert_eq!(
            fred::download_url(
                "https://fred.stlouisfed.org",
                "CUSR0000SS62031",
                "1999-01-01",
                ""
            ),
            "https://fred.stlouisfed.org/graph/fredgraph.csv?id=CUSR0000SS62031&cosd=1999-01-01"
        );
    }

    #[test]
    fn world_readable_kaggle_json_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kaggle.json");
        std::fs::write(&path, r#"{"username": "ann", "key": "s3cret"}"#).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        // Only when the environment does not provide credentials.
        if std::env::var("KAGGLE_USERNAME").is_ok() {
            return;
        }
        let err = credentials(dir.path().to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("chmod 600") && !err.contains("s3cret"),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = credentials(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(c.user, "ann");
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
