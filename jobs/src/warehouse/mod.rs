//! The warehouse: the published curated run, loaded into PostgreSQL or Redshift.
//!
//! Both paths load every table of one curated run in full, into staging tables
//! first, and make them visible in one transaction, so a reader sees either the
//! previous run or the new one, never a mix; a load killed midway leaves the
//! previous tables untouched; loading the same run again gives the same tables.
//!
//! - [`postgres`]: streams the lake's parquet through `COPY … FROM STDIN`
//!   (local development, tests, users without Redshift).
//! - [`redshift`]: has Redshift `COPY … FORMAT AS PARQUET` the files straight
//!   from S3 through per-table manifests.
//!
//! [`schema`] declares the tables; [`connection`] opens and names connections.

pub mod connection;
mod csv_rows;
pub mod postgres;
pub mod redshift;
pub mod schema;

use arrow::datatypes::{DataType, Schema, TimeUnit};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::{DataFrame, SessionContext};

use crate::lake::{Lake, LakeError, Published, Zone};
use crate::transform::{TransformError, local_curated_context};
use schema::{ColumnType, Table};

pub use connection::{Warehouse, mask_url};

#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error(
        "no warehouse configured (warehouse.kind = \"none\"); set warehouse.kind to postgres or redshift and warehouse.url (e.g. MOVIELENS_WAREHOUSE__URL=postgres://user:pw@host/db)"
    )]
    NotConfigured,
    #[error("warehouse {url}: cannot connect: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "warehouse {url}: no answer within {secs} s (warehouse.connect_timeout_secs); check that it runs and the host and port are right"
    )]
    ConnectTimeout { url: String, secs: u64 },
    #[error("warehouse {url}: {statement}: {source}")]
    Statement {
        url: String,
        /// The statement's first line.
        statement: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "warehouse {url}: another `movielens load` is running (it holds the load lock); wait for it to finish, or end its session"
    )]
    Busy { url: String },
    #[error("warehouse {url}: copying {table} from {file}: {source}")]
    Copy {
        url: String,
        table: &'static str,
        file: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("reading curated table {table} from {file}: {detail}")]
    Read {
        table: &'static str,
        file: String,
        detail: String,
    },
    #[error(
        "curated table {table} ({file}) does not have the warehouse's columns: found [{found}], expected [{expected}]; the transform and warehouse/schema.rs disagree"
    )]
    SchemaMismatch {
        table: &'static str,
        file: String,
        found: String,
        expected: String,
    },
    #[error("curated run {run_id} has no table {table} (is the lake from an older version?)")]
    MissingTable { run_id: String, table: &'static str },
    #[error(
        "warehouse {url}: {table} received {copied} rows but curated run {run_id} holds {expected}; the load was rolled back"
    )]
    RowCount {
        url: String,
        table: &'static str,
        run_id: String,
        copied: u64,
        expected: u64,
    },
    #[error(
        "a Redshift load needs the lake on S3 (lake = \"s3://bucket/prefix\"), not {lake}: Redshift COPY reads from S3"
    )]
    RedshiftNeedsS3 { lake: String },
    #[error(
        "a Redshift load needs warehouse.iam_role (the ARN of a role Redshift assumes to read the lake bucket)"
    )]
    RedshiftNeedsRole,
    #[error(
        "lake {lake}: curated run {wanted} is not the published one ({published}); run `movielens transform --run-id {wanted}` first"
    )]
    NotPublished {
        lake: String,
        wanted: String,
        published: String,
    },
    #[error(
        "curated table {table} (run {run_id}): {column} of the row with {key} is {bytes} bytes, more than the warehouse's VARCHAR({limit}) holds (Redshift counts bytes, not characters); nothing was loaded. Widen {table}.{column} in warehouse/schema.rs (and bump SCHEMA_VERSION), or fix the value where it comes from"
    )]
    TextTooWide {
        table: &'static str,
        run_id: String,
        column: &'static str,
        key: String,
        bytes: i64,
        limit: u32,
    },
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Tables(#[from] TransformError),
}

pub type Result<T, E = WarehouseError> = std::result::Result<T, E>;

/// What a load did.
#[derive(Debug, Clone)]
pub struct LoadSummary {
    pub run_id: String,
    /// (table, rows, seconds) in load order.
    pub tables: Vec<(&'static str, u64, f64)>,
    pub seconds: f64,
}

impl LoadSummary {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.1).sum()
    }
}

/// The parquet files of a curated table, with their sizes.
pub async fn table_files(
    lake: &Lake,
    curated: &Published,
    table: &'static Table,
) -> Result<Vec<(String, u64)>> {
    if !curated.tables.contains_key(table.name) {
        return Err(WarehouseError::MissingTable {
            run_id: curated.run_id.clone(),
            table: table.name,
        });
    }
    let key = Lake::table_key(Zone::Curated, &curated.run_id, table.name);
    Ok(lake
        .list(&key)
        .await?
        .into_iter()
        .filter(|(k, _)| k.ends_with(".parquet"))
        .collect())
}

/// The arrow type a column must have in the curated parquet.
fn expected_arrow_type(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::BigInt | ColumnType::Money => DataType::Int64,
        ColumnType::Int => DataType::Int32,
        ColumnType::Rating | ColumnType::Double => DataType::Float64,
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Date => DataType::Date32,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        ColumnType::Text(_) => DataType::Utf8,
    }
}

/// Checks that a parquet file has exactly the table's columns, in order and of
/// the expected types (Redshift maps parquet columns by position).
pub fn check_columns(table: &'static Table, file: &str, found: &Schema) -> Result<()> {
    let text = |ty: &DataType| {
        matches!(
            ty,
            DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
        )
    };
    let same = found.fields().len() == table.columns.len()
        && found.fields().iter().zip(table.columns).all(|(f, c)| {
            let want = expected_arrow_type(c.ty);
            f.name() == c.name && (f.data_type() == &want || (text(&want) && text(f.data_type())))
        });
    if same {
        return Ok(());
    }
    Err(WarehouseError::SchemaMismatch {
        table: table.name,
        file: file.into(),
        found: found
            .fields()
            .iter()
            .map(|f| format!("{} {}", f.name(), f.data_type()))
            .collect::<Vec<_>>()
            .join(", "),
        expected: table
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, expected_arrow_type(c.ty)))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// A curated table (registered in `ctx`, see [`local_curated_context`]) after
/// checking that its columns are the warehouse's; nothing is read yet.
pub async fn checked_table(
    ctx: &SessionContext,
    curated: &Published,
    table: &'static Table,
) -> Result<DataFrame> {
    let key = Lake::table_key(Zone::Curated, &curated.run_id, table.name);
    let frame = ctx
        .table(table.name)
        .await
        .map_err(|e| WarehouseError::Read {
            table: table.name,
            file: key.clone(),
            detail: e.to_string(),
        })?;
    check_columns(table, &key, frame.schema().as_arrow())?;
    Ok(frame)
}

/// Refuses a table with a text value longer, in bytes, than its column's
/// VARCHAR width, naming the longest such value's row by its key. Redshift
/// would fail the whole COPY on it, late and without the row; truncating it
/// silently would change an answer. (PostgreSQL's columns are TEXT.)
pub async fn check_text_widths(
    ctx: &SessionContext,
    curated: &Published,
    table: &'static Table,
) -> Result<()> {
    for column in table.columns {
        let ColumnType::Text(limit) = column.ty else {
            continue;
        };
        let key: Vec<String> = table
            .key
            .iter()
            .map(|k| format!("'{k}=' || CAST({} AS VARCHAR)", schema::quote(k)))
            .collect();
        let key = if key.is_empty() {
            "'(no key)'".to_string()
        } else {
            key.join(" || ', ' || ")
        };
        // octet_length is BIGINT (Int64); the limit is cast to match.
        let sql = format!(
            "SELECT {key} AS row_key, octet_length({c}) AS bytes FROM {t} \
             WHERE octet_length({c}) > CAST({limit} AS BIGINT) ORDER BY bytes DESC LIMIT 1",
            c = schema::quote(column.name),
            t = table.name,
        );
        let read = |e: datafusion::error::DataFusionError| WarehouseError::Read {
            table: table.name,
            file: Lake::table_key(Zone::Curated, &curated.run_id, table.name),
            detail: e.to_string(),
        };
        let batches = crate::engine::query(ctx, &sql).await.map_err(read)?;
        if let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) {
            let key = arrow::util::display::array_value_to_string(batch.column(0), 0)
                .unwrap_or_else(|_| "?".into());
            let bytes = arrow::compute::cast(batch.column(1), &DataType::Int64)
                .ok()
                .and_then(|a| {
                    a.as_any()
                        .downcast_ref::<arrow::array::Int64Array>()
                        .map(|a| a.value(0))
                })
                .unwrap_or(-1);
            return Err(WarehouseError::TextTooWide {
                table: table.name,
                run_id: curated.run_id.clone(),
                column: column.name,
                key,
                bytes,
                limit,
            });
        }
    }
    Ok(())
}

/// Streams the rows of a checked curated table; memory stays bounded by a
/// few batches.
pub async fn table_batches(
    ctx: &SessionContext,
    curated: &Published,
    table: &'static Table,
) -> Result<SendableRecordBatchStream> {
    checked_table(ctx, curated, table)
        .await?
        .execute_stream()
        .await
        .map_err(|e| WarehouseError::Read {
            table: table.name,
            file: Lake::table_key(Zone::Curated, &curated.run_id, table.name),
            detail: e.to_string(),
        })
}

/// Loads the lake's published curated run into the configured warehouse.
/// With `expect_run`, refuses unless that run is the published one (so a
/// retried Airflow task never loads a newer run by surprise).
pub async fn load(
    settings: &crate::config::Settings,
    lake: &Lake,
    expect_run: Option<&str>,
) -> Result<LoadSummary> {
    let (ctx, curated) = local_curated_context(lake, crate::transform::Which::Published).await?;
    if let Some(want) = expect_run
        && want != curated.run_id
    {
        return Err(WarehouseError::NotPublished {
            lake: lake.root().into(),
            wanted: want.into(),
            published: curated.run_id,
        });
    }
    let mut wh = Warehouse::connect(settings).await?;
    tracing::info!(
        run_id = curated.run_id.as_str(),
        warehouse = wh.url.as_str(),
        "loading"
    );
    let summary = match wh.flavour {
        schema::Flavour::Postgres => postgres::load(&mut wh, &ctx, &curated).await?,
        schema::Flavour::Redshift => {
            let copy = redshift::CopyFrom::S3 {
                iam_role: &settings.warehouse.iam_role,
            };
            redshift::load(&mut wh, lake, &ctx, &curated, copy).await?
        }
    };
    wh.close().await;
    Ok(summary)
}

/// The Redshift load transaction run against a PostgreSQL warehouse
/// (`warehouse.kind = "postgres"`), its COPY steps fed by streaming the same
/// parquet rows: how the tests run every other statement of a Redshift load
/// for real, without AWS.
pub async fn rehearse_redshift_load(
    settings: &crate::config::Settings,
    lake: &Lake,
) -> Result<LoadSummary> {
    let (ctx, curated) = local_curated_context(lake, crate::transform::Which::Published).await?;
    let mut wh = Warehouse::connect(settings).await?;
    let summary = redshift::load(&mut wh, lake, &ctx, &curated, redshift::CopyFrom::Stream).await?;
    wh.close().await;
    Ok(summary)
}

/// Compares generated SQL with its reviewed copy in `src/warehouse/snapshots/`;
/// `UPDATE_SNAPSHOTS=1 cargo test -p movielens --lib warehouse` rewrites them
/// (then read the diff before committing).
#[cfg(test)]
pub(crate) fn assert_snapshot(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/warehouse/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "snapshot {} unreadable ({e}); run with UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "generated SQL differs from snapshot {}; if intended, rerun with UPDATE_SNAPSHOTS=1 and review the diff.\n--- generated:\n{actual}",
        path.display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Field;

    #[test]
    fn ddl_of_both_flavours_matches_the_reviewed_snapshots() {
        assert_snapshot(
            "postgres_schema.sql",
            &schema::full_ddl(schema::Flavour::Postgres, "movielens"),
        );
        assert_snapshot(
            "redshift_schema.sql",
            &schema::full_ddl(schema::Flavour::Redshift, "movielens"),
        );
    }

    #[test]
    fn parquet_columns_must_match_in_name_order_and_type() {
        let t = schema::table("rating_mapping").unwrap();
        let good = Schema::new(vec![
            Field::new("outcome", DataType::Utf8View, false),
            Field::new("n_ratings", DataType::Int64, false),
            Field::new("n_movielens_ids", DataType::Int64, false),
        ]);
        check_columns(t, "f.parquet", &good).unwrap();
        let swapped = Schema::new(vec![
            Field::new("outcome", DataType::Utf8, false),
            Field::new("n_movielens_ids", DataType::Int64, false),
            Field::new("n_ratings", DataType::Int64, false),
        ]);
        let err = check_columns(t, "f.parquet", &swapped)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rating_mapping")
                && err.contains("f.parquet")
                && err.contains("found [outcome Utf8, n_movielens_ids"),
            "{err}"
        );
        let wrong_type = Schema::new(vec![
            Field::new("outcome", DataType::Utf8, false),
            Field::new("n_ratings", DataType::Float64, false),
            Field::new("n_movielens_ids", DataType::Int64, false),
        ]);
        assert!(check_columns(t, "f.parquet", &wrong_type).is_err());
    }
}
