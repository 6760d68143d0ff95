//! The Postgres load: curated parquet streamed from the lake through
//! `COPY … FROM STDIN`, table by table, into a side schema (`<schema>_load`),
//! then swapped into place in one transaction.
//!
//! - Bounded memory: one parquet batch is read and encoded while the previous
//!   chunk is on the wire (a two-slot channel between the two).
//! - Serialised: the load holds a session advisory lock; a second load is
//!   refused with a message, and the lock dies with a killed load's session.
//! - Safe to kill: until the swap commits, only the side schema has changed.

use std::time::Instant;

use futures::StreamExt;
use tracing::{Instrument, info, info_span};

use super::connection::{Warehouse, record_load_sql};
use super::schema::{self, TABLES, Table};
use super::{LoadSummary, Result, WarehouseError, csv_rows, table_batches};
use crate::lake::Published;
use crate::progress::{self, Unit};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;

/// Key of the advisory lock every load takes ("movielens" as a number).
const LOAD_LOCK: i64 = 0x6d6f_7669_656c_656e;

/// Bytes of CSV sent to the server in one message.
const CHUNK_BYTES: usize = 1 << 20;

/// Loads the published curated run into Postgres.
pub async fn load(
    wh: &mut Warehouse,
    ctx: &SessionContext,
    curated: &Published,
) -> Result<LoadSummary> {
    let started = Instant::now();
    let locked = wh
        .query_i64(&format!(
            "SELECT CAST(pg_try_advisory_lock({LOAD_LOCK}) AS INTEGER)::BIGINT"
        ))
        .await?;
    if locked != 1 {
        return Err(WarehouseError::Busy {
            url: wh.url.clone(),
        });
    }
    // The swap below replaces every table, whatever version it had.
    wh.ensure_schema().await?;
    let target = wh.schema.clone();
    let side = format!("{target}_load");
    wh.execute(&format!("CREATE SCHEMA IF NOT EXISTS {side}"))
        .await?;

    let mut summary = LoadSummary {
        run_id: curated.run_id.clone(),
        tables: Vec::new(),
        seconds: 0.0,
    };
    for table in TABLES {
        let table_started = Instant::now();
        let rows = load_table(wh, ctx, curated, table, &side)
            .instrument(info_span!("load", table = table.name))
            .await?;
        let secs = table_started.elapsed().as_secs_f64();
        info!(
            table = table.name,
            rows,
            secs = format!("{secs:.2}"),
            rows_per_sec = (rows as f64 / secs.max(1e-9)) as u64,
            "loaded"
        );
        summary.tables.push((table.name, rows, secs));
    }

    // The swap: old tables out, new ones in, and the load recorded, together.
    let mut swap = Vec::new();
    for table in TABLES {
        swap.push(format!("DROP TABLE IF EXISTS {target}.{}", table.name));
        swap.push(format!(
            "ALTER TABLE {side}.{} SET SCHEMA {target}",
            table.name
        ));
    }
    summary.seconds = started.elapsed().as_secs_f64();
    let staging_run = curated
        .inputs
        .get("staging_run")
        .cloned()
        .unwrap_or_default();
    swap.push(record_load_sql(
        &target,
        &curated.run_id,
        &staging_run,
        summary.rows(),
        summary.seconds,
    ));
    swap.extend(wh.record_version_sql());
    wh.in_transaction(&swap).await?;
    for table in TABLES {
        wh.execute(&format!("ANALYZE {target}.{}", table.name))
            .await?;
    }
    wh.execute(&format!("SELECT pg_advisory_unlock({LOAD_LOCK})"))
        .await?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Recreates `side.table`, copies the curated files into it, checks the row
/// count and adds the keys. Returns the rows copied.
async fn load_table(
    wh: &mut Warehouse,
    ctx: &SessionContext,
    curated: &Published,
    table: &'static Table,
    side: &str,
) -> Result<u64> {
    wh.execute(&format!("DROP TABLE IF EXISTS {side}.{}", table.name))
        .await?;
    wh.execute(&table.create(wh.flavour, side, false)).await?;

    let copy_sql = format!(
        "COPY {side}.{} ({}) FROM STDIN WITH (FORMAT csv)",
        table.name,
        schema::quoted_list(&table.column_names())
    );
    let copied = copy_table(wh, ctx, curated, table, &copy_sql).await?;
    for sql in table.postgres_constraints(side) {
        wh.execute(&sql).await?;
    }
    Ok(copied)
}

/// Copies every row of a curated table through `copy_sql` (a `COPY … FROM
/// STDIN (FORMAT csv)`), with a progress bar, and checks the count against the
/// run's. Also the Redshift rehearsal's stand-in for COPY from S3.
pub(super) async fn copy_table(
    wh: &mut Warehouse,
    ctx: &SessionContext,
    curated: &Published,
    table: &'static Table,
    copy_sql: &str,
) -> Result<u64> {
    let expected = curated.tables.get(table.name).copied().unwrap_or(0);
    let bar = progress::bar(Some(expected), &format!("load {}", table.name), Unit::Rows);
    tracing::debug!(table = table.name, rows = expected, "copying");
    let batches = table_batches(ctx, curated, table).await?;
    let copied = copy_rows(wh, batches, table, copy_sql, &bar).await?;
    bar.finish_and_clear();
    if copied != expected {
        return Err(WarehouseError::RowCount {
            url: wh.url.clone(),
            table: table.name,
            run_id: curated.run_id.clone(),
            copied,
            expected,
        });
    }
    Ok(copied)
}

/// A table's rows through one `COPY … FROM STDIN` (`copy_sql`): a task reads
/// and encodes batches into ~1 MiB chunks while this one sends them.
async fn copy_rows(
    wh: &mut Warehouse,
    mut batches: SendableRecordBatchStream,
    table: &'static Table,
    copy_sql: &str,
    bar: &indicatif::ProgressBar,
) -> Result<u64> {
    let key = table.name;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<(Vec<u8>, u64)>>(2);
    let encoder = tokio::spawn(async move {
        let mut chunk = Vec::with_capacity(CHUNK_BYTES + (64 << 10));
        let mut rows = 0u64;
        while let Some(batch) = batches.next().await {
            let encoded = batch
                .map_err(|e| e.to_string())
                .and_then(|b| {
                    rows += b.num_rows() as u64;
                    csv_rows::append_rows(&b, &mut chunk).map_err(|e| e.to_string())
                })
                .map_err(|detail| WarehouseError::Read {
                    table: table.name,
                    file: format!("curated table {}", table.name),
                    detail,
                });
            if let Err(e) = encoded {
                let _ = tx.send(Err(e)).await;
                return;
            }
            if chunk.len() >= CHUNK_BYTES {
                let full =
                    std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_BYTES + (64 << 10)));
                if tx
                    .send(Ok((full, std::mem::take(&mut rows))))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
        if !chunk.is_empty() {
            let _ = tx.send(Ok((chunk, rows))).await;
        }
    });

    let copy_err = |url: &str| {
        let url = url.to_string();
        let file = key.to_string();
        move |source| WarehouseError::Copy {
            url,
            table: table.name,
            file,
            source,
        }
    };
    let url = wh.url.clone();
    let mut copy = wh
        .conn
        .copy_in_raw(copy_sql)
        .await
        .map_err(copy_err(&url))?;
    while let Some(chunk) = rx.recv().await {
        match chunk {
            Ok((bytes, rows)) => {
                if let Err(e) = copy.send(bytes).await {
                    encoder.abort();
                    return Err(copy_err(&url)(e));
                }
                bar.inc(rows);
            }
            Err(e) => {
                let _ = copy.abort(e.to_string()).await;
                return Err(e);
            }
        }
    }
    let _ = encoder.await;
    copy.finish().await.map_err(copy_err(&url))
}
