//! Staging as a stream: raw files in, staged parquet files out, in memory
//! bounded by one batch of rows and the ids first-wins de-duplication keeps.
//!
//! Each raw file is read record by record ([`super::records::Records`]) and
//! its rows and rejects are handed to the tables' writers in batches of
//! [`BATCH_ROWS`]; nothing holds a whole file or a whole table.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::cpi;
use super::links::{Link, Links};
use super::movies::{Movie, Movies};
use super::records::ReadError;
use super::tables::{self, BATCH_ROWS, TableFile, WriteError};
use super::{Reject, Staged};

/// The local raw files of one staging run.
pub struct LocalRaw {
    pub movies: PathBuf,
    pub links: PathBuf,
    pub cpi: PathBuf,
    /// The CPI file's name as landed (rejects name it).
    pub cpi_file: String,
}

/// What staging wrote: per table, its local parquet file and rows; and the
/// rejects counted by (file, action, reason).
pub struct Written {
    pub tables: Vec<(&'static str, PathBuf, u64)>,
    pub rejects: BTreeMap<(String, String, String), u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("staged table {table}: {source}")]
    Write {
        table: &'static str,
        #[source]
        source: WriteError,
    },
    #[error("cannot open raw file {file}: {source}")]
    Open {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

/// Rows of one table waiting for their batch, and the file they go to.
struct Table<T> {
    name: &'static str,
    rows: Vec<T>,
    file: TableFile,
    batch: fn(&[T]) -> arrow::array::RecordBatch,
}

impl<T> Table<T> {
    fn create(
        dir: &Path,
        name: &'static str,
        batch: fn(&[T]) -> arrow::array::RecordBatch,
    ) -> Result<Self, StreamError> {
        let file = TableFile::create(dir.join(format!("{name}.parquet")), &batch(&[])).map_err(
            |source| StreamError::Write {
                table: name,
                source,
            },
        )?;
        Ok(Self {
            name,
            rows: Vec::with_capacity(BATCH_ROWS),
            file,
            batch,
        })
    }

    fn push(&mut self, row: T) -> Result<(), StreamError> {
        self.rows.push(row);
        if self.rows.len() == BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        let batch = (self.batch)(&self.rows);
        self.rows.clear();
        self.file
            .write(&batch)
            .map_err(|source| StreamError::Write {
                table: self.name,
                source,
            })
    }

    fn finish(mut self) -> Result<(&'static str, PathBuf, u64), StreamError> {
        self.flush()?;
        let name = self.name;
        let (path, rows) = self.file.finish().map_err(|source| StreamError::Write {
            table: name,
            source,
        })?;
        Ok((name, path, rows))
    }
}

/// Movies and their genres come from the same rows: one buffer, two files.
struct MovieTables {
    movies: Table<Movie>,
    genres: TableFile,
}

impl MovieTables {
    fn push(&mut self, movie: Movie) -> Result<(), StreamError> {
        self.movies.rows.push(movie);
        if self.movies.rows.len() == BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        let genres = tables::movie_genres_batch(&self.movies.rows);
        self.genres
            .write(&genres)
            .map_err(|source| StreamError::Write {
                table: "movie_genres",
                source,
            })?;
        self.movies.flush()
    }
}

fn open(path: &Path) -> Result<BufReader<File>, StreamError> {
    File::open(path)
        .map(|f| BufReader::with_capacity(1 << 20, f))
        .map_err(|source| StreamError::Open {
            file: path.display().to_string(),
            source,
        })
}

/// Appends the rows of a finished reject file to the rejects table, after
/// the rows it holds, a batch at a time.
fn append(rejects: &mut Table<Reject>, later: Table<Reject>) -> Result<(), StreamError> {
    let (_, path, _) = later.finish()?;
    rejects.flush()?;
    let write_err = |source| StreamError::Write {
        table: "rejects",
        source,
    };
    let file = File::open(&path).map_err(|source| StreamError::Open {
        file: path.display().to_string(),
        source,
    })?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
        .map_err(|e| write_err(e.into()))?;
    for batch in reader {
        let batch = batch.map_err(|e| write_err(WriteError::Parquet(e.into())))?;
        rejects.file.write(&batch).map_err(write_err)?;
    }
    Ok(())
}

/// Stages the raw files into parquet files under `out`, in the order of
/// [`super::STAGED_TABLES`]. Blocking: run it off the async runtime.
///
/// Per raw file, the rejects table lists record rejects (the CSV's shape)
/// before value rejects, as staging always has; value rejects wait in a file
/// of their own until their raw file is read.
pub fn stage_files(raw: &LocalRaw, out: &Path) -> Result<Written, StreamError> {
    let mut rejects = Table::create(out, "rejects", tables::rejects_batch)?;
    let mut counts: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    let mut count = |r: &Reject| {
        *counts
            .entry((r.file.clone(), r.action.to_string(), r.reason.clone()))
            .or_default() += 1;
    };

    let mut movie_tables = MovieTables {
        movies: Table::create(out, "movies", tables::movies_batch)?,
        genres: TableFile::create(
            out.join("movie_genres.parquet"),
            &tables::movie_genres_batch(&[]),
        )
        .map_err(|source| StreamError::Write {
            table: "movie_genres",
            source,
        })?,
    };
    let mut later = Table::create(out, "movie-value-rejects", tables::rejects_batch)?;
    for staged in Movies::new(open(&raw.movies)?)? {
        match staged? {
            Staged::Row(movie) => movie_tables.push(movie)?,
            Staged::RecordReject(r) => {
                count(&r);
                rejects.push(r)?
            }
            Staged::Reject(r) => {
                count(&r);
                later.push(r)?
            }
        }
    }
    movie_tables.flush()?;
    append(&mut rejects, later)?;

    let mut links: Table<Link> = Table::create(out, "links", tables::links_batch)?;
    let mut later = Table::create(out, "link-value-rejects", tables::rejects_batch)?;
    for staged in Links::new(open(&raw.links)?)? {
        match staged? {
            Staged::Row(link) => links.push(link)?,
            Staged::RecordReject(r) => {
                count(&r);
                rejects.push(r)?
            }
            Staged::Reject(r) => {
                count(&r);
                later.push(r)?
            }
        }
    }
    append(&mut rejects, later)?;

    // The CPI series is a few hundred months: read whole.
    let cpi_bytes = std::fs::read(&raw.cpi).map_err(|source| StreamError::Open {
        file: raw.cpi.display().to_string(),
        source,
    })?;
    let (series, cpi_rejects) = cpi::stage(&raw.cpi_file, &cpi_bytes)?;
    for r in cpi_rejects {
        count(&r);
        rejects.push(r)?;
    }
    let write_err = |table| move |source| StreamError::Write { table, source };
    let cpi_batch = tables::cpi_batch(&series);
    let mut cpi =
        TableFile::create(out.join("cpi.parquet"), &cpi_batch).map_err(write_err("cpi"))?;
    cpi.write(&cpi_batch).map_err(write_err("cpi"))?;
    let (cpi_path, cpi_rows) = cpi.finish().map_err(write_err("cpi"))?;

    let (genres_path, genre_rows) = movie_tables
        .genres
        .finish()
        .map_err(write_err("movie_genres"))?;
    let tables = vec![
        movie_tables.movies.finish()?,
        ("movie_genres", genres_path, genre_rows),
        links.finish()?,
        ("cpi", cpi_path, cpi_rows),
        rejects.finish()?,
    ];
    Ok(Written {
        tables,
        rejects: counts,
    })
}
