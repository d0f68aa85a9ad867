//! The commands that read and change the state file: tickets, incidents
//! (list, show, acknowledge, resolve) and the outbox's dead letters.

use super::*;
use crate::model::Ticket;
use crate::state::State;

pub fn tickets_list(config: Option<PathBuf>, json: bool, limit: usize) -> Result<String, CliError> {
    let config = Config::load(config.as_deref())?;
    if !config.state.path.exists() {
        return Ok(format!(
            "no state at {} yet: run `earshot run` first\n",
            config.state.path.display()
        ));
    }
    let tickets = State::open(&config.state.path)?.tickets(limit)?;
    Ok(if json {
        tickets_json(&tickets)
    } else {
        tickets_table(&tickets)
    })
}

fn state_of(config: &Config) -> Result<State, CliError> {
    if !config.state.path.exists() {
        return Err(CliError::Usage(format!(
            "no state at {}: run `earshot run` first",
            config.state.path.display()
        )));
    }
    Ok(State::open(&config.state.path)?)
}

pub fn incidents_list(
    config: Option<PathBuf>,
    status: StatusFilter,
    json: bool,
    limit: usize,
) -> Result<String, CliError> {
    use crate::model::IncidentStatus as S;
    let config = Config::load(config.as_deref())?;
    let state = state_of(&config)?;
    let keep = |s: S| match status {
        StatusFilter::Active => s != S::Resolved,
        StatusFilter::Open => s == S::Open,
        StatusFilter::Acknowledged => s == S::Acknowledged,
        StatusFilter::Resolved => s == S::Resolved,
        StatusFilter::All => true,
    };
    let incidents: Vec<_> = state
        .incidents_by_status(None, usize::MAX)?
        .into_iter()
        .filter(|i| keep(i.status))
        .take(limit)
        .collect();
    if json {
        return Ok(incidents
            .iter()
            .map(|i| serde_json::to_string(i).expect("incidents serialize") + "\n")
            .collect());
    }
    let mut rows = vec![[
        "INCIDENT".to_owned(),
        "STATUS".into(),
        "SEVERITY".into(),
        "RISK".into(),
        "V".into(),
        "POSTS".into(),
        "LAST SEEN".into(),
        "SUMMARY".into(),
    ]];
    for i in &incidents {
        rows.push([
            i.id.clone(),
            crate::state::status_str(i.status).into(),
            i.severity.to_string(),
            format!("{:.0}", i.risk),
            i.version.to_string(),
            i.post_ids.len().to_string(),
            i.last_seen.format("%Y-%m-%d %H:%M").to_string(),
            i.summary.clone(),
        ]);
    }
    Ok(table(&rows) + &format!("{} incident(s)\n", incidents.len()))
}

fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row.iter().zip(&widths).map(|(v, w)| format!("{v:<w$}")).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

pub fn incidents_show(config: Option<PathBuf>, id: String, json: bool) -> Result<String, CliError> {
    use std::fmt::Write as _;
    let config = Config::load(config.as_deref())?;
    let state = state_of(&config)?;
    let incident = state
        .incidents_by_status(None, usize::MAX)?
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| CliError::Usage(format!("no incident {id}: see `earshot incidents list --status all`")))?;
    let trail = state.audit_trail(&id)?;
    if json {
        let v = serde_json::json!({"incident": incident, "audit": trail});
        return Ok(v.to_string() + "\n");
    }
    let mut o = String::new();
    let i = &incident;
    let _ = writeln!(
        o,
        "{}  v{}  {}  {} (risk {:.1}, spread +{:.1})",
        i.id,
        i.version,
        crate::state::status_str(i.status),
        i.severity,
        i.risk,
        i.spread
    );
    let _ = writeln!(o, "  {}", i.summary);
    let _ = writeln!(o, "  provider {} · categories {}", i.provider, i.categories.join(", "));
    let _ = writeln!(
        o,
        "  {} posts by {} authors on {} · reach {} · {:.2} posts/h · {} → {}",
        i.post_ids.len(),
        i.authors.len(),
        i.channels.join(", "),
        i.reach,
        i.velocity,
        i.first_seen.to_rfc3339(),
        i.last_seen.to_rfc3339()
    );
    let _ = writeln!(o, "  hops:");
    for h in &i.hops {
        let _ = writeln!(
            o,
            "    {}  {} on {}{}{}",
            h.at.to_rfc3339(),
            h.author,
            h.channel,
            h.via.as_ref().map_or(String::new(), |v| format!(" via {v}")),
            h.link.as_ref().map_or(String::new(), |l| format!(" — {l}"))
        );
    }
    let _ = writeln!(o, "  most serious post: {} \"{}\"", i.top_post.id, i.top_post.excerpt);
    let _ = writeln!(o, "  audit:");
    for a in &trail {
        let _ = writeln!(
            o,
            "    {}  {:<12} by {:<10} v{} {} {}{}",
            a.at,
            a.action,
            a.by,
            a.version,
            a.severity,
            a.status,
            a.comment.as_ref().map_or(String::new(), |c| format!(" — {c}"))
        );
    }
    Ok(o)
}

pub fn outbox_dead(config: Option<PathBuf>, json: bool) -> Result<String, CliError> {
    let config = Config::load(config.as_deref())?;
    let dead = state_of(&config)?.dead()?;
    if json {
        return Ok(dead
            .iter()
            .map(|d| serde_json::to_string(d).expect("rows serialize") + "\n")
            .collect());
    }
    let mut rows = vec![[
        "SINK".to_owned(),
        "KEY".into(),
        "KIND".into(),
        "REFUSED AT".into(),
        "ATTEMPTS".into(),
        "ANSWER".into(),
    ]];
    for d in &dead {
        rows.push([
            d.sink.clone(),
            d.key.clone(),
            d.kind.clone(),
            d.dead_at.clone(),
            d.attempts.to_string(),
            d.response.clone().unwrap_or_default().chars().take(120).collect(),
        ]);
    }
    Ok(table(&rows) + &format!("{} dead letter(s)\n", dead.len()))
}

pub fn outbox_retry(config: Option<PathBuf>, sink: Option<String>, keys: Vec<String>) -> Result<String, CliError> {
    let config = Config::load(config.as_deref())?;
    let n = state_of(&config)?.retry_dead(sink.as_deref(), &keys)?;
    Ok(format!("{n} row(s) back in the queue; `earshot run` delivers them\n"))
}

/// What a person does to an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Acknowledge,
    Resolve,
}

pub fn incidents_act(args: ActArgs, act: Act) -> Result<String, CliError> {
    use crate::model::IncidentStatus as S;
    let ActArgs {
        config,
        id,
        by,
        comment,
    } = args;
    if by.trim().is_empty() {
        return Err(CliError::Usage("--by must name who acts".into()));
    }
    let config = Config::load(config.as_deref())?;
    let mut state = state_of(&config)?;
    let w = state.writer()?;
    let mut incident = w
        .incident(&id)?
        .ok_or_else(|| CliError::Usage(format!("no incident {id}: see `earshot incidents list --status all`")))?;
    let message = match (act, incident.status) {
        (_, S::Resolved) => return Ok(format!("{id} is resolved already\n")),
        (Act::Acknowledge, S::Acknowledged) => return Ok(format!("{id} is acknowledged already\n")),
        (Act::Acknowledge, _) => {
            incident.status = S::Acknowledged;
            w.put_incident(&incident)?;
            w.audit(&incident, "acknowledged", &by, comment.as_deref())?;
            format!("{id} acknowledged by {by}\n")
        }
        (Act::Resolve, _) => {
            incident.status = S::Resolved;
            incident.version += 1;
            let policy = crate::stages::alert::AlertPolicy::new(&config);
            let emitted = crate::stages::alert::Emitted {
                ticket: Some(policy.ticket(&incident)),
                alert: None,
            };
            w.audit(&incident, "resolved", &by, comment.as_deref())?;
            w.put_incident(&incident)?;
            crate::commit::store_outputs(
                &w,
                &incident,
                emitted,
                &crate::commit::sinks_for(&config, crate::config::Records::Tickets),
                &[],
                None,
            )?;
            format!(
                "{id} resolved by {by}; ticket version {} (status resolved) queued for the ticket sinks\n",
                incident.version
            )
        }
    };
    w.commit()?;
    Ok(message)
}

fn tickets_json(tickets: &[Ticket]) -> String {
    tickets
        .iter()
        .map(|t| serde_json::to_string(t).expect("tickets serialize") + "\n")
        .collect()
}

fn tickets_table(tickets: &[Ticket]) -> String {
    let mut rows = vec![[
        "TICKET".to_owned(),
        "V".into(),
        "SEVERITY".into(),
        "RISK".into(),
        "PROVIDER".into(),
        "CATEGORIES".into(),
        "FIRST POST".into(),
    ]];
    for t in tickets {
        rows.push([
            t.ticket_id.clone(),
            t.version.to_string(),
            t.severity.to_string(),
            format!("{:.0}", t.risk),
            t.provider.clone(),
            t.categories.join(","),
            t.post_ids.first().cloned().unwrap_or_default(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row.iter().zip(&widths).map(|(v, w)| format!("{v:<w$}")).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&format!("{} ticket version(s)\n", tickets.len()));
    out
}
