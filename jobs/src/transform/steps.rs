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
pub(super) fn mentions(code: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    code.match_indices(name).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// The years dim_date spans. Each table's first and last instant first, then
/// their years: min/max of a column come from the parquet statistics or one
/// cheap pass, where the year of every one of fact_rating's rows would not.
/// Cross joins of one-row tables, not a UNION ALL: Ballista 55 loses track of
/// a union's tasks when its branches plan differently (one answered from
/// statistics, one scanned), and the job never finishes.
pub(super) const CALENDAR_BOUNDS_SQL: &str =
    "SELECT least(m.lo, f.lo, c.lo) AS lo, greatest(m.hi, f.hi, c.hi) AS hi
    FROM (SELECT CAST(date_part('year', min(release_date)) AS INT) AS lo,
                 CAST(date_part('year', max(release_date)) AS INT) AS hi FROM dim_movie) AS m
    CROSS JOIN (SELECT CAST(date_part('year', min(rated_at)) AS INT) AS lo,
                 CAST(date_part('year', max(rated_at)) AS INT) AS hi FROM fact_rating) AS f
    CROSS JOIN (SELECT CAST(date_part('year', min(month)) AS INT) AS lo,
                 CAST(date_part('year', max(month)) AS INT) AS hi FROM dim_cpi) AS c";
