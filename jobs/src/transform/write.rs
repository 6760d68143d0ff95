//! Writing a step's result: one named parquet file (or fact_rating's shards),
//! with retries, timeouts and our parquet settings.

use std::sync::Arc;

use arrow::array::AsArray;
use arrow::datatypes::UInt64Type;
use datafusion::config::{ParquetColumnOptions, TableParquetOptions};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::SessionContext;
use tracing::{info, warn};

use super::retry::is_retryable;
use super::{Step, TransformError, render, step_error};
use crate::config::Settings;
use crate::lake::{Lake, Published};
use crate::ratings_csv::{RatingsFile, RatingsTable};

/// [`write_table`] with bounded retries and exponential backoff, each logged.
pub(super) async fn write_with_retries(
    ctx: &SessionContext,
    lake: &Lake,
    settings: &Settings,
    file_key: &str,
    step: &Step,
    sql: &str,
) -> Result<u64, TransformError> {
    let retries = settings.engine.step_retries;
    let mut backoff = std::time::Duration::from_millis(settings.engine.retry_backoff_ms);
    let mut attempt = 0;
    loop {
        let secs = settings.engine.step_timeout_secs;
        let attempt_result = tokio::time::timeout(
            std::time::Duration::from_secs(secs),
            write_table(ctx, lake, file_key, step, sql),
        )
        .await
        .unwrap_or(Err(TransformError::Timeout {
            table: step.table,
            file: step.file,
            secs,
        }));
        match attempt_result {
            Ok(rows) => return Ok(rows),
            Err(e) if attempt < retries && is_retryable(&e) => {
                attempt += 1;
                warn!(table = step.table, attempt, of = retries, wait_ms = backoff.as_millis() as u64, error = %e, "step failed; re-submitting");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The one file a (non-sharded) step's table is written to.
pub(super) const SINGLE_FILE: &str = "part-000.parquet";

/// Writes one step's result as the single parquet file `file_key`; returns
/// the row count.
///
/// Always a named file, never a directory for DataFusion to fill: its files
/// are named afresh on every execution, and Ballista re-runs the tasks of an
/// executor it lost, finished ones included. Into a directory, such a re-run
/// adds a second copy of the table beside the first; into a named file, it
/// overwrites it. (Ballista writes a job's output from one task either way.)
pub(super) async fn write_table(
    ctx: &SessionContext,
    lake: &Lake,
    file_key: &str,
    step: &Step,
    sql: &str,
) -> Result<u64, TransformError> {
    let url = lake.url(file_key);
    let fail = step_error(step);
    let batches = ctx
        .sql(sql)
        .await
        .map_err(fail)?
        .write_parquet(&url, DataFrameWriteOptions::new(), Some(parquet_options()))
        .await
        .map_err(fail)?;
    let rows = batches
        .iter()
        .filter_map(|b| b.column(0).as_primitive_opt::<UInt64Type>())
        .map(|c| (0..c.len()).map(|i| c.value(i)).sum::<u64>())
        .sum();
    Ok(rows)
}

/// How tables are encoded. They are set on the parquet format itself, which
/// travels with the plan to the executors; `COPY … OPTIONS (…)` would not:
/// Ballista's plan serialisation drops a COPY's options.
pub(super) fn parquet_options() -> TableParquetOptions {
    let mut options = TableParquetOptions::default();
    // zstd level 1 instead of DataFusion's level 3: at scale 1.0 fact_rating
    // is 7% larger (278 vs 259 MB) and about a second faster to write.
    options.global.compression = Some("zstd(1)".into());
    // fact_rating's integer columns are delta encoded, not dictionary encoded:
    // user_id is sorted within each file, rated_at nearly always distinct, and
    // the movie ids have as many distinct values as there are movies, so the
    // writer's dictionary (a hash lookup per value) was its largest cost and
    // grew with the catalogue. Scale 1: files 8% smaller; scale 4: fact_rating
    // 14-16 s -> 9-11 s, files 4% smaller (docs/performance.md, Benchmark).
    for column in ["user_id", "tmdb_id", "movielens_id", "rated_at"] {
        options.column_specific_options.insert(
            column.into(),
            ParquetColumnOptions {
                dictionary_enabled: Some(false),
                encoding: Some("delta_binary_packed".into()),
                ..Default::default()
            },
        );
    }
    options
}

/// The CSV parts of the staged run's raw ratings: (key, bytes).
pub(super) async fn ratings_parts(
    lake: &Lake,
    staging: &Published,
) -> Result<Vec<(String, u64)>, TransformError> {
    let dir = staging
        .inputs
        .get("ratings")
        .cloned()
        .unwrap_or_else(|| "raw/kaggle/ratings".into());
    Ok(lake
        .list(&dir)
        .await?
        .into_iter()
        .filter(|(k, _)| k.ends_with(".csv"))
        .collect())
}

/// Registers `name` as the ratings in `parts`, read by our own ratings
/// reader (see [`crate::ratings_csv`]); the engine's codecs ship it to the
/// scheduler and executors.
pub(super) fn register_ratings(
    ctx: &SessionContext,
    lake: &Lake,
    name: &str,
    parts: &[(String, u64)],
) -> Result<(), TransformError> {
    let files = parts
        .iter()
        .map(|(key, bytes)| RatingsFile {
            url: lake.url(key),
            bytes: *bytes,
        })
        .collect();
    let table = RatingsTable::new(files);
    ctx.deregister_table(name).ok();
    ctx.register_table(name, Arc::new(table))
        .map_err(|source| TransformError::Register {
            name: name.into(),
            url: parts.first().map(|(k, _)| lake.url(k)).unwrap_or_default(),
            source,
        })?;
    Ok(())
}

/// Writes fact_rating as `engine.fact_write_shards` concurrent jobs, each over
/// its own share of the raw ratings parts and into its own `shard-NNN.parquet`:
/// Ballista writes a job's output from a single task, so one job would funnel
/// 26M rows through one writer. `ctx` is the engine's single-task session:
/// with one partition the writer needs no repartitioning, so each shard job is
/// one task from CSV to parquet and its rows never go to disk in between.
/// Each shard retries on its own.
pub(super) async fn write_sharded(
    ctx: &SessionContext,
    lake: &Lake,
    settings: &Settings,
    staging: &Published,
    key: &str,
    step: &Step,
    params: &[(&str, String)],
) -> Result<u64, TransformError> {
    let parts = ratings_parts(lake, staging).await?;
    let shards = settings
        .engine
        .fact_write_shards
        .clamp(1, parts.len().max(1));
    // Shards of an earlier attempt with another shard count must not survive.
    lake.delete_prefix(key).await?;
    let jobs = (0..shards).map(|k| {
        let mine: Vec<(String, u64)> = parts.iter().skip(k).step_by(shards).cloned().collect();
        async move {
            let name = format!("raw_ratings_shard_{k}");
            register_ratings(ctx, lake, &name, &mine)?;
            let mut params = params.to_vec();
            params.push(("ratings", name));
            let sql = render(step, &params)?;
            // One file per shard, side by side, so the table is one flat folder.
            write_with_retries(
                ctx,
                lake,
                settings,
                &format!("{key}/shard-{k:03}.parquet"),
                step,
                &sql,
            )
            .await
        }
    });
    let rows = futures::future::try_join_all(jobs).await?;
    info!(
        table = step.table,
        shards,
        parts = parts.len(),
        "sharded write done"
    );
    Ok(rows.into_iter().sum())
}
