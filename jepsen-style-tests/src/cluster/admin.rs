//! What the harness asks of a region over HTTP outside the chat API: is it
//! serving (`GET /healthz`), and the testing-only clock skew
//! (`PUT /v1/test/clock-skew`, served by regions started with
//! `--test-admin`).

use std::time::Duration;

use super::ClusterError;

/// Whether the region at `base` answers `GET /healthz` with a success
/// within a second.
pub async fn healthy(http: &reqwest::Client, base: &str) -> bool {
    let probe = http
        .get(format!("{base}/healthz"))
        .timeout(Duration::from_secs(1))
        .send()
        .await;
    matches!(probe, Ok(response) if response.status().is_success())
}

/// Polls `/healthz` until it answers or `within` passes.
pub async fn wait_healthy(
    http: &reqwest::Client,
    region: &str,
    base: &str,
    within: Duration,
) -> Result<(), ClusterError> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if healthy(http, base).await {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ClusterError::Unhealthy {
                region: region.to_owned(),
                waited: within,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs the region's clock `skew_ms` milliseconds off (0: true time).
pub async fn set_clock_skew(
    http: &reqwest::Client,
    region: &str,
    base: &str,
    skew_ms: i64,
) -> Result<(), ClusterError> {
    let response = http
        .put(format!("{base}/v1/test/clock-skew"))
        .json(&serde_json::json!({ "skew_ms": skew_ms }))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|source| ClusterError::Http {
            region: region.to_owned(),
            source,
        })?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(ClusterError::Skew {
            region: region.to_owned(),
            status: response.status().as_u16(),
        })
    }
}
