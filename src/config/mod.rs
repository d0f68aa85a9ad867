//! Configuration: TOML text → spanned document → typed, validated `Config`.
//!
//! Every section and every `[[table]]` entry is deserialized on its own, so
//! one mistake does not hide the next: `earshot config check` reports all of
//! them at once, each at file:line:col with a hint.

use std::path::{Path, PathBuf};

mod parse;
mod sections;
mod sinks;
mod sources;
pub use sections::*;
pub use sinks::*;
pub use sources::*;

/// The embedded default: the same text as `config/earshot.toml`.
pub const BUILTIN: &str = include_str!("../../config/earshot.toml");
pub const BUILTIN_ORIGIN: &str = "<built-in default>";
/// Looked for in the working directory when no `--config` is given.
pub const DEFAULT_PATH: &str = "config/earshot.toml";

#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from, or `<built-in default>`.
    pub origin: String,
    pub providers: Vec<Provider>,
    pub sources: Vec<SourceConfig>,
    pub sinks: Vec<SinkConfig>,
    pub state: StateConfig,
    pub metrics: MetricsConfig,
    pub pipeline: PipelineConfig,
    pub risk: RiskConfig,
    pub scoring: ScoringConfig,
    pub incidents: IncidentsConfig,
    pub spam: SpamConfig,
    pub tickets: TicketsConfig,
    pub alerts: AlertsConfig,
    /// `[group]`: needed by `run --role ingest|process` only.
    pub group: Option<GroupConfig>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    pub id: String,
    pub names: Vec<String>,
    pub handles: Vec<String>,
    pub hashtags: Vec<String>,
    /// Phrases in which a name does not mean this provider ("toko harapan
    /// sehat", "lagu harapan sehat"): a mention inside one does not count.
    pub exclude: Vec<String>,
}

pub use crate::diag::{Diagnostic as ConfigError, Diagnostics as ConfigErrors, Location};

impl Config {
    /// `--config FILE`, else `./config/earshot.toml` when present, else the
    /// built-in default.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigErrors> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None if Path::new(DEFAULT_PATH).is_file() => PathBuf::from(DEFAULT_PATH),
            None => return Config::parse(BUILTIN, BUILTIN_ORIGIN),
        };
        let origin = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text, &origin),
            Err(e) => Err(ConfigErrors(vec![ConfigError {
                at: None,
                message: format!("cannot read config {origin}: {e}"),
                hint: Some("pass an existing file with --config, or omit it to use the default".into()),
            }])),
        }
    }

    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
        parse::parse(text, origin)
    }

    /// Checks that need the file system: the files sources read exist.
    pub fn check_paths(&self) -> Result<(), ConfigErrors> {
        let errors: Vec<ConfigError> = self
            .sources
            .iter()
            .flat_map(|s| s.kind.files().into_iter().map(move |(what, path)| (s, what, path)))
            .filter(|(_, _, path)| !path.exists())
            .map(|(s, what, path)| ConfigError {
                at: Some(s.at.clone()),
                message: format!("source `{}`: {what}{} does not exist", s.name, path.display()),
                hint: Some("paths are relative to the working directory".into()),
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

#[cfg(test)]
mod tests;
