//! Writing a step's result: one named parquet file (or fact_rating's shards),
//! with retries, timeouts and our parquet settings.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::AsArray;
use arrow::datatypes::UInt64Type;
use datafusion::config::{ParquetColumnOptions, TableParquetOptions};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::prelude::SessionContext;
use tracing::{info, warn};

use super::registry::{register_side_table, side_table_key};
use super::retry::is_retryable;
use super::steps::{
    GENRE_MASK_BY_MOVIELENS_ID, RATINGS_PER_FILE, SIDE_TABLES, SideTable, SideWrite,
    USER_GENRE_MASKS,
};
use super::{Step, TransformError, render, step_error, valid_rating};
use crate::config::Settings;
use crate::lake::{Lake, Published, Zone};
use crate::ratings_csv::{PerIdSums, RatingsFile, RatingsTable, UserMaskFiles};

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
    //
    // These columns are also left uncompressed: after delta bit-packing zstd
    // found only 3% more to save in them and cost about a tenth of the
    // transform's CPU. The movie ids keep no min/max statistics: every row
    // group holds ratings of nearly every movie, so their ranges prune
    // nothing, and computing them per page was the writer's next cost. user_id
    // keeps its statistics; the duplicate-ratings check prunes by them.
    // These options go by column name to every table written; the others
    // holding these columns are one small file each, where the statistics
    // would prune nothing either.
    // Scale 1, 8 interleaved rounds: wall 3.0-3.2 -> 2.6-2.9 s, CPU 5.4-5.7
    // -> 4.7-5.1 s, fact_rating 268 -> 276 MB (docs/performance.md, change 6).
    for column in ["user_id", "tmdb_id", "movielens_id", "rated_at"] {
        let prunes_nothing = matches!(column, "tmdb_id" | "movielens_id");
        options.column_specific_options.insert(
            column.into(),
            ParquetColumnOptions {
                dictionary_enabled: Some(false),
                encoding: Some("delta_binary_packed".into()),
                compression: Some("uncompressed".into()),
                statistics_enabled: prunes_nothing.then(|| "none".into()),
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
/// reader (see [`crate::ratings_csv`]), its scans writing per-id sums when
/// `per_id` says where; the engine's codecs ship it to the scheduler and
/// executors.
pub(super) fn register_ratings(
    ctx: &SessionContext,
    lake: &Lake,
    name: &str,
    parts: &[(String, u64)],
    per_id: Option<PerIdSums>,
) -> Result<(), TransformError> {
    let files = parts
        .iter()
        .map(|(key, bytes)| RatingsFile {
            url: lake.url(key),
            bytes: *bytes,
        })
        .collect();
    let table = RatingsTable::new(files).with_per_id_sums(per_id);
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
///
/// The [`SIDE_TABLES`] are written here too, each in its own folder of the
/// run. [`GENRE_MASK_BY_MOVIELENS_ID`] first, by its SQL: the scans read it.
/// Then each shard's scan writes, as `shard-NNN.parquet`, the per-id sums
/// ([`RATINGS_PER_FILE`]) and the users' genre masks ([`USER_GENRE_MASKS`])
/// of its parts; a shard left without them has its parts run through their
/// SQL.
pub(super) async fn write_sharded(
    ctx: &SessionContext,
    lake: &Lake,
    settings: &Settings,
    staging: &Published,
    run_id: &str,
    step: &Step,
    params: &[(&str, String)],
) -> Result<u64, TransformError> {
    let key = Lake::table_key(Zone::Curated, run_id, step.table);
    let parts = ratings_parts(lake, staging).await?;
    let shards = settings
        .engine
        .fact_write_shards
        .clamp(1, parts.len().max(1));
    // Shards of an earlier attempt with another shard count must not survive,
    // nor side tables of another attempt's shards.
    lake.delete_prefix(&key).await?;
    for side in SIDE_TABLES {
        lake.delete_prefix(&side_table_key(run_id, side)).await?;
    }
    let masks = GENRE_MASK_BY_MOVIELENS_ID;
    let masks_file = format!("{}/{SINGLE_FILE}", side_table_key(run_id, &masks));
    let masks_step = masks.as_step();
    let masks_sql = render(&masks_step, params)?;
    write_with_retries(ctx, lake, settings, &masks_file, &masks_step, &masks_sql).await?;
    register_side_table(ctx, lake, run_id, &masks).await?;
    let rule = valid_rating::RatingRule::for_staging(&staging.published_at);
    let shards: Vec<Shard> = (0..shards)
        .map(|k| Shard {
            name: format!("shard-{k:03}.parquet"),
            parts: parts.iter().skip(k).step_by(shards).cloned().collect(),
        })
        .collect();
    let side_file = |side: &SideTable, shard: &Shard| {
        store_path(
            lake,
            &format!("{}/{}", side_table_key(run_id, side), shard.name),
        )
    };
    let jobs = shards.iter().enumerate().map(|(k, shard)| {
        let (key, masks_file) = (&key, &masks_file);
        async move {
            let per_id = PerIdSums {
                out: side_file(&RATINGS_PER_FILE, shard)?,
                rule,
                user_masks: Some(UserMaskFiles {
                    genre_masks: store_path(lake, masks_file)?,
                    out: side_file(&USER_GENRE_MASKS, shard)?,
                }),
            };
            let name = format!("raw_ratings_shard_{k}");
            register_ratings(ctx, lake, &name, &shard.parts, Some(per_id))?;
            let mut params = params.to_vec();
            params.push(("ratings", name));
            let sql = render(step, &params)?;
            // One file per shard, side by side, so the table is one flat folder.
            write_with_retries(
                ctx,
                lake,
                settings,
                &format!("{key}/{}", shard.name),
                step,
                &sql,
            )
            .await
        }
    });
    let rows = futures::future::try_join_all(jobs).await?;
    info!(
        table = step.table,
        shards = shards.len(),
        parts = parts.len(),
        "sharded write done"
    );
    for side in SIDE_TABLES {
        if side.written == SideWrite::ByEachScan {
            write_shards_left_unwritten(ctx, lake, settings, &shards, run_id, side, params).await?;
        }
    }
    Ok(rows.into_iter().sum())
}

/// One of fact_rating's shards: the raw ratings parts it reads, and the name
/// of its fact file and of its files of each side table.
struct Shard {
    name: String,
    parts: Vec<(String, u64)>,
}

/// `key`'s path in the lake's object store, as the executors' scans use it.
fn store_path(lake: &Lake, key: &str) -> Result<String, TransformError> {
    let url = lake.url(key);
    let parsed = ListingTableUrl::parse(&url).map_err(|source| TransformError::Register {
        name: key.into(),
        url: url.clone(),
        source,
    })?;
    Ok(parsed.prefix().to_string())
}

/// Writes, with `side`'s SQL, its file of every shard whose scan did not
/// write it. A scan writes them only once it has read its files to the end,
/// and DataFusion may stop reading early: a join whose other side is empty
/// (no rating reaches a movie) has no use for the ratings. Normally none is
/// missing, and this only lists the folder.
async fn write_shards_left_unwritten(
    ctx: &SessionContext,
    lake: &Lake,
    settings: &Settings,
    shards: &[Shard],
    run_id: &str,
    side: &SideTable,
    params: &[(&str, String)],
) -> Result<(), TransformError> {
    let folder = side_table_key(run_id, side);
    let written: BTreeSet<String> = lake
        .list(&folder)
        .await?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let step = side.as_step();
    for shard in shards {
        let file = format!("{folder}/{}", shard.name);
        if written.contains(&file) {
            continue;
        }
        warn!(
            shard = shard.name,
            parts = shard.parts.len(),
            file,
            "no {} from the fact's scan; running {} over the shard's parts",
            side.name,
            step.file
        );
        let name = "raw_ratings_unscanned";
        register_ratings(ctx, lake, name, &shard.parts, None)?;
        let mut params = params.to_vec();
        params.push(("ratings", name.to_string()));
        let sql = render(&step, &params)?;
        write_with_retries(ctx, lake, settings, &file, &step, &sql).await?;
    }
    Ok(())
}
