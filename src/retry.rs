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
