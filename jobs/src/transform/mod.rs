//! Transform: staged tables and raw ratings → the curated star model and one mart
//! per question, as DataFusion SQL plans executed by Ballista.
//!
//! Each step is one `.sql` file under `jobs/sql/` whose result is written with
//! `COPY … TO … STORED AS PARQUET` into `curated/runs/<run_id>/<table>/` and
//! then registered, so later steps read it back from the lake (that is what
//! Ballista executors can see). The run becomes visible only when every table is
//! written (see [`crate::lake`]).

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::time::Instant;

use arrow::array::{Array, AsArray};
use arrow::datatypes::UInt64Type;
use std::sync::Arc;

use datafusion::config::{ParquetColumnOptions, TableParquetOptions};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use tracing::{Instrument, info, info_span, warn};

use crate::config::Settings;
use crate::engine::Engine;
use crate::lake::{Lake, LakeError, Published, Zone};
use crate::ratings_csv::{RatingsFile, RatingsTable};
use crate::staging::STAGED_TABLES;

mod retry;
pub mod valid_rating;

use retry::is_retryable;

/// One SQL file and the table it produces.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub table: &'static str,
    pub file: &'static str,
    pub sql: &'static str,
}

macro_rules! step {
    ($table:literal, $dir:literal) => {
        Step {
            table: $table,
            file: concat!("jobs/sql/", $dir, "/", $table, ".sql"),
            sql: include_str!(concat!("../../sql/", $dir, "/", $table, ".sql")),
        }
    };
}

/// The star model, in dependency order.
pub const CURATED: [Step; 8] = [
    step!("dim_movie", "curated"),
    step!("movie_genre", "curated"),
    step!("dim_genre", "curated"),
    step!("fact_rating", "curated"),
    step!("ratings_by_movielens_id", "curated"),
    step!("rating_mapping", "curated"),
    step!("dim_cpi", "curated"),
    step!("dim_date", "curated"),
];

/// One mart per question (Q4 has its context table `cpi_window`).
pub const MARTS: [Step; 6] = [
    step!("highest_rated", "marts"),
    step!("genre_popularity", "marts"),
    step!("box_office_by_month", "marts"),
    step!("box_office_by_quarter", "marts"),
    step!("genre_earnings_real", "marts"),
    step!("cpi_window", "marts"),
];

/// genre_popularity.sql gives every genre one bit of a BIGINT (sign bit unused).
const MAX_GENRES: u64 = 63;

#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("transform step {table} ({file}) failed: {source}")]
    Step {
        table: &'static str,
        file: &'static str,
        #[source]
        source: datafusion::error::DataFusionError,
    },
    #[error("registering {name} at {url}: {source}")]
    Register {
        name: String,
        url: String,
        #[source]
        source: datafusion::error::DataFusionError,
    },
    #[error(
        "transform step {table} ({file}) did not finish within {secs} s (engine.step_timeout_secs)"
    )]
    Timeout {
        table: &'static str,
        file: &'static str,
        secs: u64,
    },
    #[error(
        "dim_genre has {genres} genres; genre_popularity counts users per genre with one bit \
         of a 64-bit mask per genre, so it handles at most {MAX_GENRES}"
    )]
    TooManyGenres { genres: u64 },
    #[error(
        "lake {root}: no complete {zone} run {run:?} (never written, or stopped half way); \
         `movielens runs` lists the runs"
    )]
    NoSuchRun {
        root: String,
        zone: &'static str,
        run: String,
    },
    #[error(
        "{what} of staging run {run} has no rows (a header and nothing else?); every answer \
         needs it: fix the input and run again"
    )]
    EmptyInput { run: String, what: String },
    #[error("{file}: placeholder left unfilled in: {snippet}")]
    Placeholder { file: &'static str, snippet: String },
}

/// Fills `{{name}}` placeholders.
pub fn render(step: &Step, params: &[(&str, String)]) -> Result<String, TransformError> {
    let mut sql = step.sql.to_string();
    for (name, value) in params {
        sql = sql.replace(&format!("{{{{{name}}}}}"), value);
    }
    if let Some(at) = sql.find("{{") {
        return Err(TransformError::Placeholder {
            file: step.file,
            snippet: sql[at..].chars().take(40).collect(),
        });
    }
    Ok(sql)
}

async fn register_parquet(
    ctx: &SessionContext,
    name: &str,
    url: String,
) -> Result<(), TransformError> {
    ctx.deregister_table(name).ok();
    ctx.register_parquet(name, &url, ParquetReadOptions::default())
        .await
        .map_err(|source| TransformError::Register {
            name: name.into(),
            url,
            source,
        })
}

/// Which run of the lake a reader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which<'a> {
    /// The run `_CURRENT.json` names: what analysts and the warehouse see.
    Published,
    /// A run by its id, published or not (to check it before publishing, or
    /// to diagnose a failed one).
    Run(&'a str),
}

/// The complete run `id` of `zone`, or an error naming it.
async fn complete_run(lake: &Lake, zone: Zone, id: &str) -> Result<Published, TransformError> {
    lake.run(zone, id)
        .await?
        .ok_or_else(|| TransformError::NoSuchRun {
            root: lake.root().into(),
            zone: zone.name(),
            run: id.into(),
        })
}

/// The complete curated run `which` names.
pub async fn curated_run(lake: &Lake, which: Which<'_>) -> Result<Published, TransformError> {
    match which {
        Which::Published => Ok(lake.current(Zone::Curated).await?),
        Which::Run(id) => complete_run(lake, Zone::Curated, id).await,
    }
}

/// The staging run a transform of `run_id` reads: the run's own when it was
/// staged under that id (as `movielens run` does), else the latest staged.
pub async fn staging_for(lake: &Lake, run_id: &str) -> Result<Published, TransformError> {
    match lake.run(Zone::Staging, run_id).await? {
        Some(run) => Ok(run),
        None => Ok(lake.current(Zone::Staging).await?),
    }
}

/// The staging run a curated run was made from.
pub async fn staging_of(lake: &Lake, curated: &Published) -> Result<Published, TransformError> {
    match curated.inputs.get("staging_run") {
        Some(id) => complete_run(lake, Zone::Staging, id).await,
        // A run from before staging runs had records.
        None => Ok(lake.current(Zone::Staging).await?),
    }
}

/// Registers the tables of the staging run `staging` as `stg_<table>`.
pub async fn register_staged(
    ctx: &SessionContext,
    lake: &Lake,
    staging: &Published,
) -> Result<(), TransformError> {
    for table in STAGED_TABLES {
        let url = lake.url(&Lake::table_key(Zone::Staging, &staging.run_id, table)) + "/";
        register_parquet(ctx, &format!("stg_{table}"), url).await?;
    }
    Ok(())
}

/// Registers the staging run `staging` (`stg_*`) and its raw ratings files.
pub async fn register_inputs(
    ctx: &SessionContext,
    lake: &Lake,
    staging: &Published,
) -> Result<(), TransformError> {
    register_staged(ctx, lake, staging).await?;
    let parts = ratings_parts(lake, staging).await?;
    register_ratings(ctx, lake, "raw_ratings", &parts)?;
    Ok(())
}

/// Registers every table of the curated run `curated`, for readers.
pub async fn register_curated(
    ctx: &SessionContext,
    lake: &Lake,
    curated: &Published,
) -> Result<(), TransformError> {
    for table in curated.tables.keys() {
        let url = lake.url(&Lake::table_key(Zone::Curated, &curated.run_id, table)) + "/";
        register_parquet(ctx, table, url).await?;
    }
    Ok(())
}

/// A DataFusion context in this process (no cluster) with the curated run
/// `which` registered: for readers of small results and for checks.
pub async fn local_curated_context(
    lake: &Lake,
    which: Which<'_>,
) -> Result<(SessionContext, Published), TransformError> {
    let runtime = crate::engine::reader_runtime_for_lake(lake).map_err(|source| {
        TransformError::Register {
            name: "(lake object store)".into(),
            url: lake.root().into(),
            source,
        }
    })?;
    let ctx = SessionContext::new_with_config_rt(Default::default(), runtime);
    let curated = curated_run(lake, which).await?;
    register_curated(&ctx, lake, &curated).await?;
    Ok((ctx, curated))
}

/// What the transform wrote.
#[derive(Debug, Clone)]
pub struct TransformSummary {
    pub run_id: String,
    /// (table, rows, seconds) in the order written.
    pub tables: Vec<(String, u64, f64)>,
}

/// The placeholders every step may use, from the configuration.
fn base_params(settings: &Settings) -> Vec<(&'static str, String)> {
    vec![
        ("top_n", settings.answers.top_n.to_string()),
        (
            "percentile",
            format!("{:?}", settings.answers.min_ratings_percentile),
        ),
    ]
}

/// Every step, curated tables first, in the order they are declared.
pub fn steps() -> impl Iterator<Item = &'static Step> {
    CURATED.iter().chain(MARTS.iter())
}

/// The step that writes `table`, if any.
pub fn find_step(table: &str) -> Option<&'static Step> {
    steps().find(|s| s.table == table)
}

/// A failure of `step`'s SQL, naming the step and its file.
fn step_error(step: &Step) -> impl Fn(datafusion::error::DataFusionError) -> TransformError + Copy {
    let (table, file) = (step.table, step.file);
    move |source| TransformError::Step {
        table,
        file,
        source,
    }
}

/// The placeholders `step` uses: the configuration's, and for dim_date the
/// years its calendar spans (read from the tables written before it).
async fn step_params(
    ctx: &SessionContext,
    settings: &Settings,
    staging: &Published,
    step: &Step,
) -> Result<Vec<(&'static str, String)>, TransformError> {
    let mut params = base_params(settings);
    let staged_at = valid_rating::staged_at(&staging.published_at);
    params.push(("valid_rating", valid_rating::predicate(staged_at)));
    if step.table == "dim_date" {
        let (from, to) = calendar_bounds(ctx, step).await?;
        params.push(("date_from", from));
        params.push(("date_to", to));
    }
    Ok(params)
}

/// `EXPLAIN [ANALYZE]` of one step's SELECT over the published staging and
/// curated runs, as DataFusion prints it. Placeholders are filled as the
/// transform fills them (fact_rating reads all ratings parts, unsharded).
pub async fn explain(
    ctx: &SessionContext,
    lake: &Lake,
    settings: &Settings,
    step: &Step,
    analyze: bool,
) -> Result<String, TransformError> {
    let staging = lake.current(Zone::Staging).await?;
    register_inputs(ctx, lake, &staging).await?;
    register_curated(ctx, lake, &lake.current(Zone::Curated).await?).await?;
    let mut params = step_params(ctx, settings, &staging, step).await?;
    params.push(("ratings", "raw_ratings".into()));
    let verb = if analyze {
        "EXPLAIN ANALYZE"
    } else {
        "EXPLAIN"
    };
    let fail = step_error(step);
    let batches = ctx
        .sql(&format!("{verb} {}", render(step, &params)?))
        .await
        .map_err(fail)?
        .collect()
        .await
        .map_err(fail)?;
    let mut out = String::new();
    for batch in &batches {
        let kinds = batch.column(0).as_string::<i32>();
        let plans = batch.column(1).as_string::<i32>();
        for i in 0..batch.num_rows() {
            out.push_str(&format!("-- {}\n{}\n\n", kinds.value(i), plans.value(i)));
        }
    }
    Ok(out)
}

/// The staged tables every answer joins, and the raw file each comes from.
const REQUIRED_INPUTS: [(&str, &str); 3] = [
    ("movies", "movies_metadata.csv"),
    ("links", "links.csv"),
    ("cpi", "the CPI series"),
];

/// Fails fast when an input the joins need has no rows. Such a run could
/// never pass its checks, and Ballista 55's adaptive planner re-plans a join
/// with an empty side without end (thousands of stage ids a second, bounded
/// only by the step timeouts), so it must not reach the engine.
async fn refuse_empty_inputs(lake: &Lake, staging: &Published) -> Result<(), TransformError> {
    for (table, file) in REQUIRED_INPUTS {
        if staging.tables.get(table).copied().unwrap_or(0) == 0 {
            return Err(TransformError::EmptyInput {
                run: staging.run_id.clone(),
                what: format!("staged table {table} ({file})"),
            });
        }
    }
    // Ratings are not staged: a folder of parts each holding only the header
    // is an empty file. Only small folders can be that, so only they are read.
    let parts = ratings_parts(lake, staging).await?;
    let bytes: u64 = parts.iter().map(|p| p.1).sum();
    if bytes < 64 * 1024 {
        let mut lines = 0;
        for (key, _) in &parts {
            let text = lake.get(key).await?;
            let part_lines = text
                .split(|&b| b == b'\n')
                .filter(|l| !l.trim_ascii().is_empty())
                .count();
            // Less the part's header (an empty part has none).
            lines += part_lines.saturating_sub(1);
        }
        if lines == 0 {
            return Err(TransformError::EmptyInput {
                run: staging.run_id.clone(),
                what: "the ratings file".into(),
            });
        }
    }
    Ok(())
}

/// Runs every step for `run_id` and records the curated run as complete (not
/// published: see [`crate::runs::check_and_publish`]).
///
/// Steps run as soon as the tables they read are written, several at once
/// where `engine.concurrent_steps` allows: the CSV pass of ratings_by_movielens_id
/// then overlaps the fact_rating shards, the marts overlap each other, and
/// the many small jobs overlap their scheduling latency.
pub async fn transform(
    engine: &Engine,
    lake: &Lake,
    settings: &Settings,
    run_id: &str,
) -> Result<TransformSummary, TransformError> {
    let staging = staging_for(lake, run_id).await?;
    refuse_empty_inputs(lake, &staging).await?;
    register_inputs(&engine.ctx, lake, &staging).await?;
    register_staged(&engine.single_task, lake, &staging).await?;
    let plan: Vec<&'static Step> = steps().collect();
    let needs: BTreeMap<&str, Vec<&str>> =
        plan.iter().map(|s| (s.table, dependencies(s))).collect();
    let max_running = match settings.engine.concurrent_steps {
        0 if engine.is_embedded() => settings.partitions().max(2),
        0 => 2,
        n => n,
    };
    info!(steps = plan.len(), at_once = max_running, "transform");
    let bar = crate::progress::bar(Some(plan.len() as u64), "", crate::progress::Unit::Steps);
    bar.set_prefix("transform");
    let mut started = BTreeSet::new();
    let mut done = BTreeSet::new();
    let mut written = Vec::new();
    let mut running = FuturesUnordered::new();
    loop {
        for step in &plan {
            let ready = needs[step.table].iter().all(|t| done.contains(t));
            if running.len() < max_running && ready && started.insert(step.table) {
                running.push(run_step(engine, lake, settings, &staging, run_id, step));
            }
        }
        let Some(result) = running.next().await else {
            break;
        };
        let (table, rows, secs) = result?;
        if table == "dim_genre" && rows > MAX_GENRES {
            return Err(TransformError::TooManyGenres { genres: rows });
        }
        done.insert(table);
        written.push((table.to_string(), rows, secs));
        bar.set_message(table);
        bar.inc(1);
    }
    // In the declared order, whatever order they finished in.
    written.sort_by_key(|(t, _, _)| plan.iter().position(|s| s.table == t));
    let summary = TransformSummary {
        run_id: run_id.into(),
        tables: written,
    };
    bar.finish_and_clear();
    // Complete, not published: the run is checked by its id first
    // (runs::check_and_publish).
    lake.record_run(
        Zone::Curated,
        &Published {
            run_id: run_id.into(),
            published_at: chrono::Utc::now().to_rfc3339(),
            tables: summary
                .tables
                .iter()
                .map(|(t, rows, _)| (t.clone(), *rows))
                .collect(),
            inputs: BTreeMap::from([
                ("staging_run".to_string(), staging.run_id.clone()),
                (
                    "ratings".to_string(),
                    staging.inputs.get("ratings").cloned().unwrap_or_default(),
                ),
            ]),
        },
    )
    .await?;
    Ok(summary)
}

/// Writes one step's table and registers it for the steps after it; returns
/// (table, rows, seconds).
async fn run_step(
    engine: &Engine,
    lake: &Lake,
    settings: &Settings,
    staging: &Published,
    run_id: &str,
    step: &'static Step,
) -> Result<(&'static str, u64, f64), TransformError> {
    let ctx = &engine.ctx;
    let params = step_params(ctx, settings, staging, step).await?;
    info!(table = step.table, "writing");
    let started = Instant::now();
    let key = Lake::table_key(Zone::Curated, run_id, step.table);
    let write = async {
        if step.table == "fact_rating" {
            let single_task = &engine.single_task;
            write_sharded(single_task, lake, settings, staging, &key, step, &params).await
        } else {
            // Earlier files (another attempt's, an older layout's) must not survive.
            lake.delete_prefix(&key).await?;
            let file = format!("{key}/{SINGLE_FILE}");
            write_with_retries(ctx, lake, settings, &file, step, &render(step, &params)?).await
        }
    };
    let rows = write
        .instrument(info_span!("step", table = step.table))
        .await?;
    let url = lake.url(&key) + "/";
    register_parquet(ctx, step.table, url.clone()).await?;
    register_parquet(&engine.single_task, step.table, url).await?;
    let secs = started.elapsed().as_secs_f64();
    info!(
        table = step.table,
        rows,
        secs = format!("{secs:.2}"),
        "written"
    );
    Ok((step.table, rows, secs))
}

/// The steps whose tables `step` reads, found by name in its SQL outside
/// comments (the way dbt finds a model's refs). dim_date reads what its
/// calendar spans.
pub fn dependencies(step: &Step) -> Vec<&'static str> {
    let sql = if step.table == "dim_date" {
        CALENDAR_BOUNDS_SQL
    } else {
        step.sql
    };
    let code: Vec<&str> = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .collect();
    let code = code.join("\n");
    steps()
        .filter(|other| other.table != step.table && mentions(&code, other.table))
        .map(|other| other.table)
        .collect()
}

/// Whether `name` occurs in `code` as a whole identifier.
fn mentions(code: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    code.match_indices(name).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// [`write_table`] with bounded retries and exponential backoff, each logged.
async fn write_with_retries(
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
const SINGLE_FILE: &str = "part-000.parquet";

/// Writes one step's result as the single parquet file `file_key`; returns
/// the row count.
///
/// Always a named file, never a directory for DataFusion to fill: its files
/// are named afresh on every execution, and Ballista re-runs the tasks of an
/// executor it lost, finished ones included. Into a directory, such a re-run
/// adds a second copy of the table beside the first; into a named file, it
/// overwrites it. (Ballista writes a job's output from one task either way.)
async fn write_table(
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
fn parquet_options() -> TableParquetOptions {
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
async fn ratings_parts(
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
fn register_ratings(
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
async fn write_sharded(
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

/// The years dim_date spans. Each table's first and last instant first, then
/// their years: min/max of a column come from the parquet statistics or one
/// cheap pass, where the year of every one of fact_rating's rows would not.
/// Cross joins of one-row tables, not a UNION ALL: Ballista 55 loses track of
/// a union's tasks when its branches plan differently (one answered from
/// statistics, one scanned), and the job never finishes.
const CALENDAR_BOUNDS_SQL: &str =
    "SELECT least(m.lo, f.lo, c.lo) AS lo, greatest(m.hi, f.hi, c.hi) AS hi
    FROM (SELECT CAST(date_part('year', min(release_date)) AS INT) AS lo,
                 CAST(date_part('year', max(release_date)) AS INT) AS hi FROM dim_movie) AS m
    CROSS JOIN (SELECT CAST(date_part('year', min(rated_at)) AS INT) AS lo,
                 CAST(date_part('year', max(rated_at)) AS INT) AS hi FROM fact_rating) AS f
    CROSS JOIN (SELECT CAST(date_part('year', min(month)) AS INT) AS lo,
                 CAST(date_part('year', max(month)) AS INT) AS hi FROM dim_cpi) AS c";

/// Whole years spanning release dates, rating dates and CPI months.
async fn calendar_bounds(
    ctx: &SessionContext,
    step: &Step,
) -> Result<(String, String), TransformError> {
    let fail = step_error(step);
    let batches = ctx
        .sql(CALENDAR_BOUNDS_SQL)
        .await
        .map_err(fail)?
        .collect()
        .await
        .map_err(fail)?;
    let year = |col: usize| {
        batches.iter().find(|b| b.num_rows() > 0).and_then(|b| {
            let c = b
                .column(col)
                .as_primitive_opt::<arrow::datatypes::Int32Type>()?;
            (!c.is_null(0)).then(|| c.value(0))
        })
    };
    let lo = year(0).unwrap_or(1995);
    let hi = year(1).unwrap_or(lo);
    Ok((format!("{lo:04}-01-01"), format!("{hi:04}-12-31")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_come_from_the_sql_and_are_declared_first() {
        let order: Vec<&str> = steps().map(|s| s.table).collect();
        for step in steps() {
            let here = order.iter().position(|t| *t == step.table).unwrap();
            for dep in dependencies(step) {
                let there = order.iter().position(|t| *t == dep).unwrap();
                assert!(
                    there < here,
                    "{} reads {dep}, declared after it",
                    step.table
                );
            }
        }
        let of = |t: &str| dependencies(find_step(t).unwrap());
        assert_eq!(of("dim_movie"), Vec::<&str>::new());
        assert_eq!(of("fact_rating"), vec!["dim_movie"]);
        assert_eq!(of("dim_date"), vec!["dim_movie", "fact_rating", "dim_cpi"]);
        assert_eq!(
            of("genre_popularity"),
            vec![
                "movie_genre",
                "dim_genre",
                "fact_rating",
                "ratings_by_movielens_id"
            ]
        );
        assert_eq!(of("ratings_by_movielens_id"), vec!["dim_movie"]);
        // rating_mapping's comments name fact_rating; only its SQL counts.
        assert_eq!(of("rating_mapping"), vec!["ratings_by_movielens_id"]);
    }

    #[test]
    fn mentions_matches_whole_identifiers_only() {
        assert!(mentions("FROM dim_genre AS g", "dim_genre"));
        assert!(mentions("JOIN dim_genre\n", "dim_genre"));
        assert!(!mentions("FROM stg_dim_genre", "dim_genre"));
        assert!(!mentions("FROM dim_genres", "dim_genre"));
    }
}
