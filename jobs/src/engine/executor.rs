//! Our Ballista executor: push-staged, an explicit memory pool, short heartbeats,
//! the lake's object stores. Used by the `movielens-executor` binary and by the
//! embedded cluster.

use std::sync::Arc;

use ballista_core::config::TaskSchedulingPolicy;
use ballista_executor::execution_engine::DefaultExecutionEngine;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};

use super::EngineError;
use super::executor_metrics::{CountingEngine, ExecutorMetrics};
use super::session::{runtime_for_lake, session_config};
use crate::config::Settings;
use crate::lake::Lake;

/// Where one executor listens and how big it is.
#[derive(Debug, Clone)]
pub struct ExecutorPlacement {
    pub bind_host: String,
    pub external_host: String,
    pub port: u16,
    pub grpc_port: u16,
    pub vcores: usize,
    pub memory_bytes: u64,
    pub work_dir: String,
}

/// The executor configuration for `settings` at `placement`; its tasks are
/// counted in `metrics`.
pub fn executor_config(
    settings: &Settings,
    lake: &Lake,
    placement: ExecutorPlacement,
    metrics: Arc<ExecutorMetrics>,
) -> ExecutorProcessConfig {
    let cluster = &settings.cluster;
    let runtime_lake = lake.clone();
    let producer_settings = settings.clone();
    ExecutorProcessConfig {
        bind_host: placement.bind_host,
        external_host: Some(placement.external_host),
        port: placement.port,
        grpc_port: placement.grpc_port,
        scheduler_host: cluster.scheduler_host.clone(),
        scheduler_port: cluster.scheduler_port,
        scheduler_connect_timeout_seconds: 10,
        vcores: placement.vcores,
        task_scheduling_policy: TaskSchedulingPolicy::PushStaged,
        work_dir: Some(placement.work_dir),
        executor_heartbeat_interval_seconds: cluster.heartbeat_secs,
        job_data_ttl_seconds: cluster.work_dir_ttl_secs,
        job_data_clean_up_interval_seconds: cluster.work_dir_sweep_secs,
        memory_pool_size: Some(placement.memory_bytes),
        override_logical_codec: Some(Arc::new(super::codec::LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(super::codec::PhysicalCodec::default())),
        override_config_producer: Some(Arc::new(move || session_config(&producer_settings))),
        override_runtime_producer: Some(Arc::new(move |_cfg| runtime_for_lake(&runtime_lake))),
        override_execution_engine: Some(Arc::new(CountingEngine {
            inner: if settings.engine.dense_group_by {
                Arc::new(super::dense_group_by::DenseGroupByEngine::default())
            } else {
                Arc::new(DefaultExecutionEngine::new())
            },
            metrics,
        })),
        ..Default::default()
    }
}

/// Runs an executor until it is told to stop.
pub async fn run(config: ExecutorProcessConfig) -> Result<(), EngineError> {
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| EngineError::Service(format!("executor: {e}")))
}

/// Memory for one executor: the configured pool, or a quarter of the host.
pub fn memory_bytes(settings: &Settings) -> u64 {
    match settings.cluster.executor_memory_mb {
        0 => host_memory_bytes() / 4,
        mb => mb << 20,
    }
}

/// Total memory of this host, from /proc/meminfo (8 GiB if unknown).
fn host_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(8 << 30, |kb| kb * 1024)
}
