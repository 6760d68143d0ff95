//! What an executor can tell about itself, in the Prometheus text format at
//! `http://HOST:cluster.executor_metrics_port/metrics`: that it is up, the
//! tasks it runs now and has run, the memory its running tasks hold in their
//! pools, and the bytes they spilled.
//!
//! Ballista's executor keeps its task slots private, so the counts come from
//! wrapping its execution engine: every task's stage goes through
//! [`CountingEngine`], which notes the task's context while it runs.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ballista_core::JobId;
use ballista_core::serde::protobuf::ShuffleWritePartition;
use ballista_executor::execution_engine::{ExecutionEngine, QueryStageExecutor};
use datafusion::error::Result;
use datafusion::execution::context::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::prelude::SessionConfig;

/// One executor's counters, shared by its engine and its metrics endpoint.
#[derive(Default)]
pub struct ExecutorMetrics {
    running: Mutex<HashMap<u64, Arc<TaskContext>>>,
    next: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    spilled_bytes: AtomicU64,
    slots: u64,
}

impl ExecutorMetrics {
    pub fn new(slots: usize) -> Arc<Self> {
        Arc::new(Self {
            slots: slots as u64,
            ..Self::default()
        })
    }

    /// The Prometheus text exposition of these counters.
    pub fn render(&self) -> String {
        let (running, reserved) = {
            let tasks = self.running.lock().unwrap_or_else(|e| e.into_inner());
            // Tasks may share one pool: count each pool once.
            let mut pools = HashMap::new();
            for ctx in tasks.values() {
                let pool = ctx.memory_pool();
                pools.insert(Arc::as_ptr(pool) as *const () as usize, pool.reserved());
            }
            (tasks.len(), pools.values().sum::<usize>())
        };
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            out += &format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n");
        };
        metric(
            "movielens_executor_up",
            "gauge",
            "1 while the executor serves.",
            1,
        );
        metric(
            "movielens_executor_task_slots",
            "gauge",
            "Task slots (vcores) it offers.",
            self.slots,
        );
        metric(
            "movielens_executor_running_tasks",
            "gauge",
            "Tasks running now.",
            running as u64,
        );
        metric(
            "movielens_executor_tasks_completed_total",
            "counter",
            "Tasks that finished.",
            self.completed.load(Ordering::Relaxed),
        );
        metric(
            "movielens_executor_tasks_failed_total",
            "counter",
            "Tasks that failed.",
            self.failed.load(Ordering::Relaxed),
        );
        metric(
            "movielens_executor_memory_reserved_bytes",
            "gauge",
            "Memory the running tasks hold in their pools.",
            reserved as u64,
        );
        metric(
            "movielens_executor_spilled_bytes_total",
            "counter",
            "Bytes finished tasks spilled to disk.",
            self.spilled_bytes.load(Ordering::Relaxed),
        );
        out
    }
}

/// Serves [`ExecutorMetrics::render`] at `/metrics` on `listener` until the
/// process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<ExecutorMetrics>,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [("content-type", "text/plain; version=0.0.4")],
                    metrics.render(),
                )
            }
        }),
    );
    axum::serve(listener, app).await
}

/// An execution engine that counts the tasks of the engine it wraps.
pub struct CountingEngine {
    pub inner: Arc<dyn ExecutionEngine>,
    pub metrics: Arc<ExecutorMetrics>,
}

impl ExecutionEngine for CountingEngine {
    fn create_query_stage_exec(
        &self,
        job_id: JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> Result<Arc<dyn QueryStageExecutor>> {
        let inner = self.inner.create_query_stage_exec(
            job_id,
            stage_id,
            task_id,
            global_output_partition_ids,
            plan,
            work_dir,
            config,
        )?;
        Ok(Arc::new(CountedStage {
            inner,
            metrics: self.metrics.clone(),
        }))
    }
}

struct CountedStage {
    inner: Arc<dyn QueryStageExecutor>,
    metrics: Arc<ExecutorMetrics>,
}

impl fmt::Debug for CountedStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl fmt::Display for CountedStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

#[async_trait::async_trait]
impl QueryStageExecutor for CountedStage {
    async fn execute_query_stage(
        &self,
        task_id: usize,
        context: Arc<TaskContext>,
    ) -> Result<Vec<ShuffleWritePartition>> {
        let m = &self.metrics;
        let key = m.next.fetch_add(1, Ordering::Relaxed);
        m.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, context.clone());
        // A cancelled task's future is dropped mid-way: the guard still
        // takes it off the running list.
        let _running = Running { metrics: m, key };
        let result = self.inner.execute_query_stage(task_id, context).await;
        let spilled: usize = self
            .inner
            .collect_plan_metrics()
            .iter()
            .filter_map(|set| set.spilled_bytes())
            .sum();
        m.spilled_bytes.fetch_add(spilled as u64, Ordering::Relaxed);
        let counter = if result.is_ok() {
            &m.completed
        } else {
            &m.failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    fn collect_plan_metrics(&self) -> Vec<MetricsSet> {
        self.inner.collect_plan_metrics()
    }

    fn collect_runtime_stats_reports(
        &self,
    ) -> Vec<ballista_core::serde::protobuf::RuntimeStatsReport> {
        self.inner.collect_runtime_stats_reports()
    }

    fn collect_window_state_reports(
        &self,
    ) -> Result<Vec<ballista_core::serde::protobuf::WindowStateReport>> {
        self.inner.collect_window_state_reports()
    }

    fn collect_column_stats(&self) -> Vec<ballista_core::serde::protobuf::TaskColumnStats> {
        self.inner.collect_column_stats()
    }
}

/// Removes a task from the running list when its execution ends or is dropped.
struct Running<'a> {
    metrics: &'a ExecutorMetrics,
    key: u64,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.metrics
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}
