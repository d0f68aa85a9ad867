//! Alert policy: which incident versions become tickets and alerts.

use crate::config::Config;
use crate::model::{Alert, Incident, Severity, Ticket};

#[derive(Debug, Clone)]
pub struct AlertPolicy {
    pub incident: Severity,
    pub ticket: Severity,
    pub alert: Severity,
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
        }
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
            ticket: Some(Ticket::from_incident(incident)),
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
        }
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
