//! The ratings read by one of fact_rating's scans, summed per MovieLens id,
//! folded into the scan that reads them.
//!
//! Why: ratings_by_movielens_id needs every rating read (valid or not, mapped
//! or not) counted per id, fact_rating needs the valid mapped ones row by
//! row. As two SQL steps that is two passes over the 0.7 GB CSV, and parsing
//! was the largest cost of the transform. Here fact_rating's scan counts the
//! rows it parses anyway, and writes one small parquet file of sums (one row
//! per id) when it has read all of its files; ratings_by_movielens_id adds
//! those up.
//!
//! One file of sums per scan, not per ratings file: each file of 64 MiB holds
//! ratings of nearly every movie, so per-file sums grow with files × movies —
//! at scale 10, 118 files × 458k ids made 372 MB of sums to sort, write and
//! add up again (docs/performance.md, change 9). Per scan, they grow with the
//! shards × movies.
//!
//! What the rows mean is defined in SQL, in
//! `jobs/sql/curated/ratings_per_file.sql`: the same validity rule
//! (`{{valid_rating}}` is [`RatingRule::sql`], which the fold evaluates as
//! [`RatingRule::verdicts`]), the same columns.
//! The transform runs that SQL for the files of any scan that did not write
//! its sums (a scan stopped early never writes them), and a test holds the two
//! equal.
//!
//! The sums are written when the scan's last file has been parsed, to a path
//! the transform gives the scan: a task that Ballista runs again writes the
//! same file again with the same rows.
//!
//! The same fold also gathers, per user, the genres of the movies their valid
//! ratings reach (`user_genre_masks.sql`), for genre_popularity: joining every
//! fact row to its movie's genres afterwards was the largest cost left at
//! scale 10 (docs/performance.md, change 10). Each id's slot carries its
//! movie's genre mask, looked up once when the slot is made, and the ratings
//! come sorted by user, so a user's mask is ORed up while its rows pass.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};
use datafusion::error::{DataFusionError, Result};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use crate::engine::dense_group_by::DENSE_MAX_KEY;
use crate::transform::valid_rating::RatingRule;

/// What a scan that sums per id needs to know; it travels with the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerIdSums {
    /// The parquet file the sums of all the scan's files go to, as a path in
    /// the ratings files' store (the lake's).
    pub out: String,
    /// The validity rule the scan judges every rating by.
    pub rule: RatingRule,
    /// Where the scan reads each id's genre mask and writes its users' masks,
    /// when it gathers them.
    pub user_masks: Option<UserMaskFiles>,
}

/// The files of a scan's users' genre masks, as paths in the lake's store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserMaskFiles {
    /// genre_mask_by_movielens_id.sql's rows: (movielens_id, genre_mask).
    pub genre_masks: String,
    /// The parquet file the users' masks go to (user_genre_masks.sql's rows).
    pub out: String,
}

/// The columns of a scan's sums (ratings_per_file.sql's result).
pub fn per_file_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("movielens_id", DataType::Int64, true),
        Field::new("n_ratings", DataType::Int64, true),
        Field::new("sum_rating", DataType::Float64, true),
        Field::new("n_invalid", DataType::Int64, true),
    ]))
}

/// The columns of a scan's users' genre masks (user_genre_masks.sql's result).
pub fn user_masks_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("user_id", DataType::Int64, true),
        Field::new("genre_mask", DataType::Int64, true),
    ]))
}

/// No slot yet for this id.
const NO_SLOT: u32 = u32::MAX;

/// Rows held before they are added up (4 MiB of pending rows).
const ROWS_PER_FOLD: usize = 1 << 18;

/// An id's sums so far, and the genres of the movie it reaches.
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    n_ratings: i64,
    n_invalid: i64,
    sum_rating: f64,
    genre_mask: i64,
}

impl Sums {
    /// Adds one row: `rating` is `None` when the rating is invalid.
    #[inline(always)]
    fn add(&mut self, rating: Option<f64>) {
        match rating {
            Some(r) => {
                self.n_ratings += 1;
                self.sum_rating += r;
            }
            None => self.n_invalid += 1,
        }
    }
}

/// The genre mask of each MovieLens id that reaches a movie with genres.
///
/// Read once per id, when the id's slot is made, so a sorted list does: it
/// is as long as the mapped ids (432k at scale 10, 7 MB), where an array by
/// id would be as long as the largest id.
#[derive(Debug, Default)]
pub struct GenreMasks {
    /// (id, mask), by id, one entry per id.
    by_id: Vec<(i64, i64)>,
}

impl GenreMasks {
    /// From genre_mask_by_movielens_id's rows (`movielens_id`, `genre_mask`).
    pub fn from_batches(batches: &[RecordBatch]) -> Result<Self> {
        let mut by_id = Vec::new();
        for batch in batches {
            let column = |name: &str| {
                batch
                    .column_by_name(name)
                    .and_then(|c| c.as_primitive_opt::<Int64Type>())
                    .ok_or_else(|| {
                        DataFusionError::Internal(format!(
                            "genre masks by MovieLens id need a BIGINT column {name}"
                        ))
                    })
            };
            let (ids, masks) = (column("movielens_id")?, column("genre_mask")?);
            let rows = ids.iter().zip(masks.iter());
            by_id.extend(rows.filter_map(|(id, mask)| Some((id?, mask?))));
        }
        // The SQL gives one row per id; were there two, both count.
        or_by_key(&mut by_id);
        Ok(Self { by_id })
    }

    fn get(&self, id: Option<i64>) -> i64 {
        id.and_then(|id| self.by_id.binary_search_by_key(&id, |&(i, _)| i).ok())
            .map_or(0, |at| self.by_id[at].1)
    }
}

/// Sorts (key, mask) pairs by key and ORs the masks of a key into one pair.
fn or_by_key(pairs: &mut Vec<(i64, i64)>) {
    pairs.sort_unstable_by_key(|&(key, _)| key);
    pairs.dedup_by(|next, kept| {
        let same = next.0 == kept.0;
        if same {
            kept.1 |= next.1;
        }
        same
    });
}

/// The users' genre masks of one scan, gathered as its valid rows pass.
struct UserMasks {
    out: Path,
    genre_masks: GenreMasks,
    /// The user whose rows are passing, and their genres so far.
    current: Option<(i64, i64)>,
    /// Finished users (a user may come back: once per file at most, as the
    /// files are sorted by user).
    done: Vec<(i64, i64)>,
}

impl UserMasks {
    #[inline(always)]
    fn add(&mut self, user: i64, mask: i64) {
        match &mut self.current {
            Some((u, m)) if *u == user => *m |= mask,
            current => {
                if let Some(finished) = current.replace((user, mask)) {
                    self.done.push(finished);
                }
            }
        }
    }

    /// One row per user with a genre, by user.
    fn batch(&mut self) -> Result<RecordBatch> {
        let mut users = std::mem::take(&mut self.done);
        users.extend(self.current.take());
        or_by_key(&mut users);
        // As the SQL's inner join: a user whose ratings reach no genre has no row.
        users.retain(|&(_, mask)| mask != 0);
        let ids: Int64Array = users.iter().map(|&(u, _)| Some(u)).collect();
        let masks: Int64Array = users.iter().map(|&(_, m)| Some(m)).collect();
        Ok(RecordBatch::try_new(
            user_masks_schema(),
            vec![Arc::new(ids), Arc::new(masks)],
        )?)
    }
}

/// One scan's sums being folded.
///
/// Each id seen gets a slot, in the order ids appear, found through an array
/// indexed by the id. Ratings come sorted by user, so ids arrive at random,
/// and the slots (≈ 1.4 MB with their index at scale 1) do not stay in the
/// core's cache while the rest of the batch's work (the join, the parquet
/// writer) runs: added up batch by batch as they came, every row missed it,
/// and the fold cost as much as the second parse it replaced. So the rows are
/// held (id, rating) and added up a quarter million at a time.
pub struct PerIdFold {
    rule: RatingRule,
    out: Path,
    /// Slot of each id 0 ..= DENSE_MAX_KEY (MovieLens ids are small and
    /// dense), grown as ids appear.
    dense: Vec<u32>,
    /// Slots of other ids, and of unreadable ones (`None`).
    other: HashMap<Option<i64>, u32>,
    /// The id of each slot, and its sums.
    ids: Vec<Option<i64>>,
    sums: Vec<Sums>,
    /// Rows not added up yet: the id and the rating, NaN when it is invalid
    /// (a valid rating is a number from 0.5 to 5.0, never NaN).
    pending: Vec<(i64, f64)>,
    /// Their users, when the users' genre masks are gathered.
    pending_users: Vec<i64>,
    /// The slot of each pending row, while they are added up.
    pending_slots: Vec<u32>,
    user_masks: Option<UserMasks>,
}

impl PerIdFold {
    pub fn new(rule: RatingRule, out: Path) -> Self {
        Self {
            rule,
            out,
            dense: Vec::new(),
            other: HashMap::new(),
            ids: Vec::new(),
            sums: Vec::new(),
            pending: Vec::new(),
            pending_users: Vec::new(),
            pending_slots: Vec::new(),
            user_masks: None,
        }
    }

    /// This fold, also gathering its users' genre masks, by `genre_masks`,
    /// to write them to `out`. Before the first row: a slot takes its id's
    /// mask when it is made.
    pub fn with_user_masks(self, genre_masks: GenreMasks, out: Path) -> Self {
        Self {
            user_masks: Some(UserMasks {
                out,
                genre_masks,
                current: None,
                done: Vec::new(),
            }),
            ..self
        }
    }

    /// The slot of `id`, made on its first sight.
    #[inline(always)]
    fn slot(&mut self, id: Option<i64>) -> usize {
        let masks = self.user_masks.as_ref().map(|u| &u.genre_masks);
        let new_slot = |ids: &mut Vec<Option<i64>>, sums: &mut Vec<Sums>| {
            ids.push(id);
            sums.push(Sums {
                genre_mask: masks.map_or(0, |m| m.get(id)),
                ..Sums::default()
            });
            (ids.len() - 1) as u32
        };
        let slot = match id {
            Some(key) if (0..=DENSE_MAX_KEY).contains(&key) => {
                let at = key as usize;
                if at >= self.dense.len() {
                    let len = (at + 1).next_power_of_two().min(DENSE_MAX_KEY as usize + 1);
                    self.dense.resize(len, NO_SLOT);
                }
                if self.dense[at] == NO_SLOT {
                    self.dense[at] = new_slot(&mut self.ids, &mut self.sums);
                }
                self.dense[at]
            }
            _ => match self.other.get(&id) {
                Some(&slot) => slot,
                None => {
                    let slot = new_slot(&mut self.ids, &mut self.sums);
                    self.other.insert(id, slot);
                    slot
                }
            },
        };
        slot as usize
    }

    /// Adds one row: `rating` is `None` when the rating is invalid.
    #[inline(always)]
    fn add(&mut self, id: Option<i64>, rating: Option<f64>) {
        let slot = self.slot(id);
        self.sums[slot].add(rating);
    }

    /// Adds up the rows held, in two passes: every row's slot first, then the
    /// sums. In one pass each row waited on two dependent reads (its id's
    /// slot, then that slot's sums), both cache misses once the catalogue
    /// outgrows the cache; apart, the slot reads of many rows overlap, and so
    /// do the sums'. Scale 10 (458k movies), 4 interleaved rounds: 36.7-38.9
    /// -> 34.9-35.6 s; scale 1: no difference (docs/performance.md, change 7).
    /// The users' masks take each valid row's genres from its slot in the
    /// same second pass, while the slot is in the cache (in a third pass of
    /// their own, the fold cost 11.7% of the samples at scale 10, not ~5%).
    fn add_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let mut slots = std::mem::take(&mut self.pending_slots);
        slots.clear();
        slots.extend(pending.iter().map(|&(id, _)| self.slot(Some(id)) as u32));
        let valid = |rating: f64| (!rating.is_nan()).then_some(rating);
        match &mut self.user_masks {
            Some(users) => {
                let rows = slots.iter().zip(&pending).zip(&self.pending_users);
                for ((&slot, &(_, rating)), &user) in rows {
                    let sums = &mut self.sums[slot as usize];
                    let rating = valid(rating);
                    sums.add(rating);
                    if rating.is_some() {
                        users.add(user, sums.genre_mask);
                    }
                }
            }
            None => {
                for (&slot, &(_, rating)) in slots.iter().zip(&pending) {
                    self.sums[slot as usize].add(valid(rating));
                }
            }
        }
        self.pending_slots = slots;
        self.pending = pending;
        self.pending.clear();
        self.pending_users.clear();
    }

    /// Takes in a batch of the four ratings columns; returns the rule's verdict
    /// on each row (false where a field it reads is missing), for a scan that
    /// keeps only the valid rows.
    pub fn fold(&mut self, batch: &RecordBatch) -> Result<BooleanArray> {
        let rows = batch.num_rows();
        let valid = self.rule.verdicts(batch)?;
        let users = batch.column(0).as_primitive::<Int64Type>();
        let ids = batch.column(1).as_primitive::<Int64Type>();
        let ratings = batch.column(2).as_primitive::<Float64Type>();
        let gather_users = self.user_masks.is_some();
        if self.pending.capacity() == 0 {
            self.pending.reserve_exact(ROWS_PER_FOLD + rows);
            if gather_users {
                self.pending_users.reserve_exact(ROWS_PER_FOLD + rows);
            }
        }
        for i in 0..rows {
            let passes = valid.value(i);
            if ids.is_null(i) {
                // Not valid either: no user's genres come from it.
                self.add(None, passes.then(|| ratings.value(i)));
            } else {
                let rating = if passes { ratings.value(i) } else { f64::NAN };
                self.pending.push((ids.value(i), rating));
                if gather_users {
                    // Read only for valid rows, whose user is never NULL.
                    self.pending_users.push(users.value(i));
                }
            }
        }
        if self.pending.len() >= ROWS_PER_FOLD {
            self.add_pending();
        }
        Ok(valid)
    }

    /// The sums as one batch: ids in ascending order, then the unread ids' row.
    pub fn batch(&mut self) -> Result<RecordBatch> {
        self.add_pending();
        let mut slots: Vec<usize> = (0..self.ids.len()).collect();
        slots.sort_by_key(|&s| (self.ids[s].is_none(), self.ids[s]));
        let ids: Int64Array = slots.iter().map(|&s| self.ids[s]).collect();
        let column = |f: fn(&Sums) -> i64| -> Int64Array {
            slots.iter().map(|&s| Some(f(&self.sums[s]))).collect()
        };
        let n = column(|s| s.n_ratings);
        let invalid = column(|s| s.n_invalid);
        let sum: Float64Array = slots
            .iter()
            .map(|&s| Some(self.sums[s].sum_rating))
            .collect();
        let columns: Vec<ArrayRef> =
            vec![Arc::new(ids), Arc::new(n), Arc::new(sum), Arc::new(invalid)];
        Ok(RecordBatch::try_new(per_file_schema(), columns)?)
    }

    /// Writes the sums, and the users' masks when it gathers them, to their
    /// files in `store`.
    pub async fn write(mut self, store: &dyn ObjectStore) -> Result<()> {
        self.add_pending();
        if let Some(users) = &mut self.user_masks {
            let batch = users.batch()?;
            write_parquet(store, &users.out, &batch, "the users' genre masks").await?;
        }
        let batch = self.batch()?;
        write_parquet(store, &self.out, &batch, "the per-id sums").await
    }
}

/// Writes `batch` as the parquet file `out` in `store`.
async fn write_parquet(
    store: &dyn ObjectStore,
    out: &Path,
    batch: &RecordBatch,
    what: &str,
) -> Result<()> {
    let mut bytes = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), None)?;
    writer.write(batch)?;
    writer.close()?;
    store.put(out, PutPayload::from(bytes)).await.map_err(|e| {
        DataFusionError::Execution(format!("writing {what} of a ratings scan to {out}: {e}"))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratings_csv::parse::RatingsColumns;
    use crate::transform::valid_rating::TEST_RULE;
    use datafusion::prelude::SessionContext;

    fn batch(lines: &str) -> RecordBatch {
        let mut columns = RatingsColumns::with_capacity(16);
        columns.parse_lines(lines.as_bytes(), true, usize::MAX);
        columns
            .finish(Arc::new(crate::ratings_csv::ratings_schema()))
            .unwrap()
    }

    #[test]
    fn sums_count_valid_and_invalid_ratings_per_id_with_unread_ids_apart() {
        let mut fold = PerIdFold::new(TEST_RULE, Path::from("d/p.parquet"));
        fold.fold(&batch(
            "1,7,4.0,1000000000\n2,7,3.5,1000000000\n3,7,3.3,1000000000\n\
             1,9,5.0,100\n,9,5.0,1000000000\n1,x,2.0,1000000000\n",
        ))
        .unwrap();
        fold.fold(&batch("4,-3,1.0,1000000000\n4,99999999,2.5,1000000000\n"))
            .unwrap();
        let got = fold.batch().unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&[got])
            .unwrap()
            .to_string();
        let want = "\
+--------------+-----------+------------+-----------+
| movielens_id | n_ratings | sum_rating | n_invalid |
+--------------+-----------+------------+-----------+
| -3           | 1         | 1.0        | 0         |
| 7            | 2         | 7.5        | 1         |
| 9            | 0         | 0.0        | 2         |
| 99999999     | 1         | 2.5        | 0         |
|              | 0         | 0.0        | 1         |
+--------------+-----------+------------+-----------+";
        assert_eq!(text, want);
    }

    /// Two ratings files with every kind of line the reader meets.
    const FILES: [&str; 2] = [
        "userId,movieId,rating,timestamp\n\
         1,7,4.0,1000000000\n2,7,3.5,1000000000\r\n3,7,3.3,1000000000\n\
         1,9,5.0,100\n,9,5.0,1000000000\n1,x,2.0,1000000000\n\
         1,9,0.0,1000000000\n1,9,5.5,1000000000\n1,12,4.5,2000000000\n\n\
         1,7,4.0,1000000000,9\n4,-3,1.0,1000000000\n5,99999999,2.5,1000000000",
        "userId,movieId,rating,timestamp\r\n7,7,2.0,1000000000\r\n8,12,4.5,1100000000\r\n",
    ];

    /// The rows of `sql` in `ctx`, as sorted text lines.
    async fn rows(ctx: &SessionContext, sql: &str) -> Vec<String> {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        // The first line of cells is the header.
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with('|'))
            .skip(1)
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    }

    /// The rows `side`'s SQL gives in `ctx`, and the rows of the file a scan
    /// wrote for it.
    async fn sql_and_scan_rows(
        ctx: &SessionContext,
        side: &crate::transform::SideTable,
        params: &[(&str, String)],
        written: &std::path::Path,
    ) -> (Vec<String>, Vec<String>) {
        let sql = crate::transform::render(&side.as_step(), params).unwrap();
        let want = rows(ctx, &sql).await;
        let table = format!("written_{}", side.name);
        ctx.register_parquet(&table, written.to_str().unwrap(), Default::default())
            .await
            .unwrap();
        let got = rows(ctx, &format!("SELECT * FROM {table}")).await;
        (want, got)
    }

    #[tokio::test]
    async fn the_scan_writes_for_all_its_files_what_their_sql_gives() {
        use crate::ratings_csv::{RatingsFile, RatingsTable};
        use crate::transform::{GENRE_MASK_BY_MOVIELENS_ID, RATINGS_PER_FILE, USER_GENRE_MASKS};
        use datafusion::datasource::listing::ListingTableUrl;

        let dir = tempfile::tempdir().unwrap();
        let url = |p: &std::path::Path| format!("file://{}", p.display());
        let files: Vec<RatingsFile> = FILES
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let path = dir.path().join(format!("part-{i}.csv"));
                std::fs::write(&path, text).unwrap();
                RatingsFile {
                    url: url(&path),
                    bytes: text.len() as u64,
                }
            })
            .collect();
        let store_path =
            |p: &std::path::Path| ListingTableUrl::parse(url(p)).unwrap().prefix().to_string();
        // Genres by id: one beyond the dense ids, one for an id rated only
        // invalidly, none for id 9's movie.
        let genre_masks = dir.path().join("genre_masks.parquet");
        let masks = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("movielens_id", DataType::Int64, true),
                Field::new("genre_mask", DataType::Int64, true),
            ])),
            vec![
                Arc::new(Int64Array::from(vec![7, 12, -3, 99999999, 4])),
                Arc::new(Int64Array::from(vec![1, 6, 16, 32, 64])),
            ],
        )
        .unwrap();
        let local = object_store::local::LocalFileSystem::new();
        let masks_path = Path::parse(store_path(&genre_masks)).unwrap();
        write_parquet(&local, &masks_path, &masks, "the test's genre masks")
            .await
            .unwrap();
        let written = dir.path().join("sums").join("shard-000.parquet");
        let users_written = dir.path().join("users").join("shard-000.parquet");
        let per_id = PerIdSums {
            out: store_path(&written),
            rule: TEST_RULE,
            user_masks: Some(UserMaskFiles {
                genre_masks: store_path(&genre_masks),
                out: store_path(&users_written),
            }),
        };
        // Asked for as many partitions as files, the scan still reads them
        // all in one: its sums are one file.
        let ctx = SessionContext::new_with_config(
            datafusion::prelude::SessionConfig::new().with_target_partitions(FILES.len()),
        );
        let tapped = RatingsTable::new(files.clone()).with_per_id_sums(Some(per_id));
        ctx.register_table("tapped", Arc::new(tapped)).unwrap();
        // Any query that reads the files to the end writes their sums.
        ctx.sql("SELECT count(movielens_id) FROM tapped")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        ctx.register_table("both", Arc::new(RatingsTable::new(files)))
            .unwrap();
        let params = [
            ("ratings", "both".to_string()),
            ("valid_rating", TEST_RULE.sql()),
        ];
        let (want, got) = sql_and_scan_rows(&ctx, &RATINGS_PER_FILE, &params, &written).await;
        // Ids 7 and 12 are in both files, and still one row each.
        assert_eq!(want.len(), 6, "{want:?}");
        assert_eq!(got, want);

        let masks_table = GENRE_MASK_BY_MOVIELENS_ID.name;
        let masks_file = genre_masks.to_str().unwrap();
        ctx.register_parquet(masks_table, masks_file, Default::default())
            .await
            .unwrap();
        let (want, got) = sql_and_scan_rows(&ctx, &USER_GENRE_MASKS, &params, &users_written).await;
        // Users 1, 2, 4, 5, 7 and 8; user 1's rows of id 7 come in two runs.
        assert_eq!(want.len(), 6, "{want:?}");
        assert_eq!(got, want);
    }
}
