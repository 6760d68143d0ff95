//! The raw zone, immutable: every landed file is kept under its SHA-256
//! (`raw/objects/<sha256>/<file name>`), and each run records which files it
//! read (`raw/runs/<run_id>/manifest.json`).
//!
//! So a later run never rewrites what an earlier one read: lineage, checks
//! and reports of any run find exactly its inputs, and a file that did not
//! change is not uploaded again. A ratings file lands as a folder of parts
//! (see [`Lake::upload_csv_parts`]) that counts only once its `_COMPLETE`
//! marker is written, so a landing stopped half way is redone, never read.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::info;

use crate::lake::{CsvSplit, Lake, LakeError};

/// Where landed files live, by checksum.
pub const OBJECTS: &str = "raw/objects";

/// Written last in a ratings folder: the parts before it are complete.
pub const COMPLETE_MARKER: &str = "_COMPLETE";

/// One landed input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Landed {
    /// Its lake key (a folder of parts for ratings).
    pub key: String,
    pub bytes: u64,
    pub sha256: String,
    /// Where it came from: a local path or a URL.
    pub source: String,
    /// False when the same content was in the lake already.
    pub uploaded: bool,
}

/// What one run read: input role (`movies`, `links`, `ratings`, `cpi`) →
/// the landed file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    pub run_id: String,
    pub landed_at: String,
    pub inputs: BTreeMap<String, Landed>,
}

/// Where runs record what they read (`<RUNS><run_id>/manifest.json`).
pub const RUNS: &str = "raw/runs/";

pub fn manifest_key(run_id: &str) -> String {
    format!("{RUNS}{run_id}/manifest.json")
}

/// The object folder (`raw/objects/<sha256>`) a landed key is under.
pub fn object_dir(key: &str) -> String {
    let rest = key
        .strip_prefix(OBJECTS)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(key);
    let sha = rest.split('/').next().unwrap_or(rest);
    format!("{OBJECTS}/{sha}")
}

/// SHA-256 of a local file, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

async fn sha256_of(lake: &Lake, path: &Path) -> Result<String, LakeError> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || sha256_file(&owned))
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r)
        .map_err(|source| LakeError::LocalFile {
            root: lake.root().into(),
            file: path.display().to_string(),
            source,
        })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into())
}

/// Lands a local file under its checksum; skips the upload when that
/// content is in the lake already.
pub async fn land_file(lake: &Lake, path: &Path, source: &str) -> Result<Landed, LakeError> {
    let sha256 = sha256_of(lake, path).await?;
    let key = format!("{OBJECTS}/{sha256}/{}", file_name(path));
    // A put is atomic (S3, and the local store's write-then-rename), so an
    // object that exists is whole.
    let uploaded = !lake.exists(&key).await?;
    if uploaded {
        lake.upload_file(path, &key).await?;
    }
    Ok(landed(path, key, sha256, source, uploaded))
}

/// Lands a local ratings file as parts cut by `split` in a folder named by
/// its checksum; skips it when that folder is complete already.
pub async fn land_ratings(
    lake: &Lake,
    path: &Path,
    split: CsvSplit,
    source: &str,
) -> Result<Landed, LakeError> {
    let sha256 = sha256_of(lake, path).await?;
    let name = file_name(path);
    let stem = name.strip_suffix(".csv").unwrap_or(&name);
    let key = format!("{OBJECTS}/{sha256}/{stem}");
    let marker = format!("{key}/{COMPLETE_MARKER}");
    let uploaded = !lake.exists(&marker).await?;
    if uploaded {
        // Parts of an interrupted landing are replaced, never appended to.
        let parts = lake.upload_csv_parts(path, &key, split).await?;
        lake.put(&marker, parts.len().to_string().into_bytes())
            .await?;
    }
    Ok(landed(path, key, sha256, source, uploaded))
}

/// What landing `path` at `key` gave, logged.
fn landed(path: &Path, key: String, sha256: String, source: &str, uploaded: bool) -> Landed {
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    info!(file = %path.display(), key, bytes, uploaded, "landed");
    Landed {
        key,
        bytes,
        sha256,
        source: source.into(),
        uploaded,
    }
}

/// Records what `run_id` read.
pub async fn write_manifest(
    lake: &Lake,
    run_id: &str,
    inputs: BTreeMap<String, Landed>,
) -> Result<RunManifest, LakeError> {
    let manifest = RunManifest {
        run_id: run_id.into(),
        landed_at: chrono::Utc::now().to_rfc3339(),
        inputs,
    };
    lake.write_json(&manifest_key(run_id), &manifest).await?;
    Ok(manifest)
}
