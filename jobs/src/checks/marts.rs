//! What each mart must hold, judged from its inputs rather than assumed.
//!
//! A mart may be empty, but only when its inputs say so: genre_earnings_real
//! is rightly empty when every movie with a revenue was released before the
//! CPI series starts, and wrongly empty when a join lost its rows. So each
//! mart has the number of rows its definition implies, computed from the
//! curated tables independently of the mart's own SQL, and `mart_rows`
//! compares the two. Value rules then look inside the rows: a NULL-ranked
//! highest_rated once passed every row-count check.
//!
//! Each query returns one BIGINT and runs unchanged on DataFusion, PostgreSQL
//! and Redshift.

use crate::warehouse::schema::{Column, ColumnType, TABLES, Table};

/// Rated movies: the movies highest_rated ranks and genre_popularity counts.
const RATED_MOVIES: &str = "SELECT DISTINCT tmdb_id FROM ratings_by_movielens_id \
     WHERE tmdb_id IS NOT NULL AND n_ratings > 0";

/// Movies box office and real earnings can use: a revenue and a release date.
const EARNING_MOVIES: &str = "SELECT tmdb_id, release_month, release_quarter, release_month_start FROM dim_movie \
     WHERE revenue IS NOT NULL AND release_date IS NOT NULL";

/// The rows `mart` must hold given its inputs, as SQL returning one integer;
/// `None` for a table that is not a mart.
pub fn expected_rows_sql(mart: &str, top_n: usize) -> Option<String> {
    let sql = match mart {
        // The top N of the rated movies, or all of them when there are fewer.
        "highest_rated" => format!(
            "SELECT CASE WHEN count(*) < {top_n} THEN count(*) ELSE {top_n} END \
             FROM ({RATED_MOVIES}) AS rated"
        ),
        // Every genre of a rated movie.
        "genre_popularity" => format!(
            "SELECT count(DISTINCT g.genre) FROM movie_genre AS g \
             JOIN ({RATED_MOVIES}) AS rated ON rated.tmdb_id = g.tmdb_id"
        ),
        "box_office_by_month" => {
            format!("SELECT count(DISTINCT release_month) FROM ({EARNING_MOVIES}) AS m")
        }
        "box_office_by_quarter" => {
            format!("SELECT count(DISTINCT release_quarter) FROM ({EARNING_MOVIES}) AS m")
        }
        // Every genre of a movie the CPI can deflate: released in a month of
        // the series that has a value. Empty when all movies predate 1999.
        "genre_earnings_real" => format!(
            "SELECT count(DISTINCT g.genre) FROM ({EARNING_MOVIES}) AS m \
             JOIN dim_cpi AS c ON c.month = m.release_month_start AND c.cpi IS NOT NULL \
             JOIN movie_genre AS g ON g.tmdb_id = m.tmdb_id"
        ),
        // One row when the series has a value at all.
        "cpi_window" => {
            "SELECT CASE WHEN count(cpi) > 0 THEN 1 ELSE 0 END FROM dim_cpi".to_string()
        }
        _ => return None,
    };
    Some(sql)
}

/// |rows of `mart` - rows its inputs imply|.
pub fn mart_rows_sql(mart: &Table, top_n: usize) -> Option<String> {
    let expected = expected_rows_sql(mart.name, top_n)?;
    Some(format!(
        "SELECT CAST(abs((SELECT count(*) FROM {}) - ({expected})) AS BIGINT)",
        mart.name
    ))
}

/// Rules on the values of the marts: (check name, SQL counting the rows that
/// break the rule).
pub const VALUE_RULES: &[(&str, &str)] = &[
    // IMDb's weighted rating is a mix of the movie's mean and the global mean,
    // so it lies between them (1e-9 for rounding).
    (
        "weighted_rating_between_means highest_rated",
        "SELECT CAST(count(*) AS BIGINT) FROM highest_rated \
         WHERE weighted_rating < least(mean_rating, global_mean_rating) - 1e-9 \
            OR weighted_rating > greatest(mean_rating, global_mean_rating) + 1e-9",
    ),
    // Every ranked movie has at least one rating, so the percentile of the
    // counts is at least 1; n_ratings is at least 1 and at most all ratings.
    (
        "counts_in_range highest_rated",
        "SELECT CAST(count(*) AS BIGINT) FROM highest_rated \
         WHERE min_ratings < 1 OR n_ratings < 1 OR n_ratings > rated_ratings",
    ),
    (
        "mean_rating_is_a_rating highest_rated",
        "SELECT CAST(count(*) AS BIGINT) FROM highest_rated \
         WHERE mean_rating < 0.5 OR mean_rating > 5.0 \
            OR global_mean_rating < 0.5 OR global_mean_rating > 5.0",
    ),
    (
        "mean_rating_is_a_rating genre_popularity",
        "SELECT CAST(count(*) AS BIGINT) FROM genre_popularity \
         WHERE mean_rating < 0.5 OR mean_rating > 5.0",
    ),
    // A share of all ratings is in (0, 1]; a genre has at least one user and
    // no more users than ratings.
    (
        "shares_and_users_in_range genre_popularity",
        "SELECT CAST(count(*) AS BIGINT) FROM genre_popularity \
         WHERE share_of_ratings <= 0 OR share_of_ratings > 1 \
            OR n_users < 1 OR n_users > n_ratings OR n_movies < 1",
    ),
    // Only movies with a revenue above 0 are counted.
    (
        "revenue_positive box_office_by_month",
        "SELECT CAST(count(*) AS BIGINT) FROM box_office_by_month \
         WHERE n_movies < 1 OR total_revenue <= 0 OR mean_revenue <= 0 OR median_revenue <= 0 \
            OR month < 1 OR month > 12",
    ),
    (
        "revenue_positive box_office_by_quarter",
        "SELECT CAST(count(*) AS BIGINT) FROM box_office_by_quarter \
         WHERE n_movies < 1 OR total_revenue <= 0 OR mean_revenue <= 0 OR median_revenue <= 0 \
            OR quarter < 1 OR quarter > 4",
    ),
    (
        "revenue_positive genre_earnings_real",
        "SELECT CAST(count(*) AS BIGINT) FROM genre_earnings_real \
         WHERE n_movies < 1 OR revenue_nominal <= 0 OR revenue_real <= 0",
    ),
    (
        "cpi_positive cpi_window",
        "SELECT CAST(count(*) AS BIGINT) FROM cpi_window WHERE base_cpi <= 0",
    ),
];

/// Rows of `table` where the required `column` has no value: NULL, and for
/// doubles also NaN or infinite (outside ±1e300 in both engines' ordering).
pub fn value_missing_sql(table: &Table, column: &Column) -> String {
    let c = format!("\"{}\"", column.name);
    let missing = match column.ty {
        ColumnType::Double => format!(
            "{c} IS NULL OR NOT ({c} BETWEEN CAST(-1e300 AS DOUBLE PRECISION) AND CAST(1e300 AS DOUBLE PRECISION))"
        ),
        _ => format!("{c} IS NULL"),
    };
    format!(
        "SELECT CAST(count(*) AS BIGINT) FROM {} WHERE {missing}",
        table.name
    )
}

/// Every mart of the schema.
pub fn marts() -> impl Iterator<Item = &'static Table> {
    TABLES.iter().filter(|t| t.is_mart)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mart_has_expected_rows_and_only_marts() {
        for t in TABLES {
            assert_eq!(
                expected_rows_sql(t.name, 10).is_some(),
                t.is_mart,
                "{}: a mart needs the rows its inputs imply, and only a mart has them",
                t.name
            );
        }
    }

    #[test]
    fn value_rules_name_a_mart() {
        for (name, sql) in VALUE_RULES {
            let mart = name.rsplit(' ').next().unwrap();
            assert!(marts().any(|m| m.name == mart), "{name}: names no mart");
            assert!(sql.contains(&format!("FROM {mart}")), "{name}: {sql}");
        }
    }
}
