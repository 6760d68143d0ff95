//! The lake: where raw, staged and curated data live, on a local disk or on S3.
//!
//! Layout under the lake root:
//!
//! ```text
//! raw/objects/<sha256>/<file>           every landed file, by checksum (see crate::raw)
//! raw/runs/<run_id>/manifest.json       which landed files a run read
//! staging/runs/<run_id>/<table>/        typed, cleaned parquet (+ rejects), then _RUN.json
//! curated/runs/<run_id>/<table>/        star model and marts, then _RUN.json, _CHECKS.json
//! <zone>/_CURRENT.json                  which run of the zone readers see
//! ```
//!
//! A run writes only under its own run id and records each zone complete
//! (`_RUN.json`) once every table is written; the curated `_CURRENT.json` is
//! replaced (one atomic put) only for a run whose checks passed (see
//! crate::runs), so readers never see a half-written or failed run.

use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::config::Settings;

/// How a CSV file is cut into parts: about `part_bytes` each (header
/// included), and, when it takes more than one, into a multiple of
/// `parts_multiple` parts of equal size. fact_rating's shards each read every
/// `shards`-th part, so with equal parts in such a number every shard has the
/// same work: scale 1's 11 parts of 64 MiB and one of 172 kB gave one shard
/// 2 full parts against the others' 3, and two executors of one task slot
/// then waited on 6 parts' work against 5 (docs/performance.md, change 13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvSplit {
    pub part_bytes: u64,
    pub parts_multiple: usize,
}

impl CsvSplit {
    /// Ratings as `settings` land them: parts of about
    /// `engine.ratings_part_bytes`, as many as a multiple of
    /// `engine.fact_write_shards`.
    pub fn for_ratings(settings: &Settings) -> Self {
        CsvSplit {
            part_bytes: settings.engine.ratings_part_bytes,
            parts_multiple: settings.engine.fact_write_shards,
        }
    }

    /// The size at which a part is cut (the part ends at the first line end
    /// at or past it) for a file of `header_bytes` + `body_bytes`: the body
    /// shared equally among the parts, each with its header.
    pub fn cut_at(&self, header_bytes: u64, body_bytes: u64) -> u64 {
        let per_part_body = self.part_bytes.saturating_sub(header_bytes).max(1);
        let parts = body_bytes.div_ceil(per_part_body).max(1);
        if parts == 1 {
            return self.part_bytes.max(1);
        }
        let multiple = self.parts_multiple.max(1) as u64;
        let parts = parts.div_ceil(multiple) * multiple;
        header_bytes + body_bytes.div_ceil(parts)
    }
}

/// Zones of the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Staging,
    Curated,
}

impl Zone {
    pub fn name(self) -> &'static str {
        match self {
            Zone::Staging => "staging",
            Zone::Curated => "curated",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("lake {root}: {op} {key}: {source}")]
    Store {
        root: String,
        op: &'static str,
        key: String,
        #[source]
        source: Box<object_store::Error>,
    },
    #[error("lake {root}: cannot use local directory {dir}: {source}")]
    LocalDir {
        root: String,
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error("lake {root}: bad S3 location (expected s3://bucket/prefix): {source}")]
    S3Config {
        root: String,
        #[source]
        source: Box<object_store::Error>,
    },
    #[error("lake {root}: {reason}")]
    BadPrefix { root: String, reason: String },
    #[error("lake {root}: reading local file {file}: {source}")]
    LocalFile {
        root: String,
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "lake {root}: no published {zone} run ({key} is missing); run `movielens {hint}` first"
    )]
    NothingPublished {
        root: String,
        zone: &'static str,
        key: String,
        hint: &'static str,
    },
    #[error("lake {root}: {key} is not valid JSON of its kind: {source}")]
    BadPointer {
        root: String,
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

pub type Result<T, E = LakeError> = std::result::Result<T, E>;

/// What a zone's `_CURRENT.json` says: the published run and its tables.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Published {
    pub run_id: String,
    pub published_at: String,
    /// Table name → row count.
    pub tables: BTreeMap<String, u64>,
    /// Inputs the run read (name → lake key), for lineage and for the next stage.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
}

/// The file in a run's folder that says the run is complete (a [`Published`]).
pub const RUN_RECORD: &str = "_RUN.json";

/// A handle on the lake root.
#[derive(Clone)]
pub struct Lake {
    /// As configured, for messages: `lake` or `s3://bucket/prefix`.
    root: String,
    /// URL DataFusion uses for the root, without trailing slash.
    url: String,
    /// Prefix of every key inside `store`.
    prefix: Path,
    store: Arc<dyn ObjectStore>,
    /// Set for S3 lakes: `s3://bucket`, the URL the store is registered under.
    s3_bucket_url: Option<String>,
}

impl std::fmt::Debug for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lake").field("root", &self.root).finish()
    }
}

impl Lake {
    /// Opens the lake named by `settings.lake`, creating a local root if needed.
    pub fn open(settings: &Settings) -> Result<Self> {
        let root = settings.lake.trim_end_matches('/').to_string();
        if let Some(rest) = root.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            // S3 keys could hold anything, but the lake's URLs must survive
            // DataFusion's URL parsing on every process unchanged.
            if let Some(bad) = prefix
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-')))
            {
                return Err(LakeError::BadPrefix {
                    root: root.clone(),
                    reason: format!(
                        "the prefix holds {bad:?}; use only A-Z a-z 0-9 / . _ - in an s3:// lake prefix"
                    ),
                });
            }
            let store = s3_store(settings, bucket).map_err(|source| LakeError::S3Config {
                root: root.clone(),
                source: Box::new(source),
            })?;
            return Ok(Self {
                url: root.clone(),
                prefix: Path::from(prefix),
                store: Arc::new(store),
                s3_bucket_url: Some(format!("s3://{bucket}")),
                root,
            });
        }
        let dir = PathBuf::from(root.strip_prefix("file://").unwrap_or(&root));
        std::fs::create_dir_all(&dir).map_err(|source| LakeError::LocalDir {
            root: root.clone(),
            dir: dir.display().to_string(),
            source,
        })?;
        let dir = std::fs::canonicalize(&dir).map_err(|source| LakeError::LocalDir {
            root: root.clone(),
            dir: dir.display().to_string(),
            source,
        })?;
        let store =
            LocalFileSystem::new_with_prefix(&dir).map_err(|source| LakeError::S3Config {
                root: root.clone(),
                source: Box::new(source),
            })?;
        // Percent-encoded: DataFusion parses table locations as URLs, so a
        // '%', '#', '?' or space in the directory must not be read as syntax.
        let url = url::Url::from_directory_path(&dir)
            .map(|u| u.as_str().trim_end_matches('/').to_string())
            .map_err(|()| LakeError::LocalDir {
                root: root.clone(),
                dir: dir.display().to_string(),
                source: std::io::Error::other("not an absolute path"),
            })?;
        Ok(Self {
            url,
            prefix: Path::default(),
            store: Arc::new(store),
            s3_bucket_url: None,
            root,
        })
    }

    /// The lake root as configured.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The object store holding the lake, and the bucket URL to register it under
    /// (None for a local lake: DataFusion knows `file://` already).
    pub fn store_registration(&self) -> Option<(String, Arc<dyn ObjectStore>)> {
        self.s3_bucket_url
            .clone()
            .map(|url| (url, Arc::clone(&self.store)))
    }

    /// URL of a key (file or directory) for DataFusion.
    pub fn url(&self, key: &str) -> String {
        format!("{}/{}", self.url, key.trim_start_matches('/'))
    }

    /// The store and full path of a key, for readers that stream from it
    /// (parquet files read row group by row group).
    pub fn object(&self, key: &str) -> (Arc<dyn ObjectStore>, Path) {
        (Arc::clone(&self.store), self.path(key))
    }

    fn path(&self, key: &str) -> Path {
        let key = Path::from(key);
        self.prefix.parts().chain(key.parts()).collect()
    }

    fn store_err(
        &self,
        op: &'static str,
        key: &str,
    ) -> impl FnOnce(object_store::Error) -> LakeError {
        let root = self.root.clone();
        let key = key.to_string();
        move |source| LakeError::Store {
            root,
            op,
            key,
            source: Box::new(source),
        }
    }

    /// Key of a table of `run_id` in `zone`.
    pub fn table_key(zone: Zone, run_id: &str, table: &str) -> String {
        format!("{}/runs/{run_id}/{table}", zone.name())
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.store
            .put(&self.path(key), PutPayload::from(bytes))
            .await
            .map_err(self.store_err("writing", key))?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Bytes> {
        let result = self
            .store
            .get(&self.path(key))
            .await
            .map_err(self.store_err("reading", key))?;
        result.bytes().await.map_err(self.store_err("reading", key))
    }

    /// Streams the object at `key` into the local file `local`, never holding
    /// it whole in memory; returns its size.
    pub async fn download_file(&self, key: &str, local: &FsPath) -> Result<u64> {
        use tokio::io::AsyncWriteExt;
        let local_err = |source| LakeError::LocalFile {
            root: self.root.clone(),
            file: local.display().to_string(),
            source,
        };
        let result = self
            .store
            .get(&self.path(key))
            .await
            .map_err(self.store_err("reading", key))?;
        let mut stream = result.into_stream();
        let mut file = tokio::fs::File::create(local).await.map_err(local_err)?;
        let mut total = 0u64;
        while let Some(chunk) = stream
            .try_next()
            .await
            .map_err(self.store_err("reading", key))?
        {
            file.write_all(&chunk).await.map_err(local_err)?;
            total += chunk.len() as u64;
        }
        file.flush().await.map_err(local_err)?;
        Ok(total)
    }

    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self.store.head(&self.path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.store_err("checking", key)(e)),
        }
    }

    /// Keys (relative to the lake root) and sizes of every object under `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        let base = self.path(prefix);
        let skip = self.prefix.parts().count();
        let metas: Vec<_> = self
            .store
            .list(Some(&base))
            .try_collect()
            .await
            .map_err(self.store_err("listing", prefix))?;
        let mut out: Vec<_> = metas
            .into_iter()
            .map(|m| {
                let key: Vec<_> = m
                    .location
                    .parts()
                    .skip(skip)
                    .map(|p| p.as_ref().to_string())
                    .collect();
                (key.join("/"), m.size)
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// Writes `bytes` at `key` only if no object is there; false if one is
    /// (S3's conditional put, a create-exclusive on a local lake).
    pub async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<bool> {
        let opts = object_store::PutOptions {
            mode: object_store::PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&self.path(key), PutPayload::from(bytes), opts)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(self.store_err("creating", key)(e)),
        }
    }

    /// The JSON at `key` and the version it was read at (for
    /// [`Lake::put_if_version`]); `None` when there is no such object.
    pub async fn read_json_versioned<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<(T, object_store::UpdateVersion)>> {
        let result = match self.store.get(&self.path(key)).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.store_err("reading", key)(e)),
        };
        let version = object_store::UpdateVersion {
            e_tag: result.meta.e_tag.clone(),
            version: result.meta.version.clone(),
        };
        let bytes = result
            .bytes()
            .await
            .map_err(self.store_err("reading", key))?;
        let value = serde_json::from_slice(&bytes).map_err(|source| LakeError::BadPointer {
            root: self.root.clone(),
            key: key.to_string(),
            source,
        })?;
        Ok(Some((value, version)))
    }

    /// Replaces the object at `key` only if it is still at `version`; false
    /// if someone changed or removed it since (S3's `If-Match`).
    pub async fn put_if_version(
        &self,
        key: &str,
        bytes: Vec<u8>,
        version: object_store::UpdateVersion,
    ) -> Result<bool> {
        let opts = object_store::PutOptions {
            mode: object_store::PutMode::Update(version),
            ..Default::default()
        };
        match self
            .store
            .put_opts(&self.path(key), PutPayload::from(bytes), opts)
            .await
        {
            Ok(_) => Ok(true),
            Err(
                object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. },
            ) => Ok(false),
            Err(e) => Err(self.store_err("replacing", key)(e)),
        }
    }

    /// Deletes the object at `key` (no error if it is gone already).
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.store_err("deleting", key)(e)),
        }
    }

    /// The directory of a local lake; `None` on S3.
    pub fn local_dir(&self) -> Option<PathBuf> {
        if self.s3_bucket_url.is_some() {
            return None;
        }
        url::Url::parse(&self.url).ok()?.to_file_path().ok()
    }

    /// Deletes every object under `prefix` (used to clear a run's half-written table
    /// before it is rewritten, so a retry never duplicates rows).
    pub async fn delete_prefix(&self, prefix: &str) -> Result<usize> {
        let keys = self.list(prefix).await?;
        for (key, _) in &keys {
            self.store
                .delete(&self.path(key))
                .await
                .map_err(self.store_err("deleting", key))?;
        }
        // A local store leaves the emptied folders behind; S3 has none.
        if let Some(dir) = self.local_dir() {
            remove_empty_dirs(&dir.join(prefix.trim_end_matches('/')));
        }
        Ok(keys.len())
    }

    /// Streams a local file into the lake in 8 MiB parts (multipart on S3), never
    /// holding the whole file in memory.
    pub async fn upload_file(&self, local: &FsPath, key: &str) -> Result<u64> {
        let local_err = |source| LakeError::LocalFile {
            root: self.root.clone(),
            file: local.display().to_string(),
            source,
        };
        let mut file = tokio::fs::File::open(local).await.map_err(local_err)?;
        let upload = self
            .store
            .put_multipart(&self.path(key))
            .await
            .map_err(self.store_err("starting upload of", key))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, 8 << 20);
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let n = match file.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(local_err(e));
                }
            };
            if n == 0 {
                break;
            }
            writer
                .wait_for_capacity(4)
                .await
                .map_err(self.store_err("uploading", key))?;
            writer.write(&buf[..n]);
            total += n as u64;
        }
        writer
            .finish()
            .await
            .map_err(self.store_err("finishing upload of", key))?;
        Ok(total)
    }

    /// Lands a CSV file as parts under `dir_key` (`part-00000.csv`, …), as
    /// many and as large as `split` says, each starting with the file's header,
    /// cut at line ends (fine for ratings: no quoted line breaks). Parts left
    /// from an earlier landing are deleted first, so a rerun never duplicates
    /// rows. Memory stays bounded by one part. Returns (key, bytes) per part.
    pub async fn upload_csv_parts(
        &self,
        local: &FsPath,
        dir_key: &str,
        split: CsvSplit,
    ) -> Result<Vec<(String, u64)>> {
        use tokio::io::AsyncBufReadExt;
        let local_err = |source| LakeError::LocalFile {
            root: self.root.clone(),
            file: local.display().to_string(),
            source,
        };
        let file = tokio::fs::File::open(local).await.map_err(local_err)?;
        let mut reader = tokio::io::BufReader::with_capacity(1 << 20, file);
        let mut header = Vec::new();
        reader
            .read_until(b'\n', &mut header)
            .await
            .map_err(local_err)?;
        self.delete_prefix(dir_key).await?;
        let size = tokio::fs::metadata(local).await.ok().map(|m| m.len());
        let header_bytes = header.len() as u64;
        let body_bytes = size.unwrap_or(0).saturating_sub(header_bytes);
        let cut_at = split.cut_at(header_bytes, body_bytes);
        let bar = crate::progress::bar(
            size,
            &format!("land {dir_key}"),
            crate::progress::Unit::Bytes,
        );
        let mut parts = Vec::new();
        let mut line = Vec::new();
        let mut buf = header.clone();
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .await
                .map_err(local_err)?;
            if n > 0 {
                buf.extend_from_slice(&line);
            }
            let full = buf.len() as u64 >= cut_at;
            if (n == 0 && (buf.len() > header.len() || parts.is_empty())) || full {
                let key = format!("{dir_key}/part-{:05}.csv", parts.len());
                let len = buf.len() as u64;
                self.put(&key, std::mem::replace(&mut buf, header.clone()))
                    .await?;
                parts.push((key, len));
                bar.inc(len);
            }
            if n == 0 {
                bar.finish_and_clear();
                return Ok(parts);
            }
        }
    }

    fn pointer_key(zone: Zone) -> String {
        format!("{}/_CURRENT.json", zone.name())
    }

    /// Makes `published` the run readers of `zone` see. Called only after every
    /// table of the run is complete.
    pub async fn publish(&self, zone: Zone, published: &Published) -> Result<()> {
        self.write_json(&Self::pointer_key(zone), published).await
    }

    fn run_record_key(zone: Zone, run_id: &str) -> String {
        format!(
            "{}/{RUN_RECORD}",
            Self::table_key(zone, run_id, "").trim_end_matches('/')
        )
    }

    /// Records that every table of `run` in `zone` is written: the run can be
    /// read by its id (checked, published, diagnosed) whatever is published.
    pub async fn record_run(&self, zone: Zone, run: &Published) -> Result<()> {
        self.write_json(&Self::run_record_key(zone, &run.run_id), run)
            .await
    }

    /// The record of `run_id` in `zone`; `None` if the run never completed
    /// there (it never started, or was stopped half way).
    pub async fn run(&self, zone: Zone, run_id: &str) -> Result<Option<Published>> {
        let key = Self::run_record_key(zone, run_id);
        self.read_json(&key).await
    }

    /// The ids of every run with a folder in `zone`, complete or not, sorted.
    pub async fn run_ids(&self, zone: Zone) -> Result<Vec<String>> {
        self.folders_under(&format!("{}/runs/", zone.name())).await
    }

    /// The names of the folders right under `prefix` (ending in `/`), sorted.
    pub async fn folders_under(&self, prefix: &str) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .list(prefix)
            .await?
            .into_iter()
            .filter_map(|(key, _)| {
                let rest = key.strip_prefix(prefix)?;
                let (folder, _) = rest.split_once('/')?;
                Some(folder.to_string())
            })
            .collect();
        // list() is sorted, so a folder's keys are adjacent.
        names.dedup();
        Ok(names)
    }

    /// The run `_CURRENT.json` of `zone` names, if any run was published.
    pub async fn published_id(&self, zone: Zone) -> Result<Option<String>> {
        match self.current(zone).await {
            Ok(p) => Ok(Some(p.run_id)),
            Err(LakeError::NothingPublished { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `value` as JSON at `key`.
    pub async fn write_json<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        let json = serde_json::to_vec_pretty(value).expect("value serialises");
        self.put(key, json).await
    }

    /// Reads the JSON at `key`; `None` when there is no such object.
    pub async fn read_json<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        Ok(self.read_json_versioned(key).await?.map(|(value, _)| value))
    }

    /// The run readers of `zone` see.
    pub async fn current(&self, zone: Zone) -> Result<Published> {
        let key = Self::pointer_key(zone);
        self.read_json(&key)
            .await?
            .ok_or_else(|| LakeError::NothingPublished {
                root: self.root.clone(),
                zone: zone.name(),
                key,
                hint: match zone {
                    Zone::Staging => "stage",
                    Zone::Curated => "transform",
                },
            })
    }
}

/// Removes `dir` and the folders under it that hold no file, deepest first.
fn remove_empty_dirs(dir: &FsPath) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_empty_dirs(&entry.path());
        }
    }
    // Fails (and is meant to) when something is still inside.
    let _ = std::fs::remove_dir(dir);
}

fn s3_store(
    settings: &Settings,
    bucket: &str,
) -> object_store::Result<object_store::aws::AmazonS3> {
    let s3 = &settings.s3;
    // from_env picks up AWS_* variables and, with nothing set, the instance profile.
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_region(&s3.region)
        .with_allow_http(s3.allow_http);
    if !s3.endpoint.is_empty() {
        builder = builder
            .with_endpoint(&s3.endpoint)
            .with_virtual_hosted_style_request(false);
    }
    if !s3.access_key_id.is_empty() {
        builder = builder
            .with_access_key_id(&s3.access_key_id)
            .with_secret_access_key(s3.secret_access_key.expose());
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local_lake(dir: &FsPath) -> Lake {
        let mut s = Settings::load(None).unwrap();
        s.lake = dir.display().to_string();
        Lake::open(&s).unwrap()
    }

    fn split(part_bytes: u64, parts_multiple: usize) -> CsvSplit {
        CsvSplit {
            part_bytes,
            parts_multiple,
        }
    }

    #[test]
    fn a_split_rounds_the_part_count_up_to_its_multiple_in_equal_parts() {
        // Scale 1's 738,370,001 body bytes took 11 parts of 64 MiB and one of
        // 172 kB; for 4 shards (or for 5: 15) the parts are equal.
        let (header, body) = (33, 738_370_001);
        let cut = split(64 << 20, 4).cut_at(header, body);
        assert_eq!(cut, header + body.div_ceil(12));
        assert_eq!(
            split(64 << 20, 5).cut_at(header, body),
            header + body.div_ceil(15)
        );
        // 9.5 parts' worth on 4 shards: 12 parts.
        let body = 19 * ((1 << 20) - header) / 2;
        assert_eq!(
            split(1 << 20, 4).cut_at(header, body),
            header + body.div_ceil(12)
        );
        // A file that fits one part stays one part, whatever the multiple.
        assert_eq!(split(64 << 20, 4).cut_at(header, 1000), 64 << 20);
        // Exactly 8 parts' worth on 4 shards stays 8.
        let eight = 8 * ((1 << 20) - header);
        assert_eq!(split(1 << 20, 4).cut_at(header, eight), header + eight / 8);
    }

    #[tokio::test]
    async fn csv_parts_for_shards_come_in_a_multiple_of_about_equal_size() {
        let dir = tempfile::tempdir().unwrap();
        let lake = local_lake(&dir.path().join("lake"));
        let (src, body) = ratings_csv(dir.path(), "\n", |i| format!("{i:04},1,3.5,100"));
        // 15,000 body bytes in parts of 3,000 take 6 parts; for 4 shards, 8.
        let parts = lake
            .upload_csv_parts(&src, "raw/r", split(3000, 4))
            .await
            .unwrap();
        assert_eq!(parts.len(), 8, "{parts:?}");
        let sizes: Vec<u64> = parts.iter().map(|(_, n)| *n).collect();
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        // Equal but for the last part, short of at most one line per part.
        assert!(max - min <= 8 * 15, "{sizes:?}");
        assert_parts_hold(&lake, &parts, "userId,movieId,rating,timestamp\n", &body).await;
    }

    /// `dir/ratings.csv`: the header and 1000 lines `line(i)`, each ended by
    /// `eol`; returns its path and the lines after the header.
    fn ratings_csv(dir: &FsPath, eol: &str, line: impl Fn(usize) -> String) -> (PathBuf, String) {
        let src = dir.join("ratings.csv");
        let body: String = (0..1000).map(|i| format!("{}{eol}", line(i))).collect();
        std::fs::write(&src, format!("userId,movieId,rating,timestamp{eol}{body}")).unwrap();
        (src, body)
    }

    /// Every part starts with `header`, and the parts' other lines are
    /// `body`'s, each once and in order.
    async fn assert_parts_hold(lake: &Lake, parts: &[(String, u64)], header: &str, body: &str) {
        let mut lines = Vec::new();
        for (key, _) in parts {
            let text = String::from_utf8(lake.get(key).await.unwrap().to_vec()).unwrap();
            let mut it = text.split_inclusive('\n');
            assert_eq!(it.next(), Some(header), "{key}");
            lines.extend(it.map(str::to_string));
        }
        assert_eq!(lines.concat(), body);
    }

    #[tokio::test]
    async fn publish_is_what_current_reads_and_missing_pointer_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let lake = local_lake(dir.path());
        let err = lake.current(Zone::Curated).await.unwrap_err().to_string();
        assert!(err.contains("movielens transform"), "{err}");
        let p = Published {
            run_id: "r1".into(),
            published_at: "now".into(),
            tables: [("dim_movie".to_string(), 3)].into(),
            inputs: Default::default(),
        };
        lake.publish(Zone::Curated, &p).await.unwrap();
        assert_eq!(lake.current(Zone::Curated).await.unwrap(), p);
    }

    #[tokio::test]
    async fn csv_parts_keep_every_line_once_and_replace_earlier_parts() {
        let dir = tempfile::tempdir().unwrap();
        let lake = local_lake(&dir.path().join("lake"));
        let (src, body) = ratings_csv(dir.path(), "\r\n", |i| format!("{i},1,3.5,100"));
        let parts = lake
            .upload_csv_parts(&src, "raw/r", split(1000, 1))
            .await
            .unwrap();
        assert!(parts.len() > 5, "{parts:?}");
        assert_parts_hold(&lake, &parts, "userId,movieId,rating,timestamp\r\n", &body).await;
        // Landing again with bigger parts leaves no stale part behind.
        let again = lake
            .upload_csv_parts(&src, "raw/r", split(1 << 20, 1))
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(lake.list("raw/r").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn upload_list_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let lake = local_lake(&dir.path().join("lake"));
        let src = dir.path().join("big.bin");
        std::fs::write(&src, vec![7u8; 9 << 20]).unwrap();
        assert_eq!(
            lake.upload_file(&src, "raw/x/big.bin").await.unwrap(),
            9 << 20
        );
        lake.put("raw/x/small", b"abc".to_vec()).await.unwrap();
        let listed = lake.list("raw/x").await.unwrap();
        assert_eq!(
            listed,
            vec![("raw/x/big.bin".into(), 9 << 20), ("raw/x/small".into(), 3)]
        );
        assert_eq!(lake.get("raw/x/small").await.unwrap().as_ref(), b"abc");
        assert_eq!(lake.delete_prefix("raw/x").await.unwrap(), 2);
        assert!(!lake.exists("raw/x/small").await.unwrap());
    }
}
