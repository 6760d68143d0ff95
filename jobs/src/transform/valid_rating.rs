//! The one rule a raw rating must pass to count, as SQL.
//!
//! fact_rating keeps exactly the ratings that pass it, ratings_by_movielens_id
//! counts the others as invalid (so rating_mapping reports them and the checks
//! gate their fraction). fact_rating.sql and ratings_per_file.sql (whose rows
//! fact_rating's scan computes, compiling the same text) fill
//! `{{valid_rating}}` from here, so the fact and the counts cannot disagree
//! on what is valid.

use chrono::{DateTime, NaiveDate, Utc};

/// The first instant a rating can have: MovieLens' ratings begin on
/// 1995-01-09 (the full ratings.csv spans 1995-01-09 ... 2017-08-04), so
/// anything earlier is not a MovieLens rating: most often a timestamp in
/// another unit (milliseconds read as seconds land in the year 41,921) or a
/// sign error.
pub const FIRST_RATING_DAY: NaiveDate = NaiveDate::from_ymd_opt(1995, 1, 1).expect("valid date");

/// `FIRST_RATING_DAY` as Unix seconds.
pub fn first_rating_epoch() -> i64 {
    FIRST_RATING_DAY
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp()
}

/// The predicate over the raw ratings columns (`user_id`, `movielens_id`,
/// `rating`, `rated_epoch`): every field present, a half star in 0.5 ... 5.0,
/// and a time from [`FIRST_RATING_DAY`] up to `staged_at` (the time the run's
/// inputs were staged: a rating cannot come from the future, and tying the
/// bound to the staging run keeps a rerun of the transform reproducible).
pub fn predicate(staged_at: DateTime<Utc>) -> String {
    format!(
        "(user_id IS NOT NULL AND movielens_id IS NOT NULL \
         AND rated_epoch BETWEEN {} AND {} \
         AND rating BETWEEN 0.5 AND 5.0 AND rating * 2 = round(rating * 2))",
        first_rating_epoch(),
        staged_at.timestamp()
    )
}

/// The predicate for the ratings of the staging run published at
/// `published_at` (RFC 3339).
pub fn predicate_for_staging(published_at: &str) -> String {
    predicate(staged_at(published_at))
}

/// The staging run's `published_at` (RFC 3339), or now when it cannot be read.
pub fn staged_at(published_at: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(published_at)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|_| Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_runs_from_1995_to_the_staging_time() {
        assert_eq!(first_rating_epoch(), 788_918_400);
        let at = staged_at("2026-12-01T15:00:00+00:00");
        let sql = predicate(at);
        assert!(
            sql.contains("rated_epoch BETWEEN 788918400 AND 1796137200"),
            "{sql}"
        );
    }
}
