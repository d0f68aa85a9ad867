//! Score: a first lexicon scorer in English and Indonesian. Sentiment from
//! weighted words with negation; risk from negativity, complaint categories
//! and the author's reach; severity from the configured risk thresholds.
//! Every contribution is kept as a reason.

use crate::config::RiskConfig;
use crate::model::{Reason, Score};
use crate::post::Post;
use crate::text::PhraseSet;

/// Word weights, -4 (very negative) to 4 (very positive).
const SENTIMENT: &[(&str, f32)] = &[
    // English
    ("terrible", -3.0),
    ("horrible", -3.0),
    ("awful", -3.0),
    ("worst", -3.5),
    ("bad", -2.0),
    ("rude", -2.5),
    ("angry", -2.5),
    ("disappointed", -2.5),
    ("disappointing", -2.5),
    ("unacceptable", -3.0),
    ("negligent", -3.0),
    ("dirty", -2.0),
    ("slow", -1.5),
    ("ignored", -2.0),
    ("useless", -2.5),
    ("died", -2.5),
    ("dead", -2.5),
    ("pain", -1.5),
    ("never again", -3.0),
    ("shame", -2.5),
    ("good", 2.0),
    ("great", 3.0),
    ("excellent", 3.5),
    ("kind", 2.5),
    ("friendly", 2.5),
    ("thank", 2.0),
    ("thanks", 2.0),
    ("helpful", 2.5),
    ("clean", 1.5),
    ("recommend", 2.5),
    ("professional", 2.0),
    ("fast", 1.5),
    ("amazing", 3.5),
    ("grateful", 3.0),
    // Indonesian, with informal spellings
    ("buruk", -3.0),
    ("jelek", -2.5),
    ("parah", -3.0),
    ("kecewa", -3.0),
    ("mengecewakan", -3.0),
    ("kasar", -2.5),
    ("ketus", -2.5),
    ("judes", -2.5),
    ("jutek", -2.0),
    ("lambat", -1.5),
    ("lelet", -2.0),
    ("kotor", -2.0),
    ("jorok", -2.5),
    ("marah", -2.5),
    ("kesal", -2.5),
    ("kesel", -2.5),
    ("meninggal", -2.5),
    ("sempit", -1.5),
    ("antre lama", -1.5),
    ("lama banget", -2.0),
    ("ribet", -1.5),
    ("sakit hati", -2.5),
    ("tidak manusiawi", -3.5),
    ("menyesal", -2.5),
    ("zalim", -3.5),
    ("baik", 2.0),
    ("bagus", 2.5),
    ("ramah", 2.5),
    ("puas", 2.5),
    ("terima kasih", 2.5),
    ("makasih", 2.0),
    ("mantap", 3.0),
    ("cepat", 1.5),
    ("bersih", 1.5),
    ("recommended", 2.5),
    ("profesional", 2.0),
    ("sigap", 2.5),
    ("nyaman", 2.0),
    ("terbaik", 3.0),
    ("hebat", 3.0),
];

const NEGATORS: &[&str] = &[
    "not", "no", "never", "don't", "didn't", "isn't", "wasn't", "tidak", "tdk", "gak", "ga", "nggak", "enggak", "gk",
    "bukan", "belum", "kurang", "tak",
];

/// Complaint phrases by category, and the risk points a category adds.
const CATEGORIES: &[(&str, f32, &[&str])] = &[
    (
        "misdiagnosis",
        25.0,
        &[
            "misdiagnosis",
            "misdiagnosed",
            "wrong diagnosis",
            "salah diagnosa",
            "salah diagnosis",
            "diagnosa salah",
        ],
    ),
    (
        "negligence",
        25.0,
        &[
            "negligence",
            "negligent",
            "malpractice",
            "malpraktik",
            "malpraktek",
            "lalai",
            "kelalaian",
            "dibiarkan",
            "telantar",
            "terlantar",
            "left alone",
        ],
    ),
    (
        "staff_rudeness",
        12.0,
        &[
            "rude",
            "yelled",
            "shouted",
            "kasar",
            "ketus",
            "judes",
            "jutek",
            "dibentak",
            "membentak",
        ],
    ),
    (
        "wait_time",
        12.0,
        &[
            "waited",
            "waiting for hours",
            "hours waiting",
            "menunggu",
            "nunggu",
            "antre",
            "antri",
            "berjam-jam",
        ],
    ),
    (
        "doctor_absent",
        15.0,
        &[
            "no doctor",
            "doctor never came",
            "doctor was late",
            "dokter tidak datang",
            "dokter gak datang",
            "dokternya telat",
            "dokter telat",
            "tidak ada dokter",
        ],
    ),
    (
        "records_access",
        15.0,
        &["medical records", "medical record", "rekam medis", "hasil lab"],
    ),
    (
        "billing",
        10.0,
        &[
            "bill",
            "overcharged",
            "charged",
            "tagihan",
            "biaya",
            "bpjs ditolak",
            "mahal",
        ],
    ),
    ("hygiene", 10.0, &["dirty", "cockroach", "kotor", "jorok", "kecoa"]),
    (
        "legal_threat",
        20.0,
        &[
            "lawyer",
            "lawsuit",
            "sue",
            "police report",
            "pengacara",
            "somasi",
            "lapor polisi",
            "pencemaran nama baik",
            "uu ite",
        ],
    ),
    (
        "viral_call",
        10.0,
        &[
            "please share",
            "spread this",
            "sebarkan",
            "viralkan",
            "tolong share",
            "boikot",
            "boycott",
        ],
    ),
];

enum Term {
    Sentiment(f32),
    Negator,
    Category(usize),
}

pub struct Scorer {
    terms: PhraseSet<Term>,
    risk: RiskConfig,
}

impl Scorer {
    pub fn new(risk: &RiskConfig) -> Self {
        let sentiment = SENTIMENT.iter().map(|(w, v)| (w.to_string(), Term::Sentiment(*v)));
        let negators = NEGATORS.iter().map(|w| (w.to_string(), Term::Negator));
        let categories = CATEGORIES
            .iter()
            .enumerate()
            .flat_map(|(i, (_, _, words))| words.iter().map(move |w| (w.to_string(), Term::Category(i))));
        Scorer {
            terms: PhraseSet::new(sentiment.chain(negators).chain(categories)),
            risk: risk.clone(),
        }
    }

    pub fn score(&self, post: &Post) -> Score {
        let text = post.norm.as_str();
        let mut reasons = Vec::new();
        let mut total = 0.0f32;
        let mut negated_until = 0usize;
        let mut hit = vec![false; CATEGORIES.len()];
        for (term, span) in self
            .terms
            .find(text)
            .flat_map(|(terms, span)| terms.iter().map(move |t| (t, span.clone())))
        {
            match term {
                // A negator flips the sentiment words in the next few words.
                Term::Negator => negated_until = span.end + 24,
                Term::Sentiment(w) => {
                    let w = if span.start < negated_until { -0.75 * w } else { *w };
                    total += w;
                    reasons.push(Reason {
                        source: "lexicon".into(),
                        matched: text[span].to_owned(),
                        weight: w,
                    });
                }
                Term::Category(i) if !hit[*i] => {
                    hit[*i] = true;
                    reasons.push(Reason {
                        source: format!("category:{}", CATEGORIES[*i].0),
                        matched: text[span].to_owned(),
                        weight: CATEGORIES[*i].1,
                    });
                }
                Term::Category(_) => {}
            }
        }
        // Squash the sum into [-1, 1], as VADER normalizes its compound score.
        let sentiment = total / (total * total + 15.0).sqrt();
        let categories: Vec<String> = CATEGORIES
            .iter()
            .zip(&hit)
            .filter(|(_, h)| **h)
            .map(|(c, _)| c.0.to_owned())
            .collect();
        let complaint: f32 = CATEGORIES.iter().zip(&hit).filter(|(_, h)| **h).map(|(c, _)| c.1).sum();
        let mut risk = (-sentiment).max(0.0) * 40.0 + complaint;
        if risk > 0.0 {
            let audience = post.author.audience.unwrap_or(0) as f32;
            let reach = (audience + 1.0).log10().min(6.0) * 2.0;
            if reach >= 1.0 {
                reasons.push(Reason {
                    source: "reach".into(),
                    matched: format!("{audience} followers"),
                    weight: reach,
                });
                risk += reach;
            }
        }
        let risk = risk.clamp(0.0, 100.0);
        Score {
            sentiment,
            risk,
            severity: self.risk.severity(risk),
            categories,
            reasons,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Severity;
    use crate::stages::testing::normalized;

    fn score(text: &str) -> Score {
        Scorer::new(&RiskConfig::default()).score(&normalized(text))
    }

    #[test]
    fn praise_is_positive_and_harmless() {
        let s = score("Perawat di RS Harapan Sehat sangat ramah dan sigap, terima kasih!");
        assert!(s.sentiment > 0.5, "{s:?}");
        assert_eq!(s.severity, Severity::None);
    }

    #[test]
    fn negation_flips() {
        assert!(score("pelayanan tidak ramah").sentiment < 0.0);
        assert!(score("the staff were not rude at all").sentiment > 0.0);
    }

    #[test]
    fn serious_complaint_is_high_with_reasons() {
        let s =
            score("Salah diagnosa, dokter tidak datang, rekam medis tidak diberikan. Saya sangat kecewa. Sebarkan!");
        assert!(s.severity >= Severity::High, "{s:?}");
        for c in ["misdiagnosis", "doctor_absent", "records_access", "viral_call"] {
            assert!(
                s.categories.iter().any(|x| x == c),
                "{c} missing from {:?}",
                s.categories
            );
        }
        assert!(
            s.reasons
                .iter()
                .any(|r| r.source == "category:misdiagnosis" && r.matched == "salah diagnosa")
        );
    }

    #[test]
    fn mild_grumble_is_low_or_medium() {
        let s = score("parkirannya sempit, antre lama");
        assert!(matches!(s.severity, Severity::Low | Severity::Medium), "{s:?}");
    }
}
