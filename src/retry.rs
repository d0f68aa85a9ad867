//! Waiting well before trying again: the pieces every connector and sink
//! that talks HTTP shares.

use std::time::Duration;

/// Longest any far side's `Retry-After` is honoured for.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(900);

/// 50–100% of `d`, so that retrying workers do not move in step.
pub fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    d.mul_f64(0.5 + (nanos % 1000) as f64 / 2000.0)
}

/// A `Retry-After` header in seconds, capped; an HTTP date reads as "soon".
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    Some(match v.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs).min(MAX_RETRY_AFTER),
        Err(_) => Duration::from_secs(1),
    })
}

/// The HTTP client of a connector: a timeout and a User-Agent that says
/// who asks (networks ask for one).
pub fn client(timeout_secs: u64) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(timeout_secs.max(1)))
        .user_agent(concat!(
            "earshot/",
            env!("CARGO_PKG_VERSION"),
            " (social listening for hospitals)"
        ))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// What a polling connector's GET came to.
pub enum Fetched<T> {
    /// The body, read as `T`, and the answer's headers.
    Got(T, reqwest::header::HeaderMap),
    /// Try again after at least this long (zero: the caller's backoff).
    Wait(Duration),
    /// 401: the credentials are wrong, expired or revoked.
    Unauthorized,
}

/// A GET of a JSON document from `network`: unreachable, an error status
/// (waiting for `Retry-After`, or what `rate_wait` reads from the
/// headers), a cut-off body or one that is not a `T` (counted as
/// malformed) all come back as `Wait`, logged with `source`.
pub async fn get_json<T: serde::de::DeserializeOwned>(
    source: &str,
    metrics: &crate::metrics::Metrics,
    network: &str,
    request: reqwest::RequestBuilder,
    rate_wait: fn(&reqwest::header::HeaderMap) -> Option<Duration>,
) -> Fetched<T> {
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(source, error = %e.without_url(), "{network} unreachable; backing off");
            return Fetched::Wait(Duration::ZERO);
        }
    };
    let status = response.status();
    let headers = response.headers().clone();
    if status == reqwest::StatusCode::UNAUTHORIZED {
        tracing::warn!(source, "{network} refused the credentials");
        return Fetched::Unauthorized;
    }
    if !status.is_success() {
        let after = retry_after(&headers).or_else(|| rate_wait(&headers));
        tracing::warn!(
            source,
            status = status.as_u16(),
            "{network} answered with an error; backing off"
        );
        return Fetched::Wait(after.unwrap_or(Duration::ZERO));
    }
    let body = match response.bytes().await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(source, error = %e.without_url(), "{network} body cut off; backing off");
            return Fetched::Wait(Duration::ZERO);
        }
    };
    match serde_json::from_slice(&body) {
        Ok(v) => Fetched::Got(v, headers),
        Err(e) => {
            metrics.dropped.with_label_values(&["malformed"]).inc();
            tracing::warn!(source, error = %e, "{network} answered with something unexpected; backing off");
            Fetched::Wait(Duration::ZERO)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_and_jitter() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert("retry-after", "99999".parse().unwrap());
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        h.insert("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(1)));
        let j = jitter(Duration::from_secs(10));
        assert!(j >= Duration::from_secs(5) && j <= Duration::from_secs(10));
    }
}
