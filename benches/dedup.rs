//! Near-duplicate lookup with 1,000,000 fingerprints in the window: the
//! committer's `find` and `add` for each post. `cargo bench --bench dedup`;
//! figures in the README.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use earshot::dedup::{Index, fingerprint_text};
use std::hint::black_box;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A deterministic tweet-length post, different for every `n`: 24 words
/// drawn from 20,000, the commoner ones more often (as in real text).
fn text(n: u64) -> String {
    let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..24)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Squaring a uniform draw skews it toward the common words.
            let u = (x % 10_000) as f64 / 10_000.0;
            format!("w{}", (u * u * 20_000.0) as u64)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn bench(c: &mut Criterion) {
    const N: u64 = 1_000_000;
    let mut index = Index::new(i64::MAX / 2);
    for n in 0..N {
        let fp = fingerprint_text(&text(n));
        let incident = (n % 10 == 0).then(|| format!("inc-{n}"));
        index.add("rshs", &format!("@a{}", n % 50_000), &fp, n as i64, incident.as_deref());
    }
    eprintln!(
        "{} fingerprints in the window, about {} bytes each in the SimHash tables",
        index.len(),
        Index::BYTES_PER_FINGERPRINT
    );
    let probes: Vec<_> = (N..N + 1000).map(|n| fingerprint_text(&text(n))).collect();
    let copies: Vec<_> = (0..1000u64).map(|n| fingerprint_text(&text(n * 10))).collect();
    let categories = vec!["wait_time".to_owned()];
    let mut g = c.benchmark_group("dedup (1,000,000 fingerprints)");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("find: new posts (no match)", |b| {
        b.iter(|| {
            probes
                .iter()
                .filter(|fp| index.find("rshs", fp, &categories).is_some())
                .count()
        })
    });
    g.bench_function("find: copies of incident posts", |b| {
        b.iter(|| {
            copies
                .iter()
                .filter(|fp| index.find("rshs", fp, &categories).is_some())
                .count()
        })
    });
    g.bench_function("fingerprint + find + repeats", |b| {
        let texts: Vec<String> = (N..N + 1000).map(text).collect();
        b.iter(|| {
            texts
                .iter()
                .map(|t| {
                    let fp = fingerprint_text(t);
                    black_box(index.repeats("rshs", "@a1", &fp));
                    index.find("rshs", &fp, &categories).is_some() as usize
                })
                .sum::<usize>()
        })
    });
    g.finish();
    assert_eq!(
        copies
            .iter()
            .filter(|fp| index.find("rshs", fp, &categories).is_some())
            .count(),
        1000
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
