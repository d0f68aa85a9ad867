//! Incidents: one complaint and everything that spread it.
//!
//! The first post about a provider severe enough opens an incident; each
//! forward, repost, copy or translation that near-duplicate detection links
//! to it joins it (`absorb`). An incident's risk is its most serious post's
//! risk plus what the spread adds:
//!
//! - **authors**: 6 points per doubling of the distinct authors (up to 18);
//! - **channels**: 3 points for each channel beyond the first (up to 6);
//! - **reach**: 2 points per decade of the audience the later authors add
//!   to the first one's (up to 8);
//! - **velocity**: 4 points once three or more posts came at one an hour or
//!   faster;
//!
//! at most 30 points in all. What the forwards add is in their own risk
//! already: a "tolong sebarkan" or a police report fires its rule on the
//! forward, and the incident takes the highest post risk. The severity is
//! the one that risk reaches, and never less than its most severe post.

use crate::config::RiskConfig;
use crate::model::{ChainHop, Incident, IncidentStatus, PostSummary, Reason, Score};
use crate::post::Post;
use sha2::{Digest, Sha256};

/// Member posts kept on an incident: the first ones and the latest.
pub const MAX_POSTS: usize = 20;
const AUTHOR_POINTS: f32 = 6.0;
const AUTHOR_MAX: f32 = 18.0;
const CHANNEL_POINTS: f32 = 3.0;
const CHANNEL_MAX: f32 = 6.0;
const REACH_POINTS: f32 = 2.0;
const REACH_MAX: f32 = 8.0;
const VELOCITY_POINTS: f32 = 4.0;
const SPREAD_MAX: f32 = 30.0;

/// Stable across runs and machines: replays and restarts name the same
/// incident, which makes its tickets idempotent.
pub fn incident_id(provider: &str, post_id: &str) -> String {
    let digest = Sha256::digest(format!("{provider}\n{post_id}"));
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("inc-{hex}")
}

const EXCERPT_CHARS: usize = 280;

pub fn summarize(post: &Post) -> PostSummary {
    let mut excerpt: String = post.text.chars().take(EXCERPT_CHARS).collect();
    if post.text.chars().count() > EXCERPT_CHARS {
        excerpt.push('…');
    }
    PostSummary {
        id: post.id.clone(),
        url: post.url.clone(),
        author: post.author.handle.clone(),
        channel: post.channel.clone(),
        excerpt: excerpt.split_whitespace().collect::<Vec<_>>().join(" "),
        created_at: post.created_at,
        sha256: post.digest.clone(),
        captured_at: post.captured_at,
    }
}

/// One human sentence for the ticket and the alert.
fn summary(incident: &Incident) -> String {
    let what = if incident.categories.is_empty() {
        "negative post".to_owned()
    } else {
        incident.categories.join(", ").replace('_', " ")
    };
    let first = incident.hops.first();
    let mut s = format!(
        "{} {} about {}, first posted by {} on {}",
        incident.severity.as_str().to_uppercase(),
        what,
        incident.provider,
        first.map_or(incident.top_post.author.as_str(), |h| h.author.as_str()),
        first.map_or(incident.top_post.channel.as_str(), |h| h.channel.as_str()),
    );
    if incident.post_ids.len() > 1 {
        s.push_str(&format!(
            "; spread to {} posts by {} authors on {} channel{}",
            incident.post_ids.len(),
            incident.authors.len(),
            incident.channels.len(),
            if incident.channels.len() == 1 { "" } else { "s" }
        ));
    }
    s
}

fn hop(post: &Post, link: Option<String>) -> ChainHop {
    ChainHop {
        post_id: post.id.clone(),
        author: post.author.handle.clone(),
        channel: post.channel.clone(),
        at: post.created_at,
        via: post.hops.first().map(|h| h.from.clone()),
        link,
    }
}

/// A new incident for a post about a provider (`None` without one).
pub fn open(post: &Post, score: &Score, risk: &RiskConfig) -> Option<Incident> {
    let provider = post.provider.as_ref()?.id.clone();
    let mut incident = Incident {
        schema_version: crate::model::INCIDENT_SCHEMA_VERSION,
        id: incident_id(&provider, &post.id),
        summary: String::new(),
        provider,
        version: 0,
        status: IncidentStatus::Open,
        severity: score.severity,
        risk: score.risk,
        sentiment: round(score.sentiment, 1000.0),
        categories: score.categories.clone(),
        language: post.lang.clone(),
        post_ids: vec![post.id.clone()],
        channels: vec![post.channel.clone()],
        authors: vec![post.author.handle.clone()],
        reach: post.author.audience.unwrap_or(0),
        first_seen: post.created_at,
        last_seen: post.created_at,
        top_post: summarize(post),
        reasons: score.reasons.clone(),
        post_risk: score.risk,
        post_severity: score.severity,
        audiences: vec![post.author.audience.unwrap_or(0)],
        velocity: 0.0,
        spread: 0.0,
        hops: vec![hop(post, None)],
        posts: vec![summarize(post)],
    };
    settle(&mut incident, risk);
    Some(incident)
}

/// A post that near-duplicate detection linked to `incident` joins it;
/// `why` says what linked them.
pub fn absorb(incident: &mut Incident, post: &Post, score: &Score, why: String, risk: &RiskConfig) {
    if incident.post_ids.contains(&post.id) {
        return;
    }
    incident.post_ids.push(post.id.clone());
    if !incident.channels.contains(&post.channel) {
        incident.channels.push(post.channel.clone());
    }
    let audience = post.author.audience.unwrap_or(0);
    match incident.authors.iter().position(|a| *a == post.author.handle) {
        Some(i) => {
            if let Some(a) = incident.audiences.get_mut(i) {
                *a = (*a).max(audience);
            }
        }
        None => {
            incident.authors.push(post.author.handle.clone());
            incident.audiences.push(audience);
        }
    }
    for c in &score.categories {
        if !incident.categories.contains(c) {
            incident.categories.push(c.clone());
        }
    }
    incident.first_seen = incident.first_seen.min(post.created_at);
    incident.last_seen = incident.last_seen.max(post.created_at);
    if score.risk > incident.post_risk {
        incident.post_risk = score.risk;
        incident.top_post = summarize(post);
        incident.reasons = score.reasons.clone();
        incident.sentiment = round(score.sentiment, 1000.0);
    }
    incident.post_severity = incident.post_severity.max(score.severity);
    incident.hops.push(hop(post, Some(why)));
    let summary = summarize(post);
    if incident.posts.len() < MAX_POSTS {
        incident.posts.push(summary);
    } else {
        // Keep the first half as they came; the rest are the latest.
        incident.posts.remove(MAX_POSTS / 2);
        incident.posts.push(summary);
    }
    settle(incident, risk);
}

fn round(x: f32, scale: f32) -> f32 {
    (x * scale).round() / scale
}

/// Recomputes spread, risk, severity, reach, velocity and summary.
fn settle(incident: &mut Incident, risk: &RiskConfig) {
    incident.reach = incident.audiences.iter().sum();
    let hours = (incident.last_seen - incident.first_seen).num_seconds() as f32 / 3600.0;
    let posts = incident.post_ids.len() as f32;
    incident.velocity = round(if hours > 0.0 { posts / hours.max(1.0) } else { posts }, 100.0);
    let authors = incident.authors.len() as f32;
    let first = incident.audiences.first().copied().unwrap_or(0) as f32;
    let added = incident.reach as f32 - first;
    let author_points = (AUTHOR_POINTS * authors.log2()).min(AUTHOR_MAX);
    let channel_points = (CHANNEL_POINTS * (incident.channels.len() as f32 - 1.0)).min(CHANNEL_MAX);
    let reach_points = if added > 0.0 {
        (REACH_POINTS * (1.0 + added).log10()).min(REACH_MAX)
    } else {
        0.0
    };
    let velocity_points = if posts >= 3.0 && incident.velocity >= 1.0 {
        VELOCITY_POINTS
    } else {
        0.0
    };
    let spread = (author_points + channel_points + reach_points + velocity_points).min(SPREAD_MAX);
    incident.spread = round(spread, 10.0);
    incident.risk = round((incident.post_risk + spread).clamp(0.0, 100.0), 10.0);
    incident.severity = risk.severity(incident.risk).max(incident.post_severity);
    incident.reasons.retain(|r| r.kind != "spread");
    if spread > 0.0 {
        incident.reasons.push(Reason {
            kind: "spread".into(),
            id: "incident".into(),
            version: None,
            matched: format!(
                "{} posts, {} authors, {} channels, reach {}, {:.2} posts/h",
                incident.post_ids.len(),
                incident.authors.len(),
                incident.channels.len(),
                incident.reach,
                incident.velocity
            ),
            weight: incident.spread,
        });
    }
    incident.summary = summary(incident);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Severity;
    use crate::post::ProviderMatch;
    use crate::stages::testing::post;

    fn score(risk: f32, severity: Severity, categories: &[&str]) -> Score {
        Score {
            sentiment: -0.5,
            risk,
            severity,
            categories: categories.iter().map(|c| c.to_string()).collect(),
            reasons: vec![],
        }
    }

    fn about(mut p: Post, id: &str, author: &str, channel: &str, audience: u64, minutes: i64) -> Post {
        p.provider = Some(ProviderMatch {
            id: "rshs".into(),
            matched: "RS".into(),
        });
        p.id = id.into();
        p.author.handle = author.into();
        p.author.audience = Some(audience);
        p.channel = channel.into();
        p.created_at += chrono::Duration::minutes(minutes);
        p
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(incident_id("a", "s:1"), incident_id("a", "s:1"));
        assert_ne!(incident_id("a", "s:1"), incident_id("a", "s:2"));
        assert_ne!(incident_id("a", "s:1"), incident_id("b", "s:1"));
        assert_eq!(incident_id("a", "s:1").len(), 20);
    }

    #[test]
    fn opens_an_incident_for_a_post_about_a_provider() {
        let mut p = post("Dokter tidak datang");
        let s = score(45.04, Severity::Medium, &["doctor_absent"]);
        assert!(
            open(&p, &s, &RiskConfig::default()).is_none(),
            "no provider, no incident"
        );
        p.provider = Some(ProviderMatch {
            id: "rshs".into(),
            matched: "RS".into(),
        });
        let inc = open(&p, &s, &RiskConfig::default()).unwrap();
        assert_eq!(inc.post_ids, vec!["test:1"]);
        assert_eq!(inc.schema_version, crate::model::INCIDENT_SCHEMA_VERSION);
        assert_eq!(inc.risk, 45.0);
        assert_eq!(inc.reach, 120);
        assert_eq!(inc.spread, 0.0);
        assert_eq!(
            inc.summary,
            "MEDIUM doctor absent about rshs, first posted by @pasien on mastodon"
        );
    }

    #[test]
    fn spread_raises_risk_and_severity_never_falls() {
        let risk = RiskConfig::default();
        let first = about(post("keluhan"), "e:1", "nadia", "email", 50, 0);
        let mut inc = open(&first, &score(45.0, Severity::Medium, &["misdiagnosis"]), &risk).unwrap();
        let fwd = about(post("fwd keluhan"), "e:2", "arif", "email", 350, 60);
        absorb(
            &mut inc,
            &fwd,
            &score(30.0, Severity::Low, &["viral_call"]),
            "near-duplicate".into(),
            &risk,
        );
        assert_eq!(inc.authors, ["nadia", "arif"]);
        assert_eq!(inc.reach, 400);
        assert!(inc.risk > 45.0 && inc.severity >= Severity::Medium, "{inc:?}");
        assert_eq!(inc.categories, ["misdiagnosis", "viral_call"]);
        let toot = about(post("repost"), "m:3", "suara", "mastodon", 15_600, 90);
        absorb(
            &mut inc,
            &toot,
            &score(20.0, Severity::Low, &[]),
            "copies 80%".into(),
            &risk,
        );
        // 3 authors (9.5) + 1 more channel (3) + reach 15,950 added (8.4 → 8) + velocity (4) = 24.5
        assert_eq!(inc.spread, 24.5);
        assert_eq!(inc.risk, 69.5);
        assert_eq!(inc.severity, Severity::High);
        assert_eq!(inc.hops.len(), 3);
        assert_eq!(inc.hops[2].link.as_deref(), Some("copies 80%"));
        assert!(
            inc.summary.ends_with("spread to 3 posts by 3 authors on 2 channels"),
            "{}",
            inc.summary
        );
        // A post seen twice joins once.
        absorb(&mut inc, &toot, &score(20.0, Severity::Low, &[]), "again".into(), &risk);
        assert_eq!(inc.post_ids.len(), 3);
    }
}
