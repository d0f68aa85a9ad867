//! The committer: the one place where a post's effects become durable.
//!
//! For each batch it opens one SQLite transaction, turns scored posts into
//! incidents, ticket versions and outbox rows, stores every source's newest
//! cursor, and commits. Only then are the batch's acknowledgements fired. A
//! crash before the commit loses nothing (the sources resume from the old
//! cursors); a crash after it repeats nothing (the cursors moved with it).

use crate::config::{Config, Records, SinkConfig, SinkKind};
use crate::metrics::Metrics;
use crate::post::Ack;
use crate::stages::Outcome;
use crate::stages::alert::AlertPolicy;
use crate::stages::incident;
use crate::state::{self, State, Writer};

/// A post's position and what the stages made of it (`None`: the source
/// skipped a malformed record there).
pub struct Processed {
    pub ack: Ack,
    pub outcome: Option<Outcome>,
}

pub struct Committer {
    state: State,
    policy: AlertPolicy,
    ticket_sinks: Vec<String>,
    alert_sinks: Vec<String>,
    metrics: Metrics,
}

#[derive(Default)]
struct Counts {
    incidents: u64,
    tickets: u64,
    alerts: u64,
}

fn records(sink: &SinkConfig) -> Records {
    match &sink.kind {
        SinkKind::Console(c) => c.records,
        SinkKind::Jsonl(c) => c.records,
        SinkKind::Sqlite(_) => Records::Tickets,
    }
}

impl Committer {
    pub fn new(state: State, config: &Config, metrics: Metrics) -> Self {
        let named = |r: Records| {
            config
                .sinks
                .iter()
                .filter(|s| records(s) == r)
                .map(|s| s.name.clone())
                .collect()
        };
        Committer {
            state,
            policy: AlertPolicy::new(config),
            ticket_sinks: named(Records::Tickets),
            alert_sinks: named(Records::Alerts),
            metrics,
        }
    }

    /// Commits one batch and then fires its acknowledgements.
    pub fn commit(&mut self, batch: Vec<Processed>) -> state::Result<()> {
        let mut counts = Counts::default();
        let mut cursors: Vec<(String, String)> = Vec::new();
        let w = self.state.writer()?;
        let mut acks = Vec::with_capacity(batch.len());
        for item in batch {
            if let Some(Outcome::Scored(post, score)) = &item.outcome {
                apply(
                    &w,
                    &self.policy,
                    &self.ticket_sinks,
                    &self.alert_sinks,
                    post,
                    score,
                    &mut counts,
                )?;
            }
            let c = &item.ack.cursor;
            match cursors.iter_mut().find(|(s, _)| *s == c.source) {
                Some(entry) => entry.1.clone_from(&c.position),
                None => cursors.push((c.source.clone(), c.position.clone())),
            }
            acks.push(item.ack);
        }
        for (source, position) in &cursors {
            w.set_cursor(source, position)?;
        }
        w.commit()?;
        self.metrics.incidents.inc_by(counts.incidents);
        self.metrics.tickets.inc_by(counts.tickets);
        self.metrics.alerts.inc_by(counts.alerts);
        for ack in acks {
            if let Some(durable) = ack.on_durable {
                let _ = durable.send(());
            }
        }
        Ok(())
    }
}

fn apply(
    w: &Writer<'_>,
    policy: &AlertPolicy,
    ticket_sinks: &[String],
    alert_sinks: &[String],
    post: &crate::post::Post,
    score: &crate::model::Score,
    counts: &mut Counts,
) -> state::Result<()> {
    if !policy.opens(score.severity) {
        return Ok(());
    }
    let Some(mut incident) = incident::open(post, score) else {
        return Ok(());
    };
    if w.incident(&incident.id)?.is_some() {
        // Seen before: a replay after a cursor reset. Nothing new to say.
        return Ok(());
    }
    let emitted = policy.emit(&mut incident, None);
    w.put_incident(&incident)?;
    counts.incidents += 1;
    let key = format!("{}#{}", incident.id, incident.version);
    if let Some(ticket) = emitted.ticket {
        let body = serde_json::to_string(&ticket).expect("tickets serialize");
        if w.insert_ticket(&ticket, &body)? {
            counts.tickets += 1;
            for sink in ticket_sinks {
                w.enqueue(sink, Records::Tickets.as_str(), &key, &body)?;
            }
        }
    }
    if let Some(alert) = emitted.alert {
        let body = serde_json::to_string(&alert).expect("alerts serialize");
        counts.alerts += 1;
        for sink in alert_sinks {
            w.enqueue(sink, Records::Alerts.as_str(), &key, &body)?;
        }
    }
    Ok(())
}
