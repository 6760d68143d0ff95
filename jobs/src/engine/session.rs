//! Session configuration shared by the client, the scheduler and the executors,
//! so every process resolves the same object stores and settings.

use std::sync::Arc;

use ballista::prelude::SessionConfigExt;
use datafusion::execution::SessionState;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::SessionConfig;

use crate::config::Settings;
use crate::lake::Lake;

/// Ballista defaults plus our partition count and our plan codecs.
pub fn session_config(settings: &Settings) -> SessionConfig {
    SessionConfig::new_with_ballista()
        .with_ballista_logical_extension_codec(Arc::new(super::codec::LogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(super::codec::PhysicalCodec::default()))
        .with_target_partitions(settings.partitions())
        .with_information_schema(true)
        .set_bool(
            "ballista.shuffle.force_remote_read",
            settings.engine.force_remote_shuffle_read,
        )
}

/// A runtime whose object-store registry knows the lake (needed for `s3://`).
pub fn runtime_for_lake(lake: &Lake) -> datafusion::error::Result<Arc<RuntimeEnv>> {
    register_lake(lake, RuntimeEnvBuilder::new().build_arc()?)
}

/// Memory the local readers of the lake (checks, answers, report) may hold
/// before DataFusion spills to disk: the duplicate-ratings check groups every
/// fact row, a hash table that would otherwise grow with the ratings.
pub const READER_MEMORY_BYTES: usize = 512 * 1024 * 1024;

/// A runtime for this process's own queries over the lake, bounded by
/// [`READER_MEMORY_BYTES`] (beyond it aggregations spill to the temp dir).
pub fn reader_runtime_for_lake(lake: &Lake) -> datafusion::error::Result<Arc<RuntimeEnv>> {
    register_lake(
        lake,
        RuntimeEnvBuilder::new()
            .with_memory_limit(READER_MEMORY_BYTES, 1.0)
            .build_arc()?,
    )
}

fn register_lake(
    lake: &Lake,
    runtime: Arc<RuntimeEnv>,
) -> datafusion::error::Result<Arc<RuntimeEnv>> {
    if let Some((url, store)) = lake.store_registration() {
        let url = url::Url::parse(&url)
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        runtime.register_object_store(&url, store);
    }
    Ok(runtime)
}

/// The client's session state.
pub fn session_state(settings: &Settings, lake: &Lake) -> datafusion::error::Result<SessionState> {
    Ok(SessionStateBuilder::new()
        .with_default_features()
        .with_config(session_config(settings))
        .with_runtime_env(runtime_for_lake(lake)?)
        .build())
}

/// A view of `ctx` whose Ballista jobs are named `name` (`ballista.job.name`),
/// so the scheduler's API, `movielens cluster status` and the transform's
/// progress can say which step a job belongs to. It shares `ctx`'s catalog
/// (tables registered on either are seen by both), runtime and session id.
pub fn job_session(
    ctx: &datafusion::prelude::SessionContext,
    name: &str,
) -> datafusion::prelude::SessionContext {
    let state = ctx.state();
    // Not `create_default_catalog_and_schema`: the catalog list is shared, and
    // building would put a new, empty default catalog in it over `ctx`'s.
    let config = state
        .config()
        .clone()
        .with_ballista_job_name(name)
        .with_create_default_catalog_and_schema(false);
    let session_id = state.session_id().to_string();
    let state = SessionStateBuilder::new_from_existing(state)
        .with_config(config)
        .with_session_id(session_id)
        .build();
    datafusion::prelude::SessionContext::new_with_state(state)
}
