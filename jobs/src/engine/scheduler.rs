//! Our Ballista scheduler: push-staged, with the lake's object stores and the
//! session configuration every process shares. Used by the `movielens-scheduler`
//! binary and by the embedded cluster.

use std::sync::Arc;

use ballista_core::config::TaskSchedulingPolicy;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use datafusion::execution::SessionStateBuilder;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use tokio::net::TcpListener;

use super::EngineError;
use super::session::{runtime_for_lake, session_config};
use crate::config::Settings;
use crate::lake::Lake;

/// The scheduler configuration for `settings`, listening on `listener`'s port.
pub fn scheduler_config(
    settings: &Settings,
    lake: &Lake,
    bind_host: &str,
    port: u16,
) -> SchedulerConfig {
    let cluster = &settings.cluster;
    let external = if cluster.external_host.is_empty() {
        bind_host
    } else {
        &cluster.external_host
    };
    let producer_settings = settings.clone();
    let builder_lake = lake.clone();
    let mut config = SchedulerConfig {
        scheduling_policy: TaskSchedulingPolicy::PushStaged,
        bind_host: bind_host.into(),
        external_host: external.into(),
        bind_port: port,
        executor_timeout_seconds: cluster.executor_timeout_secs,
        expire_dead_executor_interval_seconds: (cluster.executor_timeout_secs / 6).max(1),
        finished_job_data_clean_up_interval_seconds: cluster.job_data_cleanup_secs,
        ..Default::default()
    };
    config.override_logical_codec = Some(Arc::new(super::codec::LogicalCodec::default()));
    config.override_physical_codec = Some(Arc::new(super::codec::PhysicalCodec::default()));
    config.override_config_producer = Some(Arc::new(move || session_config(&producer_settings)));
    config.override_session_builder = Some(Arc::new(move |cfg| {
        Ok(SessionStateBuilder::new()
            .with_default_features()
            .with_config(cfg)
            .with_runtime_env(runtime_for_lake(&builder_lake)?)
            .build())
    }));
    config
}

/// Serves the scheduler on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: SchedulerConfig) -> Result<(), EngineError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        EngineError::Service(format!("scheduler {what}: {e}"))
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| fail("state", &e))?;
    let scheduler =
        create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, Arc::new(config))
            .await
            .map_err(|e| fail("start", &e))?;
    start_grpc_service_with_listener(listener, scheduler)
        .await
        .map_err(|e| fail("service", &e))
}
