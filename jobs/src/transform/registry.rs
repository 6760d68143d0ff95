//! Which run of the lake a reader reads, and the lake's tables registered in a
//! session under their own names (the checks, answers, warehouse and report
//! read through these).

use datafusion::prelude::{ParquetReadOptions, SessionContext};

use super::TransformError;
use super::steps::SideTable;
use super::write::{ratings_parts, register_ratings};
use crate::lake::{Lake, Published, Zone};
use crate::staging::STAGED_TABLES;

pub(super) async fn register_parquet(
    ctx: &SessionContext,
    name: &str,
    url: String,
) -> Result<(), TransformError> {
    ctx.deregister_table(name).ok();
    ctx.register_parquet(name, &url, ParquetReadOptions::default())
        .await
        .map_err(|source| TransformError::Register {
            name: name.into(),
            url,
            source,
        })
}

/// Which run of the lake a reader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which<'a> {
    /// The run `_CURRENT.json` names: what analysts and the warehouse see.
    Published,
    /// A run by its id, published or not (to check it before publishing, or
    /// to diagnose a failed one).
    Run(&'a str),
}

/// The complete run `id` of `zone`, or an error naming it.
pub(super) async fn complete_run(
    lake: &Lake,
    zone: Zone,
    id: &str,
) -> Result<Published, TransformError> {
    lake.run(zone, id)
        .await?
        .ok_or_else(|| TransformError::NoSuchRun {
            root: lake.root().into(),
            zone: zone.name(),
            run: id.into(),
        })
}

/// The complete curated run `which` names.
pub async fn curated_run(lake: &Lake, which: Which<'_>) -> Result<Published, TransformError> {
    match which {
        Which::Published => Ok(lake.current(Zone::Curated).await?),
        Which::Run(id) => complete_run(lake, Zone::Curated, id).await,
    }
}

/// The staging run a transform of `run_id` reads: the run's own when it was
/// staged under that id (as `movielens run` does), else the latest staged.
pub async fn staging_for(lake: &Lake, run_id: &str) -> Result<Published, TransformError> {
    match lake.run(Zone::Staging, run_id).await? {
        Some(run) => Ok(run),
        None => Ok(lake.current(Zone::Staging).await?),
    }
}

/// The staging run a curated run was made from.
pub async fn staging_of(lake: &Lake, curated: &Published) -> Result<Published, TransformError> {
    match curated.inputs.get("staging_run") {
        Some(id) => complete_run(lake, Zone::Staging, id).await,
        // A run from before staging runs had records.
        None => Ok(lake.current(Zone::Staging).await?),
    }
}

/// Registers the tables of the staging run `staging` as `stg_<table>`.
pub async fn register_staged(
    ctx: &SessionContext,
    lake: &Lake,
    staging: &Published,
) -> Result<(), TransformError> {
    for table in STAGED_TABLES {
        let url = lake.url(&Lake::table_key(Zone::Staging, &staging.run_id, table)) + "/";
        register_parquet(ctx, &format!("stg_{table}"), url).await?;
    }
    Ok(())
}

/// Registers the staging run `staging` (`stg_*`) and its raw ratings files.
pub async fn register_inputs(
    ctx: &SessionContext,
    lake: &Lake,
    staging: &Published,
) -> Result<(), TransformError> {
    register_staged(ctx, lake, staging).await?;
    let parts = ratings_parts(lake, staging).await?;
    register_ratings(ctx, lake, "raw_ratings", &parts, None)?;
    Ok(())
}

/// The folder of a curated run's side table `side`: beside its tables, its
/// name marked (like `_redshift`) as no table of the run.
pub(super) fn side_table_key(run_id: &str, side: &SideTable) -> String {
    Lake::table_key(Zone::Curated, run_id, &format!("_{}", side.name))
}

/// Registers the run's side table `side` under its name.
pub(super) async fn register_side_table(
    ctx: &SessionContext,
    lake: &Lake,
    run_id: &str,
    side: &SideTable,
) -> Result<(), TransformError> {
    let url = lake.url(&side_table_key(run_id, side)) + "/";
    register_parquet(ctx, side.name, url).await
}

/// Registers every table of the curated run `curated`, for readers.
pub async fn register_curated(
    ctx: &SessionContext,
    lake: &Lake,
    curated: &Published,
) -> Result<(), TransformError> {
    for table in curated.tables.keys() {
        let url = lake.url(&Lake::table_key(Zone::Curated, &curated.run_id, table)) + "/";
        register_parquet(ctx, table, url).await?;
    }
    Ok(())
}

/// A DataFusion context in this process (no cluster) with the curated run
/// `which` registered: for readers of small results and for checks.
pub async fn local_curated_context(
    lake: &Lake,
    which: Which<'_>,
) -> Result<(SessionContext, Published), TransformError> {
    let runtime = crate::engine::reader_runtime_for_lake(lake).map_err(|source| {
        TransformError::Register {
            name: "(lake object store)".into(),
            url: lake.root().into(),
            source,
        }
    })?;
    let ctx = SessionContext::new_with_config_rt(Default::default(), runtime);
    let curated = curated_run(lake, which).await?;
    register_curated(&ctx, lake, &curated).await?;
    Ok((ctx, curated))
}
