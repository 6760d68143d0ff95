//! Content fingerprints of a curated run's tables, to tell whether two runs
//! hold the same data (`movielens runs --compare A B`): after a rerun, a
//! retry, or a run that lost an executor half-way.
//!
//! A table's fingerprint is its row count and an order-independent digest:
//! the wrapping sum of a hash of every row. Row order differs between engines
//! and partitionings, and so does the last bit of a float sum, so floats are
//! hashed at 10 significant digits (`{:.9e}`, the answers' 1e-9 tolerance). The digest is
//! computed while streaming, so it needs no memory per row.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::lake::{Lake, Zone};

#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    #[error("run {0} has no curated tables in the lake (see `movielens runs`)")]
    NoSuchRun(String),
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
    #[error("reading table {table} of run {run_id}: {source}")]
    Read {
        run_id: String,
        table: String,
        source: datafusion::error::DataFusionError,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableFingerprint {
    pub rows: u64,
    /// Hex of the 128-bit wrapping sum of the rows' hashes.
    pub digest: String,
}

/// The fingerprint of every table of curated run `run_id`, by table name.
pub async fn of_run(
    lake: &Lake,
    run_id: &str,
) -> Result<BTreeMap<String, TableFingerprint>, FingerprintError> {
    let run = lake
        .run(Zone::Curated, run_id)
        .await?
        .ok_or_else(|| FingerprintError::NoSuchRun(run_id.to_string()))?;
    let runtime =
        crate::engine::runtime_for_lake(lake).map_err(|source| FingerprintError::Read {
            run_id: run_id.into(),
            table: "(runtime)".into(),
            source,
        })?;
    let ctx = SessionContext::new_with_config_rt(Default::default(), runtime);
    let mut out = BTreeMap::new();
    for table in run.tables.keys() {
        let read = |source| FingerprintError::Read {
            run_id: run_id.into(),
            table: table.clone(),
            source,
        };
        let url = lake.url(&Lake::table_key(Zone::Curated, run_id, table)) + "/";
        ctx.register_parquet(table.as_str(), &url, ParquetReadOptions::default())
            .await
            .map_err(read)?;
        let mut stream = ctx
            .sql(&format!("SELECT * FROM \"{table}\""))
            .await
            .map_err(read)?
            .execute_stream()
            .await
            .map_err(read)?;
        let (mut rows, mut sum) = (0u64, 0u128);
        let opts = FormatOptions::default().with_null("NULL");
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(read)?;
            let cols = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| read(e.into()))?;
            for r in 0..batch.num_rows() {
                let mut h = Sha256::new();
                for (c, formatter) in cols.iter().enumerate() {
                    let column = batch.column(c);
                    match column.data_type() {
                        DataType::Float64 if !column.is_null(r) => {
                            let v = column.as_primitive::<Float64Type>().value(r);
                            h.update(format!("{v:.9e}").as_bytes());
                        }
                        _ => h.update(formatter.value(r).to_string().as_bytes()),
                    }
                    h.update([0x1f]);
                }
                let bytes: [u8; 16] = h.finalize()[..16].try_into().expect("16 bytes");
                sum = sum.wrapping_add(u128::from_le_bytes(bytes));
                rows += 1;
            }
        }
        ctx.deregister_table(table.as_str()).map_err(read)?;
        out.insert(
            table.clone(),
            TableFingerprint {
                rows,
                digest: format!("{sum:032x}"),
            },
        );
    }
    Ok(out)
}
