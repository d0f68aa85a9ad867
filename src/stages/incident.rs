//! Incident: what a scored post becomes. For now one post opens one
//! incident; the noise-filter work merges forwards and reposts into the
//! incident of the first.

use crate::model::{Incident, IncidentStatus, PostSummary, Score};
use crate::post::Post;
use sha2::{Digest, Sha256};

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
    }
}

/// One human sentence for the ticket and the alert.
fn summary(provider: &str, post: &Post, score: &Score) -> String {
    let what = if score.categories.is_empty() {
        "negative post".to_owned()
    } else {
        score.categories.join(", ").replace('_', " ")
    };
    format!(
        "{} {} about {provider} by {} on {}",
        score.severity.as_str().to_uppercase(),
        what,
        post.author.handle,
        post.channel
    )
}

pub fn open(post: &Post, score: &Score) -> Option<Incident> {
    let provider = post.provider.as_ref()?.id.clone();
    Some(Incident {
        schema_version: crate::model::INCIDENT_SCHEMA_VERSION,
        id: incident_id(&provider, &post.id),
        summary: summary(&provider, post, score),
        provider,
        version: 0,
        status: IncidentStatus::Open,
        severity: score.severity,
        risk: (score.risk * 10.0).round() / 10.0,
        sentiment: (score.sentiment * 1000.0).round() / 1000.0,
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Severity;
    use crate::post::ProviderMatch;
    use crate::stages::testing::post;

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
        let score = Score {
            sentiment: -0.5,
            risk: 45.04,
            severity: Severity::Medium,
            categories: vec!["doctor_absent".into()],
            reasons: vec![],
        };
        assert!(open(&p, &score).is_none(), "no provider, no incident");
        p.provider = Some(ProviderMatch {
            id: "rshs".into(),
            matched: "RS".into(),
        });
        let inc = open(&p, &score).unwrap();
        assert_eq!(inc.post_ids, vec!["test:1"]);
        assert_eq!(inc.schema_version, crate::model::INCIDENT_SCHEMA_VERSION);
        assert_eq!(inc.risk, 45.0);
        assert_eq!(inc.reach, 120);
        assert_eq!(inc.summary, "MEDIUM doctor absent about rshs by @pasien on mastodon");
    }
}
