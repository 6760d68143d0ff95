//! Data-quality checks: `movielens check`, and the last stage of `movielens run`.
//!
//! Each check is one SQL query returning one number (the observed value) and a
//! rule it must satisfy. The same queries run on the warehouse (Postgres or
//! Redshift, tables found through the search path) or, with no warehouse
//! configured, on the lake's published curated run with DataFusion. Any failed
//! check makes the command exit non-zero, so Airflow marks the task failed.

pub mod marts;
mod report;

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::config::Settings;
use crate::lake::{Lake, LakeError};
use crate::transform::{TransformError, Which, local_curated_context};
use crate::warehouse::schema::{TABLES, Table};
use crate::warehouse::{Warehouse, WarehouseError};

pub use report::render_text;

/// Every fact row's movie exists in `dim_movie`.
const FACT_MOVIE_EXISTS: &str = "SELECT CAST(count(*) AS BIGINT) FROM fact_rating AS f \
     LEFT JOIN dim_movie AS d ON d.tmdb_id = f.tmdb_id WHERE d.tmdb_id IS NULL";

/// rating_mapping's `mapped` ratings are exactly fact_rating's rows: they come
/// from separate computations over the ratings (the per-id counts of
/// ratings_by_movielens_id, which also give the marts their per-movie figures,
/// mapped by its joins; and fact_rating's own join) and must agree.
const MAPPED_IS_FACT: &str = "SELECT CAST(abs(\
     coalesce((SELECT sum(n_ratings) FROM rating_mapping WHERE outcome = 'mapped'), 0) \
     - (SELECT count(*) FROM fact_rating)) AS BIGINT)";

/// Every bridge row points at a movie and a genre.
const MOVIE_GENRE_REFS: &str = "SELECT CAST(count(*) AS BIGINT) FROM movie_genre AS b \
     LEFT JOIN dim_movie AS d ON d.tmdb_id = b.tmdb_id \
     LEFT JOIN dim_genre AS g ON g.genre = b.genre \
     WHERE d.tmdb_id IS NULL OR g.genre IS NULL";

/// Ratings are half stars from 0.5 to 5.0, rated no earlier than MovieLens'
/// first ratings (the rule of `transform/valid_rating.rs`).
const RATINGS_HALF_STARS: &str = "SELECT CAST(count(*) AS BIGINT) FROM fact_rating \
     WHERE rating IS NULL OR rating < 0.5 OR rating > 5.0 OR rating * 2 <> round(rating * 2) \
        OR rated_at < CAST('1995-01-01 00:00:00' AS TIMESTAMP)";

/// Ratings given more than once among the users `{users}` selects (a `WHERE`
/// clause, or nothing for every user): the same user, MovieLens id and
/// instant. MovieLens keeps one rating per user and movie, so any repeat is a
/// defect of the input (a ratings file landed twice doubles every count). See
/// [`duplicate_passes`] for why by ranges of users on the lake.
const DUPLICATE_RATINGS: &str = "SELECT CAST(coalesce(sum(n - 1), 0) AS BIGINT) FROM (\
     SELECT count(*) AS n FROM fact_rating {users} \
     GROUP BY user_id, movielens_id, rated_at HAVING count(*) > 1) AS repeated";

/// The smallest and largest user id of fact_rating (0 when it is empty).
const USER_ID_MIN: &str = "SELECT CAST(coalesce(min(user_id), 0) AS BIGINT) FROM fact_rating";
const USER_ID_MAX: &str = "SELECT CAST(coalesce(max(user_id), 0) AS BIGINT) FROM fact_rating";

/// Fact rows one duplicate-ratings pass should group, about: its hash table
/// (three BIGINT keys and a count, ~70 bytes a group) stays near 200 MiB.
const DUPLICATE_PASS_ROWS: u64 = 3_000_000;

/// The user-id ranges `[lo, hi]` the duplicate-ratings check groups one at a
/// time: `rows / per_pass` (at least one) equal slices of `[min, max]`,
/// together covering it exactly.
///
/// Why passes: grouping every fact row at once needs memory in proportion to
/// the ratings (869 MiB at 26M), and DataFusion's spill to disk, the other way
/// to bound it, hung at 260M under a 128 MiB pool. A repeat has one user, so
/// each range's repeats are its own; and as MovieLens' ratings (and our
/// generator's) come sorted by user, fact_rating's row groups hold narrow
/// ranges of users and a pass reads, by their statistics, only its own.
fn duplicate_passes(min: i64, max: i64, rows: u64, per_pass: u64) -> Vec<(i64, i64)> {
    if max < min {
        return vec![(min, max)];
    }
    let span = i128::from(max) - i128::from(min) + 1;
    let passes = i128::from(rows.div_ceil(per_pass.max(1)).max(1)).min(span);
    let width = (span + passes - 1) / passes;
    let mut ranges = Vec::new();
    let mut lo = i128::from(min);
    while lo <= i128::from(max) {
        let hi = (lo + width - 1).min(i128::from(max));
        // Both ends lie within [min, max], so they fit an i64.
        ranges.push((lo as i64, hi as i64));
        lo = hi + 1;
    }
    ranges
}

/// Ratings read and ratings invalid, from rating_mapping (which adds up to
/// the ratings file).
const INVALID_RATINGS: &str = "SELECT \
     CAST(coalesce(sum(CASE WHEN outcome = 'invalid_rating' THEN n_ratings ELSE 0 END), 0) AS BIGINT) AS invalid, \
     CAST(coalesce(sum(n_ratings), 0) AS BIGINT) AS total FROM rating_mapping";

/// The inputs every answer needs: a run without movies, mapped ratings or a
/// CPI series is no run, whatever its marts say.
const INPUTS_NOT_EMPTY: [&str; 3] = ["dim_movie", "fact_rating", "dim_cpi"];

/// Months missing between the first and last CPI month (FRED publishes every
/// month; a blank value is a NULL cpi, not a missing month).
const CPI_MONTHS_MISSING: &str = "SELECT CAST(coalesce(\
     max(year * 12 + month_of_year) - min(year * 12 + month_of_year) + 1 \
     - count(DISTINCT year * 12 + month_of_year), 0) AS BIGINT) FROM dim_cpi";

/// Records dropped by staging, per input file.
const DROPPED_BY_FILE: &str = "SELECT file, CAST(count(*) AS BIGINT) AS dropped \
     FROM stg_rejects WHERE action = 'dropped' GROUP BY file ORDER BY file";

fn key_nulls_sql(table: &Table) -> String {
    let any_null: Vec<String> = table
        .key
        .iter()
        .map(|k| format!("\"{k}\" IS NULL"))
        .collect();
    format!(
        "SELECT CAST(count(*) AS BIGINT) FROM {} WHERE {}",
        table.name,
        any_null.join(" OR ")
    )
}

fn key_duplicates_sql(table: &Table) -> String {
    let key = crate::warehouse::schema::quoted_list(table.key);
    format!(
        "SELECT CAST(count(*) AS BIGINT) FROM (SELECT {key} FROM {} GROUP BY {key} HAVING count(*) > 1) AS duplicated",
        table.name
    )
}

fn row_count_sql(table: &Table) -> String {
    format!("SELECT CAST(count(*) AS BIGINT) FROM {}", table.name)
}

/// The rule an observed value must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "rule", content = "value", rename_all = "snake_case")]
pub enum Rule {
    Equals(i64),
    AtLeast(i64),
    AtMost(f64),
}

impl Rule {
    fn holds(self, observed: f64) -> bool {
        match self {
            Rule::Equals(v) => observed == v as f64,
            Rule::AtLeast(v) => observed >= v as f64,
            Rule::AtMost(v) => observed <= v,
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct CheckResult {
    pub check: String,
    pub passed: bool,
    pub observed: f64,
    pub expected: Rule,
}

impl CheckResult {
    /// `observed` judged against `expected`.
    fn judged(check: String, observed: f64, expected: Rule) -> Self {
        Self {
            passed: expected.holds(observed),
            check,
            observed,
            expected,
        }
    }
}

/// `part / whole`, 0 for nothing at all (an empty input rejects nothing).
fn fraction(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { part / whole } else { 0.0 }
}

/// All checks of one invocation.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct CheckReport {
    /// `warehouse <url>` or `lake <root>`.
    pub target: String,
    /// The curated run checked.
    pub run_id: String,
    pub checks: Vec<CheckResult>,
}

impl CheckReport {
    pub fn failed(&self) -> Vec<&CheckResult> {
        self.checks.iter().filter(|c| !c.passed).collect()
    }

    /// The names of the failed checks.
    pub fn failed_names(&self) -> Vec<String> {
        self.failed().iter().map(|c| c.check.clone()).collect()
    }

    /// Ok when every check passed, else an error naming the failed ones.
    pub fn judge(&self) -> Result<(), ChecksFailed> {
        let names = self.failed_names();
        if names.is_empty() {
            return Ok(());
        }
        Err(ChecksFailed {
            total: self.checks.len(),
            target: self.target.clone(),
            names,
        })
    }
}

/// A check report with failures, as the error of the command that ran it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} of {total} data-quality checks failed on {target}: {}", names.len(), names.join(", "))]
pub struct ChecksFailed {
    pub total: usize,
    pub target: String,
    pub names: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Tables(#[from] TransformError),
    #[error("check {check} on the lake: {source}")]
    Query {
        check: String,
        #[source]
        source: datafusion::error::DataFusionError,
    },
    #[error("check {check} returned no BIGINT value; its SQL is broken")]
    NoValue { check: String },
    #[error(
        "warehouse {url} holds run {loaded:?} but the lake's published run is {published}; run `movielens load` first"
    )]
    NotLoaded {
        url: String,
        loaded: Option<String>,
        published: String,
    },
}

/// Where the checks' queries run.
enum Target<'a> {
    Lake(SessionContext),
    Warehouse(&'a mut Warehouse),
}

impl Target<'_> {
    /// `sql`'s one value, timed at debug level: the checks read every fact
    /// row, and a slow one should be findable without a profiler.
    async fn scalar(&mut self, check: &str, sql: &str) -> Result<i64, CheckError> {
        let started = std::time::Instant::now();
        let value = self.query_scalar(check, sql).await;
        tracing::debug!(
            check,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "check queried"
        );
        value
    }

    async fn query_scalar(&mut self, check: &str, sql: &str) -> Result<i64, CheckError> {
        match self {
            Target::Warehouse(wh) => Ok(wh.query_i64(sql).await?),
            Target::Lake(ctx) => {
                let fail = |source| CheckError::Query {
                    check: check.into(),
                    source,
                };
                let batches = crate::engine::query(ctx, sql).await.map_err(fail)?;
                // Exactly one non-NULL BIGINT, or the check is broken (and
                // must not pass by default).
                batches
                    .iter()
                    .find(|b| b.num_rows() > 0)
                    .and_then(|b| {
                        let c = b.column(0).as_primitive_opt::<Int64Type>()?;
                        (!c.is_null(0)).then(|| c.value(0))
                    })
                    .ok_or_else(|| CheckError::NoValue {
                        check: check.into(),
                    })
            }
        }
    }
}

/// The checks every target runs: keys, required values, references, ratings,
/// CPI months, and each mart's rows and values.
fn model_checks(top_n: usize) -> Vec<(String, String, Rule)> {
    let mut checks = Vec::new();
    for table in INPUTS_NOT_EMPTY {
        let table = crate::warehouse::schema::table(table).expect("a declared table");
        checks.push((
            format!("not_empty {}", table.name),
            row_count_sql(table),
            Rule::AtLeast(1),
        ));
    }
    for table in TABLES.iter().filter(|t| !t.key.is_empty()) {
        checks.push((
            format!("key_not_null {}", table.name),
            key_nulls_sql(table),
            Rule::Equals(0),
        ));
        checks.push((
            format!("key_unique {}", table.name),
            key_duplicates_sql(table),
            Rule::Equals(0),
        ));
    }
    checks.push((
        "fact_movie_exists".into(),
        FACT_MOVIE_EXISTS.into(),
        Rule::Equals(0),
    ));
    checks.push((
        "mapped_ratings_are_fact_rows".into(),
        MAPPED_IS_FACT.into(),
        Rule::Equals(0),
    ));
    checks.push((
        "movie_genre_references".into(),
        MOVIE_GENRE_REFS.into(),
        Rule::Equals(0),
    ));
    checks.push((
        "rating_half_stars_in_range".into(),
        RATINGS_HALF_STARS.into(),
        Rule::Equals(0),
    ));
    checks.push((
        "cpi_months_contiguous".into(),
        CPI_MONTHS_MISSING.into(),
        Rule::Equals(0),
    ));
    // Every value the schema says a row must have (keys are checked above).
    for table in TABLES {
        for column in table.columns.iter().filter(|c| !c.nullable) {
            if table.key.contains(&column.name) {
                continue;
            }
            checks.push((
                format!("value_present {}.{}", table.name, column.name),
                marts::value_missing_sql(table, column),
                Rule::Equals(0),
            ));
        }
    }
    for mart in marts::marts() {
        let sql = marts::mart_rows_sql(mart, top_n).expect("every mart has expected rows");
        checks.push((format!("mart_rows {}", mart.name), sql, Rule::Equals(0)));
    }
    for (name, sql) in marts::value_rules() {
        checks.push((name, sql.to_string(), Rule::Equals(0)));
    }
    checks
}

/// The model checks on `target`, then repeated ratings as a fraction of
/// `fact_rows`, against `checks.max_rejected_fraction`.
async fn run_model_checks(
    target: &mut Target<'_>,
    settings: &Settings,
    fact_rows: u64,
    out: &mut Vec<CheckResult>,
) -> Result<(), CheckError> {
    run_all(target, model_checks(settings.answers.top_n), out).await?;
    // The passes bound this process's memory on the lake (the users' range
    // comes from parquet statistics there). A warehouse groups in its own
    // memory and spills reliably; there each pass, and finding the range,
    // would be another scan of the fact table, so it runs once over every row.
    let filters = match target {
        Target::Lake(_) => {
            let min = target.scalar("duplicate_ratings", USER_ID_MIN).await?;
            let max = target.scalar("duplicate_ratings", USER_ID_MAX).await?;
            duplicate_passes(min, max, fact_rows, DUPLICATE_PASS_ROWS)
                .into_iter()
                .map(|(lo, hi)| format!("WHERE user_id BETWEEN {lo} AND {hi}"))
                .collect()
        }
        Target::Warehouse(_) => vec![String::new()],
    };
    tracing::info!(
        passes = filters.len(),
        fact_rows,
        "checking for repeated ratings, one range of user ids at a time"
    );
    let mut repeated = 0;
    for users in filters {
        let sql = DUPLICATE_RATINGS.replace("{users}", &users);
        repeated += target.scalar("duplicate_ratings", &sql).await?;
    }
    out.push(CheckResult::judged(
        "duplicate_ratings fact_rating".into(),
        fraction(repeated as f64, fact_rows as f64),
        Rule::AtMost(settings.checks.max_rejected_fraction),
    ));
    Ok(())
}

async fn run_all(
    target: &mut Target<'_>,
    checks: Vec<(String, String, Rule)>,
    out: &mut Vec<CheckResult>,
) -> Result<(), CheckError> {
    for (name, sql, rule) in checks {
        let observed = target.scalar(&name, &sql).await? as f64;
        out.push(CheckResult::judged(name, observed, rule));
    }
    Ok(())
}

/// The staged table a raw file feeds (the CPI file is named after its series).
fn staged_table_of(file: &str) -> &'static str {
    if file == crate::staging::movies::FILE {
        "movies"
    } else if file == crate::staging::links::FILE {
        "links"
    } else {
        "cpi"
    }
}

/// Staging's dropped records per input file, as a fraction of the file's
/// records, against `checks.max_rejected_fraction`.
async fn rejected_fractions(
    lake: &Lake,
    settings: &Settings,
    ctx: &SessionContext,
    curated: &crate::lake::Published,
) -> Result<Vec<CheckResult>, CheckError> {
    let staging = crate::transform::staging_of(lake, curated).await?;
    crate::transform::register_staged(ctx, lake, &staging).await?;
    let fail = |source| CheckError::Query {
        check: "rejected_fraction".into(),
        source,
    };
    let batches = crate::engine::query(ctx, DROPPED_BY_FILE)
        .await
        .map_err(fail)?;
    let mut dropped: BTreeMap<String, i64> = BTreeMap::new();
    for b in &batches {
        let files = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8)
            .map_err(|e| fail(e.into()))?;
        let files = files.as_string::<i32>();
        let counts = b.column(1).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            dropped.insert(files.value(i).to_string(), counts.value(i));
        }
    }
    let mut dropped_by_table: BTreeMap<&str, f64> = BTreeMap::new();
    for (file, n) in &dropped {
        *dropped_by_table.entry(staged_table_of(file)).or_default() += *n as f64;
    }
    let limit = settings.checks.max_rejected_fraction;
    let mut out = Vec::new();
    // Ratings are not staged: their invalid lines are counted by the
    // transform, in rating_mapping.
    let batches = crate::engine::query(ctx, INVALID_RATINGS)
        .await
        .map_err(fail)?;
    let (invalid, total) = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| {
            let v = |c: usize| b.column(c).as_primitive::<Int64Type>().value(0) as f64;
            (v(0), v(1))
        })
        .unwrap_or((0.0, 0.0));
    out.push(CheckResult::judged(
        "rejected_fraction ratings".into(),
        fraction(invalid, total),
        Rule::AtMost(limit),
    ));
    for table in ["movies", "links", "cpi"] {
        let n = dropped_by_table.get(table).copied().unwrap_or(0.0);
        let total = staging.tables.get(table).copied().unwrap_or(0) as f64 + n;
        out.push(CheckResult::judged(
            format!("rejected_fraction {table}"),
            fraction(n, total),
            Rule::AtMost(limit),
        ));
    }
    Ok(out)
}

/// Runs every check on the lake's curated run `which`: the gate a run passes
/// before it is published.
pub async fn check_lake(
    settings: &Settings,
    lake: &Lake,
    which: Which<'_>,
) -> Result<CheckReport, CheckError> {
    let (ctx, curated) = local_curated_context(lake, which).await?;
    let mut checks = rejected_fractions(lake, settings, &ctx, &curated).await?;
    let fact_rows = curated.tables.get("fact_rating").copied().unwrap_or(0);
    run_model_checks(&mut Target::Lake(ctx), settings, fact_rows, &mut checks).await?;
    Ok(CheckReport {
        target: format!("lake {}", lake.root()),
        run_id: curated.run_id,
        checks,
    })
}

/// Runs every check: on the warehouse when one is configured (plus its row
/// counts against the lake), else on the lake's published curated run.
pub async fn check(settings: &Settings, lake: &Lake) -> Result<CheckReport, CheckError> {
    if settings.warehouse.kind == crate::config::WarehouseKind::None {
        return check_lake(settings, lake, Which::Published).await;
    }
    let (ctx, curated) = local_curated_context(lake, Which::Published).await?;
    let mut checks = rejected_fractions(lake, settings, &ctx, &curated).await?;
    let fact_rows = curated.tables.get("fact_rating").copied().unwrap_or(0);
    let mut wh = Warehouse::connect(settings).await?;
    let loaded = wh.loaded_run().await?;
    if loaded.as_deref() != Some(curated.run_id.as_str()) {
        return Err(CheckError::NotLoaded {
            url: wh.url.clone(),
            loaded,
            published: curated.run_id,
        });
    }
    wh.execute(&format!("SET search_path TO {}", wh.schema))
        .await?;
    let mut row_counts = Vec::new();
    for table in TABLES {
        let expected = curated.tables.get(table.name).copied().unwrap_or(0) as i64;
        row_counts.push((
            format!("rows {}", table.name),
            row_count_sql(table),
            Rule::Equals(expected),
        ));
    }
    let target = format!("warehouse {}", wh.url);
    let mut on_warehouse = Target::Warehouse(&mut wh);
    run_all(&mut on_warehouse, row_counts, &mut checks).await?;
    run_model_checks(&mut on_warehouse, settings, fact_rows, &mut checks).await?;
    wh.close().await;
    Ok(CheckReport {
        target,
        run_id: curated.run_id,
        checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_hold_and_fail_where_they_should() {
        assert!(Rule::Equals(0).holds(0.0));
        assert!(!Rule::Equals(0).holds(1.0));
        assert!(Rule::AtLeast(1).holds(3.0));
        assert!(!Rule::AtLeast(1).holds(0.0));
        assert!(Rule::AtMost(0.01).holds(0.01));
        assert!(!Rule::AtMost(0.01).holds(0.0101));
    }

    #[test]
    fn duplicate_passes_cover_the_user_ids_exactly_once() {
        for (min, max, rows, per_pass) in [
            (1, 270_896, 26_024_289, 3_000_000),
            (1, 10, 100, 7),
            (5, 5, 1_000_000, 10),
            (-3, 4, 10, 100),
            (i64::MIN, i64::MAX, 9, 2),
        ] {
            let passes = duplicate_passes(min, max, rows, per_pass);
            assert_eq!(passes[0].0, min);
            assert_eq!(passes.last().unwrap().1, max);
            for pair in passes.windows(2) {
                assert_eq!(pair[0].1.checked_add(1), Some(pair[1].0), "{passes:?}");
            }
            // At most one pass per `per_pass` rows, and never an empty range.
            let wanted = i128::from(rows.div_ceil(per_pass));
            let span = i128::from(max) - i128::from(min) + 1;
            assert!(passes.len() as i128 <= wanted.min(span), "{passes:?}");
            assert!(passes.iter().all(|(lo, hi)| lo <= hi), "{passes:?}");
        }
        // Scale 1's 26M ratings: nine passes of about 30,100 users; a pass
        // size above the rows is one pass over the whole range.
        assert_eq!(duplicate_passes(1, 270_896, 26_024_289, 3_000_000).len(), 9);
        assert_eq!(
            duplicate_passes(1, 270_896, 26_024_289, u64::MAX),
            vec![(1, 270_896)]
        );
        // An empty fact (min = max = 0) is one pass over nothing.
        assert_eq!(duplicate_passes(0, 0, 0, 3_000_000), vec![(0, 0)]);
    }

    #[test]
    fn every_keyed_table_and_mart_is_checked() {
        let names: Vec<String> = model_checks(10).into_iter().map(|c| c.0).collect();
        for t in TABLES {
            if !t.key.is_empty() {
                assert!(
                    names.contains(&format!("key_unique {}", t.name)),
                    "{names:?}"
                );
            }
            if t.is_mart() {
                assert!(
                    names.contains(&format!("mart_rows {}", t.name)),
                    "{names:?}"
                );
            }
            for c in t.columns.iter().filter(|c| !c.nullable) {
                let present = format!("value_present {}.{}", t.name, c.name);
                let keyed = format!("key_not_null {}", t.name);
                assert!(
                    names.contains(&present) || (t.key.contains(&c.name) && names.contains(&keyed)),
                    "{}.{} is required but unchecked",
                    t.name,
                    c.name
                );
            }
        }
        assert_eq!(
            key_duplicates_sql(crate::warehouse::schema::table("movie_genre").unwrap()),
            "SELECT CAST(count(*) AS BIGINT) FROM (SELECT \"tmdb_id\", \"genre\" FROM movie_genre GROUP BY \"tmdb_id\", \"genre\" HAVING count(*) > 1) AS duplicated"
        );
    }
}
