//! earshot: a social-listening stream processor for hospitals and clinics.
//!
//! Posts from social networks, review sites, patient forums and mailing
//! lists are normalized into one `Post` type, filtered, scored for patient
//! dissatisfaction, grouped into incidents, and delivered as CRM tickets and
//! alerts for the patient-relations team, without losing or repeating one.
//!
//! # Layout
//!
//! - [`cli`]: the commands (`run`, `replay`, `score`, `rules check|test`,
//!   `config check`, `tickets list`, `incidents list|show|ack|resolve`,
//!   `outbox dead|retry`, `eval`, `lexicon learn`) and exit codes.
//! - [`config`]: TOML → validated [`config::Config`]; every error at once, at file:line:col.
//! - [`diag`]: located diagnostics shared by config and rule packs.
//! - [`post`]: [`post::Post`], the one post type; [`post::Envelope`] and [`post::Ack`],
//!   which carry a post's source position to the commit, and [`post::PostChange`]
//!   (a post deleted or edited after it was read).
//! - [`email`]: MIME decoding (mail-parser); forwards and quotes taken apart into
//!   the innermost original, the comments each hop added, and the hops.
//! - [`dedup`]: fingerprints (SimHash, word 3-grams, figures) and the
//!   near-duplicate index that finds the incident a post belongs to.
//! - [`model`]: scores, incidents, tickets and alerts (with `schema_version`).
//! - [`text`]: folding, a post's words, the vocabulary that numbers them once
//!   per post, and phrases of whole words found by those numbers.
//! - [`sources`]: connectors; [`sources::replay`] reads JSON lines (and raw MIME),
//!   [`sources::mbox`] mailing-list archives, [`sources::imap`] mailing-list
//!   mailboxes (read-only, IDLE), [`sources::hyperkitty`] Mailman 3 archives,
//!   [`sources::discourse`] forum posts,
//!   [`sources::feed`] RSS and Atom, [`sources::mastodon`] hashtag timelines,
//!   searches and mentions, polled or streamed (deletes and edits recorded),
//!   [`sources::reddit`] subreddit posts and comments, [`sources::bluesky`] post
//!   search, [`sources::jetstream`] Bluesky's firehose, [`sources::kafka`] a
//!   posts topic as a consumer-group member, [`sources::webhook`] pushed posts
//!   (generic and the Meta page webhook), answered only once durable.
//! - [`stages`]: normalize (forwards and quotes unwrapped), then the engine
//!   reads (language, relevance) and scores, then spam (all stateless, off the
//!   committer's thread); then incident growth and alert policy (in the
//!   committer).
//! - [`sentiment`]: English (VADER-style) and Indonesian (learned lexicon) sentiment;
//!   `learn` fits the Indonesian lexicon.
//! - [`rules`]: rule packs: format, checks, one-pass compiled matching, embedded tests.
//! - [`scoring`]: the engine: reads a post (word numbers, language, provider
//!   mentions), then sentiment + rules + reach → risk and severity, with reasons.
//! - [`score_cmd`]: the `earshot score` contract (JSON lines in and out, `--explain`).
//! - [`reload`]: rule pack hot reload on change and SIGHUP.
//! - [`retry`]: jitter, `Retry-After`, the HTTP client connectors share.
//! - [`eval`]: accuracy figures over labelled data.
//! - [`commit`]: one SQLite transaction per batch: spam repeats, near-duplicates,
//!   incidents, fingerprints, tickets, outbox, cursors.
//! - [`state`]: the SQLite file, its migrations, cursors, incidents and their audit
//!   trail, fingerprints, tickets, outbox.
//! - [`sinks`]: one delivery worker per sink drains the outbox (retries, dead letters):
//!   console, JSON lines, SQLite export, HTTP (generic, Zendesk, FHIR Task, Slack), Kafka.
//! - [`topology`]: wires it all with bounded channels, for the role asked
//!   (`run --role all|ingest|process`); graceful shutdown.
//! - [`group`]: earshot past one machine: the ingest role (sources → the
//!   posts topic, keyed by provider; a post's later deletion or edit
//!   follows it to its partition), the process role (a consumer-group
//!   member), and the changelog topic that carries each partition's
//!   incidents and fingerprints to whichever member holds it (loaded on
//!   assignment; flushed, then dropped, on revocation).
//! - [`metrics`]: Prometheus counters and histograms, `/metrics` and `/healthz`.

pub mod cli;
pub mod commit;
pub mod config;
pub mod dedup;
pub mod diag;
pub mod email;
pub mod eval;
pub mod group;
pub mod metrics;
pub mod model;
pub mod post;
pub mod reload;
pub mod retry;
pub mod rules;
pub mod score_cmd;
pub mod scoring;
pub mod sentiment;
pub mod sinks;
pub mod sources;
pub mod stages;
pub mod state;
pub mod text;
pub mod topology;
