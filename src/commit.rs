//! The committer: the one place where a post's effects become durable.
//!
//! For each batch it opens one SQLite transaction. Each scored post is
//! checked against the near-duplicate index (`dedup`): the same text again
//! and again from one author is spam; a forward, repost, copy or
//! translation of a known complaint joins its incident, whose spread raises
//! its risk; anything else severe enough opens a new incident. Incident
//! state, fingerprints, ticket versions, outbox rows and every source's
//! newest cursor go into the transaction, and only after it commits are the
//! batch's acknowledgements fired. A crash before the commit loses nothing
//! (the sources resume from the old cursors; the index is rebuilt from the
//! stored fingerprints); a crash after it repeats nothing (the cursors moved
//! with it, and a post already fingerprinted is skipped).

use crate::config::{Config, Records, RiskConfig, SinkConfig, SinkKind};
use crate::dedup::{Index, Link};
use crate::group::{Control, Owners};
use crate::metrics::Metrics;
use crate::model::{Incident, IncidentStatus};
use crate::post::Ack;
use crate::stages::alert::AlertPolicy;
use crate::stages::{Outcome, Scored, incident};
use crate::state::{self, State, Writer};
use std::collections::HashMap;

/// A post's position and what the stages made of it (`None`: the source
/// skipped a malformed record there).
pub struct Processed {
    pub ack: Ack,
    pub outcome: Option<Outcome>,
    pub change: Option<crate::post::PostChange>,
    pub control: Option<Control>,
}

/// What one committed batch leaves to do.
pub struct Committed {
    /// Fired once what the batch derived is durable: at once for a single
    /// process, after the changelog has it for a group member.
    pub acks: Vec<Ack>,
    /// Whose rows changed, by partition (a group member's only).
    pub touched: Touched,
    /// The newest outbox row after the batch (a group member's; else 0).
    pub last_seq: i64,
}

impl Committed {
    pub fn fire(self) {
        Ack::fire_all(self.acks);
    }
}

/// The incidents and the posts whose rows a batch changed (a post's
/// fingerprint, written once; or forgotten past the window):
/// `(partition, provider, id)`, repeats and all (the changelog writer
/// writes each once).
#[derive(Debug, Default)]
pub struct Touched {
    pub incidents: Vec<(i32, String, String)>,
    pub posts: Vec<(i32, String, String)>,
}

impl Touched {
    fn incident(&mut self, partition: Option<i32>, provider: &str, id: &str) {
        if let Some(p) = partition {
            self.incidents.push((p, provider.to_owned(), id.to_owned()));
        }
    }

    fn post(&mut self, partition: Option<i32>, provider: &str, id: &str) {
        if let Some(p) = partition {
            self.posts.push((p, provider.to_owned(), id.to_owned()));
        }
    }
}

pub struct Committer {
    state: State,
    policy: AlertPolicy,
    risk: RiskConfig,
    repeat_limit: usize,
    index: Index,
    ticket_sinks: Vec<String>,
    alert_sinks: Vec<AlertSink>,
    metrics: Metrics,
    window: i64,
    /// A group member's providers and their partitions.
    owners: Option<Owners>,
}

#[derive(Default)]
struct Counts {
    incidents: u64,
    tickets: u64,
    alerts: u64,
    spam: u64,
}

fn records(sink: &SinkConfig) -> Records {
    match &sink.kind {
        SinkKind::Console(c) => c.records,
        SinkKind::Jsonl(c) => c.records,
        SinkKind::Sqlite(_) => Records::Tickets,
        SinkKind::Http(c) => c.records,
        SinkKind::Kafka(c) => c.records,
    }
}

fn teams(sink: &SinkConfig) -> &[String] {
    match &sink.kind {
        SinkKind::Console(c) => &c.teams,
        SinkKind::Jsonl(c) => &c.teams,
        SinkKind::Sqlite(_) => &[],
        SinkKind::Http(c) => &c.teams,
        SinkKind::Kafka(c) => &c.teams,
    }
}

/// The names of the configured sinks that take `kind` records.
pub fn sinks_for(config: &Config, kind: Records) -> Vec<String> {
    config
        .sinks
        .iter()
        .filter(|s| records(s) == kind)
        .map(|s| s.name.clone())
        .collect()
}

/// A sink of alerts and the teams whose alerts it takes (all when empty).
#[derive(Debug, Clone)]
pub struct AlertSink {
    pub name: String,
    pub teams: Vec<String>,
}

pub fn alert_sinks(config: &Config) -> Vec<AlertSink> {
    config
        .sinks
        .iter()
        .filter(|s| records(s) == Records::Alerts)
        .map(|s| AlertSink {
            name: s.name.clone(),
            teams: teams(s).to_vec(),
        })
        .collect()
}

/// Stores the ticket and alert an incident's change earns, in the open
/// transaction (the incident itself is the caller's to store); returns
/// whether a ticket version was new, and whether an alert was queued.
pub fn store_outputs(
    w: &Writer<'_>,
    incident: &Incident,
    emitted: crate::stages::alert::Emitted,
    ticket_sinks: &[String],
    alert_sinks: &[AlertSink],
    hold: Option<chrono::DateTime<chrono::Utc>>,
) -> state::Result<(bool, bool)> {
    let key = format!("{}#{}", incident.id, incident.version);
    let mut ticketed = false;
    if let Some(ticket) = emitted.ticket {
        let body = serde_json::to_string(&ticket).expect("tickets serialize");
        if w.insert_ticket(&ticket, &body)? {
            ticketed = true;
            for sink in ticket_sinks {
                w.enqueue(sink, Records::Tickets.as_str(), &key, &body)?;
            }
            w.audit(
                incident,
                "ticketed",
                "earshot",
                Some(&format!(
                    "version {} ({}, {})",
                    ticket.version, ticket.severity, ticket.status
                )),
            )?;
        }
    }
    let alerted = emitted.alert.is_some();
    if let Some(alert) = emitted.alert {
        let body = serde_json::to_string(&alert).expect("alerts serialize");
        for sink in alert_sinks
            .iter()
            .filter(|s| s.teams.is_empty() || s.teams.contains(&alert.team))
        {
            w.enqueue_at(&sink.name, Records::Alerts.as_str(), &key, &body, hold)?;
        }
        if let Some(t) = hold {
            w.audit(
                incident,
                "alert held",
                "earshot",
                Some(&format!("until {}", t.to_rfc3339())),
            )?;
        }
    }
    Ok((ticketed, alerted))
}

/// The near-duplicate index as the state file left it.
fn rebuild(state: &State, window: i64) -> state::Result<Index> {
    let mut index = Index::new(window);
    let Some(latest) = state.latest_fingerprint()? else {
        return Ok(index);
    };
    for f in state.fingerprints_since(latest.saturating_sub(window))? {
        index.add(&f.provider, &f.author, &f.fingerprint, f.at, f.incident.as_deref());
    }
    for i in state.incidents()? {
        index.set_categories(&i.id, &i.categories);
    }
    Ok(index)
}

impl Committer {
    pub fn new(state: State, config: &Config, metrics: Metrics) -> state::Result<Self> {
        let window = (config.incidents.window_hours * 3600) as i64;
        let index = rebuild(&state, window)?;
        Ok(Committer {
            state,
            policy: AlertPolicy::new(config),
            risk: config.risk.clone(),
            repeat_limit: if config.spam.enabled {
                config.spam.repeat_limit.max(1)
            } else {
                usize::MAX
            },
            index,
            ticket_sinks: sinks_for(config, Records::Tickets),
            alert_sinks: alert_sinks(config),
            metrics,
            window,
            owners: None,
        })
    }

    /// A consumer-group member's committer: it records which partition each
    /// provider's posts come from, reports what changed, and applies
    /// partitions coming and going.
    pub fn for_group(state: State, config: &Config, metrics: Metrics, owners: Owners) -> state::Result<Self> {
        let mut committer = Committer::new(state, config, metrics)?;
        committer.owners = Some(owners);
        Ok(committer)
    }

    /// Commits one batch; its acknowledgements are the caller's to fire.
    pub fn commit(&mut self, batch: Vec<Processed>) -> state::Result<Committed> {
        let mut counts = Counts::default();
        let mut touched = Touched::default();
        let w = self.state.writer()?;
        let mut acks = Vec::with_capacity(batch.len());
        let mut moved = false;
        let mut step = Step {
            index: &mut self.index,
            policy: &self.policy,
            risk: &self.risk,
            repeat_limit: self.repeat_limit,
            ticket_sinks: &self.ticket_sinks,
            alert_sinks: &self.alert_sinks,
            counts: &mut counts,
            touched: &mut touched,
            partition: None,
            changed: HashMap::new(),
        };
        for item in batch {
            if let Some(control) = item.control {
                // Rows dropped with a partition must not come back.
                step.flush(&w)?;
                apply_control(&w, self.owners.as_ref(), control)?;
                moved = true;
                continue;
            }
            step.partition = item.ack.partition;
            if let Some(Outcome::Scored(scored)) = &item.outcome {
                if let (Some(owners), Some(p), Some(provider)) =
                    (&self.owners, item.ack.partition, &scored.post.provider)
                {
                    owners.set(&provider.id, p);
                }
                step.apply(&w, scored)?;
            }
            if let Some(change) = &item.change {
                step.record_change(&w, change)?;
            }
            acks.push(item.ack);
        }
        step.flush(&w)?;
        for (source, position) in &Ack::newest_cursors(&acks) {
            w.set_cursor(source, position)?;
        }
        for (provider, post) in w.prune_fingerprints(self.index.window_start())? {
            if let Some(owners) = &self.owners {
                touched.post(owners.partition_of(&provider), &provider, &post);
            }
        }
        // Only a group member releases outbox rows by number.
        let last_seq = match self.owners {
            Some(_) => w.last_outbox_seq()?,
            None => 0,
        };
        w.commit()?;
        if moved {
            // Partitions came or went: the index is rebuilt from what the
            // file now holds.
            self.index = rebuild(&self.state, self.window)?;
        }
        self.metrics.incidents.inc_by(counts.incidents);
        self.metrics.tickets.inc_by(counts.tickets);
        self.metrics.alerts.inc_by(counts.alerts);
        self.metrics.dropped.with_label_values(&["spam"]).inc_by(counts.spam);
        Ok(Committed {
            acks,
            touched,
            last_seq,
        })
    }
}

/// A partition's state from the changelog replaces what the file held for
/// it; partitions given up take their providers' rows with them.
fn apply_control(w: &Writer<'_>, owners: Option<&Owners>, control: Control) -> state::Result<()> {
    let Some(owners) = owners else { return Ok(()) };
    match control {
        Control::Load { partition, state } => {
            for rows in &state.incidents {
                owners.set(&rows.incident.provider, partition);
                w.load_incident(rows)?;
            }
            for post in &state.posts {
                owners.set(&post.provider, partition);
                w.load_post(post)?;
            }
            tracing::info!(
                partition,
                incidents = state.incidents.len(),
                posts = state.posts.len(),
                "partition state loaded from the changelog"
            );
        }
        Control::Drop { partitions } => {
            let providers = owners.remove(&partitions);
            w.drop_providers(providers.iter().map(String::as_str))?;
            tracing::info!(
                ?partitions,
                providers = providers.len(),
                "partitions given up; their state dropped"
            );
        }
    }
    Ok(())
}

/// What applying one post needs, borrowed from the committer.
struct Step<'a> {
    index: &'a mut Index,
    policy: &'a AlertPolicy,
    risk: &'a RiskConfig,
    repeat_limit: usize,
    ticket_sinks: &'a [String],
    alert_sinks: &'a [AlertSink],
    counts: &'a mut Counts,
    touched: &'a mut Touched,
    /// The partition of the post being applied (a group member's).
    partition: Option<i32>,
    /// Incidents this batch changed, stored once when it ends: a viral
    /// complaint's incident is parsed and written once a batch, not once
    /// a copy.
    changed: HashMap<String, Incident>,
}

impl Step<'_> {
    /// An incident as this batch has it, taken out to change; `keep` puts
    /// it back.
    fn take(&mut self, w: &Writer<'_>, id: &str) -> state::Result<Option<Incident>> {
        match self.changed.remove(id) {
            Some(i) => Ok(Some(i)),
            None => w.incident(id),
        }
    }

    fn keep(&mut self, incident: Incident) {
        self.changed.insert(incident.id.clone(), incident);
    }

    /// Stores the incidents the batch changed so far.
    fn flush(&mut self, w: &Writer<'_>) -> state::Result<()> {
        for (_, incident) in self.changed.drain() {
            w.put_incident(&incident)?;
        }
        Ok(())
    }

    /// Puts a deleted or edited post on its incident's audit trail (the
    /// incident keeps the copy it captured); a post of no incident is let
    /// be.
    fn record_change(&mut self, w: &Writer<'_>, change: &crate::post::PostChange) -> state::Result<()> {
        // The network that said so, from the post's id (`{source}:{native}`),
        // however the change came (its source, or the posts topic).
        let source = change.post_id.split_once(':').map_or("", |(s, _)| s);
        let Some(id) = w.incident_of(&change.post_id)? else {
            return Ok(());
        };
        let stored;
        let incident = match self.changed.get(&id) {
            Some(i) => i,
            None => match w.incident(&id)? {
                Some(i) => {
                    stored = i;
                    &stored
                }
                None => return Ok(()),
            },
        };
        let at = change.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let (action, comment) = match &change.edited {
            None => (
                "post deleted",
                format!("{} deleted at {at}; the captured copy stays", change.post_id),
            ),
            Some(text) => {
                let excerpt: String = text.chars().take(500).collect();
                ("post edited", format!("{} edited at {at}: {excerpt}", change.post_id))
            }
        };
        w.audit(incident, action, source, Some(&comment))?;
        self.touched.incident(self.partition, &incident.provider, &incident.id);
        Ok(())
    }

    fn apply(&mut self, w: &Writer<'_>, scored: &Scored) -> state::Result<()> {
        let Scored {
            post,
            score,
            fingerprint: fp,
        } = scored;
        let Some(provider) = post.provider.as_ref().map(|p| p.id.as_str()) else {
            return Ok(());
        };
        if w.seen(&post.id)? {
            return Ok(()); // a replay after a cursor reset: applied already
        }
        let at = post.created_at.timestamp();
        let author = post.author.handle.as_str();
        if self.index.repeats(provider, author, fp) + 1 >= self.repeat_limit {
            tracing::info!(post = %post.id, author, "same text again from one author: spam");
            self.counts.spam += 1;
            self.index.add(provider, author, fp, at, None);
            self.touched.post(self.partition, provider, &post.id);
            return w.put_fingerprint(&post.id, provider, author, fp, at, None);
        }
        let mut linked = None;
        for r in [&post.refs.forward_of, &post.refs.quote_of, &post.refs.reply_to]
            .into_iter()
            .flatten()
        {
            if let Some(id) = w.incident_of(&format!("{}:{r}", post.source))? {
                linked = Some((id, Link::Reference));
                break;
            }
        }
        let linked = linked.or_else(|| self.index.find(provider, fp, &score.categories));
        let joined: Option<Incident> = match linked {
            Some((id, link)) => match self.take(w, &id)? {
                Some(mut incident) => {
                    let before = incident.severity;
                    let why = link.describe();
                    incident::absorb(&mut incident, post, score, why.clone(), self.risk);
                    w.audit(&incident, "joined", "earshot", Some(&format!("{} ({why})", post.id)))?;
                    if incident.status == IncidentStatus::Resolved {
                        // A resolved complaint that spreads again is news:
                        // reopened, and ticketed and alerted as if new.
                        incident.status = IncidentStatus::Open;
                        w.audit(&incident, "reopened", "earshot", Some(&post.id))?;
                        self.emit(w, &mut incident, None)?;
                    } else {
                        self.emit(w, &mut incident, Some(before))?;
                    }
                    Some(incident)
                }
                None => None,
            },
            None => None,
        };
        let incident = match joined {
            Some(i) => Some(i),
            None if self.policy.opens(score.severity) => match incident::open(post, score, self.risk) {
                Some(mut incident) => {
                    self.counts.incidents += 1;
                    w.audit(&incident, "opened", "earshot", Some(&post.id))?;
                    self.emit(w, &mut incident, None)?;
                    Some(incident)
                }
                None => None,
            },
            None => None,
        };
        let id = incident.as_ref().map(|i| i.id.as_str());
        if let Some(id) = id {
            self.touched.incident(self.partition, provider, id);
        }
        self.touched.post(self.partition, provider, &post.id);
        self.index.add(provider, author, fp, at, id);
        if let Some(i) = &incident {
            self.index.set_categories(&i.id, &i.categories);
        }
        w.put_fingerprint(&post.id, provider, author, fp, at, id)?;
        if let Some(i) = incident {
            self.keep(i);
        }
        Ok(())
    }

    /// Stores the incident, and the ticket and alert its change earns.
    fn emit(
        &mut self,
        w: &Writer<'_>,
        incident: &mut Incident,
        before: Option<crate::model::Severity>,
    ) -> state::Result<()> {
        let emitted = self.policy.emit(incident, before);
        let hold = match &emitted.alert {
            Some(alert) => {
                let now = chrono::Utc::now();
                let limit = self.policy.alerts.rate_limit_per_hour as usize;
                let recent = if limit > 0 {
                    w.alert_times_since(now - chrono::Duration::hours(1), limit)?
                } else {
                    Vec::new()
                };
                self.policy.hold(alert, now, &recent)
            }
            None => None,
        };
        let (ticketed, alerted) = store_outputs(w, incident, emitted, self.ticket_sinks, self.alert_sinks, hold)?;
        self.counts.tickets += u64::from(ticketed);
        self.counts.alerts += u64::from(alerted);
        Ok(())
    }
}
