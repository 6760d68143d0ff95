//! The engine the SQL plans run on: Ballista, either embedded in this process or
//! a remote cluster. Both are reached the same way (a `SessionContext` talking to
//! a scheduler over gRPC), so the embedded default exercises the production path.

pub mod api;
pub mod codec;
pub mod dense_group_by;
mod embedded;
pub mod executor;
pub mod executor_metrics;
pub mod scheduler;
mod session;

use std::net::ToSocketAddrs;
use std::time::Duration;

use ballista::prelude::SessionContextExt;
use datafusion::prelude::SessionContext;
use tracing::info;

use crate::config::Settings;
use crate::lake::Lake;

pub use embedded::{EmbeddedCluster, EmbeddedOptions, remove_dropped_work_dirs};
pub use session::{
    job_session, reader_runtime_for_lake, runtime_for_lake, session_config, session_state,
};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "cannot reach the Ballista scheduler at {url} within {secs} s ({reason}); \
         check that it runs (`deploy/local/cluster.sh up`) or unset engine.scheduler to use the embedded engine"
    )]
    Unreachable {
        url: String,
        secs: u64,
        reason: String,
    },
    #[error("Ballista {0}")]
    Service(String),
    #[error("connecting to Ballista at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: datafusion::error::DataFusionError,
    },
}

/// Runs `sql` and collects its (small) result: the one way the library asks
/// DataFusion a question whose answer it reads itself (checks, a step's
/// params, the warehouse's width check).
pub async fn query(
    ctx: &SessionContext,
    sql: &str,
) -> datafusion::error::Result<Vec<arrow::record_batch::RecordBatch>> {
    ctx.sql(sql).await?.collect().await
}

/// The tokio runtime every movielens process runs on. DataFusion plans are
/// (de)serialised and optimised recursively; deep plans overflow the default
/// 2 MiB worker stacks in unoptimised builds, so workers get 16 MiB.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
}

/// A connected engine. Dropping it stops an embedded cluster.
pub struct Engine {
    pub ctx: SessionContext,
    /// A second session on the same scheduler whose jobs are planned with one
    /// partition: a job that writes one file is then one task with no shuffle
    /// in front of its writer (the fact_rating shards, and every step written
    /// as [`crate::transform::Write::OneFile`]).
    pub single_task: SessionContext,
    /// `df://…` of the scheduler in use.
    pub scheduler_url: String,
    _embedded: Option<EmbeddedCluster>,
}

impl Engine {
    /// Connects to `engine.scheduler`, or starts the embedded cluster when it is empty.
    pub async fn connect(settings: &Settings, lake: &Lake) -> Result<Self, EngineError> {
        let (url, embedded) = if settings.engine.scheduler.is_empty() {
            let cluster =
                EmbeddedCluster::start(settings, lake, EmbeddedOptions::default()).await?;
            (cluster.scheduler_url(), Some(cluster))
        } else {
            let url = settings.engine.scheduler.clone();
            check_reachable(&url, settings.engine.connect_timeout_secs).await?;
            (url, None)
        };
        let ctx = remote_session(settings, lake, &url, settings.partitions()).await?;
        let single_task = remote_session(settings, lake, &url, 1).await?;
        info!(scheduler = %url, embedded = embedded.is_some(), "engine ready");
        Ok(Self {
            ctx,
            single_task,
            scheduler_url: url,
            _embedded: embedded,
        })
    }

    /// Whether the scheduler and executor run inside this process.
    pub fn is_embedded(&self) -> bool {
        self._embedded.is_some()
    }
}

/// A client session on the scheduler at `url` planning with `partitions`.
async fn remote_session(
    settings: &Settings,
    lake: &Lake,
    url: &str,
    partitions: usize,
) -> Result<SessionContext, EngineError> {
    let fail = |source| EngineError::Connect {
        url: url.into(),
        source,
    };
    let state = session_state(settings, lake).map_err(fail)?;
    let config = state.config().clone().with_target_partitions(partitions);
    let state = datafusion::execution::SessionStateBuilder::new_from_existing(state)
        .with_config(config)
        .build();
    SessionContext::remote_with_state(url, state)
        .await
        .map_err(fail)
}

/// Fails fast, naming the URL, when nothing listens at the scheduler address:
/// Ballista's client would otherwise retry for a long time.
async fn check_reachable(url: &str, secs: u64) -> Result<(), EngineError> {
    let unreachable = |reason: String| EngineError::Unreachable {
        url: url.into(),
        secs,
        reason,
    };
    let host_port = url.trim_start_matches("df://").trim_end_matches('/');
    let addrs: Vec<_> = host_port
        .to_socket_addrs()
        .map_err(|e| unreachable(format!("cannot resolve {host_port}: {e}")))?
        .collect();
    let addr = *addrs
        .first()
        .ok_or_else(|| unreachable(format!("{host_port} resolves to no address")))?;
    match tokio::time::timeout(
        Duration::from_secs(secs),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => Err(unreachable("timed out".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unreachable_scheduler_fails_fast_naming_the_url() {
        // Bind then drop a listener to get a port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("df://127.0.0.1:{port}");
        let started = std::time::Instant::now();
        let err = check_reachable(&url, 2).await.unwrap_err().to_string();
        assert!(err.contains(&url), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
