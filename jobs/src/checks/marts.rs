//! The marts' checks, as the catalogue declares them with each mart
//! ([`crate::warehouse::schema::Mart`]): the rows its inputs imply (compared by
//! `mart_rows`) and rules on its values.
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
pub fn expected_rows_sql(mart: &Table, top_n: usize) -> Option<String> {
    let sql = mart.mart?.expected_rows;
    Some(
        sql.replace("{{top_n}}", &top_n.to_string())
            .replace("{{rated_movies}}", RATED_MOVIES)
            .replace("{{earning_movies}}", EARNING_MOVIES),
    )
}

/// |rows of `mart` - rows its inputs imply|.
pub fn mart_rows_sql(mart: &Table, top_n: usize) -> Option<String> {
    let expected = expected_rows_sql(mart, top_n)?;
    Some(format!(
        "SELECT CAST(abs((SELECT count(*) FROM {}) - ({expected})) AS BIGINT)",
        mart.name
    ))
}

/// Every mart's value rules: (check name `<rule> <mart>`, SQL counting the
/// rows that break it).
pub fn value_rules() -> impl Iterator<Item = (String, &'static str)> {
    marts().flat_map(|m| {
        let rules = m.mart.map(|c| c.rules).unwrap_or_default();
        rules
            .iter()
            .map(|(rule, sql)| (format!("{rule} {}", m.name), *sql))
    })
}

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
    TABLES.iter().filter(|t| t.is_mart())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mart_has_its_rows_filled_and_a_rule_on_itself() {
        for mart in marts() {
            let rows = expected_rows_sql(mart, 10).unwrap();
            assert!(!rows.contains("{{"), "{}: {rows}", mart.name);
            let rules: Vec<_> = value_rules()
                .filter(|(name, _)| name.ends_with(&format!(" {}", mart.name)))
                .collect();
            assert!(!rules.is_empty(), "{}: no value rule", mart.name);
            for (name, sql) in rules {
                assert!(
                    sql.contains(&format!("FROM {}", mart.name)),
                    "{name}: {sql}"
                );
            }
        }
        assert!(
            TABLES
                .iter()
                .filter(|t| !t.is_mart())
                .all(|t| expected_rows_sql(t, 10).is_none())
        );
    }
}
