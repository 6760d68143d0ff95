//! What we read from a Ballista scheduler's REST API, served on its gRPC
//! port: `/api/executors`, `/api/jobs`, `/api/job/{id}/stages`, and PATCH
//! `/api/job/{id}` to cancel a job. `movielens cluster` and the embedded
//! cluster's start use it.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::EngineError;

/// The scheduler's REST API at `host:port`.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(host_port: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: format!("http://{host_port}/api"),
        }
    }

    /// The API of the scheduler at `df://host:port` (or `host:port`).
    pub fn for_scheduler(url: &str) -> Self {
        Self::new(url.trim_start_matches("df://").trim_end_matches('/'))
    }

    async fn call(&self, method: reqwest::Method, path: &str) -> Result<Value, EngineError> {
        let url = format!("{}{path}", self.base);
        let fail = |e: &dyn std::fmt::Display| EngineError::Service(format!("{method} {url}: {e}"));
        let response = self
            .client
            .request(method.clone(), &url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| fail(&e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| fail(&e))?;
        // A refused cancel is 409 with {"cancelled": false, "reason": …}.
        if status == reqwest::StatusCode::CONFLICT
            && let Ok(v) = serde_json::from_slice::<Value>(&body)
        {
            return Ok(v);
        }
        if !status.is_success() {
            return Err(fail(&format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        serde_json::from_slice(&body).map_err(|e| fail(&e))
    }

    pub async fn get(&self, path: &str) -> Result<Value, EngineError> {
        self.call(reqwest::Method::GET, path).await
    }

    /// The executors the scheduler counts alive.
    pub async fn executors(&self) -> Result<Vec<Value>, EngineError> {
        Ok(self
            .get("/executors")
            .await?
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// Every job the scheduler knows, newest last as it lists them.
    pub async fn jobs(&self) -> Result<Vec<Value>, EngineError> {
        Ok(self
            .get("/jobs")
            .await?
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// The stages of job `id`.
    pub async fn stages(&self, id: &str) -> Result<Vec<Value>, EngineError> {
        let v = self.get(&format!("/job/{id}/stages")).await?;
        Ok(v.get("stages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// Asks the scheduler to cancel job `id`: `Ok(None)` when it did, the
    /// scheduler's reason when it would not (already finished).
    pub async fn cancel(&self, id: &str) -> Result<Option<String>, EngineError> {
        let v = self
            .call(reqwest::Method::PATCH, &format!("/job/{id}"))
            .await?;
        if v.get("cancelled").and_then(Value::as_bool) == Some(true) {
            return Ok(None);
        }
        Ok(Some(
            v.get("reason")
                .and_then(Value::as_str)
                .unwrap_or("not cancelled")
                .to_string(),
        ))
    }
}

/// Waits until the scheduler at `host_port` lists `n` executors; the count
/// last seen when `within` passes.
pub async fn wait_for_executors(host_port: &str, n: usize, within: Duration) -> Result<(), usize> {
    let api = Api::new(host_port);
    let started = Instant::now();
    let mut seen = 0;
    while started.elapsed() < within {
        if let Ok(list) = api.executors().await {
            seen = list.len();
            if seen >= n {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(seen)
}
