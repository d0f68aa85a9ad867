//! Per-stage costs on tweet-length posts, English and Indonesian.
//! `cargo bench --bench stages`; figures in the README.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use earshot::config::Config;
use earshot::post::{Author, Post};
use earshot::rules::Rules;
use earshot::score_cmd::{self, Scorer};
use earshot::scoring::Engine;
use earshot::sentiment::SentimentModel;
use earshot::stages::Filter;
use earshot::stages::normalize::Normalize;
use std::hint::black_box;
use std::sync::Arc;

// The allocator the binary uses, so the figures match it.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const POSTS: &[(&str, &str)] = &[
    (
        "en",
        "Harapan Sehat Hospital ER: we waited 6 hours, nobody came, my father died in the corridor. No doctor, no apology.",
    ),
    (
        "en",
        "Shoutout to the ER nurses at Harapan Sehat Hospital last night. Calm, fast and kind with my grandmother. Thank you.",
    ),
    (
        "en",
        "@united lost my bag again and customer service has had me on hold for an hour. Unacceptable.",
    ),
    (
        "en",
        "Does Harapan Sehat Hospital have a pediatric dentist? Looking for one for my 6 year old.",
    ),
    (
        "id",
        "Petugas pendaftaran RS Harapan Sehat kasar sekali, saya dibentak cuma karena tanya nomor antrean",
    ),
    (
        "id",
        "Perawat di RS Harapan Sehat ramah banget, anak saya yang demam langsung ditangani. Terima kasih!",
    ),
    (
        "id",
        "RS Harapan Sehat tagihan BPJS ditolak padahal kartu aktif, disuruh bayar umum 12 juta. Tidak manusiawi.",
    ),
    (
        "id",
        "makanannya enak dan murah, tempatnya nyaman buat nongkrong sama teman-teman, pasti balik lagi",
    ),
];

fn post(text: &str) -> Post {
    Post {
        id: "b:1".into(),
        source: "b".into(),
        channel: "mastodon".into(),
        native_id: "1".into(),
        provider: None,
        author: Author {
            handle: "@x".into(),
            display_name: None,
            audience: Some(500),
        },
        subject: None,
        text: text.into(),
        lang: None,
        lang_confidence: 0.0,
        url: None,
        created_at: chrono::DateTime::UNIX_EPOCH,
        refs: Default::default(),
        ..Post::default()
    }
}

fn bench(c: &mut Criterion) {
    let config = Config::parse(earshot::config::BUILTIN, "builtin").unwrap();
    let model = Arc::new(SentimentModel::builtin());
    let normalize = Normalize::new(&config.pipeline);
    let rules = Rules::builtin();
    let engine = Engine::new(model.clone(), Rules::builtin(), &config);
    let prepared: Vec<(Post, earshot::scoring::Reading)> = POSTS
        .iter()
        .map(|(lang, text)| {
            let mut p = post(text);
            normalize.apply(&mut p).unwrap();
            p.lang = Some((*lang).into());
            let reading = engine.read(&mut p, false).unwrap();
            (p, reading)
        })
        .collect();

    let mut g = c.benchmark_group("stage");
    g.throughput(Throughput::Elements(POSTS.len() as u64));
    g.bench_function("normalize", |b| {
        b.iter(|| {
            for (_, t) in POSTS {
                let mut p = post(t);
                black_box(normalize.apply(&mut p)).ok();
            }
        })
    });
    g.bench_function("read (words, language, relevance)", |b| {
        b.iter(|| {
            for (p, _) in &prepared {
                let mut p = p.clone();
                p.lang = None;
                black_box(engine.read(&mut p, false)).ok();
            }
        })
    });
    g.bench_function("sentiment", |b| {
        b.iter(|| {
            prepared
                .iter()
                .map(|(p, _)| model.analyze_with(&p.text, p.lang.as_deref(), false).score)
                .sum::<f32>()
        })
    });
    g.bench_function("rules", |b| {
        b.iter(|| {
            prepared
                .iter()
                .map(|(p, _)| {
                    let read = rules.read(&p.text);
                    rules.evaluate(read.subject(p.lang.as_deref(), true), None).len()
                })
                .sum::<usize>()
        })
    });
    g.bench_function("engine (sentiment + rules + risk)", |b| {
        b.iter(|| {
            prepared
                .iter()
                .map(|(p, r)| engine.score_with(p, r, false).risk)
                .sum::<f32>()
        })
    });
    let scorer = Scorer::new(&config, Engine::new(model, Rules::builtin(), &config));
    let lines: Vec<String> = POSTS
        .iter()
        .enumerate()
        .map(|(i, (_, t))| serde_json::json!({"id": i.to_string(), "text": t, "followers": 500}).to_string())
        .collect();
    g.bench_function("score path (JSON in → JSON out)", |b| {
        let mut out = Vec::with_capacity(4096);
        b.iter(|| {
            for (i, l) in lines.iter().enumerate() {
                out.clear();
                score_cmd::line(&scorer, l.as_bytes(), i, false, &mut out);
            }
            out.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
