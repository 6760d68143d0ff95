//! The one rule a raw rating must pass to count.
//!
//! fact_rating keeps exactly the ratings that pass it, ratings_by_movielens_id
//! counts the others as invalid (so rating_mapping reports them and the checks
//! gate their fraction). fact_rating.sql and ratings_per_file.sql fill
//! `{{valid_rating}}` from [`RatingRule::sql`]; fact_rating's scan, which
//! computes ratings_per_file's rows as it reads, judges each row with
//! [`RatingRule::verdicts`], the same rule in Rust. So the fact and the counts
//! cannot disagree on what is valid.

use arrow::array::{Array, AsArray, BooleanArray, PrimitiveArray, RecordBatch};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::{ArrowPrimitiveType, Float64Type, Int64Type};
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::error::DataFusionError;
use serde::{Deserialize, Serialize};

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

/// The rule for the ratings of a staging run: every field present, a half
/// star in 0.5 ... 5.0, and a time from [`FIRST_RATING_DAY`] up to the time the
/// run's inputs were staged (a rating cannot come from the future, and tying
/// the bound to the staging run keeps a rerun of the transform reproducible).
///
/// [`RatingRule::sql`] is its definition, over the raw ratings columns
/// (`user_id`, `movielens_id`, `rating`, `rated_epoch`), as the SQL files use
/// it. [`RatingRule::verdicts`] is the same rule over a batch, for the scan
/// that judges every rating: as a compiled SQL expression it cost 7–9% of
/// the transform's CPU (ten kernels, each writing an array), in one loop
/// almost nothing (docs/performance.md, change 11). A test holds the two equal
/// on every kind of value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingRule {
    /// The first valid `rated_epoch` (Unix seconds), [`FIRST_RATING_DAY`]'s.
    pub first_epoch: i64,
    /// The last valid `rated_epoch`: the staging time.
    pub last_epoch: i64,
}

impl RatingRule {
    /// The rule for ratings staged at `staged_at`.
    pub fn until(staged_at: DateTime<Utc>) -> Self {
        Self {
            first_epoch: first_rating_epoch(),
            last_epoch: staged_at.timestamp(),
        }
    }

    /// The rule for the ratings of the staging run published at
    /// `published_at` (RFC 3339).
    pub fn for_staging(published_at: &str) -> Self {
        Self::until(staged_at(published_at))
    }

    /// The rule as a SQL predicate (`{{valid_rating}}` in the SQL files).
    pub fn sql(&self) -> String {
        format!(
            "(user_id IS NOT NULL AND movielens_id IS NOT NULL \
             AND rated_epoch BETWEEN {} AND {} \
             AND rating BETWEEN 0.5 AND 5.0 AND rating * 2 = round(rating * 2))",
            self.first_epoch, self.last_epoch
        )
    }

    /// Whether each row of `batch` (the raw ratings columns, by name) passes,
    /// as [`Self::sql`] decides: a row with a field missing does not (SQL
    /// gives NULL there, which a WHERE drops), so the verdicts have no NULLs.
    ///
    /// The comparisons are IEEE ones where DataFusion orders floats totally
    /// (NaN above every number, -0.0 below 0.0): they differ only at NaN and
    /// zero, which fail `BETWEEN 0.5 AND 5.0` either way.
    pub fn verdicts(&self, batch: &RecordBatch) -> Result<BooleanArray, DataFusionError> {
        let users = column::<Int64Type>(batch, "user_id", "BIGINT")?;
        let ids = column::<Int64Type>(batch, "movielens_id", "BIGINT")?;
        let epochs = column::<Int64Type>(batch, "rated_epoch", "BIGINT")?;
        let ratings = column::<Float64Type>(batch, "rating", "DOUBLE")?;
        let (epoch, rating) = (epochs.values(), ratings.values());
        let (first, last) = (self.first_epoch, self.last_epoch);
        // Over every slot, NULL or not (a NULL slot holds some value); the
        // NULLs are masked out below, 64 rows a word.
        let mut passes = BooleanBuffer::collect_bool(batch.num_rows(), |i| {
            let (t, r) = (epoch[i], rating[i]);
            (first..=last).contains(&t) && (0.5..=5.0).contains(&r) && (r * 2.0).round() == r * 2.0
        });
        let present = [users.nulls(), ids.nulls(), epochs.nulls(), ratings.nulls()];
        for nulls in present.into_iter().flatten() {
            passes = &passes & nulls.inner();
        }
        Ok(BooleanArray::new(passes, None))
    }
}

/// `batch`'s column `name` as `T`'s values, or an error naming the column and
/// the SQL type the rule reads it as.
fn column<'a, T: ArrowPrimitiveType>(
    batch: &'a RecordBatch,
    name: &str,
    sql_type: &str,
) -> Result<&'a PrimitiveArray<T>, DataFusionError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<T>())
        .ok_or_else(|| {
            DataFusionError::Internal(format!(
                "the rating rule reads a {sql_type} column {name}, which the ratings batch lacks"
            ))
        })
}

/// The rule of a staging run published at 2026-12-01T15:00:00Z, for tests
/// that need one fixed rule (the window test derives it).
#[cfg(test)]
pub(crate) const TEST_RULE: RatingRule = RatingRule {
    first_epoch: 788_918_400,
    last_epoch: 1_796_137_200,
};

/// The staging run's `published_at` (RFC 3339), or now when it cannot be read.
pub fn staged_at(published_at: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(published_at)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|_| Utc::now())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array};
    use datafusion::common::DFSchema;
    use datafusion::prelude::SessionContext;

    use super::*;
    use crate::ratings_csv::ratings_schema;

    #[test]
    fn the_window_runs_from_1995_to_the_staging_time() {
        assert_eq!(first_rating_epoch(), 788_918_400);
        let rule = RatingRule::for_staging("2026-12-01T15:00:00+00:00");
        let sql = rule.sql();
        assert!(
            sql.contains("rated_epoch BETWEEN 788918400 AND 1796137200"),
            "{sql}"
        );
        assert_eq!(rule, TEST_RULE);
    }

    /// Every combination of NULLs, edge times and edge ratings.
    fn edge_rows(rule: &RatingRule) -> RecordBatch {
        let ids = [None, Some(0), Some(7), Some(i64::MAX)];
        let (first, last) = (rule.first_epoch, rule.last_epoch);
        let epochs = [
            None,
            Some(first - 1),
            Some(first),
            Some(last),
            Some(last + 1),
            Some(-1),
        ];
        let ratings = [
            None,
            Some(f64::NAN),
            Some(-f64::NAN),
            Some(f64::INFINITY),
            Some(f64::NEG_INFINITY),
            Some(0.0),
            Some(-0.0),
            Some(0.25),
            Some(0.5),
            Some(0.5 - f64::EPSILON),
            Some(0.75),
            Some(1.0),
            Some(2.5),
            Some(3.0),
            Some(3.3),
            Some(4.5),
            Some(4.5000000001),
            Some(5.0),
            Some(5.0 + 4.0 * f64::EPSILON),
            Some(5.5),
            Some(-4.0),
        ];
        let (mut u, mut m, mut r, mut t) = (vec![], vec![], vec![], vec![]);
        for user in ids {
            for id in ids {
                for epoch in epochs {
                    for rating in ratings {
                        u.push(user);
                        m.push(id);
                        r.push(rating);
                        t.push(epoch);
                    }
                }
            }
        }
        RecordBatch::try_new(
            Arc::new(ratings_schema()),
            vec![
                Arc::new(Int64Array::from(u)),
                Arc::new(Int64Array::from(m)),
                Arc::new(Float64Array::from(r)),
                Arc::new(Int64Array::from(t)),
            ],
        )
        .unwrap()
    }

    #[test]
    fn the_verdicts_are_the_sql_rules_on_every_kind_of_value() {
        let rule = RatingRule::for_staging("2026-12-01T15:00:00+00:00");
        let batch = edge_rows(&rule);
        let schema = DFSchema::try_from(ratings_schema()).unwrap();
        let ctx = SessionContext::new();
        let expr = ctx.parse_sql_expr(&rule.sql(), &schema).unwrap();
        let compiled = ctx.create_physical_expr(expr, &schema).unwrap();
        let by_sql = compiled
            .evaluate(&batch)
            .unwrap()
            .into_array(batch.num_rows())
            .unwrap();
        let by_sql = by_sql.as_boolean();
        let verdicts = rule.verdicts(&batch).unwrap();
        assert_eq!(verdicts.null_count(), 0);
        let mut passed = 0;
        for i in 0..batch.num_rows() {
            // A NULL verdict is no pass, as in a WHERE.
            let sql_passes = by_sql.is_valid(i) && by_sql.value(i);
            assert_eq!(
                verdicts.value(i),
                sql_passes,
                "row {i}: {:?}",
                batch.slice(i, 1)
            );
            passed += usize::from(sql_passes);
        }
        // Ids 0, 7, MAX for both user and movie, 2 epochs inside, 6 ratings.
        assert_eq!(passed, 3 * 3 * 2 * 6);
    }

    #[test]
    fn a_batch_without_a_rule_column_is_an_error_that_names_it() {
        let batch = edge_rows(&TEST_RULE).project(&[0, 1, 2]).unwrap();
        let err = TEST_RULE.verdicts(&batch).unwrap_err();
        assert!(err.to_string().contains("rated_epoch"), "{err}");
    }
}
