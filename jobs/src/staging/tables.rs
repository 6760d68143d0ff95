//! Arrow schemas of the staged tables and their parquet writer.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::NaiveDate;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::Reject;
use super::cpi::CpiSeries;
use super::links::Link;
use super::movies::Movie;

/// Tables staging writes, in the order it writes them.
pub const STAGED_TABLES: [&str; 5] = ["movies", "movie_genres", "links", "cpi", "rejects"];

fn days(d: &Option<NaiveDate>) -> Option<i32> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid");
    d.map(|d| (d - epoch).num_days() as i32)
}

fn batch(fields: Vec<(&str, DataType, bool)>, columns: Vec<ArrayRef>) -> RecordBatch {
    let schema = Schema::new(
        fields
            .into_iter()
            .map(|(n, t, nullable)| Field::new(n, t, nullable))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(Arc::new(schema), columns).expect("columns match their schema")
}

fn strings<'a>(it: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(it.collect::<StringArray>())
}

pub fn movies_batch(movies: &[Movie]) -> RecordBatch {
    use DataType::*;
    batch(
        vec![
            ("tmdb_id", Int64, false),
            ("imdb_id", Utf8, true),
            ("title", Utf8, false),
            ("original_title", Utf8, false),
            ("original_language", Utf8, true),
            ("adult", Boolean, false),
            ("status", Utf8, true),
            ("release_date", Date32, true),
            ("budget", Int64, true),
            ("revenue", Int64, true),
            ("runtime", Float64, true),
            ("popularity", Float64, true),
            ("vote_average", Float64, true),
            ("vote_count", Int64, true),
            ("source_line", UInt64, false),
        ],
        vec![
            Arc::new(movies.iter().map(|m| m.tmdb_id).collect::<Int64Array>()),
            strings(movies.iter().map(|m| m.imdb_id.as_deref())),
            strings(movies.iter().map(|m| Some(m.title.as_str()))),
            strings(movies.iter().map(|m| Some(m.original_title.as_str()))),
            strings(movies.iter().map(|m| m.original_language.as_deref())),
            Arc::new(
                movies
                    .iter()
                    .map(|m| Some(m.adult))
                    .collect::<BooleanArray>(),
            ),
            strings(movies.iter().map(|m| m.status.as_deref())),
            Arc::new(
                movies
                    .iter()
                    .map(|m| days(&m.release_date))
                    .collect::<Date32Array>(),
            ),
            Arc::new(movies.iter().map(|m| m.budget).collect::<Int64Array>()),
            Arc::new(movies.iter().map(|m| m.revenue).collect::<Int64Array>()),
            Arc::new(movies.iter().map(|m| m.runtime).collect::<Float64Array>()),
            Arc::new(
                movies
                    .iter()
                    .map(|m| m.popularity)
                    .collect::<Float64Array>(),
            ),
            Arc::new(
                movies
                    .iter()
                    .map(|m| m.vote_average)
                    .collect::<Float64Array>(),
            ),
            Arc::new(movies.iter().map(|m| m.vote_count).collect::<Int64Array>()),
            Arc::new(movies.iter().map(|m| m.line).collect::<UInt64Array>()),
        ],
    )
}

/// One row per (movie, genre). A genre listed twice for one movie counts once.
pub fn movie_genres_batch(movies: &[Movie]) -> RecordBatch {
    let mut rows: Vec<(i64, i64, &str)> = Vec::new();
    for m in movies {
        let mut seen = std::collections::HashSet::new();
        for (id, name) in &m.genres {
            if seen.insert(name.as_str()) {
                rows.push((m.tmdb_id, *id, name));
            }
        }
    }
    batch(
        vec![
            ("tmdb_id", DataType::Int64, false),
            ("genre_id", DataType::Int64, false),
            ("genre", DataType::Utf8, false),
        ],
        vec![
            Arc::new(rows.iter().map(|r| r.0).collect::<Int64Array>()),
            Arc::new(rows.iter().map(|r| r.1).collect::<Int64Array>()),
            strings(rows.iter().map(|r| Some(r.2))),
        ],
    )
}

pub fn links_batch(links: &[Link]) -> RecordBatch {
    batch(
        vec![
            ("movielens_id", DataType::Int64, false),
            ("imdb_id", DataType::Utf8, false),
            ("tmdb_id", DataType::Int64, true),
        ],
        vec![
            Arc::new(links.iter().map(|l| l.movielens_id).collect::<Int64Array>()),
            strings(links.iter().map(|l| Some(l.imdb_id.as_str()))),
            Arc::new(links.iter().map(|l| l.tmdb_id).collect::<Int64Array>()),
        ],
    )
}

pub fn cpi_batch(cpi: &CpiSeries) -> RecordBatch {
    batch(
        vec![
            ("series_id", DataType::Utf8, false),
            ("month", DataType::Date32, false),
            ("cpi", DataType::Float64, true),
        ],
        vec![
            strings(cpi.months.iter().map(|_| Some(cpi.series_id.as_str()))),
            Arc::new(
                cpi.months
                    .iter()
                    .map(|m| days(&Some(m.month)))
                    .collect::<Date32Array>(),
            ),
            Arc::new(cpi.months.iter().map(|m| m.value).collect::<Float64Array>()),
        ],
    )
}

pub fn rejects_batch(rejects: &[Reject]) -> RecordBatch {
    use DataType::*;
    batch(
        vec![
            ("file", Utf8, false),
            ("line", UInt64, false),
            ("action", Utf8, false),
            ("reason", Utf8, false),
            ("detail", Utf8, false),
            ("raw", Utf8, false),
        ],
        vec![
            strings(rejects.iter().map(|r| Some(r.file.as_str()))),
            Arc::new(rejects.iter().map(|r| r.line).collect::<UInt64Array>()),
            strings(rejects.iter().map(|r| Some(r.action))),
            strings(rejects.iter().map(|r| Some(r.reason.as_str()))),
            strings(rejects.iter().map(|r| Some(r.detail.as_str()))),
            strings(rejects.iter().map(|r| Some(r.raw.as_str()))),
        ],
    )
}

/// Rows per batch handed to a table's parquet writer while staging streams.
pub const BATCH_ROWS: usize = 8192;

/// A staged table written to a local parquet file one batch at a time (the
/// writer holds at most one row group), then uploaded whole.
pub struct TableFile {
    pub path: std::path::PathBuf,
    writer: ArrowWriter<std::fs::File>,
    pub rows: u64,
}

impl TableFile {
    /// A file for batches shaped like `empty` (the table's batch of no rows).
    pub fn create(path: std::path::PathBuf, empty: &RecordBatch) -> Result<Self, WriteError> {
        let file = std::fs::File::create(&path).map_err(parquet::errors::ParquetError::from)?;
        let writer = ArrowWriter::try_new(file, empty.schema(), Some(writer_properties()))?;
        Ok(Self {
            path,
            writer,
            rows: 0,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), WriteError> {
        if batch.num_rows() > 0 {
            self.writer.write(batch)?;
            self.rows += batch.num_rows() as u64;
        }
        Ok(())
    }

    /// Closes the file; returns its path and rows.
    pub fn finish(self) -> Result<(std::path::PathBuf, u64), WriteError> {
        self.writer.close()?;
        Ok((self.path, self.rows))
    }
}

/// Rows per row group of a staged table. The writer holds a row group in
/// memory until it is full, so this bounds staging's memory whatever the
/// catalogue's size; the real files (45k movies, 46k links) fit in one.
pub const ROW_GROUP_ROWS: usize = 64 * 1024;

fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build()
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
}
