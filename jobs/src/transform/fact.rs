//! fact_rating: the raw ratings read once, every rating classified, written
//! by concurrent single-task jobs.
//!
//! Parsing the ratings CSV is the costliest thing the transform does, so it
//! happens once for two tables. `fact_rating.sql` gives every rating its
//! outcome (mapped, or why not); each shard job writes its rows partitioned by
//! outcome under `unmapped_rating/shard=NNN/outcome=…/`, then moves the
//! `outcome=mapped` files into `fact_rating/`. What stays behind are the
//! ratings that reach no movie: `rating_mapping` counts them with fact_rating,
//! and they are kept in the run for anyone asking why a rating is missing.
//!
//! Why shards: Ballista writes a job's output from a single task, so one job
//! would funnel every row through one writer. Each shard is one job over its
//! own share of the raw ratings parts, planned with one partition so the job
//! is a single task from CSV to parquet with no shuffle in between; running
//! `engine.fact_write_shards` of them at once keeps every core busy.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use tracing::info;

use super::{Step, TransformError, ratings_schema, render, with_retries, write_table};
use crate::config::Settings;
use crate::lake::{Lake, Published, Zone};

/// Where the ratings that reach no movie stay, partitioned by shard and outcome.
pub const UNMAPPED: &str = "unmapped_rating";

/// The folder under each shard's output that holds its fact rows.
const MAPPED_FOLDER: &str = "outcome=mapped";

/// The columns of fact_rating, as `fact_rating.sql` returns them before the
/// outcome column.
fn fact_schema() -> Schema {
    Schema::new(vec![
        Field::new("user_id", DataType::Int64, true),
        Field::new("tmdb_id", DataType::Int64, true),
        Field::new("movielens_id", DataType::Int64, true),
        Field::new("rating", DataType::Float64, true),
        Field::new(
            "rated_at",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            true,
        ),
    ])
}

/// Writes fact_rating and unmapped_rating for `run_id`; returns fact_rating's
/// row count. Each shard retries on its own.
pub(super) async fn write_fact_rating(
    ctx: &SessionContext,
    lake: &Lake,
    settings: &Settings,
    staging: &Published,
    run_id: &str,
    step: &Step,
    params: &[(&str, String)],
) -> Result<u64, TransformError> {
    let parts = ratings_parts(lake, staging).await?;
    let shards = settings
        .engine
        .fact_write_shards
        .clamp(1, parts.len().max(1));
    let fact_key = Lake::table_key(Zone::Curated, run_id, step.table);
    let unmapped_key = Lake::table_key(Zone::Curated, run_id, UNMAPPED);
    // What an earlier attempt wrote, maybe with another shard count, must go.
    lake.delete_prefix(&fact_key).await?;
    lake.delete_prefix(&unmapped_key).await?;

    let partitions = ctx.state().config().target_partitions();
    set_target_partitions(ctx, step, 1).await?;
    let jobs = (0..shards).map(|k| {
        let mine: Vec<String> = parts.iter().skip(k).step_by(shards).cloned().collect();
        let (fact_key, unmapped_key) = (&fact_key, &unmapped_key);
        async move {
            let name = format!("raw_ratings_shard_{k}");
            register_ratings(ctx, lake, &name, &mine)?;
            let mut params = params.to_vec();
            params.push(("ratings", name));
            let sql = render(step, &params)?;
            with_retries(settings, step, || {
                write_shard(ctx, lake, step, &sql, k, fact_key, unmapped_key)
            })
            .await
        }
    });
    let read = futures::future::try_join_all(jobs).await;
    set_target_partitions(ctx, step, partitions).await?;
    let read: u64 = read?.into_iter().sum();

    if lake.list(&fact_key).await?.is_empty() {
        // Not one rating reached a movie: an empty table, not a missing one.
        let sql = format!(
            "SELECT user_id, tmdb_id, movielens_id, rating, rated_at FROM ({}) WHERE false",
            render(
                step,
                &[params, &[("ratings", "raw_ratings".to_string())]].concat()
            )?
        );
        write_table(
            ctx,
            lake,
            &format!("{fact_key}/empty.parquet"),
            step,
            &sql,
            &[],
        )
        .await?;
    }
    let mapped = count_rows(lake, step, &fact_key).await?;
    info!(
        table = step.table,
        shards,
        parts = parts.len(),
        ratings_read = read,
        mapped,
        "sharded write done"
    );
    Ok(mapped)
}

/// One shard's attempt: classify and write its ratings, then move the mapped
/// files into fact_rating. It first removes what an earlier attempt of the same
/// shard left, in both places, so a retry never duplicates rows.
async fn write_shard(
    ctx: &SessionContext,
    lake: &Lake,
    step: &Step,
    sql: &str,
    shard: usize,
    fact_key: &str,
    unmapped_key: &str,
) -> Result<u64, TransformError> {
    let moved_prefix = format!("shard-{shard:03}-");
    for (key, _) in lake.list(fact_key).await? {
        if key
            .rsplit('/')
            .next()
            .is_some_and(|f| f.starts_with(&moved_prefix))
        {
            lake.delete(&key).await?;
        }
    }
    let out = format!("{unmapped_key}/shard={shard:03}");
    let rows = write_table(ctx, lake, &out, step, sql, &["outcome"]).await?;
    let mapped = lake.list(&format!("{out}/{MAPPED_FOLDER}")).await?;
    for (i, (key, _)) in mapped.iter().enumerate() {
        lake.rename(key, &format!("{fact_key}/{moved_prefix}{i:03}.parquet"))
            .await?;
    }
    Ok(rows)
}

/// Rows of the parquet table under `key`, from the files' footers (read by
/// this process: no job needed for that).
async fn count_rows(lake: &Lake, step: &Step, key: &str) -> Result<u64, TransformError> {
    let url = lake.url(key) + "/";
    let runtime =
        crate::engine::runtime_for_lake(lake).map_err(|source| TransformError::Register {
            name: step.table.into(),
            url: url.clone(),
            source,
        })?;
    let local = SessionContext::new_with_config_rt(Default::default(), runtime);
    let fail = |source| TransformError::Step {
        table: step.table,
        file: step.file,
        source,
    };
    let table = local
        .read_parquet(url, ParquetReadOptions::default())
        .await
        .map_err(fail)?;
    Ok(table.count().await.map_err(fail)? as u64)
}

/// Registers unmapped_rating (the ratings that reached no movie, with their
/// `shard` and `outcome` from the folder names) for rating_mapping.
pub(super) async fn register_unmapped(
    ctx: &SessionContext,
    lake: &Lake,
    run_id: &str,
) -> Result<(), TransformError> {
    let url = lake.url(&Lake::table_key(Zone::Curated, run_id, UNMAPPED)) + "/";
    let schema = fact_schema();
    let options = ParquetReadOptions::default()
        .schema(&schema)
        .table_partition_cols(vec![
            ("shard".into(), DataType::Utf8),
            ("outcome".into(), DataType::Utf8),
        ]);
    ctx.deregister_table(UNMAPPED).ok();
    ctx.register_parquet(UNMAPPED, &url, options)
        .await
        .map_err(|source| TransformError::Register {
            name: UNMAPPED.into(),
            url,
            source,
        })
}

/// The CSV parts of the staged run's raw ratings.
pub(super) async fn ratings_parts(
    lake: &Lake,
    staging: &Published,
) -> Result<Vec<String>, TransformError> {
    let dir = staging
        .inputs
        .get("ratings")
        .cloned()
        .unwrap_or_else(|| "raw/kaggle/ratings".into());
    Ok(lake
        .list(&dir)
        .await?
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.ends_with(".csv"))
        .collect())
}

/// Registers `name` as the ratings in `parts` (a listing table over those files,
/// which Ballista ships to executors like any file-backed table).
pub(super) fn register_ratings(
    ctx: &SessionContext,
    lake: &Lake,
    name: &str,
    parts: &[String],
) -> Result<(), TransformError> {
    let url = parts.first().map(|p| lake.url(p)).unwrap_or_default();
    let fail = |source| TransformError::Register {
        name: name.into(),
        url: url.clone(),
        source,
    };
    let paths = parts
        .iter()
        .map(|p| ListingTableUrl::parse(lake.url(p)))
        .collect::<datafusion::error::Result<Vec<_>>>()
        .map_err(fail)?;
    let options = ListingOptions::new(Arc::new(CsvFormat::default().with_has_header(true)))
        .with_file_extension(".csv");
    let config = ListingTableConfig::new_with_multi_paths(paths)
        .with_listing_options(options)
        .with_schema(Arc::new(ratings_schema()));
    let table = ListingTable::try_new(config).map_err(fail)?;
    ctx.deregister_table(name).ok();
    ctx.register_table(name, Arc::new(table)).map_err(fail)?;
    Ok(())
}

/// Sets the partition count the session's next jobs are planned with.
async fn set_target_partitions(
    ctx: &SessionContext,
    step: &Step,
    partitions: usize,
) -> Result<(), TransformError> {
    let fail = |source| TransformError::Step {
        table: step.table,
        file: step.file,
        source,
    };
    ctx.sql(&format!(
        "SET datafusion.execution.target_partitions = {partitions}"
    ))
    .await
    .map_err(fail)?
    .collect()
    .await
    .map_err(fail)?;
    Ok(())
}
