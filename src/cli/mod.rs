//! The command line: parsing (clap) and one function per command. Exit
//! codes: 0 ok, 1 runtime failure, 2 bad config or usage.

use crate::config::Config;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

mod records;
pub use records::*;

#[derive(Debug, Parser)]
#[command(
    name = "earshot",
    version,
    about = "Social listening for hospitals and clinics: catches patient complaints early and turns them into alerts and CRM tickets.",
    after_help = "Exit codes: 0 ok, 1 runtime failure, 2 bad config or usage.\n\
                  Without --config, earshot reads ./config/earshot.toml when it exists, else its built-in default."
)]
pub struct Cli {
    /// Log format on standard error (RUST_LOG sets the level, default info).
    #[arg(long, value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline: read the sources, score, commit, deliver. Exits after
    /// draining when every source is finite; Ctrl-C or SIGTERM stops gracefully.
    Run {
        /// Config file (default: ./config/earshot.toml, else built-in).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// This process's part: `ingest` (sources → posts topic), `process`
        /// (a consumer-group member: posts topic → tickets), or `all`.
        /// ingest and process need the config's [group] section.
        #[arg(long, value_enum, default_value_t = crate::group::Role::All)]
        role: crate::group::Role,
    },
    /// Run the whole pipeline over a file of posts (the `earshot score`
    /// input format, plus `created_at`) and write every ticket version as a
    /// JSON line. No network; a fresh state unless --state is given.
    Replay {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Where the ticket versions go (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Keep the state in this file (default: a temporary one, removed after).
        #[arg(long)]
        state: Option<PathBuf>,
        /// JSON lines, one post each.
        input: PathBuf,
    },
    /// Inspect configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Inspect the tickets in the state file.
    #[command(subcommand)]
    Tickets(TicketsCommand),
    /// The incidents in the state file: list, show, acknowledge, resolve.
    #[command(subcommand)]
    Incidents(IncidentsCommand),
    /// What sinks refused for good (dead letters), and sending it again.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Score posts: JSON lines on stdin → one JSON line each on stdout; or
    /// score the TEXT arguments (with --explain: a readable breakdown).
    Score {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Add the reasons: rules, lexicon terms, reach, floors.
        #[arg(long)]
        explain: bool,
        /// Texts to score instead of reading stdin.
        text: Vec<String>,
    },
    /// Check and test rule packs.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Accuracy figures over labelled data (e.g. ../shared/data).
    Eval {
        /// Folder with smsa/, nusax/ and nhs/.
        #[arg(long, default_value = "../shared/data")]
        data: PathBuf,
        /// Labelled posts about the default config's providers.
        #[arg(long, default_value = "fixtures/eval/hospital-posts.jsonl")]
        hospital: PathBuf,
        /// One JSON object per figure.
        #[arg(long)]
        json: bool,
    },
    /// Build lexicons from labelled data.
    #[command(subcommand)]
    Lexicon(LexiconCommand),
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Report every problem in the packs at file:line:col (exit 2 if any).
    Check {
        /// Directory of *.toml packs (default: ./rules, else the built-in packs).
        dir: Option<PathBuf>,
    },
    /// Run every rule's embedded tests, expected against got (exit 1 if any fails).
    Test {
        /// Directory of *.toml packs (default: ./rules, else the built-in packs).
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LexiconCommand {
    /// Learn the Indonesian lexicon's weights from SmSA and NusaX train.
    Learn {
        /// Folder with smsa/train.tsv and nusax/indonesian/train.csv.
        #[arg(long, default_value = "../shared/data")]
        data: PathBuf,
        /// Where to write it; rebuild earshot afterwards to build it in.
        #[arg(long, default_value = "rules/lexicons/id-learned.tsv")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config and report every problem with its file:line:col.
    Check {
        /// Config file (default: ./config/earshot.toml, else built-in).
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// Incidents, latest activity first.
    List {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Which: active (open or acknowledged), open, acknowledged, resolved, all.
        #[arg(long, value_enum, default_value_t = StatusFilter::Active)]
        status: StatusFilter,
        /// One JSON incident per line instead of a table.
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One incident: its posts, how it spread, its audit trail.
    Show {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The incident id (inc-…).
        id: String,
        /// The incident and its audit trail as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge an incident: someone is on it.
    Ack(ActArgs),
    /// Resolve an incident: emits a ticket version with status `resolved`.
    /// New posts of the same complaint reopen it.
    Resolve(ActArgs),
}

/// Who does what to which incident.
#[derive(Debug, clap::Args)]
pub struct ActArgs {
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// The incident id (inc-…).
    pub id: String,
    /// Who acts (recorded in the audit trail).
    #[arg(long)]
    pub by: String,
    #[arg(long)]
    pub comment: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Rows a sink refused for good (a CRM's 4xx), with its answer.
    Dead {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Puts refused rows back in their sink's queue (all, or those of
    /// --sink, or the KEYs given); `earshot run` sends them again.
    Retry {
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[arg(long)]
        sink: Option<String>,
        /// Outbox keys (`inc-…#version`), as `outbox dead` lists them.
        keys: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFilter {
    Active,
    Open,
    Acknowledged,
    Resolved,
    All,
}

#[derive(Debug, Subcommand)]
pub enum TicketsCommand {
    /// List ticket versions, oldest first.
    List {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// One JSON ticket per line instead of a table.
        #[arg(long)]
        json: bool,
        /// At most this many.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
}

/// A failed command and the exit code it means.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Config(#[from] crate::config::ConfigErrors),
    #[error(transparent)]
    Run(#[from] crate::topology::RunError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Data(#[from] crate::eval::DataError),
    #[error("{0}")]
    RulesFailed(String),
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Usage(_) => 2,
            CliError::Run(crate::topology::RunError::Rules(_)) => 2,
            _ => 1,
        }
    }
}

pub fn config_check(file: Option<PathBuf>) -> Result<String, CliError> {
    let config = Config::load(file.as_deref())?;
    config.check_paths()?;
    Ok(format!(
        "{}: ok ({} providers, {} sources, {} sinks)",
        config.origin,
        config.providers.len(),
        config.sources.len(),
        config.sinks.len()
    ))
}

pub async fn run(config: Option<PathBuf>, role: crate::group::Role) -> Result<(), CliError> {
    let config = Config::load(config.as_deref())?;
    config.check_paths()?;
    if config.sources.is_empty() && role != crate::group::Role::Process {
        return Err(CliError::Config(crate::config::ConfigErrors(vec![
            crate::config::ConfigError {
                at: None,
                message: format!("{}: no sources to read", config.origin),
                hint: Some("add a [[sources]] table; config/earshot.toml shows one".into()),
            },
        ])));
    }
    tracing::info!(config = %config.origin, sources = config.sources.len(), sinks = config.sinks.len(), "earshot starting");
    let stop = CancellationToken::new();
    tokio::spawn(stop_on_signal(stop.clone()));
    crate::topology::run(config, role, stop).await?;
    Ok(())
}

/// `earshot replay`: the config's providers, rules and policies; the input
/// file as the only (lenient) source; ticket versions to `out` or standard
/// output; a temporary state unless one is named.
pub async fn replay(
    config: Option<PathBuf>,
    out: Option<PathBuf>,
    state: Option<PathBuf>,
    input: PathBuf,
) -> Result<(), CliError> {
    use crate::config::{JsonlConfig, Records, ReplayConfig, SinkConfig, SinkKind, SourceConfig, SourceKind};
    let mut config = Config::load(config.as_deref())?;
    if !input.is_file() {
        return Err(CliError::Config(crate::config::ConfigErrors(vec![
            crate::config::ConfigError {
                at: None,
                message: format!("{}: no such file", input.display()),
                hint: Some("pass a JSON lines file of posts".into()),
            },
        ])));
    }
    let here = crate::diag::Location {
        file: "<earshot replay>".into(),
        line: 0,
        col: 0,
    };
    config.sources = vec![SourceConfig {
        name: "replay".into(),
        at: here.clone(),
        kind: SourceKind::Replay(ReplayConfig {
            path: input,
            rate: 0.0,
            channel: "replay".into(),
            lenient: true,
        }),
    }];
    config.sinks = vec![SinkConfig {
        name: "replay-out".into(),
        at: here,
        kind: SinkKind::Jsonl(JsonlConfig {
            path: out.unwrap_or_else(|| PathBuf::from("-")),
            records: Records::Tickets,
            teams: Vec::new(),
        }),
    }];
    config.metrics.listen = None;
    let temp = tempfile::tempdir()?;
    config.state.path = state.unwrap_or_else(|| temp.path().join("replay.db"));
    let stop = CancellationToken::new();
    tokio::spawn(stop_on_signal(stop.clone()));
    crate::topology::run(config, crate::group::Role::All, stop).await?;
    Ok(())
}

async fn stop_on_signal(stop: CancellationToken) {
    let terminate = async {
        #[cfg(unix)]
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("stop requested: draining (press Ctrl-C again to quit at once)");
    stop.cancel();
    if tokio::signal::ctrl_c().await.is_ok() {
        std::process::exit(130);
    }
}

pub fn eval(data: PathBuf, hospital: PathBuf, json: bool) -> Result<String, CliError> {
    let model = crate::sentiment::SentimentModel::builtin();
    let config = Config::parse(crate::config::BUILTIN, crate::config::BUILTIN_ORIGIN)?;
    let engine = crate::scoring::Engine::from_config(&config)?;
    let mut figures = crate::eval::figures(
        &data,
        |text, lang| model.analyze_with(text, Some(lang), false).score,
        |text| engine.identify_language(text),
    )?;
    let scorer = crate::score_cmd::Scorer::new(&config, engine);
    figures.extend(crate::eval::hospital(&hospital, |text| {
        let scored = scorer.score_with(crate::score_cmd::plain_post(text), false);
        (scored.post.provider.map(|m| m.id), scored.score.severity)
    })?);
    let mut out = String::new();
    for f in figures {
        if json {
            out.push_str(&serde_json::to_string(&f).expect("figures serialize"));
            out.push('\n');
        } else {
            out.push_str(&format!("{:<34} {:>7.4}   (n = {})\n", f.name, f.value, f.n));
        }
    }
    Ok(out)
}

pub fn lexicon_learn(data: PathBuf, out: PathBuf) -> Result<String, CliError> {
    let mut examples = crate::eval::smsa(&data.join("smsa/train.tsv"))?;
    let nusax = crate::eval::nusax(&data.join("nusax/indonesian/train.csv"))?;
    let n_smsa = examples.len();
    examples.extend(nusax.into_iter().map(|(_, e)| e));
    let model = crate::sentiment::SentimentModel::builtin();
    let provenance = format!(
        "learned from IndoNLU SmSA train ({n_smsa} rows, Apache-2.0) and NusaX-senti Indonesian train ({} rows, CC BY-SA 4.0)",
        examples.len() - n_smsa
    );
    let opts = crate::sentiment::learn::Options::default();
    let text = crate::sentiment::learn::learn(&examples, &model, &opts, &provenance);
    std::fs::write(&out, &text)?;
    Ok(format!(
        "{}: {} terms from {} examples; rebuild earshot to build them in\n",
        out.display(),
        text.lines().filter(|l| !l.starts_with('#')).count() - 1,
        examples.len()
    ))
}

fn rules_at(dir: Option<PathBuf>) -> Result<crate::rules::Rules, CliError> {
    let source = match dir {
        Some(d) => crate::config::RulesSource::Dir(d),
        None => crate::config::ScoringConfig::default().rules_source(),
    };
    Ok(crate::scoring::load_rules(&source)?)
}

pub fn rules_check(dir: Option<PathBuf>) -> Result<String, CliError> {
    let rules = rules_at(dir)?;
    Ok(format!("{}: ok ({} rules)\n", rules.origin, rules.rules.len()))
}

pub fn rules_test(dir: Option<PathBuf>) -> Result<String, CliError> {
    let rules = rules_at(dir)?;
    let report = crate::rules::testing::run(&rules);
    if report.failures.is_empty() {
        Ok(format!("{}: {report}\n", rules.origin))
    } else {
        Err(CliError::RulesFailed(format!("{}: {report}", rules.origin)))
    }
}

pub fn score(config: Option<PathBuf>, explain: bool, text: Vec<String>) -> Result<(), CliError> {
    let config = Config::load(config.as_deref())?;
    let engine = crate::scoring::Engine::from_config(&config)?;
    let scorer = crate::score_cmd::Scorer::new(&config, engine);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if text.is_empty() {
        let stdin = std::io::stdin();
        crate::score_cmd::run(&scorer, explain, stdin.lock(), out)?;
        return Ok(());
    }
    use std::io::Write;
    for (i, t) in text.iter().enumerate() {
        if explain {
            write!(out, "{}", crate::score_cmd::explain(&scorer, t))?;
        } else {
            let mut line = Vec::new();
            crate::score_cmd::text_line(&scorer, i + 1, t, &mut line);
            out.write_all(&line)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}
