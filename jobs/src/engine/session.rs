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
    let runtime = RuntimeEnvBuilder::new().build_arc()?;
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
