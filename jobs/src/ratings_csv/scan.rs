//! The ratings files as a DataFusion file source: a `DataSourceExec` over
//! groups of files (one group per partition), each file read in chunks and
//! parsed with [`RatingsColumns`]. Being a file scan matters on a cluster:
//! Ballista's scheduler hands each task only its own file groups, which it
//! can do for `DataSourceExec`s and not for a scan of our own making (each
//! task would read every file).

use std::fmt;
use std::io::Read;
use std::sync::{Arc, Mutex};

use arrow::array::BooleanArray;
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{
    FileGroup, FileScanConfig, FileScanConfigBuilder, FileSource,
};
use datafusion::datasource::physical_plan::{FileOpenFuture, FileOpener};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use object_store::path::Path;
use object_store::{GetResultPayload, ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use super::parse::{HEADER, RatingsColumns};
use super::per_id::{GenreMasks, PerIdFold, PerIdSums};

/// The longest first line read while looking for the header's line break.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Bytes read from a local file at a time.
const LOCAL_CHUNK: usize = 1 << 20;

/// Rows per batch when the session does not say.
const DEFAULT_BATCH_ROWS: usize = 8192;

/// Which rows a scan gives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Keep {
    /// Every row read.
    #[default]
    All,
    /// Only the rows that pass the validity rule of its [`PerIdSums`]: the
    /// query's WHERE was that rule, and the table took it over (see
    /// [`super::table`]), so the rule is evaluated once per row, for the sums
    /// and the filter both.
    Valid,
}

/// The scan of ratings files: one partition per file group, and with
/// `per_id` (then one group) the per-id sums of all its files written to
/// `per_id.out`, and its users' genre masks where `per_id.user_masks` says
/// (see [`super::per_id`]).
/// The table plans it, and the codec rebuilds it on the far side of the wire.
pub fn ratings_scan(
    store: ObjectStoreUrl,
    groups: Vec<FileGroup>,
    limit: Option<usize>,
    per_id: Option<PerIdSums>,
    keep: Keep,
) -> Arc<dyn ExecutionPlan> {
    let source = RatingsCsvSource {
        per_id,
        keep,
        ..Default::default()
    };
    let config = FileScanConfigBuilder::new(store, Arc::new(source))
        .with_file_groups(groups)
        .with_limit(limit)
        .build();
    DataSourceExec::from_data_source(config)
}

/// Reads ratings files (all four columns; projections sit above it).
#[derive(Debug, Clone)]
pub struct RatingsCsvSource {
    table_schema: TableSchema,
    batch_size: Option<usize>,
    metrics: ExecutionPlanMetricsSet,
    per_id: Option<PerIdSums>,
    keep: Keep,
}

impl RatingsCsvSource {
    /// Where and by which rule it writes per-id sums (and users' genre
    /// masks), if it does.
    pub fn per_id(&self) -> Option<&PerIdSums> {
        self.per_id.as_ref()
    }

    /// Which rows it gives.
    pub fn keep(&self) -> Keep {
        self.keep
    }
}

impl Default for RatingsCsvSource {
    fn default() -> Self {
        Self {
            table_schema: TableSchema::from(Arc::new(super::ratings_schema())),
            batch_size: None,
            metrics: ExecutionPlanMetricsSet::new(),
            per_id: None,
            keep: Keep::All,
        }
    }
}

impl FileSource for RatingsCsvSource {
    fn create_file_opener(
        &self,
        object_store: Arc<dyn ObjectStore>,
        base_config: &FileScanConfig,
        _partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        let sums = match &self.per_id {
            Some(sums) => {
                // One file of sums for every file read: two groups would
                // write two halves to the same place.
                let groups = &base_config.file_groups;
                if groups.len() != 1 {
                    return Err(DataFusionError::Internal(format!(
                        "a ratings scan that sums per id into {} reads one group of files, not {}",
                        sums.out,
                        groups.len()
                    )));
                }
                let fold = PerIdFold::new(sums.rule, store_path(&sums.out)?);
                let user_masks = match &sums.user_masks {
                    Some(files) => Some(MaskPaths {
                        genre_masks: store_path(&files.genre_masks)?,
                        out: store_path(&files.out)?,
                    }),
                    None => None,
                };
                Some(Arc::new(ScanSums::new(fold, groups[0].len(), user_masks)))
            }
            None if self.keep == Keep::Valid => {
                return Err(DataFusionError::Internal(
                    "a ratings scan that keeps only valid rows needs the rule of its per-id sums"
                        .into(),
                ));
            }
            None => None,
        };
        Ok(Arc::new(RatingsOpener {
            store: object_store,
            schema: Arc::clone(self.table_schema.file_schema()),
            batch_size: self.batch_size.unwrap_or(DEFAULT_BATCH_ROWS),
            sums,
            keep: self.keep,
        }))
    }

    fn table_schema(&self) -> &TableSchema {
        &self.table_schema
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        Arc::new(Self {
            batch_size: Some(batch_size),
            ..self.clone()
        })
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        &self.metrics
    }

    fn file_type(&self) -> &str {
        "ratings_csv"
    }

    fn supports_repartitioning(&self) -> bool {
        // Whole files per partition: the raw ratings are landed in parts.
        false
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }
}

/// Opens one file at a time for a partition's stream.
struct RatingsOpener {
    store: Arc<dyn ObjectStore>,
    schema: SchemaRef,
    batch_size: usize,
    /// The per-id sums every file of the partition adds to.
    sums: Option<Arc<ScanSums>>,
    keep: Keep,
}

/// A path of the lake's store, as the plan carries it.
fn store_path(path: &str) -> Result<Path> {
    Path::parse(path).map_err(|e| DataFusionError::External(Box::new(e)))
}

/// The per-id sums of one scan, shared by the readers of its files (the
/// stream opens the next file while it reads the current one); written by the
/// reader that finishes the last file.
struct ScanSums {
    state: Mutex<ScanSumsState>,
    /// Where the scan reads each id's genre mask and writes its users'
    /// masks, when it gathers them.
    user_masks: Option<MaskPaths>,
    /// Set once the fold has the genre masks (read by the first file opened).
    masks_read: tokio::sync::OnceCell<()>,
}

/// [`super::UserMaskFiles`] as paths of the store.
struct MaskPaths {
    genre_masks: Path,
    out: Path,
}

struct ScanSumsState {
    /// The sums so far; taken when they are written.
    fold: Option<PerIdFold>,
    /// The scan's files not yet read to their end.
    files_left: usize,
}

impl ScanSums {
    fn new(fold: PerIdFold, files: usize, user_masks: Option<MaskPaths>) -> Self {
        Self {
            state: Mutex::new(ScanSumsState {
                fold: Some(fold),
                files_left: files,
            }),
            user_masks,
            masks_read: tokio::sync::OnceCell::new(),
        }
    }

    /// Gives the fold the genre mask of each id, before it takes any row.
    async fn read_genre_masks(&self, store: &dyn ObjectStore) -> Result<()> {
        let Some(MaskPaths {
            genre_masks: from,
            out,
        }) = &self.user_masks
        else {
            return Ok(());
        };
        self.masks_read
            .get_or_try_init(|| async {
                let fail = |e: &dyn fmt::Display| {
                    DataFusionError::Execution(format!(
                        "reading the genre masks by MovieLens id from {from}: {e}"
                    ))
                };
                let bytes = store
                    .get(from)
                    .await
                    .map_err(|e| fail(&e))?
                    .bytes()
                    .await
                    .map_err(|e| fail(&e))?;
                let batches =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
                        .and_then(|b| b.build())
                        .map_err(|e| fail(&e))?
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(|e| fail(&e))?;
                let masks = GenreMasks::from_batches(&batches)?;
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                state.fold = state
                    .fold
                    .take()
                    .map(|fold| fold.with_user_masks(masks, out.clone()));
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// Adds a batch; returns the rule's verdict on each row.
    fn fold(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match &mut state.fold {
            Some(fold) => fold.fold(batch),
            None => Err(DataFusionError::Internal(
                "a ratings file was read after its scan's per-id sums were written".into(),
            )),
        }
    }

    /// One file read to its end; after the last, the sums are written.
    async fn file_done(&self, store: &dyn ObjectStore) -> Result<()> {
        let done = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.files_left = state.files_left.saturating_sub(1);
            if state.files_left == 0 {
                state.fold.take()
            } else {
                None
            }
        };
        match done {
            Some(fold) => fold.write(store).await,
            None => Ok(()),
        }
    }
}

impl FileOpener for RatingsOpener {
    fn open(&self, file: PartitionedFile) -> Result<FileOpenFuture> {
        let store = Arc::clone(&self.store);
        let schema = Arc::clone(&self.schema);
        let batch_size = self.batch_size;
        let keep = self.keep;
        let sums = self.sums.clone();
        Ok(async move {
            let reader = FileReader::open(store, file, schema, batch_size, sums, keep).await?;
            Ok(futures::stream::try_unfold(reader, FileReader::next).boxed())
        }
        .boxed())
    }
}

/// Where a file's bytes come from: a local file is read directly (as
/// DataFusion's own CSV reader does), anything else streams from the store.
enum Chunks {
    Local(std::fs::File),
    Remote(BoxStream<'static, object_store::Result<Bytes>>),
}

/// One file being parsed. Unparsed bytes are `buf[start..]`: complete lines
/// not yet wanted, then at most one partial line.
struct FileReader {
    location: String,
    store: Arc<dyn ObjectStore>,
    chunks: Chunks,
    buf: Vec<u8>,
    start: usize,
    at_end: bool,
    header_checked: bool,
    columns: RatingsColumns,
    schema: SchemaRef,
    batch_size: usize,
    /// Every batch is also summed per id here, with the scan's other files.
    sums: Option<Arc<ScanSums>>,
    keep: Keep,
}

impl FileReader {
    async fn open(
        store: Arc<dyn ObjectStore>,
        file: PartitionedFile,
        schema: SchemaRef,
        batch_size: usize,
        sums: Option<Arc<ScanSums>>,
        keep: Keep,
    ) -> Result<Self> {
        if let Some(sums) = &sums {
            sums.read_genre_masks(store.as_ref()).await?;
        }
        let location = file.object_meta.location;
        let got = store.get(&location).await.map_err(|e| {
            DataFusionError::Execution(format!("opening ratings file {location}: {e}"))
        })?;
        let chunks = match got.payload {
            GetResultPayload::File(file, _) => Chunks::Local(file),
            GetResultPayload::Stream(_) => Chunks::Remote(got.into_stream()),
        };
        Ok(Self {
            location: location.to_string(),
            store,
            chunks,
            buf: Vec::new(),
            start: 0,
            at_end: false,
            header_checked: false,
            columns: RatingsColumns::with_capacity(batch_size),
            schema,
            batch_size: batch_size.max(1),
            sums,
            keep,
        })
    }

    /// The next batch of up to `batch_size` rows, or `None` after the last.
    async fn next(mut self) -> Result<Option<(RecordBatch, Self)>> {
        loop {
            if !self.header_checked {
                self.check_header()?;
            }
            if self.header_checked {
                let used =
                    self.columns
                        .parse_lines(&self.buf[self.start..], self.at_end, self.batch_size);
                self.start += used;
                let full = self.columns.len() >= self.batch_size;
                let done = self.at_end && self.start == self.buf.len();
                if full || (done && !self.columns.is_empty()) {
                    let mut batch = self.columns.finish(Arc::clone(&self.schema))?;
                    if let Some(sums) = &self.sums {
                        let valid = sums.fold(&batch)?;
                        if self.keep == Keep::Valid {
                            // A NULL verdict drops the row, as in a WHERE.
                            batch = filter_record_batch(&batch, &valid)?;
                        }
                    }
                    if batch.num_rows() > 0 {
                        return Ok(Some((batch, self)));
                    }
                    // Every row of this batch was dropped: read on.
                    continue;
                }
                if done {
                    self.write_sums().await?;
                    return Ok(None);
                }
            } else if self.at_end {
                // An empty file: no header, no rows.
                self.write_sums().await?;
                return Ok(None);
            }
            self.read_chunk().await?;
        }
    }

    /// Counts the file as summed, once every line is parsed (not when the
    /// stream is dropped before: such sums would miss rows); after the scan's
    /// last file, writes the sums.
    async fn write_sums(&mut self) -> Result<()> {
        match self.sums.take() {
            Some(sums) => sums.file_done(self.store.as_ref()).await,
            None => Ok(()),
        }
    }

    /// Checks the first line once it is complete (or clearly is no header).
    fn check_header(&mut self) -> Result<()> {
        let rest = &self.buf[self.start..];
        let end = match rest.iter().position(|&b| b == b'\n') {
            Some(n) => n,
            None if self.at_end && !rest.is_empty() => rest.len(),
            // A header is a few dozen bytes: no line break this far in means
            // the file is not line-separated (CR-only line ends, or not CSV),
            // and waiting for one would buffer the whole file.
            None if rest.len() > MAX_HEADER_BYTES => rest.len(),
            None => return Ok(()),
        };
        let line = &rest[..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
        if line != HEADER.as_bytes() {
            // Quoted in part: the "line" of a file without line breaks is the file.
            let shown = String::from_utf8_lossy(&line[..line.len().min(120)]);
            let more = if line.len() > 120 {
                format!(" (cut; {} bytes with no line break)", line.len())
            } else {
                String::new()
            };
            return Err(DataFusionError::Execution(format!(
                "ratings file {}: the first line is {shown:?}{more}, expected the header {HEADER:?} \
                 with LF or CRLF line ends",
                self.location,
            )));
        }
        self.start += (end + 1).min(rest.len());
        self.header_checked = true;
        Ok(())
    }

    /// Appends the next chunk of the file to the buffer (after dropping the
    /// bytes already parsed); at the end of the file, sets `at_end`.
    async fn read_chunk(&mut self) -> Result<()> {
        self.buf.drain(..self.start);
        self.start = 0;
        let fail = |e: &dyn fmt::Display| {
            DataFusionError::Execution(format!("reading ratings file {}: {e}", self.location))
        };
        match &mut self.chunks {
            Chunks::Local(file) => {
                let filled = self.buf.len();
                self.buf.resize(filled + LOCAL_CHUNK, 0);
                let n = file.read(&mut self.buf[filled..]).map_err(|e| fail(&e))?;
                self.buf.truncate(filled + n);
                self.at_end = n == 0;
            }
            Chunks::Remote(stream) => match stream.next().await {
                Some(bytes) => self.buf.extend_from_slice(&bytes.map_err(|e| fail(&e))?),
                None => self.at_end = true,
            },
        }
        Ok(())
    }
}
