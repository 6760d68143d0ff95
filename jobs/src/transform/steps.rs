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
    /// One parquet file from one job planned as a single task
    /// ([`crate::engine::Engine::single_task`]): no repartition or shuffle in
    /// front of the writer, which for the small steps after the fact is most
    /// of their time. For steps whose inputs are small (dimensions, per-id sums).
    OneFile,
    /// One parquet file from one job planned across `engine.partitions`: for
    /// a step that aggregates a large input, which one task would have to hold
    /// alone (genre_popularity's per-user masks, ~10M rows at scale 10, took a
    /// single-task run to 526 MiB there).
    OneFileAcrossPartitions,
    /// One job and one file per share of the raw ratings parts: Ballista
    /// writes a job's output from a single task, so the table that reads every
    /// rating is written by several jobs side by side. It also writes the
    /// [`SIDE_TABLES`]: its scans write most of them.
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
    pub written: SideWrite,
}

/// When and by whom a side table is written: all of them by the
/// [`Write::ShardedByRatingsPart`] step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideWrite {
    /// By its SQL, one file, before the shards: their scans read it.
    BeforeTheScans,
    /// By the scans of the shards as they read the ratings, one file per
    /// shard; by its SQL over the shard's parts for a shard whose scan did
    /// not write it.
    ByEachScan,
}

/// The genres of the movie each MovieLens id reaches, as a mask: read by the
/// fact's scans to fold [`USER_GENRE_MASKS`].
pub const GENRE_MASK_BY_MOVIELENS_ID: SideTable = SideTable {
    name: "genre_mask_by_movielens_id",
    file: "jobs/sql/curated/genre_mask_by_movielens_id.sql",
    sql: include_str!("../../sql/curated/genre_mask_by_movielens_id.sql"),
    written: SideWrite::BeforeTheScans,
};

/// The ratings of each fact_rating shard's raw ratings files summed per
/// MovieLens id (see [`crate::ratings_csv::per_id`]), read by
/// ratings_by_movielens_id.
pub const RATINGS_PER_FILE: SideTable = SideTable {
    name: "ratings_per_file",
    file: "jobs/sql/curated/ratings_per_file.sql",
    sql: include_str!("../../sql/curated/ratings_per_file.sql"),
    written: SideWrite::ByEachScan,
};

/// The genres each user of a fact_rating shard rated, as a mask, read by
/// genre_popularity.
pub const USER_GENRE_MASKS: SideTable = SideTable {
    name: "user_genre_masks",
    file: "jobs/sql/curated/user_genre_masks.sql",
    sql: include_str!("../../sql/curated/user_genre_masks.sql"),
    written: SideWrite::ByEachScan,
};

/// Every side table (what exists besides the catalogue's tables), in the
/// order they are written.
pub const SIDE_TABLES: &[SideTable] = &[
    GENRE_MASK_BY_MOVIELENS_ID,
    RATINGS_PER_FILE,
    USER_GENRE_MASKS,
];

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
    /// This step, written as [`Write::OneFileAcrossPartitions`].
    pub const fn across_partitions(self) -> Self {
        Step {
            write: Write::OneFileAcrossPartitions,
            ..self
        }
    }

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
/// params query outside comments (the way dbt finds a model's refs). Reading
/// a side table its scans write is reading the sharded step; the sharded step
/// also reads what the side tables written before its scans read.
pub fn dependencies(step: &Step) -> Vec<&'static str> {
    let code = code_of(&format!("{}\n{}", step.sql, step.params_sql.unwrap_or("")));
    let mut read = code.clone();
    if step.write == Write::ShardedByRatingsPart {
        for side in SIDE_TABLES {
            if side.written == SideWrite::BeforeTheScans {
                read.push('\n');
                read.push_str(&code_of(side.sql));
            }
        }
    }
    let reads_from_scans = SIDE_TABLES
        .iter()
        .any(|side| side.written == SideWrite::ByEachScan && mentions(&code, side.name));
    steps()
        .filter(|other| {
            let writes_side_tables = other.write == Write::ShardedByRatingsPart;
            other.table != step.table
                && (mentions(&read, other.table) || (reads_from_scans && writes_side_tables))
        })
        .map(|other| other.table)
        .collect()
}

/// `sql` without its comments.
fn code_of(sql: &str) -> String {
    let code: Vec<&str> = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .collect();
    code.join("\n")
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
