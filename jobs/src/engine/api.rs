//! What we read from a Ballista scheduler's REST API (served on its gRPC port,
//! `/api/...`): the executors it counts alive.

use std::time::{Duration, Instant};

use super::EngineError;

/// The executors the scheduler at `host:port` lists.
pub async fn executors(
    client: &reqwest::Client,
    host_port: &str,
) -> Result<Vec<serde_json::Value>, EngineError> {
    let url = format!("http://{host_port}/api/executors");
    let fail = |e: &dyn std::fmt::Display| EngineError::Service(format!("GET {url}: {e}"));
    let response = client
        .get(&url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| fail(&e))?
        .error_for_status()
        .map_err(|e| fail(&e))?;
    let body = response.bytes().await.map_err(|e| fail(&e))?;
    serde_json::from_slice(&body).map_err(|e| fail(&e))
}

/// Waits until the scheduler at `host_port` lists `n` executors; the count
/// last seen when `within` passes.
pub async fn wait_for_executors(host_port: &str, n: usize, within: Duration) -> Result<(), usize> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut seen = 0;
    while started.elapsed() < within {
        if let Ok(list) = executors(&client, host_port).await {
            seen = list.len();
            if seen >= n {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(seen)
}
