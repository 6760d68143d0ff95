//! The four answers, read from the published marts.
//!
//! `movielens answers --format json` prints [`Answers`] as one JSON object;
//! scripts depend on its keys, so they are fixed here by the struct fields.

mod text;

use arrow::array::Array;
use datafusion::prelude::SessionContext;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::lake::Lake;
use crate::transform::{TransformError, local_curated_context};

pub use text::{render_text, thousands};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answers {
    pub highest_rated: HighestRated,
    pub genre_popularity: Vec<GenrePopularity>,
    pub box_office_by_month: Vec<MonthBoxOffice>,
    pub box_office_by_quarter: Vec<QuarterBoxOffice>,
    pub genre_earnings_real: GenreEarnings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HighestRated {
    /// C: mean of all mapped ratings.
    pub global_mean_rating: f64,
    /// m: the percentile of per-movie rating counts.
    pub min_ratings: f64,
    /// Number of mapped ratings C is the mean of.
    pub rated_ratings: u64,
    pub movies: Vec<RatedMovie>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatedMovie {
    pub rank: u64,
    pub tmdb_id: i64,
    pub title: String,
    pub release_year: Option<i32>,
    pub n_ratings: u64,
    pub mean_rating: f64,
    pub weighted_rating: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenrePopularity {
    pub genre: String,
    pub n_ratings: u64,
    pub n_users: u64,
    pub n_movies: u64,
    pub mean_rating: f64,
    pub share_of_ratings: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthBoxOffice {
    pub month: u32,
    pub n_movies: u64,
    pub total_revenue: i64,
    pub mean_revenue: f64,
    pub median_revenue: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarterBoxOffice {
    pub quarter: u32,
    pub n_movies: u64,
    pub total_revenue: i64,
    pub mean_revenue: f64,
    pub median_revenue: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenreEarnings {
    /// `YYYY-MM`.
    pub cpi_base_month: String,
    pub movies_before_cpi_window: u64,
    pub genres: Vec<GenreEarning>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenreEarning {
    pub genre: String,
    pub n_movies: u64,
    pub revenue_nominal: i64,
    pub revenue_real: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum AnswersError {
    #[error(transparent)]
    Tables(#[from] TransformError),
    #[error("reading mart {table}: {source}")]
    Query {
        table: &'static str,
        #[source]
        source: datafusion::error::DataFusionError,
    },
    #[error("mart {table} has an unexpected shape: {detail}")]
    Shape { table: &'static str, detail: String },
    #[error(
        "mart {table} of run {run} has no value in column {column}, which every row must have; \
         run `movielens check` to see which data-quality checks fail"
    )]
    MissingValue {
        table: &'static str,
        column: String,
        run: String,
    },
}

/// The curated run the answers are read from: a context over its tables and its id.
struct Run {
    ctx: SessionContext,
    id: String,
}

/// Rows of `sql` as `T`s, through arrow's JSON writer (column names = field names).
/// A column the schema requires that holds a NULL is an error naming it, not
/// a field missing from the JSON.
async fn rows<T: DeserializeOwned>(
    run: &Run,
    table: &'static str,
    sql: &str,
) -> Result<Vec<T>, AnswersError> {
    let query = |source| AnswersError::Query { table, source };
    let batches = run
        .ctx
        .sql(sql)
        .await
        .map_err(query)?
        .collect()
        .await
        .map_err(query)?;
    let required = crate::warehouse::schema::table(table)
        .map(|t| t.columns.iter().filter(|c| !c.nullable).collect::<Vec<_>>())
        .unwrap_or_default();
    for b in &batches {
        for (field, column) in b.schema().fields().iter().zip(b.columns()) {
            if column.null_count() > 0 && required.iter().any(|c| c.name == field.name()) {
                return Err(AnswersError::MissingValue {
                    table,
                    column: field.name().clone(),
                    run: run.id.clone(),
                });
            }
        }
    }
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    for b in &batches {
        writer.write(b).map_err(|e| AnswersError::Shape {
            table,
            detail: e.to_string(),
        })?;
    }
    writer.finish().map_err(|e| AnswersError::Shape {
        table,
        detail: e.to_string(),
    })?;
    let json = writer.into_inner();
    if json.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&json).map_err(|e| AnswersError::Shape {
        table,
        detail: e.to_string(),
    })
}

#[derive(Deserialize)]
struct HighestRatedContext {
    global_mean_rating: f64,
    min_ratings: f64,
    rated_ratings: u64,
}

#[derive(Deserialize)]
struct CpiWindow {
    cpi_base_month: String,
    movies_before_cpi_window: u64,
}

/// What became of the ratings read: outcome (`mapped` or why not) and count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingOutcome {
    pub outcome: String,
    pub n_ratings: u64,
    pub n_movielens_ids: u64,
}

/// The `rating_mapping` of the curated run `which`, largest outcome first.
pub async fn rating_mapping(
    lake: &Lake,
    which: crate::transform::Which<'_>,
) -> Result<Vec<RatingOutcome>, AnswersError> {
    let run = curated_run(lake, which).await?;
    rows(
        &run,
        "rating_mapping",
        "SELECT * FROM rating_mapping ORDER BY n_ratings DESC, outcome",
    )
    .await
}

async fn curated_run(lake: &Lake, which: crate::transform::Which<'_>) -> Result<Run, AnswersError> {
    let (ctx, published) = local_curated_context(lake, which).await?;
    Ok(Run {
        ctx,
        id: published.run_id,
    })
}

/// Reads the answers of the published curated run.
pub async fn read(lake: &Lake) -> Result<Answers, AnswersError> {
    let run = curated_run(lake, crate::transform::Which::Published).await?;

    let movies: Vec<RatedMovie> = rows(&run, "highest_rated",
        "SELECT rank, tmdb_id, title, release_year, n_ratings, mean_rating, weighted_rating FROM highest_rated ORDER BY rank").await?;
    let context: Vec<HighestRatedContext> = rows(
        &run,
        "highest_rated",
        "SELECT global_mean_rating, min_ratings, rated_ratings FROM highest_rated LIMIT 1",
    )
    .await?;
    let highest_rated = match context.into_iter().next() {
        Some(c) => HighestRated {
            global_mean_rating: c.global_mean_rating,
            min_ratings: c.min_ratings,
            rated_ratings: c.rated_ratings,
            movies,
        },
        None => HighestRated {
            global_mean_rating: f64::NAN,
            min_ratings: f64::NAN,
            rated_ratings: 0,
            movies,
        },
    };
    let genre_popularity = rows(
        &run,
        "genre_popularity",
        "SELECT * FROM genre_popularity ORDER BY n_ratings DESC, genre ASC",
    )
    .await?;
    let box_office_by_month = rows(&run, "box_office_by_month",
        "SELECT month, n_movies, total_revenue, mean_revenue, median_revenue FROM box_office_by_month ORDER BY month").await?;
    let box_office_by_quarter = rows(&run, "box_office_by_quarter",
        "SELECT quarter, n_movies, total_revenue, mean_revenue, median_revenue FROM box_office_by_quarter ORDER BY quarter").await?;
    let genres = rows(&run, "genre_earnings_real",
        "SELECT genre, n_movies, revenue_nominal, revenue_real FROM genre_earnings_real ORDER BY revenue_real DESC, genre ASC").await?;
    let window: Vec<CpiWindow> = rows(&run, "cpi_window",
        "SELECT to_char(cpi_base_month, '%Y-%m') AS cpi_base_month, movies_before_cpi_window FROM cpi_window").await?;
    let window = window.into_iter().next().ok_or(AnswersError::Shape {
        table: "cpi_window",
        detail: "no row: the CPI series has no value".into(),
    })?;
    Ok(Answers {
        highest_rated,
        genre_popularity,
        box_office_by_month,
        box_office_by_quarter,
        genre_earnings_real: GenreEarnings {
            cpi_base_month: window.cpi_base_month,
            movies_before_cpi_window: window.movies_before_cpi_window,
            genres,
        },
    })
}
