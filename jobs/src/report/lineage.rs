//! Where the answers come from: the runs, the inputs and their checksums, what
//! staging dropped or changed and why, what became of every rating, the rows
//! of every table, and how long each stage took.

use std::collections::BTreeMap;

use arrow::array::AsArray;
use arrow::datatypes::{DataType, Int64Type};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::answers::{self, RatingOutcome};
use crate::lake::Lake;
use crate::transform::{Which, local_curated_context, register_staged, staging_of};

use super::ReportError;

/// One stage of a `movielens run`, as its closing table shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageTime {
    pub stage: String,
    pub seconds: f64,
    pub rows: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Lineage {
    pub curated_run: String,
    pub curated_published_at: String,
    pub staging_run: String,
    /// (lake key, bytes, SHA-256) of every raw input file the run read.
    pub inputs: Vec<(String, u64, String)>,
    /// (file, action, reason, records).
    pub rejects: Vec<(String, String, String, u64)>,
    pub ratings: Vec<RatingOutcome>,
    pub tables: BTreeMap<String, u64>,
    /// Empty unless the run was made by `movielens run` (it records them).
    pub stages: Vec<StageTime>,
}

/// Where `movielens run` keeps a run's stage timings (and the report).
pub fn stages_key(run_id: &str) -> String {
    format!("reports/{run_id}/stages.json")
}

const REJECTS_BY_REASON: &str = "SELECT file, action, reason, CAST(count(*) AS BIGINT) AS n \
     FROM stg_rejects GROUP BY file, action, reason ORDER BY file, action, reason";

/// Collects the lineage of the published curated run.
pub async fn collect(lake: &Lake) -> Result<Lineage, ReportError> {
    let (ctx, curated) = local_curated_context(lake, Which::Published).await?;
    // The staging run this curated run was made from, not the latest staged.
    let staging = staging_of(lake, &curated).await?;
    register_staged(&ctx, lake, &staging).await?;
    let query = |source| ReportError::Query {
        what: "staging rejects",
        source,
    };
    let batches = ctx
        .sql(REJECTS_BY_REASON)
        .await
        .map_err(query)?
        .collect()
        .await
        .map_err(query)?;
    let mut rejects = Vec::new();
    for b in &batches {
        let text = |i: usize| {
            arrow::compute::cast(b.column(i), &DataType::Utf8).map_err(|e| query(e.into()))
        };
        let (file, action, reason) = (text(0)?, text(1)?, text(2)?);
        let n = b.column(3).as_primitive::<Int64Type>();
        for row in 0..b.num_rows() {
            rejects.push((
                file.as_string::<i32>().value(row).to_string(),
                action.as_string::<i32>().value(row).to_string(),
                reason.as_string::<i32>().value(row).to_string(),
                n.value(row) as u64,
            ));
        }
    }

    let mut inputs = Vec::new();
    for key in staging.inputs.values() {
        // Ratings are a directory of parts; the others single files.
        let objects = match lake.list(key).await?.as_slice() {
            [] => vec![(key.clone(), 0)],
            listed => listed.to_vec(),
        };
        for (object, bytes) in objects {
            let data = lake.get(&object).await?;
            inputs.push((
                object,
                bytes.max(data.len() as u64),
                hex::encode(Sha256::digest(&data)),
            ));
        }
    }
    inputs.sort();

    let stages = match lake.exists(&stages_key(&curated.run_id)).await? {
        true => serde_json::from_slice(&lake.get(&stages_key(&curated.run_id)).await?)
            .unwrap_or_default(),
        false => Vec::new(),
    };
    let ratings = answers::rating_mapping(lake, Which::Published).await?;
    Ok(Lineage {
        curated_run: curated.run_id.clone(),
        curated_published_at: curated.published_at.clone(),
        staging_run: staging.run_id,
        inputs,
        rejects,
        ratings,
        tables: curated.tables,
        stages,
    })
}

/// Records a run's stage timings for its report.
pub async fn record_stages(
    lake: &Lake,
    run_id: &str,
    stages: &[StageTime],
) -> Result<(), ReportError> {
    let json = serde_json::to_vec_pretty(stages).expect("stage times serialise");
    lake.put(&stages_key(run_id), json).await?;
    Ok(())
}
