//! Downloads that survive flaky servers: bounded retries with exponential
//! backoff and jitter on 429, 5xx, connection errors and truncated bodies;
//! bodies streamed to disk (never held in memory) with a progress bar on a
//! terminal.

use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use rand::Rng;
use tokio::io::AsyncWriteExt;
use tracing::warn;

use super::ExtractError;

/// How hard to try.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub retries: u32,
    pub backoff: Duration,
}

/// Basic-auth credentials for a request (the key is never logged).
pub struct BasicAuth<'a> {
    pub user: &'a str,
    pub key: &'a str,
}

/// Statuses a caller maps to its own message instead of retrying.
pub enum Fetched {
    /// The body is in the file; this many bytes.
    Done(u64),
    /// A final (non-retryable) HTTP status, e.g. 401 or 404.
    Status(u16),
}

/// GETs `url` into `dest`, retrying what is worth retrying.
pub async fn download(
    client: &reqwest::Client,
    url: &str,
    auth: Option<&BasicAuth<'_>>,
    dest: &Path,
    policy: &RetryPolicy,
    label: &str,
) -> Result<Fetched, ExtractError> {
    let mut attempt = 0;
    let mut backoff = policy.backoff;
    loop {
        match try_once(client, url, auth, dest, label).await {
            Ok(Attempt::Done(n)) => return Ok(Fetched::Done(n)),
            Ok(Attempt::Final(status)) => return Ok(Fetched::Status(status)),
            Ok(Attempt::Retry(reason)) | Err(reason) => {
                if attempt >= policy.retries {
                    return Err(ExtractError::GaveUp {
                        url: url.into(),
                        attempts: attempt + 1,
                        reason,
                    });
                }
                attempt += 1;
                // Full jitter keeps many clients from retrying in lockstep.
                let wait = backoff.mul_f64(0.5 + rand::rng().random::<f64>() * 0.5);
                warn!(
                    url,
                    attempt,
                    of = policy.retries,
                    wait_ms = wait.as_millis() as u64,
                    reason,
                    "download failed; retrying"
                );
                tokio::time::sleep(wait).await;
                backoff *= 2;
            }
        }
    }
}

enum Attempt {
    Done(u64),
    Final(u16),
    Retry(String),
}

async fn try_once(
    client: &reqwest::Client,
    url: &str,
    auth: Option<&BasicAuth<'_>>,
    dest: &Path,
    label: &str,
) -> Result<Attempt, String> {
    let mut request = client.get(url);
    if let Some(a) = auth {
        request = request.basic_auth(a.user, Some(a.key));
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status().as_u16();
    if status == 429 || status >= 500 {
        return Ok(Attempt::Retry(format!("HTTP {status}")));
    }
    if !response.status().is_success() {
        return Ok(Attempt::Final(status));
    }
    let expected = response.content_length();
    let bar = crate::progress::bar(expected, label, crate::progress::Unit::Bytes);
    let mut file = tokio::fs::File::create(dest)
        .await
        .map_err(|e| format!("creating {}: {e}", dest.display()))?;
    let mut body = response.bytes_stream();
    let mut written = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| format!("body cut after {written} bytes: {e}"))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| format!("writing {}: {e}", dest.display()))?;
        written += chunk.len() as u64;
        bar.set_position(written);
    }
    file.flush()
        .await
        .map_err(|e| format!("writing {}: {e}", dest.display()))?;
    bar.finish_and_clear();
    if let Some(n) = expected
        && n != written
    {
        return Ok(Attempt::Retry(format!(
            "truncated body: {written} of {n} bytes"
        )));
    }
    Ok(Attempt::Done(written))
}
