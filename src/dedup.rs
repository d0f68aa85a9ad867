//! Near-duplicates: which incident a new post belongs to.
//!
//! A complaint spreads as forwards, reposts, quotes, copy-paste chain
//! messages, summaries and translations. Each post gets a `Fingerprint` of
//! its core text (the innermost original of a forward, else its text):
//!
//! - a 64-bit **SimHash** over word 3-grams: copies and light edits land
//!   within a few bits of each other;
//! - the **shingles** themselves (hashed word 3-grams): a post that copies a
//!   good part of a complaint, or a complaint a post quotes whole, shares
//!   many of them;
//! - **anchors**: the numbers and amounts of three digits or more (not
//!   years) it cites ("trombosit 45.000", "45,000 platelets", "12 juta"):
//!   what survives a summary or a translation.
//!
//! The `Index` keeps the fingerprints of a time window in memory (the
//! committer also stores them in SQLite, and rebuilds the index from there
//! on start). A post joins an incident of its provider when, in order: its
//! SimHash is within `NEAR_BITS` of a member's (found through four 16-bit
//! block tables, so a lookup touches a few dozen candidates even among a
//! million fingerprints); or half of its shingles, or of the incident's,
//! are shared; or it shares two anchors with the incident, or one anchor
//! and two specific categories (the cheap link between a complaint and its
//! translation). The hashes are fixed functions of the text, so stored
//! fingerprints stay valid across versions and machines.

use crate::post::Post;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// Hamming distance at or below which two SimHashes are near-duplicates.
pub const NEAR_BITS: u32 = 3;
/// Least shingles for a SimHash to link a post to an incident.
const MIN_SIMHASH_SHINGLES: usize = 8;
/// Most shingles kept for one post.
const MAX_SHINGLES: usize = 1024;
/// Least shared shingles for a containment link, and the share needed.
const MIN_SHARED: usize = 8;
const MIN_SHARE: f32 = 0.5;
/// A shingle held by more incidents than this is a stock phrase.
const COMMON_SHINGLE: usize = 32;
/// Most shingles kept for one incident (those of its first post).
const MAX_INCIDENT_SHINGLES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fingerprint {
    pub simhash: u64,
    /// Sorted, unique.
    pub shingles: Vec<u32>,
    /// Sorted, unique.
    pub anchors: Vec<u64>,
}

/// FNV-1a then a SplitMix64 finish: stable, fast, well mixed.
fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Multipliers written after a number.
fn multiplier(word: &str) -> Option<u64> {
    match word {
        "ribu" | "rb" | "k" | "thousand" => Some(1_000),
        "juta" | "jt" | "million" | "mio" => Some(1_000_000),
        "miliar" | "milyar" | "billion" => Some(1_000_000_000),
        _ => None,
    }
}

/// Numbers of three digits or more in folded text, thousands separators
/// (`.` or `,`) removed, with their multipliers; years are left out.
fn anchors(folded: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let bytes = folded.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let mut digits = String::new();
        let mut j = i;
        while j < bytes.len() {
            let b = bytes[j];
            if b.is_ascii_digit() {
                digits.push(b as char);
                j += 1;
            } else if (b == b'.' || b == b',')
                && bytes
                    .get(j + 1..j + 4)
                    .is_some_and(|g| g.iter().all(u8::is_ascii_digit))
            {
                j += 1;
            } else {
                break;
            }
        }
        let next = folded[j..].split_whitespace().next().unwrap_or("");
        let next = next.trim_matches(|c: char| !c.is_alphanumeric());
        let value: Option<u64> = digits.parse().ok();
        if let Some(v) = value {
            let scaled = multiplier(next).and_then(|m| v.checked_mul(m)).unwrap_or(v);
            let year = (1900..=2100).contains(&v) && digits.len() == 4 && multiplier(next).is_none();
            if (digits.len() >= 3 || scaled >= 1000) && !year {
                out.push(scaled);
            }
        }
        i = j.max(i + 1);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The fingerprint of a post's core text: the original a forward carries,
/// else its text.
pub fn fingerprint(post: &Post) -> Fingerprint {
    let core = post.quoted.as_deref().unwrap_or(&post.text);
    fingerprint_text(core)
}

pub fn fingerprint_text(text: &str) -> Fingerprint {
    let folded = crate::text::fold(text);
    let words: Vec<u64> = crate::text::alnum_words(&folded).map(|w| hash(w.as_bytes())).collect();
    let mut shingles: Vec<u64> = if words.len() >= 3 {
        words
            .windows(3)
            .map(|w| mix(w[0] ^ w[1].rotate_left(21) ^ w[2].rotate_left(42)))
            .collect()
    } else {
        words.clone()
    };
    let mut counts = [0i32; 64];
    for s in &shingles {
        for (bit, c) in counts.iter_mut().enumerate() {
            *c += if s >> bit & 1 == 1 { 1 } else { -1 };
        }
    }
    let simhash = counts
        .iter()
        .enumerate()
        .fold(0u64, |h, (bit, c)| if *c > 0 { h | 1 << bit } else { h });
    shingles.sort_unstable();
    shingles.dedup();
    let mut small: Vec<u32> = shingles.iter().map(|s| (s >> 32) as u32).collect();
    small.sort_unstable();
    small.dedup();
    small.truncate(MAX_SHINGLES);
    Fingerprint {
        simhash,
        shingles: small,
        anchors: anchors(&folded),
    }
}

/// Why a post joined an incident.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    /// It forwards, quotes or answers a member.
    Reference,
    /// Its SimHash is this many bits from a member's.
    NearDuplicate { bits: u32 },
    /// This share of its shingles (or of the incident's) is shared.
    Contains { share: f32 },
    /// It cites the same numbers (and, for one, shares categories).
    Anchors { shared: usize },
}

impl Link {
    pub fn describe(&self) -> String {
        match self {
            Link::Reference => "forwards, quotes or answers a member".into(),
            Link::NearDuplicate { bits } => format!("near-duplicate ({bits} of 64 bits differ)"),
            Link::Contains { share } => format!("copies {:.0}% of the complaint", share * 100.0),
            Link::Anchors { shared } => format!("cites the same figures ({shared} shared)"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    simhash: u64,
    at: i64,
    author: u64,
    provider: u32,
    /// Index into `Index::incidents`, or `NONE`.
    incident: u32,
}

const NONE: u32 = u32::MAX;

/// What the index keeps of an incident: its first post's shingles (in
/// `shingle_index`; here their number) and anchors, and its categories.
#[derive(Debug, Default)]
struct Sketch {
    id: String,
    provider: u32,
    shingles: usize,
    anchors: Vec<u64>,
    categories: Vec<String>,
    last_seen: i64,
    sketched: bool,
}

/// Key → the incidents that hold it. Nearly every shingle belongs to one
/// incident only, so the first holder sits inline (8 bytes a key) and only
/// the rest get a list.
#[derive(Debug, Default)]
struct Postings<K: std::hash::Hash + Eq + Copy> {
    first: FxHashMap<K, u32>,
    more: FxHashMap<K, Vec<u32>>,
}

impl<K: std::hash::Hash + Eq + Copy> Postings<K> {
    fn push(&mut self, key: K, incident: u32) {
        match self.first.entry(key) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(incident);
            }
            std::collections::hash_map::Entry::Occupied(_) => self.more.entry(key).or_default().push(incident),
        }
    }

    /// The holders of `key`, or `None` when there are more than `limit`.
    fn get(&self, key: &K, limit: usize) -> Option<impl Iterator<Item = u32> + '_> {
        let first = self.first.get(key)?;
        let more = self.more.get(key).map_or(&[][..], Vec::as_slice);
        (more.len() < limit).then(|| std::iter::once(*first).chain(more.iter().copied()))
    }

    fn retain(&mut self, keep: impl Fn(u32) -> bool) {
        let more = &mut self.more;
        self.first.retain(|key, first| {
            let rest = more.get_mut(key);
            let mut all: Vec<u32> = std::iter::once(*first)
                .chain(rest.into_iter().flat_map(|v| v.drain(..)))
                .filter(|i| keep(*i))
                .collect();
            match all.len() {
                0 => {
                    more.remove(key);
                    false
                }
                _ => {
                    *first = all.remove(0);
                    if all.is_empty() {
                        more.remove(key);
                    } else {
                        more.insert(*key, all);
                    }
                    true
                }
            }
        });
    }
}

/// The fingerprints of a time window, searchable (see the module doc).
#[derive(Debug)]
pub struct Index {
    window: i64,
    /// Entries in insertion order; `base` is the sequence number of the front.
    entries: VecDeque<Entry>,
    base: u64,
    /// Block value → sequence numbers, one table per 16-bit block.
    blocks: [FxHashMap<u16, Vec<u64>>; 4],
    providers: FxHashMap<String, u32>,
    incidents: Vec<Sketch>,
    by_id: FxHashMap<String, u32>,
    /// (Provider, shingle) → incidents that hold it: per provider, so
    /// that what counts as a stock phrase for one provider never depends
    /// on how far the others have got (a group member sees only its own).
    shingle_index: Postings<u32>,
    anchor_index: Postings<u64>,
    /// The latest post time seen: the window ends there (event time, so a
    /// replay of old posts behaves as it did live).
    now: i64,
    /// When the tables were last swept of what left the window.
    swept: i64,
}

/// A shingle as one provider's: shingles are hashes already, so mixing
/// the provider in keeps the tables' 32-bit keys (a rare collision only
/// adds a holder that `find` then filters out by provider).
fn shingle_key(provider: u32, shingle: u32) -> u32 {
    shingle ^ provider.wrapping_mul(0x9e37_79b9)
}

fn block(simhash: u64, i: usize) -> u16 {
    (simhash >> (16 * i)) as u16
}

/// Categories that say what kind of complaint it is (not merely that it is one).
fn specific(c: &str) -> bool {
    !matches!(c, "complaint" | "question" | "praise" | "suggestion")
}

impl Index {
    /// `window_secs`: how long a fingerprint stays findable.
    pub fn new(window_secs: i64) -> Index {
        Index {
            window: window_secs,
            entries: VecDeque::new(),
            base: 0,
            blocks: Default::default(),
            providers: FxHashMap::default(),
            incidents: Vec::new(),
            by_id: FxHashMap::default(),
            shingle_index: Postings::default(),
            anchor_index: Postings::default(),
            now: i64::MIN,
            swept: i64::MIN,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The start of the window (Unix seconds): older posts are forgotten.
    pub fn window_start(&self) -> i64 {
        self.cutoff()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn provider(&mut self, p: &str) -> u32 {
        let next = self.providers.len() as u32;
        *self.providers.entry(p.to_owned()).or_insert(next)
    }

    fn id_of(&self, incident: u32) -> &str {
        &self.incidents[incident as usize].id
    }

    fn cutoff(&self) -> i64 {
        self.now.saturating_sub(self.window)
    }

    /// Entries within `NEAR_BITS` of `simhash`, live in the window, each
    /// once: an entry is skipped in a block's bucket when it shares an
    /// earlier block too (it was met there). No set to build, which
    /// matters when a wave of copies fills one bucket.
    fn near(&self, simhash: u64) -> impl Iterator<Item = (u32, &Entry)> + '_ {
        let cutoff = self.cutoff();
        (0..4)
            .flat_map(move |i| {
                let seqs = self.blocks[i].get(&block(simhash, i)).map_or(&[][..], Vec::as_slice);
                seqs.iter().map(move |s| (i, *s))
            })
            .filter_map(move |(i, s)| {
                let e = self.entries.get(s.checked_sub(self.base)? as usize)?;
                if (0..i).any(|j| block(e.simhash, j) == block(simhash, j)) {
                    return None;
                }
                let bits = (e.simhash ^ simhash).count_ones();
                (bits <= NEAR_BITS && e.at >= cutoff).then_some((bits, e))
            })
    }

    /// Earlier near-identical posts by this author about this provider in
    /// the window (the spam filter's "same text again and again").
    pub fn repeats(&self, provider: &str, author: &str, fp: &Fingerprint) -> usize {
        let (Some(p), a) = (self.providers.get(provider), hash(author.as_bytes())) else {
            return 0;
        };
        self.near(fp.simhash)
            .filter(|(_, e)| e.provider == *p && e.author == a)
            .count()
    }

    /// The incident of `provider` this post belongs to, and why.
    pub fn find(&self, provider: &str, fp: &Fingerprint, categories: &[String]) -> Option<(String, Link)> {
        let p = *self.providers.get(provider)?;
        let cutoff = self.cutoff();
        let live = |i: u32| {
            let s = &self.incidents[i as usize];
            (s.provider == p && s.last_seen >= cutoff).then_some(s)
        };
        // Copies and light edits. A SimHash of a few shingles says little
        // (two short posts sharing half their words can land close), so
        // short posts are left to the shingle test below.
        if let Some((bits, e)) = (fp.shingles.len() >= MIN_SIMHASH_SHINGLES)
            .then(|| self.near(fp.simhash))
            .into_iter()
            .flatten()
            .filter(|(_, e)| e.provider == p && e.incident != NONE && live(e.incident).is_some())
            .min_by_key(|(bits, _)| *bits)
        {
            return Some((
                self.incidents[e.incident as usize].id.clone(),
                Link::NearDuplicate { bits },
            ));
        }
        // Partial copies, and posts that quote a complaint whole.
        let mut shared: FxHashMap<u32, usize> = FxHashMap::default();
        for s in &fp.shingles {
            // A word triple in many incidents is a stock phrase ("di rs
            // harapan"), no sign of a copy; skipping it bounds the work.
            for i in self
                .shingle_index
                .get(&shingle_key(p, *s), COMMON_SHINGLE)
                .into_iter()
                .flatten()
            {
                if live(i).is_some() {
                    *shared.entry(i).or_default() += 1;
                }
            }
        }
        let best = shared
            .iter()
            .filter(|(_, n)| **n >= MIN_SHARED)
            .map(|(i, n)| {
                let smaller = fp.shingles.len().min(self.incidents[*i as usize].shingles).max(1);
                (*i, *n as f32 / smaller as f32)
            })
            .filter(|(_, share)| *share >= MIN_SHARE)
            // Ties go the same way in every process, whatever the order
            // incidents were loaded in: to the smaller id.
            .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| self.id_of(b.0).cmp(self.id_of(a.0))));
        if let Some((i, share)) = best {
            return Some((self.incidents[i as usize].id.clone(), Link::Contains { share }));
        }
        // Summaries and translations: the same figures, the same complaint.
        let mut by_anchor: FxHashMap<u32, usize> = FxHashMap::default();
        for a in &fp.anchors {
            for i in self.anchor_index.get(a, usize::MAX).into_iter().flatten() {
                if live(i).is_some() {
                    *by_anchor.entry(i).or_default() += 1;
                }
            }
        }
        by_anchor
            .into_iter()
            .filter(|(i, n)| {
                let s = &self.incidents[*i as usize];
                let common = categories
                    .iter()
                    .filter(|c| specific(c) && s.categories.contains(c))
                    .count();
                *n >= 2 || common >= 2
            })
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| self.id_of(b.0).cmp(self.id_of(a.0))))
            .map(|(i, n)| (self.incidents[i as usize].id.clone(), Link::Anchors { shared: n }))
    }

    /// Adds a post's fingerprint (after `find`), as a member of `incident`
    /// when it belongs to one; `at` in Unix seconds.
    pub fn add(&mut self, provider: &str, author: &str, fp: &Fingerprint, at: i64, incident: Option<&str>) {
        self.now = self.now.max(at);
        let p = self.provider(provider);
        let incident = match incident {
            Some(id) => self.incident(id, p, fp, at),
            None => NONE,
        };
        let seq = self.base + self.entries.len() as u64;
        self.entries.push_back(Entry {
            simhash: fp.simhash,
            at,
            author: hash(author.as_bytes()),
            provider: p,
            incident,
        });
        for i in 0..4 {
            self.blocks[i].entry(block(fp.simhash, i)).or_default().push(seq);
        }
        self.prune();
    }

    /// Records an incident's categories (they grow as members join).
    pub fn set_categories(&mut self, incident: &str, categories: &[String]) {
        if let Some(i) = self.by_id.get(incident) {
            self.incidents[*i as usize].categories = categories.to_vec();
        }
    }

    fn incident(&mut self, id: &str, provider: u32, fp: &Fingerprint, at: i64) -> u32 {
        let i = match self.by_id.get(id) {
            Some(i) => *i,
            None => {
                let i = self.incidents.len() as u32;
                self.incidents.push(Sketch {
                    id: id.to_owned(),
                    provider,
                    ..Default::default()
                });
                self.by_id.insert(id.to_owned(), i);
                i
            }
        };
        let sketch = &mut self.incidents[i as usize];
        sketch.last_seen = sketch.last_seen.max(at);
        if sketch.sketched {
            // Only the first post's text speaks for the complaint: members'
            // words would let unrelated posts creep in through them.
            return i;
        }
        sketch.sketched = true;
        // Fingerprint shingles are unique already.
        for s in fp.shingles.iter().take(MAX_INCIDENT_SHINGLES) {
            self.shingle_index.push(shingle_key(provider, *s), i);
            sketch.shingles += 1;
        }
        sketch.anchors = fp.anchors.clone();
        for a in &fp.anchors {
            self.anchor_index.push(*a, i);
        }
        i
    }

    /// Drops what fell out of the window; the tables are swept of it every
    /// 4,096 entries dropped, and at least every eighth of a window.
    fn prune(&mut self) {
        let cutoff = self.cutoff();
        let mut dropped = 0;
        while self.entries.front().is_some_and(|e| e.at < cutoff) {
            self.entries.pop_front();
            self.base += 1;
            dropped += 1;
        }
        let due = self.now.saturating_sub(self.swept) >= self.window / 8;
        if dropped > 0 && (self.base % 4096 < dropped || due) {
            self.swept = self.now;
            let base = self.base;
            for table in &mut self.blocks {
                table.retain(|_, seqs| {
                    seqs.retain(|s| *s >= base);
                    !seqs.is_empty()
                });
            }
            // Incidents quiet for a whole window: their sketches go (the
            // slot stays, emptied, so that other incidents keep their index).
            let stale: Vec<bool> = self.incidents.iter().map(|s| s.last_seen < cutoff).collect();
            self.shingle_index.retain(|i| !stale[i as usize]);
            self.anchor_index.retain(|i| !stale[i as usize]);
            for (sketch, stale) in self.incidents.iter_mut().zip(&stale) {
                if *stale && !sketch.id.is_empty() {
                    self.by_id.remove(&sketch.id);
                    *sketch = Sketch {
                        last_seen: sketch.last_seen,
                        ..Default::default()
                    };
                }
            }
        }
    }

    /// Bytes of memory per fingerprint, roughly: the entry and its four
    /// block-table slots (for the README's figure).
    pub const BYTES_PER_FINGERPRINT: usize = std::mem::size_of::<Entry>() + 4 * std::mem::size_of::<u64>();
}

#[cfg(test)]
mod tests;
