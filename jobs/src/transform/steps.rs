//! The transform's steps: one SQL file per model of the catalogue
//! ([`crate::warehouse::schema::TABLES`]), in its order, and how a step's SQL
//! is rendered and what it reads.

use super::TransformError;
use crate::warehouse::schema::TABLES;

/// One SQL file and the table it produces.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub table: &'static str,
    pub file: &'static str,
    pub sql: &'static str,
    /// A query run just before the step (`<table>.params.sql` beside it): the
    /// columns of its one row fill the step's placeholders of the same names.
    pub params_sql: Option<&'static str>,
    pub write: Write,
}

/// How a step's result is written to the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// One parquet file from one job.
    OneFile,
    /// One job and one file per share of the raw ratings parts: Ballista
    /// writes a job's output from a single task, so the table that reads every
    /// rating is written by several jobs side by side. Its scan also writes
    /// [`RATINGS_PER_FILE`].
    ShardedByRatingsPart,
}

/// A table a step writes besides its own, read by later steps but not
/// published: its rows are a means, not an answer.
#[derive(Debug, Clone, Copy)]
pub struct SideTable {
    pub name: &'static str,
    /// The SQL that defines its rows.
    pub file: &'static str,
    pub sql: &'static str,
}

/// The ratings of each fact_rating shard's raw ratings files summed per
/// MovieLens id: written by the scans of the [`Write::ShardedByRatingsPart`]
/// step, one file per shard (see
/// [`crate::ratings_csv::per_id`]), read by ratings_by_movielens_id.
pub const RATINGS_PER_FILE: SideTable = SideTable {
    name: "ratings_per_file",
    file: "jobs/sql/curated/ratings_per_file.sql",
    sql: include_str!("../../sql/curated/ratings_per_file.sql"),
};

/// Every side table (what exists besides the catalogue's tables).
pub const SIDE_TABLES: &[SideTable] = &[RATINGS_PER_FILE];

impl SideTable {
    /// Its one-step rendering, as a [`Step`] (for [`render`] and errors).
    pub const fn as_step(&self) -> Step {
        Step {
            table: self.name,
            file: self.file,
            sql: self.sql,
            params_sql: None,
            write: Write::OneFile,
        }
    }
}

impl Step {
    /// This step, written as [`Write::ShardedByRatingsPart`].
    pub const fn sharded(self) -> Self {
        Step {
            write: Write::ShardedByRatingsPart,
            ..self
        }
    }
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

/// Every step, curated tables first, in the order they are declared.
pub fn steps() -> impl Iterator<Item = &'static Step> {
    TABLES.iter().map(|t| &t.step)
}

/// The step that writes `table`, if any.
pub fn find_step(table: &str) -> Option<&'static Step> {
    steps().find(|s| s.table == table)
}

/// The steps whose tables `step` reads, found by name in its SQL and its
/// params query outside comments (the way dbt finds a model's refs); reading
/// [`RATINGS_PER_FILE`] is reading the step whose scan writes it.
pub fn dependencies(step: &Step) -> Vec<&'static str> {
    let sql = format!("{}\n{}", step.sql, step.params_sql.unwrap_or(""));
    let code: Vec<&str> = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .collect();
    let code = code.join("\n");
    let reads_per_file = mentions(&code, RATINGS_PER_FILE.name);
    steps()
        .filter(|other| {
            let writes_per_file = other.write == Write::ShardedByRatingsPart;
            other.table != step.table
                && (mentions(&code, other.table) || (reads_per_file && writes_per_file))
        })
        .map(|other| other.table)
        .collect()
}

/// Whether `name` occurs in `code` as a whole identifier.
pub(super) fn mentions(code: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    code.match_indices(name).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}
