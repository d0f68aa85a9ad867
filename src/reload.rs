//! Hot reload of rule packs while `earshot run` runs: on a change in the
//! rules directory (file watch) or on SIGHUP, the packs are read, checked
//! and tested; only a set that passes replaces the running one, between two
//! posts. A refused set is logged with its problems and counted, and the
//! running rules stay.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::rules::Rules;
use crate::scoring::Engine;
use arc_swap::ArcSwap;
use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Quiet time after a change before reading: editors write in several steps.
const SETTLE: Duration = Duration::from_millis(250);

/// Checks and tests the packs in `dir`; the engine to swap in, or why not.
pub fn candidate(dir: &Path, current: &Engine, config: &Config) -> Result<Engine, String> {
    let rules = Rules::load_dir(dir).map_err(|d| d.to_string())?;
    let report = crate::rules::testing::run(&rules);
    if !report.failures.is_empty() {
        return Err(report.to_string());
    }
    Ok(Engine::new(current.sentiment.clone(), rules, config))
}

/// Watches `dir` and SIGHUP until `stop`; swaps `engine` on each good change.
pub fn spawn(
    dir: PathBuf,
    engine: Arc<ArcSwap<Engine>>,
    config: Config,
    metrics: Metrics,
    stop: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, notify::Error> {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let watch_tx = tx.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            // Full means a reload is already pending: nothing is lost.
            let _ = watch_tx.try_send(());
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(tokio::spawn(async move {
        let _watcher = watcher; // lives as long as the task
        #[cfg(unix)]
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let sighup = async {
                match &mut hangup {
                    Some(h) => {
                        h.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let sighup = std::future::pending::<()>();
            let why = tokio::select! {
                _ = stop.cancelled() => return,
                Some(()) = rx.recv() => "change",
                () = sighup => "SIGHUP",
            };
            tokio::time::sleep(SETTLE).await;
            while rx.try_recv().is_ok() {}
            reload(&dir, &engine, &config, &metrics, why);
        }
    }))
}

fn reload(dir: &Path, engine: &ArcSwap<Engine>, config: &Config, metrics: &Metrics, why: &str) {
    let current = engine.load();
    match candidate(dir, &current, config) {
        Ok(next) => {
            let rules = next.rules.rules.len();
            engine.store(Arc::new(next));
            metrics.rule_reloads.with_label_values(&["ok"]).inc();
            tracing::info!(dir = %dir.display(), rules, trigger = why, "rule packs reloaded");
        }
        Err(problems) => {
            metrics.rule_reloads.with_label_values(&["refused"]).inc();
            tracing::error!(dir = %dir.display(), trigger = why, "rule packs refused; the running rules stay:\n{problems}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pack_that_fails_its_tests_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::parse(crate::config::BUILTIN, "t").unwrap();
        let current = Engine::from_config(&config).unwrap();
        let pack = |fires: bool| {
            format!(
                "[pack]\nid = \"p\"\n\n[[rules]]\nid = \"parking\"\nstatus = \"stable\"\nweight = 10\n\
                 [rules.match.p]\nkeywords = [\"parkir\"]\n\n[[rules.tests]]\ntext = \"parkir penuh\"\nfires = {fires}\n"
            )
        };
        std::fs::write(dir.path().join("p.toml"), pack(false)).unwrap();
        let refused = candidate(dir.path(), &current, &config).err().expect("its test fails");
        assert!(refused.contains("rule `parking` test 1"), "{refused}");
        std::fs::write(dir.path().join("p.toml"), pack(true)).unwrap();
        let next = candidate(dir.path(), &current, &config).unwrap();
        assert_eq!(next.rules.rules.len(), 1);
        std::fs::write(dir.path().join("p.toml"), "[pack]\nid = \"p\"\n[[rules]]\nid = \n").unwrap();
        let broken = candidate(dir.path(), &current, &config).err().expect("a syntax error");
        assert!(broken.contains("p.toml:4:6"), "{broken}");
    }
}
