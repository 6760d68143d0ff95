//! A Ballista scheduler and executors running as tasks of this process, on loopback.
//!
//! `SessionContext::standalone()` would be simpler, but it hard-codes pull-staged
//! scheduling, which runs tasks one per poll and is several times slower. This
//! cluster is push-staged, like the real fleet, built from the same
//! [`scheduler`](super::scheduler) and [`executor`](super::executor) code as our
//! binaries, and reached over gRPC the same way.

use std::net::{SocketAddr, TcpListener};

use tokio::task::JoinHandle;
use tracing::debug;

use super::EngineError;
use super::executor::{self, ExecutorPlacement};
use super::scheduler;
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

/// The running cluster; its tasks stop and its work dir is removed when dropped.
pub struct EmbeddedCluster {
    scheduler_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
    work_dir: tempfile::TempDir,
}

/// `n` ports free a moment ago, all different: each is held until every one is
/// picked (a port released at once can be handed out again). Another process
/// may still take one before an executor binds it; [`EmbeddedCluster::start`]
/// then tries again.
fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let held = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    held.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

/// How long the executors of a starting cluster get to register.
const REGISTER_WITHIN: std::time::Duration = std::time::Duration::from_secs(20);
/// Starts tried before giving up.
const START_ATTEMPTS: usize = 3;

impl EmbeddedCluster {
    /// Starts a scheduler and `options.executors` executors and returns once
    /// every executor is registered: an executor that failed to start (its
    /// port taken) would otherwise leave jobs waiting with "no alive
    /// executors" until the step timeout. Such a start is retried on new ports.
    pub async fn start(
        settings: &Settings,
        lake: &Lake,
        options: EmbeddedOptions,
    ) -> Result<Self, EngineError> {
        let mut seen = 0;
        for attempt in 1..=START_ATTEMPTS {
            let cluster = Self::spawn(settings, lake, options.clone()).await?;
            let addr = cluster.scheduler_addr.to_string();
            match super::api::wait_for_executors(&addr, options.executors, REGISTER_WITHIN).await {
                Ok(()) => return Ok(cluster),
                Err(n) => {
                    seen = n;
                    tracing::warn!(
                        attempt,
                        registered = n,
                        wanted = options.executors,
                        "embedded executors did not all register; starting again"
                    );
                }
            }
        }
        Err(EngineError::Service(format!(
            "embedded cluster: {seen} of {} executors registered within {} s, {START_ATTEMPTS} times; \
             the log above says why (a port in use, the work dir)",
            options.executors,
            REGISTER_WITHIN.as_secs()
        )))
    }

    async fn spawn(
        settings: &Settings,
        lake: &Lake,
        options: EmbeddedOptions,
    ) -> Result<Self, EngineError> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            EngineError::Service(format!("embedded cluster: {what}: {e}"))
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| fail("binding the scheduler port", &e))?;
        let scheduler_addr = listener
            .local_addr()
            .map_err(|e| fail("scheduler address", &e))?;
        let mut settings = settings.clone();
        settings.cluster.external_host = "127.0.0.1".into();
        settings.cluster.scheduler_host = "127.0.0.1".into();
        settings.cluster.scheduler_port = scheduler_addr.port();

        let config =
            scheduler::scheduler_config(&settings, lake, "127.0.0.1", scheduler_addr.port());
        let mut tasks = vec![tokio::spawn(async move {
            if let Err(e) = scheduler::serve(listener, config).await {
                tracing::error!(error = %e, "embedded scheduler stopped");
            }
        })];

        let work_dir = tempfile::Builder::new()
            .prefix("movielens-executor-")
            .tempdir()
            .map_err(|e| fail("executor work dir", &e))?;
        let vcores = match settings.cluster.executor_vcores {
            0 => settings.partitions(),
            n => n,
        };
        let ports = free_ports(2 * options.executors).map_err(|e| fail("executor ports", &e))?;
        for (i, ports) in ports.chunks(2).enumerate() {
            let dir = work_dir.path().join(format!("executor-{i}"));
            std::fs::create_dir_all(&dir).map_err(|e| fail("executor work dir", &e))?;
            let placement = ExecutorPlacement {
                bind_host: "127.0.0.1".into(),
                external_host: "127.0.0.1".into(),
                port: ports[0],
                grpc_port: ports[1],
                vcores: vcores.div_ceil(options.executors).max(1),
                memory_bytes: executor::memory_bytes(&settings) / options.executors as u64,
                work_dir: dir.display().to_string(),
            };
            let slots = placement.vcores;
            let metrics = super::executor_metrics::ExecutorMetrics::new(slots);
            let config = executor::executor_config(&settings, lake, placement, metrics);
            tasks.push(tokio::spawn(async move {
                if let Err(e) = executor::run(config).await {
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

/// Work dirs of clusters already dropped, for [`remove_dropped_work_dirs`].
static DROPPED_WORK_DIRS: std::sync::Mutex<Vec<std::path::PathBuf>> =
    std::sync::Mutex::new(Vec::new());

impl Drop for EmbeddedCluster {
    /// Aborting a task does not stop the tasks it spawned (an executor runs
    /// each Ballista task in its own), and those still write shuffle files for
    /// a moment, so the dir may come back after this removes it: it is also
    /// noted for a second sweep once the runtime has stopped.
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Ok(mut dirs) = DROPPED_WORK_DIRS.lock() {
            dirs.push(self.work_dir.path().to_path_buf());
        }
    }
}

/// Removes what is left of dropped clusters' work dirs. Call it after the
/// async runtime has shut down, when no engine task can write any more (the
/// CLI does, so a stopped run leaves nothing in `TMPDIR`).
pub fn remove_dropped_work_dirs() {
    let dirs = match DROPPED_WORK_DIRS.lock() {
        Ok(mut dirs) => std::mem::take(&mut *dirs),
        Err(_) => return,
    };
    for dir in dirs {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => debug!(dir = %dir.display(), "removed an engine work dir left by a stop"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot remove an engine work dir")
            }
        }
    }
}
