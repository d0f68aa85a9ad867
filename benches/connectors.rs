//! The connectors' own work per item, the network aside: a Jetstream frame
//! read and keyword-filtered (the firehose carries every Bluesky post, so
//! this must keep far ahead of it), and a Mastodon streaming event framed,
//! parsed and mapped to a post. `cargo bench --bench connectors`; figures
//! in the README.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use earshot::sources::jetstream::{keyword_matcher, read_frame};
use earshot::sources::mastodon::stream::Sse;
use earshot::sources::mastodon::{Status, to_post};
use std::hint::black_box;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const WORDS: &[&str] = &[
    "pagi", "ini", "macet", "kopi", "the", "game", "last", "night", "was", "great", "hujan", "lagi", "kerja", "dari",
    "rumah", "new", "album", "drops", "friday", "anyone", "else", "watching", "sidang", "harga",
];

/// A firehose of `n` post-creating frames, one in a hundred about the hospital.
fn frames(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let text: Vec<&str> = (0..14).map(|k| WORDS[(i * 7 + k * 3) % WORDS.len()]).collect();
            let mut text = text.join(" ");
            if i % 100 == 0 {
                text.push_str(" antre 5 jam di IGD RS Harapan Sehat");
            }
            serde_json::json!({
                "did": format!("did:plc:user{i:06}"), "time_us": 1764489600000000i64 + i as i64 * 1000, "kind": "commit",
                "commit": {"rev": "3lbx0001aa22", "operation": "create", "collection": "app.bsky.feed.post",
                  "rkey": format!("3lbx{i:08}"), "cid": "bafyreih0001q",
                  "record": {"$type": "app.bsky.feed.post", "createdAt": "2026-11-30T08:00:00.000Z", "langs": ["id"], "text": text}}
            })
            .to_string()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let keywords = keyword_matcher(&[
        "Harapan Sehat".to_owned(),
        "#rsharapansehat".to_owned(),
        "RSHS Jakarta".to_owned(),
    ])
    .unwrap();
    let firehose = frames(10_000);
    let mut g = c.benchmark_group("jetstream");
    g.throughput(Throughput::Elements(firehose.len() as u64));
    g.bench_function("frame read and keyword filter", |b| {
        b.iter(|| {
            let mut kept = 0;
            for f in &firehose {
                if let Ok((_, Some(_))) = read_frame("js", black_box(f), &keywords) {
                    kept += 1;
                }
            }
            assert_eq!(kept, 100);
        })
    });
    g.finish();

    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/mastodon/tag-page-1.json"
    ))
    .unwrap();
    let statuses: Vec<serde_json::Value> = serde_json::from_str(&page).unwrap();
    let stream: String = (0..100)
        .map(|i| format!("event: update\ndata: {}\n\n:thump\n\n", statuses[i % statuses.len()]))
        .collect();
    let mut g = c.benchmark_group("mastodon");
    g.throughput(Throughput::Elements(100));
    g.bench_function("stream event framed, parsed, mapped", |b| {
        b.iter(|| {
            let mut sse = Sse::default();
            let mut posts = 0;
            // Network-sized chunks.
            for chunk in black_box(stream.as_bytes()).chunks(1400) {
                for (_, data) in sse.push(chunk) {
                    let status: Status = serde_json::from_str(&data).unwrap();
                    black_box(to_post("masto", &status));
                    posts += 1;
                }
            }
            assert_eq!(posts, 100);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
