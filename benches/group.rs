//! The consumer group's figures, through a real Kafka-protocol broker on
//! 127.0.0.1 (tansu, as `tests/run.sh` installs it) and the real binary:
//!
//! ```sh
//! cargo bench --bench group                 # 50,000 posts, 100,000 incidents
//! cargo bench --bench group -- 20000 10000  # fewer posts, fewer incidents
//! EARSHOT_BENCH_POSTS=posts.jsonl cargo bench --bench group  # the input only
//! ```
//!
//! - **A viral wave**: 10,000 copies of one complaint through one process
//!   (each joins the same incident).
//! - **Throughput**: synthetic posts (serious complaints, other posts about
//!   eight providers, posts about none) through `run --role ingest`, the
//!   posts topic and one, then two, `run --role process` members writing
//!   tickets to a CRM topic: posts/s from the start of ingest until the
//!   group's committed offsets reach the end of the posts topic (each post
//!   durable in the state topic, its tickets released).
//! - **Latency**: posts at a steady rate through ingest and two members; for
//!   each ticket version, from the moment the ingest role read its newest
//!   post (`captured_at`) until a CRM consumer reads it from the ticket
//!   topic, which is after the broker acknowledged it: p50, p99.
//! - **Rebuild**: copies of a demo incident (its audit trail, ticket
//!   version, outbox rows, and its posts' fingerprints) in one partition of
//!   the state topic: the time to read them and to load them into SQLite and
//!   the near-duplicate index, as a member does when it is assigned that
//!   partition.

#[allow(dead_code)]
#[path = "../tests/common/broker.rs"]
mod broker;

use broker::{Broker, create_topic_named, metric};
use earshot::commit::{Committer, Processed};
use earshot::group::{Control, Owners, changelog};
use earshot::post::Envelope;
use earshot::state::{IncidentRows, State};
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Partitions of the posts topic: each of two members owns two.
const PARTITIONS: i32 = 4;
const GROUP: &str = "earshot-process";

const PROVIDERS: &[(&str, &str)] = &[
    ("rs-harapan-sehat", "RS Harapan Sehat"),
    ("klinik-medika-utama", "Klinik Medika Utama"),
    ("rs-bunda-kasih", "RS Bunda Kasih"),
    ("rs-mitra-sejati", "RS Mitra Sejati"),
    ("klinik-sentosa-prima", "Klinik Sentosa Prima"),
    ("rs-permata-hati", "RS Permata Hati"),
    ("st-lukas-hospital", "St Lukas Hospital"),
    ("rs-citra-husada", "RS Citra Husada"),
];

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let posts = args.first().copied().unwrap_or(50_000);
    let incidents = args.get(1).copied().unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("posts.jsonl");
        std::fs::write(&input, synthetic(posts)).unwrap();

        if let Some(keep) = std::env::var_os("EARSHOT_BENCH_POSTS") {
            // The input alone, to profile `earshot run` on it.
            std::fs::copy(&input, &keep).unwrap();
            return;
        }

        let (single, single_tickets) = single_process(dir.path(), &input, "single");
        println!(
            "single process (--role all), no broker: {posts} posts in {single:.2} s = {:.0} posts/s \
             ({single_tickets} ticket versions)",
            posts as f64 / single
        );
        // A viral wave: one complaint copied and forwarded by thousands.
        let viral = dir.path().join("viral.jsonl");
        std::fs::write(&viral, viral_wave(10_000)).unwrap();
        let (secs, tickets) = single_process(dir.path(), &viral, "viral");
        println!(
            "single process, a viral wave of 10000 copies of one complaint: {secs:.2} s = {:.0} posts/s \
             ({tickets} ticket versions)",
            10_000.0 / secs
        );

        for members in [1, 2] {
            let (secs, ingest_secs, tickets) = throughput(dir.path(), &input, members, single_tickets).await;
            println!(
                "group, {members} process member(s): {posts} posts in {secs:.2} s = {:.0} posts/s end to end \
                 (ingest alone {:.0} posts/s; {tickets} ticket messages)",
                posts as f64 / secs,
                posts as f64 / ingest_secs
            );
        }
        let (n, p50, p99, max) = latency(dir.path(), 200.0, 30).await;
        println!(
            "latency at 200 posts/s, 2 members, {n} ticket versions: p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms"
        );
        let (read, apply, bytes) = rebuild(dir.path(), incidents).await;
        let per = 100_000.0 / incidents as f64;
        println!(
            "rebuild of {incidents} incidents ({:.0} MB of records): read {read:.2} s + load {apply:.2} s \
             = {:.2} s per 100,000 incidents",
            bytes as f64 / 1e6,
            (read + apply) * per
        );
    });
}

/// A small deterministic generator (splitmix64): the same posts every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const COMPLAINTS_EN: &[&str] = &[
    "{p} ER: we waited {n} hours with my {r}, nobody came. No doctor, no apology.",
    "My {r} was misdiagnosed at {p} and nearly died. I am talking to a lawyer.",
    "{p} refused to give us my {r}'s medical records after {n} requests.",
    "The specialist at {p} never came to see my {r} for {n} days. Negligent and dangerous.",
    "{p} turned my {r} away from the emergency room. Disgusting, we will report them.",
];
const COMPLAINTS_ID: &[&str] = &[
    "{p} salah diagnosa, {r} saya hampir meninggal. Saya akan lapor polisi.",
    "Kecewa berat dengan {p}, {r} saya ditelantarkan {n} jam di IGD tanpa dokter.",
    "{p} menolak memberikan rekam medis {r} saya, sudah {n} kali minta.",
    "Dokter {p} tidak datang visit {n} hari, {r} saya dibiarkan kesakitan. Tidak manusiawi!",
    "{p} menolak pasien BPJS, {r} saya disuruh bayar {n} juta. Viralkan!",
];
const OTHERS: &[&str] = &[
    "Thanks {p}, the nurses were kind to my {r} today.",
    "Does {p} have a pediatric dentist on weekends?",
    "Parking at {p} took {n} minutes this morning.",
    "Perawat di {p} ramah, {r} saya cepat ditangani. Terima kasih!",
    "Jam besuk {p} hari Minggu sampai jam berapa ya?",
    "Antre di farmasi {p} lumayan lama, {n} menit, tapi petugasnya sopan.",
];
const ELSEWHERE: &[&str] = &[
    "Macet parah di tol dalam kota, {n} menit nggak gerak.",
    "Best nasi goreng in town is behind the station, {n} thousand rupiah.",
    "Lagu baru band indie Bogor enak banget, sudah {n} kali diputar.",
];
const RELATIVES: &[&str] = &[
    "father",
    "mother",
    "son",
    "daughter",
    "wife",
    "husband",
    "grandmother",
    "ayah",
    "ibu",
    "anak",
    "istri",
    "suami",
    "nenek",
    "kakek",
    "adik",
];
/// Details that make each complaint its own story (not a near-duplicate).
const DETAILS: &[&str] = &[
    "The ward smelled of urine.",
    "Nobody answered the call button at night.",
    "She was left on a trolley in the corridor.",
    "The nurse shouted at us in front of everyone.",
    "Billing charged us twice for the same lab test.",
    "The pharmacy gave the wrong dose.",
    "Security pushed my brother out of the building.",
    "We asked for the head of the ward and waited all afternoon.",
    "Kamarnya kotor dan AC mati.",
    "Petugas pendaftaran membentak kami.",
    "Hasil lab hilang dua kali.",
    "Obatnya habis dan kami disuruh beli di luar.",
    "Satpam mengusir keluarga yang menunggu.",
    "Tidak ada yang menjelaskan diagnosanya.",
    "Tagihannya naik tanpa penjelasan.",
    "Kami sudah menulis ke manajemen tapi tidak dibalas.",
];

/// `n` posts, one a second: 2 in 10 serious complaints (each its own
/// story), 5 in 10 other posts about a provider, 3 in 10 about none.
fn synthetic(n: usize) -> String {
    let mut rng = Rng(20261201);
    let mut out = String::with_capacity(n * 300);
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z").unwrap();
    for i in 0..n {
        let (_, name) = PROVIDERS[rng.below(PROVIDERS.len())];
        let template = match i % 10 {
            0 => rng.pick(COMPLAINTS_EN),
            1 => rng.pick(COMPLAINTS_ID),
            2..=6 => rng.pick(OTHERS),
            _ => rng.pick(ELSEWHERE),
        };
        let mut text = template
            .replace("{p}", name)
            .replace("{r}", rng.pick(RELATIVES))
            .replace("{n}", &(2 + rng.below(40)).to_string());
        if i % 10 < 2 {
            for _ in 0..3 {
                text.push(' ');
                text.push_str(rng.pick(DETAILS));
            }
            text.push_str(&format!(" Case {}-{}.", rng.below(100_000), i));
        }
        let post = serde_json::json!({
            "id": format!("b-{i}"),
            "channel": if i % 3 == 0 { "reddit" } else { "mastodon" },
            "author": format!("@user{}", rng.below(20_000)),
            "followers": rng.below(5_000),
            "created_at": (start + chrono::Duration::seconds(i as i64)).to_rfc3339(),
            "text": text,
            "url": format!("https://social.example/@u/{i}"),
        });
        out.push_str(&post.to_string());
        out.push('\n');
    }
    out
}

/// `n` posts of one complaint, every other one forwarded with a plea,
/// each by its own author, five seconds apart.
fn viral_wave(n: usize) -> String {
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z").unwrap();
    let text = "RS Harapan Sehat salah diagnosa, ibu saya hampir meninggal. Dokter tidak datang \
                visit dua hari dan rekam medis ditolak. Saya akan lapor polisi.";
    let mut out = String::new();
    for i in 0..n {
        let text = if i % 2 == 0 {
            text.to_owned()
        } else {
            format!("Fwd: {text} Tolong sebarkan.")
        };
        let post = serde_json::json!({
            "id": format!("v-{i}"),
            "channel": "mastodon",
            "author": format!("@u{i}"),
            "followers": 100,
            "created_at": (start + chrono::Duration::seconds(5 * i as i64)).to_rfc3339(),
            "text": text,
        });
        out.push_str(&post.to_string());
        out.push('\n');
    }
    out
}

fn providers_toml() -> String {
    PROVIDERS
        .iter()
        .map(|(id, name)| format!("[[providers]]\nid = \"{id}\"\nnames = [\"{name}\"]\n\n"))
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn earshot(args: &[&str], config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_earshot"));
    c.env("RUST_LOG", "warn").args(args).arg("--config").arg(config);
    c
}

/// A config file in a fresh directory under `dir`.
fn config(dir: &Path, name: &str, body: &str) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    let path = d.join("earshot.toml");
    let text = format!(
        "{}{body}\n[state]\npath = \"{}\"\n",
        providers_toml(),
        d.join("state.db").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn replay(input: &Path, rate: f64) -> String {
    format!(
        "[[sources]]\ntype = \"replay\"\nname = \"bench\"\npath = \"{}\"\nrate = {rate}\n\n",
        input.display()
    )
}

fn group_toml(broker: &Broker) -> String {
    format!(
        "[group]\nbrokers = \"{}\"\nsession_timeout_secs = 6\nflush_secs = 10\n\n",
        broker.addr
    )
}

/// Seconds for `earshot run` (one process, no broker) over `input`, with
/// a ticket file and an alert file, and the ticket versions it made.
fn single_process(dir: &Path, input: &Path, name: &str) -> (f64, i64) {
    let sinks = format!(
        "[[sinks]]\ntype = \"jsonl\"\nname = \"tickets\"\npath = \"{}\"\n\n[[sinks]]\ntype = \"jsonl\"\nname = \"alerts\"\npath = \"{}\"\nrecords = \"alerts\"\n",
        dir.join(format!("{name}-tickets.jsonl")).display(),
        dir.join(format!("{name}-alerts.jsonl")).display()
    );
    let path = config(dir, name, &format!("{}{sinks}", replay(input, 0.0)));
    let start = Instant::now();
    let out = earshot(&["run"], &path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let secs = start.elapsed().as_secs_f64();
    let tickets = std::fs::read_to_string(dir.join(format!("{name}-tickets.jsonl"))).unwrap();
    (secs, tickets.lines().count() as i64)
}

/// A process member writing tickets to `crm.tickets`; its metrics port.
fn member(dir: &Path, name: &str, broker: &Broker) -> (Child, u16) {
    let port = free_port();
    let body = format!(
        "{}[[sinks]]\ntype = \"kafka\"\nname = \"crm\"\nbrokers = \"{}\"\ntopic = \"crm.tickets\"\n\n\
         [[sinks]]\ntype = \"jsonl\"\nname = \"alerts\"\npath = \"{}\"\nrecords = \"alerts\"\n\n\
         [metrics]\nlisten = \"127.0.0.1:{port}\"\n",
        group_toml(broker),
        broker.addr,
        dir.join(format!("{name}-alerts.jsonl")).display()
    );
    let path = config(dir, name, &body);
    let child = earshot(&["run", "--role", "process"], &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, port)
}

/// A fresh broker with the posts and CRM topics, and `n` members holding
/// every partition between them.
async fn group(dir: &Path, n: usize, tag: &str) -> (Broker, Vec<Child>) {
    let broker = broker::broker();
    create_topic_named(&broker, "earshot.posts", PARTITIONS).await;
    create_topic_named(&broker, "crm.tickets", 3).await;
    let members: Vec<(Child, u16)> = (0..n)
        .map(|i| member(dir, &format!("{tag}-member{i}"), &broker))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut held = Vec::new();
        for (_, port) in &members {
            held.push(metric(*port, "earshot_group_partitions").await);
        }
        if held.iter().sum::<f64>() == PARTITIONS as f64 && held.iter().all(|h| *h > 0.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the members did not share the partitions: {held:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (broker, members.into_iter().map(|(c, _)| c).collect())
}

fn stop(members: Vec<Child>) {
    for mut m in members {
        let _ = Command::new("kill").args(["-TERM", &m.id().to_string()]).status();
        let _ = m.wait();
    }
}

fn ingest(dir: &Path, name: &str, broker: &Broker, input: &Path, rate: f64) -> Child {
    let path = config(dir, name, &format!("{}{}", replay(input, rate), group_toml(broker)));
    earshot(&["run", "--role", "ingest"], &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Offsets the group has committed on the posts topic, summed.
fn committed(broker: &Broker) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .set("group.id", GROUP)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition("earshot.posts", p);
    }
    let offsets = consumer.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    offsets
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some(o),
            _ => None,
        })
        .sum()
}

/// Records in `topic`, counted by reading it to its end: the test broker
/// reports a partition's high watermark as the start of its last batch.
fn count(broker: &Broker, topic: &str, partitions: i32) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .set("group.id", "bench-counter")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let (mut records, mut ended) = (0, std::collections::HashSet::new());
    while ended.len() < partitions as usize {
        match consumer.poll(Duration::from_secs(5)) {
            Some(Ok(_)) => records += 1,
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                ended.insert(p);
            }
            _ => {}
        }
    }
    records
}

/// (seconds end to end, seconds for ingest alone, ticket messages), once
/// the CRM topic holds `expected_tickets`.
async fn throughput(dir: &Path, input: &Path, n: usize, expected_tickets: i64) -> (f64, f64, i64) {
    let (broker, members) = group(dir, n, &format!("throughput{n}")).await;
    let start = Instant::now();
    let mut child = ingest(dir, &format!("throughput{n}-ingest"), &broker, input, 0.0);
    assert!(child.wait().unwrap().success(), "ingest failed");
    let ingest_secs = start.elapsed().as_secs_f64();
    let b = &broker;
    let end = tokio::task::block_in_place(|| count(b, "earshot.posts", PARTITIONS));
    while tokio::task::block_in_place(|| committed(b)) < end {
        assert!(start.elapsed() < Duration::from_secs(1800), "the group did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Then until the CRM topic holds as many tickets as the single process
    // made: released tickets are delivered after the offsets move.
    let mut tickets = 0;
    while tickets < expected_tickets {
        assert!(
            start.elapsed() < Duration::from_secs(1800),
            "the tickets did not all come"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        tickets = tokio::task::block_in_place(|| count(b, "crm.tickets", 3));
    }
    let secs = start.elapsed().as_secs_f64();
    stop(members);
    (secs, ingest_secs, tickets)
}

/// (ticket versions, p50, p99, max) in ms, posts fed at `rate` for `secs`.
async fn latency(dir: &Path, rate: f64, secs: usize) -> (usize, f64, f64, f64) {
    let input = dir.join("latency.jsonl");
    std::fs::write(&input, synthetic((rate as usize) * secs)).unwrap();
    let (broker, members) = group(dir, 2, "latency").await;
    let crm: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .set("group.id", "crm")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("fetch.wait.max.ms", "5")
        .create()
        .unwrap();
    crm.subscribe(&["crm.tickets"]).unwrap();
    // The CRM consumer joins before the first ticket can come.
    while crm.assignment().unwrap().count() == 0 {
        let _ = tokio::time::timeout(Duration::from_millis(200), crm.recv()).await;
    }
    let mut child = ingest(dir, "latency-ingest", &broker, &input, rate);
    let mut seen: HashMap<String, f64> = HashMap::new();
    let mut quiet = Instant::now();
    loop {
        match tokio::time::timeout(Duration::from_millis(500), crm.recv()).await {
            Ok(Ok(m)) => {
                let now = chrono::Utc::now();
                quiet = Instant::now();
                let ticket: Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
                let key = format!("{}#{}", ticket["ticket_id"].as_str().unwrap(), ticket["version"]);
                let newest = ticket["posts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|p| chrono::DateTime::parse_from_rfc3339(p["captured_at"].as_str()?).ok())
                    .max()
                    .unwrap();
                let ms = (now - newest.with_timezone(&chrono::Utc)).num_microseconds().unwrap() as f64 / 1000.0;
                seen.entry(key).or_insert(ms);
            }
            _ => {
                if child.try_wait().unwrap().is_some() && quiet.elapsed() > Duration::from_secs(5) {
                    break;
                }
            }
        }
    }
    stop(members);
    let mut ms: Vec<f64> = seen.into_values().collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1];
    (ms.len(), at(0.50), at(0.99), *ms.last().unwrap())
}

/// (seconds to read, seconds to load, bytes of records) for `n` incidents
/// in partition 0 of the state topic.
async fn rebuild(dir: &Path, n: usize) -> (f64, f64, usize) {
    // A template: the demo's smallest incident with a ticket.
    let demo = config(
        dir,
        "demo",
        &format!(
            "{}[[sinks]]\ntype = \"jsonl\"\nname = \"tickets\"\npath = \"{}\"\n",
            replay(&repo().join("fixtures/demo/stream.jsonl"), 0.0),
            dir.join("demo-tickets.jsonl").display()
        ),
    );
    let out = earshot(&["run"], &demo).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let state = State::open(&dir.join("demo/state.db")).unwrap();
    let template: IncidentRows = state
        .incidents()
        .unwrap()
        .iter()
        .filter_map(|i| state.incident_rows(&i.id).unwrap())
        .filter(|r| !r.tickets.is_empty())
        .min_by_key(|r| serde_json::to_string(r).unwrap().len())
        .unwrap();
    let members: Vec<_> = template
        .incident
        .post_ids
        .iter()
        .filter_map(|p| state.post_row(p).unwrap())
        .collect();

    let broker = broker::broker();
    create_topic_named(&broker, "earshot.posts", PARTITIONS).await;
    let config_path = config(dir, "rebuild", &group_toml(&broker));
    let config = earshot::config::Config::load(Some(&config_path)).unwrap();
    let group = config.group.clone().unwrap();
    earshot::group::ensure_state_topic(&group).await.unwrap();
    let producer: FutureProducer = earshot::group::producer(&group).unwrap();
    let id = template.incident.id.clone();
    let provider = template.incident.provider.clone();
    let incident = serde_json::to_string(&changelog::Record::Incident(Box::new(template))).unwrap();
    let posts: Vec<(String, String)> = members
        .into_iter()
        .map(|row| {
            (
                row.post_id.clone(),
                serde_json::to_string(&changelog::Record::Post(row)).unwrap(),
            )
        })
        .collect();
    let mut bytes = 0;
    let mut pending = Vec::new();
    for i in 0..n {
        let copy = format!("{id}-{i}");
        let mut records = vec![(copy.clone(), incident.replace(&id, &copy))];
        for (post, body) in &posts {
            let p = format!("{post}-{i}");
            records.push((
                p.clone(),
                body.replace(&id, &copy)
                    .replace(&format!("\"{post}\""), &format!("\"{p}\"")),
            ));
        }
        for (key, body) in records {
            bytes += body.len();
            let key = earshot::group::key(&provider, &key);
            pending.push(
                producer
                    .send_result(
                        FutureRecord::to(&group.state_topic)
                            .partition(0)
                            .key(&key)
                            .payload(&body),
                    )
                    .map_err(|(e, _)| e)
                    .unwrap(),
            );
        }
        if pending.len() >= 10_000 {
            for r in pending.drain(..) {
                r.await.unwrap().unwrap();
            }
        }
    }
    for r in pending {
        r.await.unwrap().unwrap();
    }

    let start = Instant::now();
    let loaded = tokio::task::block_in_place(|| changelog::load(&group, 0, Duration::from_secs(1800))).unwrap();
    let read = start.elapsed().as_secs_f64();
    assert_eq!(loaded.incidents.len(), n, "every incident read back");
    let owners = Owners::default();
    let mut committer = Committer::for_group(
        State::open(&dir.join("rebuild/state.db")).unwrap(),
        &config,
        earshot::metrics::Metrics::new(),
        owners,
    )
    .unwrap();
    let envelope = Envelope::control(Control::Load {
        partition: 0,
        state: loaded,
    });
    let start = Instant::now();
    tokio::task::block_in_place(|| {
        committer
            .commit(vec![Processed {
                ack: envelope.ack,
                outcome: None,
                change: None,
                control: envelope.control,
            }])
            .unwrap()
    });
    let apply = start.elapsed().as_secs_f64();
    let state = State::open(&dir.join("rebuild/state.db")).unwrap();
    assert_eq!(state.incidents().unwrap().len(), n, "every incident loaded");
    (read, apply, bytes)
}
