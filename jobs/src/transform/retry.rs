//! Which failed step is worth re-submitting.
//!
//! A step is retried only when its failure can go away: a lost executor, a
//! broken shuffle stream, an object store that timed out, a job Ballista
//! stalled. A failure that comes from the inputs or the SQL fails the same
//! way on every attempt, and retrying it only delays the message a person
//! needs. Ballista carries an executor's error back as text inside its own
//! ("Job failed due to stage N failed: Task failed due to runtime execution
//! error: …"), so after the error's kind, its text is what tells.

use datafusion::error::DataFusionError;

use super::TransformError;
use crate::engine::codec::SAME_VERSION_EVERYWHERE;

/// Phrases of errors that repeat on every attempt: bad input files, types
/// that do not fit, plans that cannot be built, memory a query cannot do
/// without, a plan another movielens build cannot read (a retry lands on the
/// same mixed-version cluster; redeploying is the fix).
const DETERMINISTIC: &[&str] = &[
    "expected the header",
    "ratings have 4 columns",
    "Cannot cast",
    "Schema error",
    "Error during planning",
    "This feature is not implemented",
    "Invalid argument error",
    "Parser error",
    "Divide by zero",
    "Overflow happened",
    "Not enough memory",
    "placeholder left unfilled",
    SAME_VERSION_EVERYWHERE,
];

/// Whether a failed step is worth re-submitting.
pub fn is_retryable(error: &TransformError) -> bool {
    match error {
        TransformError::Step { source, .. } => {
            let deterministic_kind = matches!(
                source.find_root(),
                DataFusionError::Plan(_)
                    | DataFusionError::SchemaError(..)
                    | DataFusionError::SQL(..)
                    | DataFusionError::NotImplemented(_)
                    | DataFusionError::Configuration(_)
            );
            let text = source.to_string();
            !deterministic_kind && !DETERMINISTIC.iter().any(|p| text.contains(p))
        }
        TransformError::Lake(_)
        | TransformError::Register { .. }
        | TransformError::Timeout { .. } => true,
        TransformError::Placeholder { .. }
        | TransformError::TooManyGenres { .. }
        | TransformError::NoSuchRun { .. }
        | TransformError::EmptyInput { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(source: DataFusionError) -> TransformError {
        TransformError::Step {
            table: "fact_rating",
            file: "jobs/sql/curated/fact_rating.sql",
            source,
        }
    }

    /// Ballista's wrapping of an executor's error, as it arrives at the client.
    fn from_executor(message: &str) -> DataFusionError {
        DataFusionError::Execution(format!(
            "Job abc failed due to stage 2 failed: Task failed due to runtime execution error: {message}"
        ))
    }

    #[test]
    fn failures_that_can_go_away_are_retried() {
        for transient in [
            from_executor("Error fetching partition: h2 protocol error: broken pipe"),
            from_executor("Executor lost: executor 7f3a heartbeat timed out"),
            DataFusionError::External("Generic S3 error: connection reset by peer".into()),
            DataFusionError::Execution("Can't find active stage to update stage outputs".into()),
        ] {
            assert!(is_retryable(&step(transient)));
        }
        assert!(is_retryable(&TransformError::Timeout {
            table: "fact_rating",
            file: "f",
            secs: 900
        }));
    }

    #[test]
    fn failures_of_the_inputs_or_the_sql_are_not() {
        for deterministic in [
            from_executor(
                "ratings file raw/x/part-00000.csv: the first line is \"a,b\", expected the header \"userId,movieId,rating,timestamp\"",
            ),
            from_executor(
                "Arrow error: Cast error: Cannot cast string '41921-12-31' to value of Date32 type",
            ),
            DataFusionError::Plan("table 'stg_links' not found".into()),
            from_executor("Resources exhausted: Not enough memory to continue external sort"),
            from_executor(&format!(
                "cannot read the plan's movielens.ratings_table node (missing field `rule`): \
                 most likely it was encoded by a different movielens build; {SAME_VERSION_EVERYWHERE}"
            )),
        ] {
            assert!(!is_retryable(&step(deterministic)));
        }
        assert!(!is_retryable(&TransformError::EmptyInput {
            run: "r".into(),
            what: "staged table links".into()
        }));
    }
}
