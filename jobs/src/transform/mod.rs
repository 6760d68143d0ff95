//! Transform: staged tables and raw ratings → the curated star model and one mart
//! per question, as DataFusion SQL plans executed by Ballista.
//!
//! Each step is one `.sql` file under `jobs/sql/` whose result is written with
//! `COPY … TO … STORED AS PARQUET` into `curated/runs/<run_id>/<table>/` and
//! then registered, so later steps read it back from the lake (that is what
//! Ballista executors can see). The run becomes visible only when every table is
//! written (see [`crate::lake`]).
//!
//! By concern: `steps` (the SQL files, their order, rendering, what each
//! reads), `registry` (which run a reader reads; its tables registered in a
//! session), `write` (one step's result to parquet, with retries), and here
//! the scheduling of the steps of a run.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::time::Instant;

use arrow::array::{Array, AsArray};

use datafusion::prelude::SessionContext;
use tracing::{Instrument, info, info_span};

use crate::config::Settings;
use crate::engine::Engine;
use crate::lake::{Lake, LakeError, Published, Zone};

mod registry;
mod retry;
mod steps;
pub mod valid_rating;
mod watch;
mod write;

pub use registry::{
    Which, curated_run, local_curated_context, register_curated, register_inputs, register_staged,
    staging_for, staging_of,
};
use registry::{register_parquet, register_side_table};
pub use steps::{
    GENRE_MASK_BY_MOVIELENS_ID, RATINGS_PER_FILE, SIDE_TABLES, SideTable, SideWrite, Step,
    USER_GENRE_MASKS, Write, dependencies, find_step, render, steps,
};
use write::{SINGLE_FILE, ratings_parts, write_sharded, write_with_retries};

/// genre_popularity.sql gives every genre one bit of a BIGINT (sign bit unused).
const MAX_GENRES: u64 = 63;

/// `{{genre_bit}}`: the bit of a genre in the masks of genre_popularity.sql
/// and genre_mask_by_movielens_id.sql, over dim_genre's rows: 1, 2, 4, ... in
/// the order of the genres' names. One text for both, so their bits agree.
/// A BIGINT shift, not power(2, row_number() - 1): that subtraction is typed
/// Decimal128(21,0) by DataFusion 55 and power() would go through floats.
pub const GENRE_BIT: &str = "CAST(1 AS BIGINT) << \
     (CAST(row_number() OVER (ORDER BY genre) AS BIGINT) - CAST(1 AS BIGINT))";

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
        ("genre_bit", GENRE_BIT.into()),
    ]
}

/// A failure of `step`'s SQL, naming the step and its file.
pub(super) fn step_error(
    step: &Step,
) -> impl Fn(datafusion::error::DataFusionError) -> TransformError + Copy {
    let (table, file) = (step.table, step.file);
    move |source| TransformError::Step {
        table,
        file,
        source,
    }
}

/// The placeholders `step` uses: the configuration's, and those its params
/// query reads from the tables written before it (dim_date's span).
async fn step_params(
    ctx: &SessionContext,
    settings: &Settings,
    staging: &Published,
    step: &Step,
) -> Result<Vec<(&'static str, String)>, TransformError> {
    let mut params = base_params(settings);
    params.push((
        "valid_rating",
        valid_rating::RatingRule::for_staging(&staging.published_at).sql(),
    ));
    if let Some(sql) = step.params_sql {
        params.extend(params_row(ctx, step, sql).await?);
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
    let curated = lake.current(Zone::Curated).await?;
    register_curated(ctx, lake, &curated).await?;
    for side in SIDE_TABLES {
        if steps::mentions(step.sql, side.name) {
            register_side_table(ctx, lake, &curated.run_id, side).await?;
        }
    }
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
/// where `engine.concurrent_steps` allows: the dimensions overlap the
/// fact_rating shards, the marts overlap each other, and the many small jobs
/// overlap their scheduling latency.
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
    let _watch = watch::start(&engine.scheduler_url, bar.clone());
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
    // The step's jobs carry its name, for the progress watcher and the API.
    let ctx = &crate::engine::job_session(&engine.ctx, step.table);
    let params = step_params(ctx, settings, staging, step).await?;
    info!(table = step.table, "writing");
    let started = Instant::now();
    let key = Lake::table_key(Zone::Curated, run_id, step.table);
    // The session the step's writing jobs are planned on (see [`Write`]).
    let writer = match step.write {
        Write::OneFileAcrossPartitions => ctx,
        Write::OneFile | Write::ShardedByRatingsPart => {
            &crate::engine::job_session(&engine.single_task, step.table)
        }
    };
    let write = async {
        match step.write {
            Write::ShardedByRatingsPart => {
                write_sharded(writer, lake, settings, staging, run_id, step, &params).await
            }
            Write::OneFile | Write::OneFileAcrossPartitions => {
                // Earlier files (another attempt's, an older layout's) must not survive.
                lake.delete_prefix(&key).await?;
                let file = format!("{key}/{SINGLE_FILE}");
                write_with_retries(writer, lake, settings, &file, step, &render(step, &params)?)
                    .await
            }
        }
    };
    let rows = write
        .instrument(info_span!("step", table = step.table))
        .await?;
    let url = lake.url(&key) + "/";
    register_parquet(&engine.ctx, step.table, url.clone()).await?;
    register_parquet(&engine.single_task, step.table, url).await?;
    if step.write == Write::ShardedByRatingsPart {
        for side in SIDE_TABLES {
            register_side_table(&engine.ctx, lake, run_id, side).await?;
            register_side_table(&engine.single_task, lake, run_id, side).await?;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    info!(
        table = step.table,
        rows,
        secs = format!("{secs:.2}"),
        "written"
    );
    Ok((step.table, rows, secs))
}

/// The placeholders `step`'s params query gives: each column of its one row,
/// by name, as text. No row or a NULL leaves the placeholder unfilled, which
/// [`render`] then reports.
async fn params_row(
    ctx: &SessionContext,
    step: &Step,
    sql: &str,
) -> Result<Vec<(&'static str, String)>, TransformError> {
    let batches = crate::engine::query(ctx, sql)
        .await
        .map_err(step_error(step))?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(Vec::new());
    };
    let mut params = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if column.is_null(0) {
            continue;
        }
        let value = arrow::util::display::array_value_to_string(column, 0)
            .map_err(|e| step_error(step)(e.into()))?;
        // Placeholder names are the step's own, so they live as long as it.
        let sql: &'static str = step.sql;
        let name = sql
            .match_indices(&format!("{{{{{}}}}}", field.name()))
            .next()
            .map(|(at, m)| &sql[at + 2..at + m.len() - 2]);
        if let Some(name) = name {
            params.push((name, value));
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::steps::mentions;
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
        // Its scans read genre_mask_by_movielens_id, written in its step.
        assert_eq!(
            of("fact_rating"),
            vec!["dim_movie", "movie_genre", "dim_genre"]
        );
        assert_eq!(of("dim_date"), vec!["dim_movie", "fact_rating", "dim_cpi"]);
        // Its users' masks come from fact_rating's scan (user_genre_masks).
        assert_eq!(
            of("genre_popularity"),
            vec![
                "movie_genre",
                "dim_genre",
                "fact_rating",
                "ratings_by_movielens_id"
            ]
        );
        // Its counts come from fact_rating's scan (ratings_per_file).
        assert_eq!(
            of("ratings_by_movielens_id"),
            vec!["dim_movie", "fact_rating"]
        );
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
