//! Staging: raw Kaggle and FRED files → typed, cleaned parquet in `staging/`.
//!
//! Metadata, links and CPI are small and full of quirks, so they are parsed here in
//! Rust (see [`records`] and [`pyliteral`]). Ratings are large and regular; the
//! transform reads them straight from the raw zone. Every later stage reads the
//! lake, because Ballista ships file-backed tables to executors, not in-memory ones.

pub mod cpi;
pub mod links;
pub mod movies;
pub mod pyliteral;
pub mod records;
mod streamed;
mod tables;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use tracing::info;

use crate::lake::{Lake, LakeError, Published, Zone};

pub use tables::STAGED_TABLES;

/// What staging a file yields, in file order: a typed row, or a reject.
/// Rejects come in two kinds, kept apart because the rejects table lists a
/// file's record rejects before its value rejects (the order staging has
/// always written, so a streamed run writes the same bytes).
#[derive(Debug, Clone, PartialEq)]
pub enum Staged<T> {
    Row(T),
    /// The CSV record itself: wrong field count, or a split record repaired.
    RecordReject(Reject),
    /// A value of a well-formed record: unreadable, implausible, a repeat.
    Reject(Reject),
}

/// Collects a staged file: its rows, and its rejects in table order (record
/// rejects, then value rejects).
pub fn collect<T, E>(
    staged: impl Iterator<Item = Result<Staged<T>, E>>,
) -> Result<(Vec<T>, Vec<Reject>), E> {
    let (mut rows, mut record_rejects, mut value_rejects) = (Vec::new(), Vec::new(), Vec::new());
    for s in staged {
        match s? {
            Staged::Row(row) => rows.push(row),
            Staged::RecordReject(r) => record_rejects.push(r),
            Staged::Reject(r) => value_rejects.push(r),
        }
    }
    record_rejects.extend(value_rejects);
    Ok((rows, record_rejects))
}

/// A record that was dropped, or kept with a change, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub file: String,
    /// 1-based line where the record starts.
    pub line: u64,
    /// `dropped` or `changed`.
    pub action: &'static str,
    pub reason: String,
    pub detail: String,
    pub raw: String,
}

impl Reject {
    pub fn dropped(file: &str, line: u64, reason: &str, detail: String, raw: String) -> Self {
        Self {
            file: file.into(),
            line,
            action: "dropped",
            reason: reason.into(),
            detail,
            raw,
        }
    }
    pub fn changed(file: &str, line: u64, reason: &str, detail: String, raw: String) -> Self {
        Self {
            file: file.into(),
            line,
            action: "changed",
            reason: reason.into(),
            detail,
            raw,
        }
    }
}

/// Integers as the files write them: `862`, and also with a zero fraction
/// (`862.0`, as pandas writes an integer column that held a missing value).
/// Not an integer: an exponent (`1e3`, which a float parser would turn into
/// 1000 and so into another movie's id), any other fraction, or a value beyond
/// i64.
pub fn parse_int(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    if fraction.is_some_and(|f| f.is_empty() || f.bytes().any(|b| b != b'0')) {
        return None;
    }
    let digits = whole.strip_prefix(['-', '+']).unwrap_or(whole);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    whole.parse::<i64>().ok()
}

pub fn parse_float(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

/// `YYYY-MM-DD`; anything else (including impossible dates) is `None`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// The largest budget or revenue taken as real, in dollars: $100 billion.
/// No film has cost or earned more than about $3 billion, and the bound keeps
/// every sum of money in a BIGINT: 92 million movies at the bound (2,000x
/// the real catalogue) still fit in 2^63, so the marts' sums cannot wrap.
pub const MAX_MONEY: i64 = 100_000_000_000;

/// A budget or revenue: whole dollars in 0 … [`MAX_MONEY`], 0 meaning unknown
/// (`Ok(None)`, as TMDB writes it). `Err` says why the text is not money.
pub fn parse_money(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match parse_int(text) {
        Some(0) => Ok(None),
        Some(v) if (1..=MAX_MONEY).contains(&v) => Ok(Some(v)),
        Some(v) if v < 0 => Err(format!("{v} is negative")),
        Some(v) => Err(format!("{v} is above the plausible maximum {MAX_MONEY}")),
        None => Err(format!(
            "{text:?} is not a whole number of dollars in 0 ... {MAX_MONEY}"
        )),
    }
}

/// Release dates outside these are not dates of films: cinema begins in the
/// 1870s (the oldest TMDB entry is from 1874) and TMDB lists announced films a
/// few years ahead. dim_date spans every release date, so a stray year 9999
/// would also give the calendar three million days.
pub const RELEASE_DATES: (NaiveDate, NaiveDate) = (
    NaiveDate::from_ymd_opt(1870, 1, 1).expect("valid date"),
    NaiveDate::from_ymd_opt(2099, 12, 31).expect("valid date"),
);

/// Where the raw inputs of one run are, as lake keys.
#[derive(Debug, Clone)]
pub struct RawInputs {
    pub movies: String,
    pub links: String,
    /// A directory of CSV parts (see [`crate::raw::land_ratings`]).
    pub ratings: String,
    pub cpi: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("cannot read raw file: {0}")]
    Read(#[from] records::ReadError),
    #[error(transparent)]
    Stream(#[from] streamed::StreamError),
    #[error("{what}: {source}")]
    Local {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "raw file {key} is missing from lake {root}; land it with `movielens run --input DIR` or `movielens extract`"
    )]
    Missing { root: String, key: String },
}

/// Counts of what staging read and kept.
#[derive(Debug, Clone, Default)]
pub struct StageSummary {
    pub tables: BTreeMap<String, u64>,
    /// (file, action, reason) → records.
    pub rejects: BTreeMap<(String, String, String), u64>,
}

/// Stages the raw inputs into `staging/runs/<run_id>/` and publishes that run.
pub async fn stage(
    lake: &Lake,
    inputs: &RawInputs,
    run_id: &str,
) -> Result<StageSummary, StageError> {
    for key in [&inputs.movies, &inputs.links, &inputs.cpi] {
        if !lake.exists(key).await? {
            return Err(StageError::Missing {
                root: lake.root().into(),
                key: key.clone(),
            });
        }
    }
    if lake.list(&inputs.ratings).await?.is_empty() {
        return Err(StageError::Missing {
            root: lake.root().into(),
            key: format!("{}/part-*.csv", inputs.ratings),
        });
    }
    // Raw files are streamed to local disk and staged from there, a record
    // at a time: memory stays bounded whatever the catalogue's size.
    let work = tempfile::tempdir().map_err(|source| StageError::Local {
        what: "creating a temp dir for staging".into(),
        source,
    })?;
    let raw = streamed::LocalRaw {
        movies: work.path().join(movies::FILE),
        links: work.path().join(links::FILE),
        cpi: work.path().join("cpi.csv"),
        cpi_file: inputs
            .cpi
            .rsplit('/')
            .next()
            .unwrap_or(&inputs.cpi)
            .to_string(),
    };
    lake.download_file(&inputs.movies, &raw.movies).await?;
    lake.download_file(&inputs.links, &raw.links).await?;
    lake.download_file(&inputs.cpi, &raw.cpi).await?;
    let out = work.path().join("staged");
    std::fs::create_dir(&out).map_err(|source| StageError::Local {
        what: format!("creating {}", out.display()),
        source,
    })?;
    let written = tokio::task::spawn_blocking(move || streamed::stage_files(&raw, &out))
        .await
        .map_err(|e| StageError::Local {
            what: "staging".into(),
            source: std::io::Error::other(e),
        })??;

    let mut summary = StageSummary {
        rejects: written.rejects,
        ..Default::default()
    };
    for (table, path, rows) in written.tables {
        let prefix = Lake::table_key(Zone::Staging, run_id, table);
        // A rerun of the same run id replaces, never appends.
        lake.delete_prefix(&prefix).await?;
        lake.upload_file(&path, &format!("{prefix}/part-0.parquet"))
            .await?;
        info!(table, rows, "staged");
        summary.tables.insert(table.to_string(), rows);
    }
    let inputs_map = BTreeMap::from([
        ("movies".to_string(), inputs.movies.clone()),
        ("links".to_string(), inputs.links.clone()),
        ("ratings".to_string(), inputs.ratings.clone()),
        ("cpi".to_string(), inputs.cpi.clone()),
    ]);
    let run = Published {
        run_id: run_id.to_string(),
        published_at: chrono::Utc::now().to_rfc3339(),
        tables: summary.tables.clone(),
        inputs: inputs_map,
    };
    // The run's own record (its transform reads it by id), then the pointer
    // to the latest staged run (for a transform given no staged run id).
    lake.record_run(Zone::Staging, &run).await?;
    lake.publish(Zone::Staging, &run).await?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_digits_with_at_most_a_zero_fraction() {
        assert_eq!(parse_int("862"), Some(862));
        assert_eq!(parse_int(" 862.0 "), Some(862));
        assert_eq!(parse_int("-4"), Some(-4));
        for bad in [
            "1e3",
            "1E3",
            "862.5",
            "862.",
            ".0",
            "",
            "-",
            "0x10",
            "99999999999999999999",
        ] {
            assert_eq!(parse_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn money_is_whole_dollars_within_the_bound() {
        assert_eq!(parse_money("0"), Ok(None));
        assert_eq!(parse_money(""), Ok(None));
        assert_eq!(parse_money("373554033"), Ok(Some(373_554_033)));
        assert_eq!(parse_money("1234567.0"), Ok(Some(1_234_567)));
        assert_eq!(parse_money("100000000000"), Ok(Some(MAX_MONEY)));
        for bad in ["-5", "100000000001", "99999999999999999999", "1e308", "abc"] {
            assert!(parse_money(bad).is_err(), "{bad:?}");
        }
    }
}
