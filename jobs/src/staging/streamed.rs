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

/// The rejects table, and the rejects counted by (file, action, reason).
struct Rejects {
    table: Table<Reject>,
    counts: BTreeMap<(String, String, String), u64>,
}

impl Rejects {
    fn count(&mut self, r: &Reject) {
        *self
            .counts
            .entry((r.file.clone(), r.action.to_string(), r.reason.clone()))
            .or_default() += 1;
    }

    fn push(&mut self, r: Reject) -> Result<(), StreamError> {
        self.count(&r);
        self.table.push(r)
    }

    /// Appends the rows of a finished reject file after the rows the table
    /// holds, a batch at a time.
    fn append(&mut self, later: Table<Reject>) -> Result<(), StreamError> {
        let (_, path, _) = later.finish()?;
        self.table.flush()?;
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
            self.table.file.write(&batch).map_err(write_err)?;
        }
        Ok(())
    }
}

/// Stages one raw file: its rows go to `row`, its record rejects straight to
/// the rejects table, its value rejects after them once the file is read
/// (the order staging has always written; see [`Staged`]).
fn stage_file<T>(
    out: &Path,
    file: &'static str,
    staged: impl Iterator<Item = Result<Staged<T>, ReadError>>,
    mut row: impl FnMut(T) -> Result<(), StreamError>,
    rejects: &mut Rejects,
) -> Result<(), StreamError> {
    let mut later = Table::create(out, file, tables::rejects_batch)?;
    for s in staged {
        match s? {
            Staged::Row(r) => row(r)?,
            Staged::RecordReject(r) => rejects.push(r)?,
            Staged::Reject(r) => {
                rejects.count(&r);
                later.push(r)?
            }
        }
    }
    rejects.append(later)
}

/// Stages the raw files into parquet files under `out`, in the order of
/// [`super::STAGED_TABLES`]. Blocking: run it off the async runtime.
pub fn stage_files(raw: &LocalRaw, out: &Path) -> Result<Written, StreamError> {
    let mut rejects = Rejects {
        table: Table::create(out, "rejects", tables::rejects_batch)?,
        counts: BTreeMap::new(),
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
    let movies = Movies::new(open(&raw.movies)?)?;
    stage_file(
        out,
        "movie-value-rejects",
        movies,
        |m| movie_tables.push(m),
        &mut rejects,
    )?;
    movie_tables.flush()?;

    let mut links: Table<Link> = Table::create(out, "links", tables::links_batch)?;
    let staged_links = Links::new(open(&raw.links)?)?;
    stage_file(
        out,
        "link-value-rejects",
        staged_links,
        |l| links.push(l),
        &mut rejects,
    )?;

    // The CPI series is a few hundred months: read whole.
    let cpi_bytes = std::fs::read(&raw.cpi).map_err(|source| StreamError::Open {
        file: raw.cpi.display().to_string(),
        source,
    })?;
    let (series, cpi_rejects) = cpi::stage(&raw.cpi_file, &cpi_bytes)?;
    for r in cpi_rejects {
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
        rejects.table.finish()?,
    ];
    Ok(Written {
        tables,
        rejects: rejects.counts,
    })
}
