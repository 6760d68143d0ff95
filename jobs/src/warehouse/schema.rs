//! The catalogue of models ([`TABLES`]: each table's SQL step, columns, key
//! and distribution) and the warehouse DDL for each flavour (Postgres, Redshift).
//!
//! Columns are listed in the order the transform writes them to parquet:
//! Redshift's `COPY … FORMAT AS PARQUET` maps columns by position, and the
//! loaders check the parquet schema against this list before copying.

/// Bump when a table, column or type changes: `movielens load` then drops and
/// recreates the warehouse tables (they are reloaded from the lake in full on
/// every load, so nothing is lost).
pub const SCHEMA_VERSION: i32 = 2;

/// SQL flavours the loader speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Postgres,
    Redshift,
}

/// Column types, named by what they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// 64-bit integer ids and counts.
    BigInt,
    /// Small integers: years, months, quarters, days.
    Int,
    /// Money in whole dollars (BIGINT: the old system overflowed INTEGER).
    Money,
    /// A half-star rating 0.5 … 5.0, kept exactly (the old system lost the half).
    Rating,
    /// Means, shares, CPI values.
    Double,
    Boolean,
    Date,
    /// A UTC instant.
    Timestamp,
    /// Text of at most this many bytes (Redshift VARCHAR counts bytes).
    Text(u32),
}

impl ColumnType {
    /// The column type in `flavour`'s DDL.
    pub fn sql(self, flavour: Flavour) -> String {
        use ColumnType::*;
        match (self, flavour) {
            (BigInt | Money, _) => "BIGINT".into(),
            (Int, _) => "INTEGER".into(),
            (Rating, _) => "NUMERIC(2,1)".into(),
            (Double, _) => "DOUBLE PRECISION".into(),
            (Boolean, _) => "BOOLEAN".into(),
            (Date, _) => "DATE".into(),
            (Timestamp, _) => "TIMESTAMP".into(),
            (Text(_), Flavour::Postgres) => "TEXT".into(),
            (Text(n), Flavour::Redshift) => format!("VARCHAR({n})"),
        }
    }
}

/// How Redshift spreads a table over its slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    /// A copy on every node: small dimensions and marts, joined without moving data.
    All,
    /// Rows placed by this column's hash: the fact table, co-located with its joins.
    Key(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
}

/// One model: the SQL step that makes it, and the warehouse table it is
/// loaded into (from the curated table of the same name).
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    /// Its SQL file under `jobs/sql/curated/` or `jobs/sql/marts/` (marts).
    pub step: Step,
    pub columns: &'static [Column],
    /// Columns that identify a row (primary key in Postgres; checked unique
    /// and not null by `movielens check`). Empty for the fact table, whose
    /// source guarantees no natural key.
    pub key: &'static [&'static str],
    /// Further (non-unique) indexes in Postgres.
    pub indexes: &'static [&'static str],
    pub distribution: Distribution,
    /// Redshift sort key.
    pub sort_key: &'static [&'static str],
    /// For an answer mart, the checks declared with it.
    pub mart: Option<Mart>,
}

/// An answer mart's checks (run by `movielens check` on the lake and the
/// warehouse). Each query returns one BIGINT and runs unchanged on DataFusion,
/// PostgreSQL and Redshift.
#[derive(Debug, Clone, Copy)]
pub struct Mart {
    /// The rows the mart must hold given its inputs, computed from the curated
    /// tables independently of its own SQL: a mart may be empty, but only when
    /// its inputs say so. `{{top_n}}`, `{{rated_movies}}` and
    /// `{{earning_movies}}` are filled by [`crate::checks::marts`].
    pub expected_rows: &'static str,
    /// Rules on its values: (rule, SQL counting the rows that break it). A
    /// NULL-ranked highest_rated once passed every row-count check.
    pub rules: &'static [(&'static str, &'static str)],
}

impl Table {
    pub fn is_mart(&self) -> bool {
        self.mart.is_some()
    }
}

const fn col(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        nullable: true,
    }
}

const fn req(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        nullable: false,
    }
}

use crate::transform::{Step, Write};
use ColumnType::*;

/// The step of model `$table` from `jobs/sql/$dir/$table.sql`; with `params`,
/// also its `$table.params.sql` (see [`Step::params_sql`]).
macro_rules! step {
    ($table:literal, $dir:literal) => {
        Step {
            table: $table,
            file: concat!("jobs/sql/", $dir, "/", $table, ".sql"),
            sql: include_str!(concat!("../../sql/", $dir, "/", $table, ".sql")),
            params_sql: None,
            write: Write::OneFile,
        }
    };
    ($table:literal, $dir:literal, params) => {
        Step {
            params_sql: Some(include_str!(concat!(
                "../../sql/",
                $dir,
                "/",
                $table,
                ".params.sql"
            ))),
            ..step!($table, $dir)
        }
    };
}

const TITLE: ColumnType = Text(2048);
const NAME: ColumnType = Text(256);

/// The catalogue of models: every table the transform makes, in dependency
/// order (the star model, then one mart per question), with its SQL, columns,
/// key and warehouse layout. The transform's steps, the warehouse schema, the
/// checks and the answers all read this list (tests/catalogue.rs ties the rest).
pub const TABLES: &[Table] = &[
    Table {
        name: "dim_movie",
        step: step!("dim_movie", "curated"),
        columns: &[
            req("tmdb_id", BigInt),
            col("imdb_id", Text(32)),
            req("title", TITLE),
            req("original_title", TITLE),
            col("original_language", Text(16)),
            req("adult", Boolean),
            col("status", Text(64)),
            col("release_date", Date),
            col("release_year", Int),
            col("release_month", Int),
            col("release_quarter", Int),
            col("budget", Money),
            col("revenue", Money),
            col("runtime", Double),
            col("popularity", Double),
            col("vote_average", Double),
            col("vote_count", BigInt),
            col("release_month_start", Date),
        ],
        key: &["tmdb_id"],
        indexes: &[],
        distribution: Distribution::All,
        sort_key: &["tmdb_id"],
        mart: None,
    },
    Table {
        name: "movie_genre",
        step: step!("movie_genre", "curated"),
        columns: &[req("tmdb_id", BigInt), req("genre", NAME)],
        key: &["tmdb_id", "genre"],
        indexes: &["genre"],
        distribution: Distribution::All,
        sort_key: &["tmdb_id"],
        mart: None,
    },
    Table {
        name: "dim_genre",
        step: step!("dim_genre", "curated"),
        columns: &[
            req("genre", NAME),
            col("tmdb_genre_id", BigInt),
            req("n_movies", BigInt),
        ],
        key: &["genre"],
        indexes: &[],
        distribution: Distribution::All,
        sort_key: &["genre"],
        mart: None,
    },
    Table {
        name: "fact_rating",
        step: step!("fact_rating", "curated").sharded(),
        columns: &[
            req("user_id", BigInt),
            req("tmdb_id", BigInt),
            req("movielens_id", BigInt),
            req("rating", Rating),
            req("rated_at", Timestamp),
        ],
        key: &[],
        indexes: &["tmdb_id"],
        distribution: Distribution::Key("tmdb_id"),
        sort_key: &["rated_at"],
        mart: None,
    },
    Table {
        name: "ratings_by_movielens_id",
        step: step!("ratings_by_movielens_id", "curated"),
        columns: &[
            col("movielens_id", BigInt),
            col("tmdb_id", BigInt),
            req("outcome", Text(64)),
            req("n_ratings", BigInt),
            req("sum_rating", Double),
            req("n_invalid", BigInt),
        ],
        // One row per id, but lines whose id could not be read share a row
        // with a NULL id, so the id is not a key.
        key: &[],
        indexes: &["tmdb_id"],
        distribution: Distribution::All,
        sort_key: &["movielens_id"],
        mart: None,
    },
    Table {
        name: "rating_mapping",
        step: step!("rating_mapping", "curated"),
        columns: &[
            req("outcome", Text(64)),
            req("n_ratings", BigInt),
            req("n_movielens_ids", BigInt),
        ],
        key: &["outcome"],
        indexes: &[],
        distribution: Distribution::All,
        sort_key: &["outcome"],
        mart: None,
    },
    Table {
        name: "dim_cpi",
        step: step!("dim_cpi", "curated"),
        columns: &[
            req("month", Date),
            req("year", Int),
            req("month_of_year", Int),
            col("cpi", Double),
            req("series_id", Text(32)),
        ],
        key: &["month"],
        indexes: &[],
        distribution: Distribution::All,
        sort_key: &["month"],
        mart: None,
    },
    Table {
        name: "dim_date",
        step: step!("dim_date", "curated", params),
        columns: &[
            req("date_key", Date),
            req("year", Int),
            req("quarter", Int),
            req("month", Int),
            req("day_of_month", Int),
            req("iso_day_of_week", Int),
            req("month_start", Date),
        ],
        key: &["date_key"],
        indexes: &[],
        distribution: Distribution::All,
        sort_key: &["date_key"],
        mart: None,
    },
    Table {
        name: "highest_rated",
        step: step!("highest_rated", "marts"),
        columns: &[
            req("rank", BigInt),
            req("tmdb_id", BigInt),
            req("title", TITLE),
            col("release_year", Int),
            req("n_ratings", BigInt),
            req("mean_rating", Double),
            req("weighted_rating", Double),
            req("global_mean_rating", Double),
            req("min_ratings", Double),
            req("rated_ratings", BigInt),
        ],
        key: &["rank"],
        indexes: &[],
        distribution: Distribution::All,
        sort_key: &["rank"],
        mart: Some(Mart {
            // The top N of the rated movies, or all of them when there are fewer.
            expected_rows: "SELECT CASE WHEN count(*) < {{top_n}} THEN count(*) ELSE {{top_n}} END \
                FROM ({{rated_movies}}) AS rated",
            rules: &[
                // IMDb's weighted rating is a mix of the movie's mean and the
                // global mean, so it lies between them (1e-9 for rounding).
                (
                    "weighted_rating_between_means",
                    "SELECT CAST(count(*) AS BIGINT) FROM highest_rated \
                     WHERE weighted_rating < least(mean_rating, global_mean_rating) - 1e-9 \
                        OR weighted_rating > greatest(mean_rating, global_mean_rating) + 1e-9",
                ),
                // Every ranked movie has at least one rating, so the percentile
                // of the counts is at least 1; n_ratings is at least 1 and at
                // most all ratings.
                (
                    "counts_in_range",
                    "SELECT CAST(count(*) AS BIGINT) FROM highest_rated \
                     WHERE min_ratings < 1 OR n_ratings < 1 OR n_ratings > rated_ratings",
                ),
                (
                    "mean_rating_is_a_rating",
                    "SELECT CAST(count(*) AS BIGINT) FROM highest_rated \
                     WHERE mean_rating < 0.5 OR mean_rating > 5.0 \
                        OR global_mean_rating < 0.5 OR global_mean_rating > 5.0",
                ),
            ],
        }),
    },
    Table {
        name: "genre_popularity",
        step: step!("genre_popularity", "marts").across_partitions(),
        columns: &[
            req("genre", NAME),
            req("n_ratings", BigInt),
            req("n_users", BigInt),
            req("n_movies", BigInt),
            req("mean_rating", Double),
            req("share_of_ratings", Double),
        ],
        key: &["genre"],
        indexes: &[],
        distribution: Distribution::All,
        sort_key: &["genre"],
        mart: Some(Mart {
            // Every genre of a rated movie.
            expected_rows: "SELECT count(DISTINCT g.genre) FROM movie_genre AS g \
                JOIN ({{rated_movies}}) AS rated ON rated.tmdb_id = g.tmdb_id",
            rules: &[
                (
                    "mean_rating_is_a_rating",
                    "SELECT CAST(count(*) AS BIGINT) FROM genre_popularity \
                     WHERE mean_rating < 0.5 OR mean_rating > 5.0",
                ),
                // A share of all ratings is in (0, 1]; a genre has at least one
                // user and no more users than ratings.
                (
                    "shares_and_users_in_range",
                    "SELECT CAST(count(*) AS BIGINT) FROM genre_popularity \
                     WHERE share_of_ratings <= 0 OR share_of_ratings > 1 \
                        OR n_users < 1 OR n_users > n_ratings OR n_movies < 1",
                ),
            ],
        }),
    },
    Table {
        name: "box_office_by_month",
        step: step!("box_office_by_month", "marts"),
        columns: &box_office_columns("month"),
        key: &["month"],
        indexes: &[],
        distribution: Distribution::All,
        sort_key: &["month"],
        mart: Some(Mart {
            expected_rows: "SELECT count(DISTINCT release_month) FROM ({{earning_movies}}) AS m",
            // Only movies with a revenue above 0 are counted.
            rules: &[(
                "revenue_positive",
                "SELECT CAST(count(*) AS BIGINT) FROM box_office_by_month \
                 WHERE n_movies < 1 OR total_revenue <= 0 OR mean_revenue <= 0 \
                    OR median_revenue <= 0 OR month < 1 OR month > 12",
            )],
        }),
    },
    Table {
        name: "box_office_by_quarter",
        step: step!("box_office_by_quarter", "marts"),
        columns: &box_office_columns("quarter"),
        key: &["quarter"],
        indexes: &[],
        distribution: Distribution::All,
        sort_key: &["quarter"],
        mart: Some(Mart {
            expected_rows: "SELECT count(DISTINCT release_quarter) FROM ({{earning_movies}}) AS m",
            rules: &[(
                "revenue_positive",
                "SELECT CAST(count(*) AS BIGINT) FROM box_office_by_quarter \
                 WHERE n_movies < 1 OR total_revenue <= 0 OR mean_revenue <= 0 \
                    OR median_revenue <= 0 OR quarter < 1 OR quarter > 4",
            )],
        }),
    },
    Table {
        name: "genre_earnings_real",
        step: step!("genre_earnings_real", "marts"),
        columns: &[
            req("genre", NAME),
            req("n_movies", BigInt),
            req("revenue_nominal", Money),
            req("revenue_real", Double),
        ],
        key: &["genre"],
        indexes: &[],
        distribution: Distribution::All,
        sort_key: &["genre"],
        mart: Some(Mart {
            // Every genre of a movie the CPI can deflate: released in a month
            // of the series that has a value. Empty when all movies predate 1999.
            expected_rows: "SELECT count(DISTINCT g.genre) FROM ({{earning_movies}}) AS m \
                JOIN dim_cpi AS c ON c.month = m.release_month_start AND c.cpi IS NOT NULL \
                JOIN movie_genre AS g ON g.tmdb_id = m.tmdb_id",
            rules: &[(
                "revenue_positive",
                "SELECT CAST(count(*) AS BIGINT) FROM genre_earnings_real \
                 WHERE n_movies < 1 OR revenue_nominal <= 0 OR revenue_real <= 0",
            )],
        }),
    },
    Table {
        name: "cpi_window",
        step: step!("cpi_window", "marts"),
        columns: &[
            req("cpi_base_month", Date),
            req("base_cpi", Double),
            req("movies_before_cpi_window", BigInt),
            req("movies_without_cpi_value", BigInt),
            req("movies_deflated", BigInt),
        ],
        key: &["cpi_base_month"],
        indexes: &[],
        distribution: Distribution::All,
        sort_key: &["cpi_base_month"],
        mart: Some(Mart {
            // One row when the series has a value at all.
            expected_rows: "SELECT CASE WHEN count(cpi) > 0 THEN 1 ELSE 0 END FROM dim_cpi",
            rules: &[(
                "cpi_positive",
                "SELECT CAST(count(*) AS BIGINT) FROM cpi_window WHERE base_cpi <= 0",
            )],
        }),
    },
];

const fn box_office_columns(period: &'static str) -> [Column; 5] {
    [
        req(period, Int),
        req("n_movies", BigInt),
        req("total_revenue", Money),
        req("mean_revenue", Double),
        req("median_revenue", Double),
    ]
}

/// The table called `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// Bookkeeping tables in the warehouse schema: the schema version and one row
/// per load (which curated run the warehouse holds).
pub fn bookkeeping_ddl(schema: &str) -> Vec<String> {
    vec![
        format!("CREATE TABLE IF NOT EXISTS {schema}.schema_version (version INTEGER NOT NULL)"),
        format!(
            "CREATE TABLE IF NOT EXISTS {schema}.loads (\n    \
             run_id VARCHAR(128) NOT NULL,\n    \
             staging_run VARCHAR(128),\n    \
             schema_version INTEGER NOT NULL,\n    \
             loaded_at TIMESTAMP NOT NULL,\n    \
             rows_loaded BIGINT NOT NULL,\n    \
             seconds DOUBLE PRECISION NOT NULL\n)"
        ),
    ]
}

impl Table {
    pub fn column_names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.name).collect()
    }

    /// `CREATE TABLE {schema}.{name}` with `if_not_exists` or plain; no keys
    /// (Postgres adds them after the bulk copy, see [`Table::postgres_constraints`]).
    pub fn create(&self, flavour: Flavour, schema: &str, if_not_exists: bool) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                let null = if c.nullable { "" } else { " NOT NULL" };
                format!("    {} {}{null}", quote(c.name), c.ty.sql(flavour))
            })
            .collect();
        let mut sql = format!(
            "CREATE TABLE {}{schema}.{} (\n{}",
            if if_not_exists { "IF NOT EXISTS " } else { "" },
            self.name,
            columns.join(",\n")
        );
        if flavour == Flavour::Redshift && !self.key.is_empty() {
            // Informational in Redshift (not enforced) but used by the planner.
            sql += &format!(",\n    PRIMARY KEY ({})", quoted_list(self.key));
        }
        sql += "\n)";
        if flavour == Flavour::Redshift {
            sql += &match self.distribution {
                Distribution::All => "\nDISTSTYLE ALL".to_string(),
                Distribution::Key(c) => format!("\nDISTSTYLE KEY DISTKEY ({})", quote(c)),
            };
            if !self.sort_key.is_empty() {
                sql += &format!("\nSORTKEY ({})", quoted_list(self.sort_key));
            }
        }
        sql
    }

    /// Postgres: the primary key and indexes, added once the rows are in
    /// (building them after a bulk copy is much faster than maintaining them).
    pub fn postgres_constraints(&self, schema: &str) -> Vec<String> {
        let mut out = Vec::new();
        if !self.key.is_empty() {
            out.push(format!(
                "ALTER TABLE {schema}.{} ADD PRIMARY KEY ({})",
                self.name,
                quoted_list(self.key)
            ));
        }
        for column in self.indexes {
            out.push(format!(
                "CREATE INDEX ON {schema}.{} ({})",
                self.name,
                quote(column)
            ));
        }
        out
    }
}

/// Column names are quoted: some (`month`, `year`, `rank`) are keywords somewhere.
pub fn quote(name: &str) -> String {
    format!("\"{name}\"")
}

pub fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| quote(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The full DDL of a flavour, as `movielens load` would create it from nothing.
pub fn full_ddl(flavour: Flavour, schema: &str) -> String {
    let mut statements = vec![format!("CREATE SCHEMA IF NOT EXISTS {schema}")];
    statements.extend(bookkeeping_ddl(schema));
    for table in TABLES {
        statements.push(table.create(flavour, schema, true));
        if flavour == Flavour::Postgres {
            statements.extend(table.postgres_constraints(schema));
        }
    }
    statements.join(";\n\n") + ";\n"
}
