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
    builder()
        .timeout(Duration::from_secs(timeout_secs.max(1)))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// A client for long-lived answers (event streams): a timeout on
/// connecting only; the reader watches for silence itself.
pub fn streaming_client(connect_secs: u64) -> Result<reqwest::Client, String> {
    builder()
        .connect_timeout(Duration::from_secs(connect_secs.max(1)))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().user_agent(concat!(
        "earshot/",
        env!("CARGO_PKG_VERSION"),
        " (social listening for hospitals)"
    ))
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

/// A request to `network` for the source of `ctx`: unreachable, an error
/// status (waiting for `Retry-After`, or what `rate_wait` reads from the
/// headers) or a cut-off body come back as `Wait`, logged and counted by
/// kind. `Got(None, _)`: 304, nothing changed since the validators sent.
pub async fn fetch(
    ctx: &crate::sources::SourceContext,
    network: &str,
    request: reqwest::RequestBuilder,
    rate_wait: fn(&reqwest::header::HeaderMap) -> Option<Duration>,
) -> Fetched<Option<Vec<u8>>> {
    let source = ctx.name.as_str();
    ctx.request();
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            ctx.error(if e.is_timeout() { "timeout" } else { "network" });
            tracing::warn!(source, error = %e.without_url(), "{network} unreachable; backing off");
            return Fetched::Wait(Duration::ZERO);
        }
    };
    let status = response.status();
    let headers = response.headers().clone();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        ctx.healthy();
        return Fetched::Got(None, headers);
    }
    if status == reqwest::StatusCode::UNAUTHORIZED {
        ctx.error("unauthorized");
        tracing::warn!(source, "{network} refused the credentials");
        return Fetched::Unauthorized;
    }
    if !status.is_success() {
        ctx.error(status_kind(status));
        let after = retry_after(&headers).or_else(|| rate_wait(&headers));
        tracing::warn!(
            source,
            status = status.as_u16(),
            "{network} answered with an error; backing off"
        );
        return Fetched::Wait(after.unwrap_or(Duration::ZERO));
    }
    match response.bytes().await {
        Ok(b) => {
            ctx.healthy();
            Fetched::Got(Some(b.to_vec()), headers)
        }
        Err(e) => {
            ctx.error(if e.is_timeout() { "timeout" } else { "network" });
            tracing::warn!(source, error = %e.without_url(), "{network} body cut off; backing off");
            Fetched::Wait(Duration::ZERO)
        }
    }
}

/// `fetch` of a JSON document: a body that is not a `T` is counted as
/// malformed and comes back as `Wait`.
pub async fn get_json<T: serde::de::DeserializeOwned>(
    ctx: &crate::sources::SourceContext,
    network: &str,
    request: reqwest::RequestBuilder,
    rate_wait: fn(&reqwest::header::HeaderMap) -> Option<Duration>,
) -> Fetched<T> {
    match fetch(ctx, network, request, rate_wait).await {
        Fetched::Got(body, headers) => match serde_json::from_slice(body.as_deref().unwrap_or_default()) {
            Ok(v) => Fetched::Got(v, headers),
            Err(e) => {
                ctx.malformed(network, &format!("an answer that is not what the API documents: {e}"));
                Fetched::Wait(Duration::ZERO)
            }
        },
        Fetched::Wait(d) => Fetched::Wait(d),
        Fetched::Unauthorized => Fetched::Unauthorized,
    }
}

/// The error kind (for `earshot_source_errors_total`) of an error status.
pub fn status_kind(status: reqwest::StatusCode) -> &'static str {
    match status.as_u16() {
        429 => "rate_limited",
        401 | 403 => "unauthorized",
        500.. => "server",
        _ => "refused",
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

#[cfg(test)]
mod source_metrics {
    use super::*;
    use crate::metrics::Metrics;
    use crate::sources::SourceContext;
    use axum::http::StatusCode;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Requests and errors by kind are counted per source: a 429, a 503,
    /// a body that is not JSON, a 401, then a good answer.
    #[tokio::test]
    async fn get_json_counts_requests_and_errors_by_kind() {
        let calls = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new().route(
            "/",
            axum::routing::get({
                let calls = calls.clone();
                move || async move {
                    match calls.fetch_add(1, Ordering::SeqCst) {
                        0 => (
                            StatusCode::TOO_MANY_REQUESTS,
                            [("retry-after", "7")],
                            "slow down".to_owned(),
                        ),
                        1 => (StatusCode::SERVICE_UNAVAILABLE, [("x-n", "1")], String::new()),
                        2 => (StatusCode::OK, [("x-n", "2")], "<html>".to_owned()),
                        3 => (StatusCode::UNAUTHORIZED, [("x-n", "3")], String::new()),
                        _ => (StatusCode::OK, [("x-n", "4")], "[1,2]".to_owned()),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let (out, _rx) = tokio::sync::mpsc::channel(1);
        let metrics = Metrics::new();
        let ctx = SourceContext::new("net", out, Default::default(), metrics.clone(), None);
        let client = reqwest::Client::new();
        let none = |_: &reqwest::header::HeaderMap| None;
        let mut waits = Vec::new();
        for _ in 0..4 {
            match get_json::<Vec<u32>>(&ctx, "test", client.get(&url), none).await {
                Fetched::Wait(d) => waits.push(Some(d)),
                Fetched::Unauthorized => waits.push(None),
                Fetched::Got(..) => panic!("no good answer yet"),
            }
        }
        assert_eq!(
            waits,
            [
                Some(Duration::from_secs(7)),
                Some(Duration::ZERO),
                Some(Duration::ZERO),
                None
            ]
        );
        assert!(matches!(
            get_json::<Vec<u32>>(&ctx, "test", client.get(&url), none).await,
            Fetched::Got(v, _) if v == [1, 2]
        ));
        let errors = |kind| metrics.source_errors.with_label_values(&["net", kind]).get();
        assert_eq!(metrics.source_requests.with_label_values(&["net"]).get(), 5);
        assert_eq!(
            [
                errors("rate_limited"),
                errors("server"),
                errors("malformed"),
                errors("unauthorized")
            ],
            [1, 1, 1, 1]
        );
        assert_eq!(metrics.dropped.with_label_values(&["malformed"]).get(), 1);
    }
}
