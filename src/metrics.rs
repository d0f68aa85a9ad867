//! Prometheus metrics and the `/metrics` + `/healthz` endpoints.

use axum::Router;
use axum::extract::State as AxumState;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub received: IntCounterVec,
    pub dropped: IntCounterVec,
    pub scored: IntCounter,
    pub incidents: IntCounter,
    pub tickets: IntCounter,
    pub alerts: IntCounter,
    stage_seconds: HistogramVec,
    pub delivered: IntCounterVec,
    pub delivery_failures: IntCounterVec,
    pub dead_letters: IntCounterVec,
    /// Failed attempts by kind: `transient` (retried), `refused` (dead
    /// letter), `stopped` (the sink cannot go on).
    pub sink_errors: IntCounterVec,
    pub outbox_pending: IntGaugeVec,
    /// Age of each sink's oldest undelivered row.
    pub outbox_oldest: prometheus::GaugeVec,
    /// From a row's commit to its sink's confirmation.
    pub delivery_seconds: HistogramVec,
    pub rule_reloads: IntCounterVec,
    /// Requests each source made to its network (HTTP calls, IMAP fetches).
    pub source_requests: IntCounterVec,
    /// A source's failures by kind: `network`, `timeout`, `rate_limited`,
    /// `server` (5xx), `refused` (other 4xx), `unauthorized`, `malformed`.
    pub source_errors: IntCounterVec,
    /// How old the newest post a source handed on was when it did.
    pub source_lag: prometheus::GaugeVec,
    /// Changelog records a group member wrote (incidents, posts, tombstones).
    pub changelog_records: IntCounter,
    /// Posts an ingest member put on the posts topic.
    pub ingested: IntCounter,
    /// Partitions of the posts topic a process member holds.
    pub partitions: prometheus::IntGauge,
    /// Each sink's last delivery outcome, for `/healthz`.
    health: Arc<Mutex<BTreeMap<String, String>>>,
    /// Each source's state, for `/healthz`: `ok`, `retrying: KIND`, `failed: …`.
    sources: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry.register(Box::new(c.clone())).expect("registered once");
    c
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("valid metric");
    registry.register(Box::new(c.clone())).expect("registered once");
    c
}

impl Metrics {
    pub fn new() -> Self {
        let r = Registry::new();
        let stage_seconds = HistogramVec::new(
            HistogramOpts::new(
                "earshot_stage_seconds",
                "Time a stage spent on one post (commit: one batch)",
            )
            .buckets(vec![1e-6, 5e-6, 2e-5, 1e-4, 5e-4, 2e-3, 1e-2, 5e-2, 0.25, 1.0]),
            &["stage"],
        )
        .expect("valid metric");
        r.register(Box::new(stage_seconds.clone())).expect("registered once");
        let outbox_pending = IntGaugeVec::new(
            Opts::new("earshot_outbox_pending", "Outbox rows not yet delivered"),
            &["sink"],
        )
        .expect("valid metric");
        r.register(Box::new(outbox_pending.clone())).expect("registered once");
        let outbox_oldest = prometheus::GaugeVec::new(
            Opts::new(
                "earshot_outbox_oldest_seconds",
                "Age of the oldest outbox row not yet delivered (0 when none)",
            ),
            &["sink"],
        )
        .expect("valid metric");
        r.register(Box::new(outbox_oldest.clone())).expect("registered once");
        let delivery_seconds = HistogramVec::new(
            HistogramOpts::new(
                "earshot_delivery_seconds",
                "Time from a ticket or alert's commit to its sink's confirmation",
            )
            .buckets(vec![0.01, 0.05, 0.25, 1.0, 5.0, 30.0, 120.0, 600.0, 3600.0]),
            &["sink"],
        )
        .expect("valid metric");
        r.register(Box::new(delivery_seconds.clone())).expect("registered once");
        let source_lag = prometheus::GaugeVec::new(
            Opts::new(
                "earshot_source_lag_seconds",
                "Age of the newest post a source handed on, when it did",
            ),
            &["source"],
        )
        .expect("valid metric");
        r.register(Box::new(source_lag.clone())).expect("registered once");
        let partitions = prometheus::IntGauge::new(
            "earshot_group_partitions",
            "Partitions of the posts topic this process member holds",
        )
        .expect("valid metric");
        r.register(Box::new(partitions.clone())).expect("registered once");
        Metrics {
            changelog_records: counter(
                &r,
                "earshot_changelog_records_total",
                "Records a process member wrote to the changelog",
            ),
            ingested: counter(
                &r,
                "earshot_ingested_total",
                "Posts an ingest member put on the posts topic",
            ),
            partitions,
            source_requests: counter_vec(
                &r,
                "earshot_source_requests_total",
                "Requests sources made to their networks",
                &["source"],
            ),
            source_errors: counter_vec(
                &r,
                "earshot_source_errors_total",
                "Source failures, by kind",
                &["source", "kind"],
            ),
            source_lag,
            sink_errors: counter_vec(
                &r,
                "earshot_sink_errors_total",
                "Failed delivery attempts, by kind",
                &["sink", "kind"],
            ),
            outbox_oldest,
            delivery_seconds,
            received: counter_vec(
                &r,
                "earshot_posts_received_total",
                "Posts read from sources",
                &["source"],
            ),
            dropped: counter_vec(
                &r,
                "earshot_posts_dropped_total",
                "Posts dropped, by reason",
                &["reason"],
            ),
            scored: counter(&r, "earshot_posts_scored_total", "Posts scored"),
            incidents: counter(&r, "earshot_incidents_total", "Incidents opened"),
            tickets: counter(&r, "earshot_tickets_total", "Ticket versions emitted"),
            alerts: counter(&r, "earshot_alerts_total", "Alerts emitted"),
            delivered: counter_vec(&r, "earshot_sink_delivered_total", "Outbox rows delivered", &["sink"]),
            delivery_failures: counter_vec(&r, "earshot_sink_failures_total", "Failed delivery attempts", &["sink"]),
            dead_letters: counter_vec(
                &r,
                "earshot_sink_dead_letters_total",
                "Rows a sink refused for good, moved to the dead letters",
                &["sink"],
            ),
            rule_reloads: counter_vec(
                &r,
                "earshot_rule_reloads_total",
                "Rule pack reloads, by result",
                &["result"],
            ),
            stage_seconds,
            outbox_pending,
            registry: r,
            health: Arc::default(),
            sources: Arc::default(),
        }
    }

    pub fn observe_stage(&self, stage: &str, start: Instant) {
        self.stage_seconds
            .with_label_values(&[stage])
            .observe(start.elapsed().as_secs_f64());
    }

    pub fn sink_health(&self, sink: &str, status: impl Into<String>) {
        self.health
            .lock()
            .expect("health lock")
            .insert(sink.to_owned(), status.into());
    }

    pub fn source_health(&self, source: &str, status: impl Into<String>) {
        let status = status.into();
        let mut sources = self.sources.lock().expect("health lock");
        if sources.get(source) != Some(&status) {
            sources.insert(source.to_owned(), status);
        }
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding");
        String::from_utf8(buf).expect("prometheus text is UTF-8")
    }

    /// Degraded when a sink is failing or a source has stopped on an
    /// error; a source retrying (a 429, a dropped stream) is still working.
    fn healthz(&self) -> (bool, String) {
        let sinks = self.health.lock().expect("health lock").clone();
        let sources = self.sources.lock().expect("health lock").clone();
        let ok = sinks.values().all(|s| s == "ok") && !sources.values().any(|s| s.starts_with("failed"));
        let body = serde_json::json!({
            "status": if ok { "ok" } else { "degraded" },
            "sinks": sinks,
            "sources": sources,
        });
        (ok, body.to_string())
    }
}

async fn metrics_handler(AxumState(m): AxumState<Metrics>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], m.render())
}

async fn healthz_handler(AxumState(m): AxumState<Metrics>) -> impl IntoResponse {
    let (ok, body) = m.healthz();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, [(header::CONTENT_TYPE, "application/json")], body)
}

/// Binds now (so a busy port fails the start), serves until `stop`.
pub async fn serve(
    listen: SocketAddr,
    metrics: Metrics,
    stop: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(healthz_handler))
        .with_state(metrics);
    let task = tokio::spawn(async move {
        let shutdown = async move { stop.cancelled().await };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "metrics server failed");
        }
    });
    Ok((addr, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_health() {
        let m = Metrics::new();
        m.dropped.with_label_values(&["no_provider"]).inc();
        m.observe_stage("score", Instant::now());
        let text = m.render();
        assert!(
            text.contains("earshot_posts_dropped_total{reason=\"no_provider\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("earshot_stage_seconds_count{stage=\"score\"} 1"),
            "{text}"
        );
        m.sink_health("crm", "ok");
        assert!(m.healthz().0);
        m.sink_health("crm", "failing: timeout");
        let (ok, body) = m.healthz();
        assert!(!ok && body.contains("failing: timeout"), "{body}");
        m.sink_health("crm", "ok");
        m.source_health("masto", "retrying: rate_limited");
        assert!(m.healthz().0, "retrying is working");
        m.source_health("lists", "failed: login refused");
        let (ok, body) = m.healthz();
        assert!(!ok && body.contains("\"lists\":\"failed: login refused\""), "{body}");
    }
}
