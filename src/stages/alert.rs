//! Alert policy: which incident versions become tickets and alerts.

use crate::config::{AlertsConfig, Config, TicketsConfig};
use crate::model::{Alert, Incident, Severity, Ticket};
use chrono::{DateTime, Duration, Timelike, Utc};

#[derive(Debug, Clone)]
pub struct AlertPolicy {
    pub incident: Severity,
    pub ticket: Severity,
    pub alert: Severity,
    pub tickets: TicketsConfig,
    pub alerts: AlertsConfig,
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
            alerts: config.alerts.clone(),
        }
    }

    /// The alert route an incident falls under, if any.
    fn route(&self, incident: &Incident) -> Option<&crate::config::AlertRoute> {
        self.alerts
            .routes
            .iter()
            .find(|r| r.categories.iter().any(|c| incident.categories.contains(c)))
    }

    /// The alert for an incident's current version, for its team.
    pub fn alert(&self, incident: &Incident) -> Alert {
        let mut a = Alert::from_incident(incident);
        a.team = self
            .route(incident)
            .map_or_else(|| self.tickets.team.clone(), |r| r.team.clone());
        a
    }

    /// When an alert may go out, if not at once (`now`): after quiet hours
    /// for those below their severity, and when the last hour holds fewer
    /// than the rate limit's alerts (`recent`: the send times of the
    /// newest alerts of the last hour, at least the limit's number when
    /// there are that many, oldest first). Nothing is dropped; it waits.
    pub fn hold(&self, alert: &Alert, now: DateTime<Utc>, recent: &[DateTime<Utc>]) -> Option<DateTime<Utc>> {
        let mut at = now;
        if let Some(q) = &self.alerts.quiet_hours
            && alert.severity < q.below
        {
            let local = now + Duration::hours(i64::from(q.utc_offset_hours));
            let h = local.hour();
            let quiet = if q.from <= q.to {
                h >= q.from && h < q.to
            } else {
                h >= q.from || h < q.to
            };
            if quiet {
                let hours_left = (q.to + 24 - h) % 24;
                let end = local
                    .with_minute(0)
                    .and_then(|t| t.with_second(0))
                    .and_then(|t| t.with_nanosecond(0))
                    .expect("valid time")
                    + Duration::hours(i64::from(hours_left));
                at = end - Duration::hours(i64::from(q.utc_offset_hours));
            }
        }
        let limit = self.alerts.rate_limit_per_hour as usize;
        if limit > 0 {
            let window: Vec<&DateTime<Utc>> = recent.iter().filter(|t| **t > at - Duration::hours(1)).collect();
            if window.len() >= limit {
                at = at.max(*window[window.len() - limit] + Duration::hours(1));
            }
        }
        (at > now).then_some(at)
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
        let least = self.route(incident).and_then(|r| r.min_severity).unwrap_or(self.alert);
        Emitted {
            ticket: Some(self.ticket(incident)),
            alert: (now >= least).then(|| self.alert(incident)),
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
            alerts: crate::config::AlertsConfig {
                routes: vec![crate::config::AlertRoute {
                    team: "medical-quality".into(),
                    categories: vec!["misdiagnosis".into()],
                    min_severity: Some(Severity::Medium),
                }],
                rate_limit_per_hour: 2,
                quiet_hours: Some(crate::config::QuietHours {
                    from: 22,
                    to: 6,
                    utc_offset_hours: 7,
                    below: Severity::Critical,
                }),
                ..Default::default()
            },
        }
    }

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2026, 3, 2, hour, minute, 0).unwrap()
    }

    #[test]
    fn routes_pick_the_team_and_its_threshold() {
        let mut inc = incident_at(Severity::Medium);
        assert!(
            policy().emit(&mut inc, None).alert.is_none(),
            "medium is below [alerts]"
        );
        let mut inc = incident_at(Severity::Medium);
        inc.categories = vec!["misdiagnosis".into()];
        let a = policy()
            .emit(&mut inc, None)
            .alert
            .expect("the route alerts from medium");
        assert_eq!(a.team, "medical-quality");
    }

    #[test]
    fn quiet_hours_and_the_rate_limit_hold_alerts_back() {
        let p = policy();
        let mut high = incident_at(Severity::High);
        let alert = p.emit(&mut high, None).alert.unwrap();
        // 23:30 in UTC+7 (16:30 UTC) is quiet: held until 06:00 local, 23:00 UTC.
        assert_eq!(p.hold(&alert, at(16, 30), &[]), Some(at(23, 0)));
        // 09:00 local is not.
        assert_eq!(p.hold(&alert, at(2, 0), &[]), None);
        // Critical goes out at any hour.
        let mut critical = incident_at(Severity::Critical);
        let loud = p.emit(&mut critical, None).alert.unwrap();
        assert_eq!(p.hold(&loud, at(16, 30), &[]), None);
        // Two alerts in the last hour already: the third waits until the
        // older one is an hour old.
        let recent = [at(1, 20), at(1, 50)];
        assert_eq!(p.hold(&loud, at(2, 0), &recent), Some(at(2, 20)));
        assert_eq!(p.hold(&loud, at(2, 0), &recent[1..]), None);
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
