//! Alert policy: which incident versions become tickets and alerts.

use crate::config::{Config, TicketsConfig};
use crate::model::{Alert, Incident, Severity, Ticket};

#[derive(Debug, Clone)]
pub struct AlertPolicy {
    pub incident: Severity,
    pub ticket: Severity,
    pub alert: Severity,
    pub tickets: TicketsConfig,
}

/// What one incident change sends out.
#[derive(Debug, Default)]
pub struct Emitted {
    pub ticket: Option<Ticket>,
    pub alert: Option<Alert>,
}

impl AlertPolicy {
    pub fn new(config: &Config) -> Self {
        AlertPolicy {
            incident: config.incidents.min_severity.max(Severity::Low),
            ticket: config.tickets.min_severity,
            alert: config.alerts.min_severity,
            tickets: config.tickets.clone(),
        }
    }

    /// The ticket of an incident's current version: routed to a team, with
    /// its answer due by the severity's deadline from the incident's latest
    /// post.
    pub fn ticket(&self, incident: &Incident) -> Ticket {
        let mut t = Ticket::from_incident(incident);
        t.team = self
            .tickets
            .routes
            .iter()
            .find(|r| r.categories.iter().any(|c| incident.categories.contains(c)))
            .map_or_else(|| self.tickets.team.clone(), |r| r.team.clone());
        t.due_at = incident.last_seen
            + chrono::Duration::hours(i64::from(self.tickets.due_hours.for_severity(incident.severity)));
        t
    }

    /// Whether a post this severe opens an incident at all.
    pub fn opens(&self, severity: Severity) -> bool {
        severity >= self.incident
    }

    /// Tickets and alerts for an incident now at `incident.severity`, which
    /// had `before` (None when new). A ticket version is emitted only when the
    /// incident reaches a higher severity at or above the ticket threshold;
    /// bumps `incident.version` when it does.
    pub fn emit(&self, incident: &mut Incident, before: Option<Severity>) -> Emitted {
        let now = incident.severity;
        if now < self.ticket || before.is_some_and(|b| b >= now) {
            return Emitted::default();
        }
        incident.version += 1;
        Emitted {
            ticket: Some(self.ticket(incident)),
            alert: (now >= self.alert).then(|| Alert::from_incident(incident)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::incident;
    use crate::stages::testing::post;

    fn policy() -> AlertPolicy {
        AlertPolicy {
            incident: Severity::Low,
            ticket: Severity::Medium,
            alert: Severity::High,
            tickets: crate::config::TicketsConfig {
                routes: vec![crate::config::RouteConfig {
                    team: "medical-quality".into(),
                    categories: vec!["misdiagnosis".into()],
                }],
                ..Default::default()
            },
        }
    }

    #[test]
    fn tickets_are_routed_and_due() {
        let mut inc = incident_at(Severity::Critical);
        let t = policy().ticket(&inc);
        assert_eq!(t.team, "patient-relations");
        assert_eq!((t.due_at - inc.last_seen).num_hours(), 4);
        inc.categories = vec!["complaint".into(), "misdiagnosis".into()];
        inc.severity = Severity::Medium;
        let t = policy().ticket(&inc);
        assert_eq!(t.team, "medical-quality");
        assert_eq!((t.due_at - inc.last_seen).num_hours(), 72);
    }

    fn incident_at(severity: Severity) -> Incident {
        let mut p = post("x");
        p.provider = Some(crate::post::ProviderMatch {
            id: "p".into(),
            matched: "p".into(),
        });
        let score = crate::model::Score {
            sentiment: -1.0,
            risk: 70.0,
            severity,
            categories: vec![],
            reasons: vec![],
        };
        let mut incident = incident::open(&p, &score, &crate::config::RiskConfig::default()).unwrap();
        incident.severity = severity;
        incident
    }

    #[test]
    fn thresholds_decide_ticket_and_alert() {
        let mut low = incident_at(Severity::Low);
        let e = policy().emit(&mut low, None);
        assert!(e.ticket.is_none() && e.alert.is_none());
        assert!(policy().opens(Severity::Low) && !policy().opens(Severity::None));

        let mut medium = incident_at(Severity::Medium);
        let e = policy().emit(&mut medium, None);
        assert_eq!(e.ticket.unwrap().version, 1);
        assert!(e.alert.is_none());

        let mut high = incident_at(Severity::High);
        let e = policy().emit(&mut high, None);
        assert_eq!(e.alert.unwrap().severity, Severity::High);
    }

    #[test]
    fn only_escalation_emits_a_new_version() {
        let mut inc = incident_at(Severity::Medium);
        policy().emit(&mut inc, None);
        assert!(policy().emit(&mut inc, Some(Severity::Medium)).ticket.is_none());
        inc.severity = Severity::Critical;
        let e = policy().emit(&mut inc, Some(Severity::Medium));
        let t = e.ticket.unwrap();
        assert_eq!((t.version, t.status.as_str()), (2, "updated"));
        assert!(e.alert.is_some());
    }
}
