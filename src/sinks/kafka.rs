//! Kafka: tickets (or alerts) on a topic, for CRMs that consume one.
//!
//! Each record is produced with the incident id as its key (so every
//! version of an incident lands in one partition, in order), the headers
//! `schema_version` and `content-type`, `enable.idempotence` and
//! `acks=all`. A batch is queued at once and its rows are marked delivered
//! only as far as the broker's delivery reports say, in order: a failure
//! re-sends from the first unconfirmed row. Records may then reach the
//! topic twice; consumers de-duplicate by key and `version` (the ticket's
//! idempotency key), as with any at-least-once producer.

use super::{Sink, SinkError};
use crate::config::KafkaSinkConfig;
use crate::model::TICKET_SCHEMA_VERSION;
use crate::state::OutboxRow;
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

pub struct Kafka {
    config: KafkaSinkConfig,
    producer: Option<FutureProducer>,
}

impl Kafka {
    pub fn new(config: KafkaSinkConfig) -> Self {
        Kafka { config, producer: None }
    }
}

fn transient(message: String) -> SinkError {
    SinkError::Transient {
        message,
        retry_after: None,
    }
}

impl Sink for Kafka {
    async fn open(&mut self, _: Option<String>) -> Result<(), SinkError> {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.config.brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set(
                "message.timeout.ms",
                (self.config.timeout_secs.max(1) * 1000).to_string(),
            );
        for (k, v) in &self.config.options {
            c.set(k, v);
        }
        if let Some(var) = &self.config.password_env {
            let password = std::env::var(var)
                .map_err(|_| transient(format!("environment variable {var} (the SASL password) is not set")))?;
            c.set("sasl.password", password);
        }
        let producer: FutureProducer = c
            .create()
            .map_err(|e| transient(format!("kafka producer for {}: {e}", self.config.brokers)))?;
        self.producer = Some(producer);
        Ok(())
    }

    async fn deliver(&mut self, rows: &[OutboxRow]) -> Result<Option<String>, SinkError> {
        let producer = self.producer.as_ref().expect("opened before delivery");
        let version = TICKET_SCHEMA_VERSION.to_string();
        let mut reports = Vec::with_capacity(rows.len());
        let mut queue_error = None;
        for row in rows {
            // Outbox keys are `incident#version`: the incident keys the partition.
            let key = row.key.split('#').next().unwrap_or(&row.key);
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: "schema_version",
                    value: Some(version.as_bytes()),
                })
                .insert(Header {
                    key: "content-type",
                    value: Some("application/json".as_bytes()),
                })
                .insert(Header {
                    key: "idempotency-key",
                    value: Some(row.key.as_bytes()),
                });
            let record = FutureRecord::to(&self.config.topic)
                .key(key)
                .payload(row.payload.as_bytes())
                .headers(headers);
            match producer.send_result(record) {
                Ok(report) => reports.push(report),
                Err((e, _)) => {
                    // Not queued (the local queue is full): what was queued
                    // before it is still awaited below.
                    queue_error = Some(format!("kafka {}: {e}", self.config.topic));
                    break;
                }
            }
        }
        let queued = reports.len();
        for (i, report) in reports.into_iter().enumerate() {
            let failed = match report.await {
                Ok(Ok(_)) => None,
                Ok(Err((e, _))) => Some(e.to_string()),
                Err(_) => Some("the producer went away".to_owned()),
            };
            if let Some(e) = failed {
                let e = transient(format!("kafka {}: {e}", self.config.topic));
                return Err(if i == 0 {
                    e
                } else {
                    SinkError::Partial {
                        delivered: i,
                        cause: Box::new(e),
                    }
                });
            }
        }
        match queue_error {
            None => Ok(None),
            Some(e) if queued == 0 => Err(transient(e)),
            Some(e) => Err(SinkError::Partial {
                delivered: queued,
                cause: Box::new(transient(e)),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(options: &[(&str, &str)], password_env: Option<&str>) -> KafkaSinkConfig {
        KafkaSinkConfig {
            brokers: "127.0.0.1:1".into(),
            topic: "crm.tickets".into(),
            records: crate::config::Records::Tickets,
            options: options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            password_env: password_env.map(str::to_owned),
            timeout_secs: 1,
            teams: Vec::new(),
        }
    }

    #[tokio::test]
    async fn tls_and_sasl_settings_reach_librdkafka() {
        // librdkafka refuses these at creation when built without TLS.
        let mut tls = Kafka::new(config(&[("security.protocol", "ssl")], None));
        tls.open(None).await.unwrap();
        // Any variable that is set will do for the password.
        let mut sasl = Kafka::new(config(
            &[
                ("security.protocol", "sasl_ssl"),
                ("sasl.mechanism", "SCRAM-SHA-512"),
                ("sasl.username", "earshot"),
            ],
            Some("PATH"),
        ));
        sasl.open(None).await.unwrap();
        let mut missing = Kafka::new(config(&[], Some("EARSHOT_TEST_KAFKA_NO_SUCH_VAR")));
        let e = missing.open(None).await.unwrap_err().to_string();
        assert!(e.contains("EARSHOT_TEST_KAFKA_NO_SUCH_VAR"), "{e}");
        let mut bad = Kafka::new(config(&[("no.such.option", "1")], None));
        assert!(bad.open(None).await.unwrap_err().to_string().contains("no.such.option"));
    }
}
