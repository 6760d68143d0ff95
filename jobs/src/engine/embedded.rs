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

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl EmbeddedCluster {
    pub async fn start(
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
        for i in 0..options.executors {
            let dir = work_dir.path().join(format!("executor-{i}"));
            std::fs::create_dir_all(&dir).map_err(|e| fail("executor work dir", &e))?;
            let placement = ExecutorPlacement {
                bind_host: "127.0.0.1".into(),
                external_host: "127.0.0.1".into(),
                port: free_port().map_err(|e| fail("executor port", &e))?,
                grpc_port: free_port().map_err(|e| fail("executor port", &e))?,
                vcores: vcores.div_ceil(options.executors).max(1),
                memory_bytes: executor::memory_bytes(&settings) / options.executors as u64,
                work_dir: dir.display().to_string(),
            };
            let config = executor::executor_config(&settings, lake, placement);
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
            Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "cannot remove an engine work dir"),
        }
    }
}
