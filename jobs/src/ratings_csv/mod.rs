//! Reading the raw ratings CSV, the one big input (26M rows, 0.7 GB at full
//! scale). DataFusion's general CSV reader spent about 40% of fact_rating's
//! time parsing it. This reader knows the four numeric columns and parses them
//! in one pass over the bytes, once per run: the scan that reads them for
//! fact_rating also sums them per id for ratings_by_movielens_id, and gathers
//! each user's genres for genre_popularity.
//!
//! - [`parse`]: lines into Arrow columns;
//! - [`per_id`]: the scanned ratings summed per MovieLens id, and each user's
//!   genres, in the scan;
//! - [`scan`]: the file source DataFusion's file scan reads them with;
//! - [`table`]: the table provider that plans the scan (a group of files per
//!   partition, one group when it sums per id).
//!
//! Ballista ships plans to other processes, so the engine's codecs
//! ([`crate::engine::codec`]) encode both the table and the scan.

pub mod parse;
pub mod per_id;
pub mod scan;
pub mod table;

use arrow::datatypes::{DataType, Field, Schema};

pub use per_id::{PerIdSums, UserMaskFiles};
pub use scan::RatingsCsvSource;
pub use table::{RatingsFile, RatingsTable};

/// The schema of ratings.csv (`userId,movieId,rating,timestamp`), named the way
/// the SQL uses it.
pub fn ratings_schema() -> Schema {
    Schema::new(vec![
        Field::new("user_id", DataType::Int64, true),
        Field::new("movielens_id", DataType::Int64, true),
        Field::new("rating", DataType::Float64, true),
        Field::new("rated_epoch", DataType::Int64, true),
    ])
}
