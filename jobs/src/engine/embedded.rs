//! A Ballista scheduler and executor running as tasks of this process, on loopback.
//!
//! `SessionContext::standalone()` would be simpler, but it hard-codes pull-staged
//! scheduling, which runs tasks one per poll and is several times slower. This
//! cluster is push-staged, like the real fleet, and reached over gRPC the same way.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use ballista_core::config::TaskSchedulingPolicy;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use datafusion::execution::SessionStateBuilder;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use tokio::task::JoinHandle;
use tracing::debug;

use super::EngineError;
use super::session::{runtime_for_lake, session_config};
use crate::config::Settings;
use crate::lake::Lake;

/// Knobs of an embedded cluster (tests use several executors).
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    pub executors: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self { executors: 1 }
    }
}

/// The running cluster; its tasks stop when it is dropped.
pub struct EmbeddedCluster {
    scheduler_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
    work_dir: tempfile::TempDir,
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl EmbeddedCluster {
    pub async fn start(
        settings: &Settings,
        lake: &Lake,
        options: EmbeddedOptions,
    ) -> Result<Self, EngineError> {
        let fail =
            |what: &str, e: &dyn std::fmt::Display| EngineError::Embedded(format!("{what}: {e}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| fail("binding the scheduler port", &e))?;
        let scheduler_addr = listener
            .local_addr()
            .map_err(|e| fail("scheduler address", &e))?;

        let producer_settings = settings.clone();
        let builder_lake = lake.clone();
        let mut config = SchedulerConfig {
            scheduling_policy: TaskSchedulingPolicy::PushStaged,
            bind_host: "127.0.0.1".into(),
            external_host: "127.0.0.1".into(),
            bind_port: scheduler_addr.port(),
            executor_timeout_seconds: 30,
            expire_dead_executor_interval_seconds: 5,
            finished_job_data_clean_up_interval_seconds: 60,
            ..Default::default()
        };
        config.override_config_producer =
            Some(Arc::new(move || session_config(&producer_settings)));
        config.override_session_builder = Some(Arc::new(move |cfg| {
            Ok(SessionStateBuilder::new()
                .with_default_features()
                .with_config(cfg)
                .with_runtime_env(runtime_for_lake(&builder_lake)?)
                .build())
        }));
        let cluster = BallistaCluster::new_from_config(&config)
            .await
            .map_err(|e| fail("scheduler state", &e))?;
        let scheduler =
            create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, Arc::new(config))
                .await
                .map_err(|e| fail("scheduler", &e))?;
        let mut tasks = vec![tokio::spawn(async move {
            if let Err(e) = start_grpc_service_with_listener(listener, scheduler).await {
                tracing::error!(error = %e, "embedded scheduler stopped");
            }
        })];

        let work_dir = tempfile::Builder::new()
            .prefix("movielens-executor-")
            .tempdir()
            .map_err(|e| fail("executor work dir", &e))?;
        let cores = settings.partitions();
        let memory = match settings.engine.executor_memory_mb {
            0 => host_memory_bytes() / 4,
            mb => mb << 20,
        } / options.executors as u64;
        for i in 0..options.executors {
            let dir: PathBuf = work_dir.path().join(format!("executor-{i}"));
            std::fs::create_dir_all(&dir).map_err(|e| fail("executor work dir", &e))?;
            let runtime_lake = lake.clone();
            let producer_settings = settings.clone();
            let config = ExecutorProcessConfig {
                bind_host: "127.0.0.1".into(),
                external_host: Some("127.0.0.1".into()),
                port: free_port().map_err(|e| fail("executor port", &e))?,
                grpc_port: free_port().map_err(|e| fail("executor port", &e))?,
                scheduler_host: "127.0.0.1".into(),
                scheduler_port: scheduler_addr.port(),
                scheduler_connect_timeout_seconds: 10,
                vcores: cores.div_ceil(options.executors).max(1),
                task_scheduling_policy: TaskSchedulingPolicy::PushStaged,
                work_dir: Some(dir.display().to_string()),
                executor_heartbeat_interval_seconds: 5,
                memory_pool_size: Some(memory),
                override_config_producer: Some(Arc::new(move || {
                    session_config(&producer_settings)
                })),
                override_runtime_producer: Some(Arc::new(move |_cfg| {
                    runtime_for_lake(&runtime_lake)
                })),
                ..Default::default()
            };
            tasks.push(tokio::spawn(async move {
                if let Err(e) = start_executor_process(Arc::new(config)).await {
                    tracing::error!(error = %e, "embedded executor stopped");
                }
            }));
        }
        debug!(%scheduler_addr, executors = options.executors, "embedded cluster started");
        Ok(Self {
            scheduler_addr,
            tasks,
            work_dir,
        })
    }

    pub fn scheduler_url(&self) -> String {
        format!("df://{}", self.scheduler_addr)
    }

    pub fn work_dir(&self) -> &std::path::Path {
        self.work_dir.path()
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
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
