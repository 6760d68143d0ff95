//! movielens: The Movies Dataset and the FRED movie-admission CPI turned into a
//! small warehouse that answers four questions, on DataFusion Ballista.
//!
//! Stages, each a module: [`generate`] (test data) → land raw files in the [`lake`]
//! → [`staging`] (parse and clean) → [`transform`] (SQL plans on the [`engine`]) →
//! [`warehouse`] (load) → [`checks`] (data quality) → [`answers`] → [`report`].

pub mod answers;
pub mod checks;
pub mod config;
pub mod engine;
pub mod extract;
pub mod fingerprint;
pub mod generate;
pub mod lake;
pub mod lock;
pub mod logging;
pub mod pipeline;
pub mod progress;
pub mod ratings_csv;
pub mod raw;
pub mod report;
pub mod run_id;
pub mod runs;
pub mod staging;
pub mod transform;
pub mod warehouse;
