use clap::Parser;
use earshot::cli::{
    self, Act, Cli, Command, ConfigCommand, IncidentsCommand, LexiconCommand, LogFormat, OutboxCommand, RulesCommand,
    TicketsCommand,
};
use std::process::ExitCode;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal, never in files or pipes.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let result = match cli.command {
        Command::Config(ConfigCommand::Check { file }) => cli::config_check(file).map(|msg| println!("{msg}")),
        Command::Tickets(TicketsCommand::List { config, json, limit }) => {
            cli::tickets_list(config, json, limit).map(|out| print!("{out}"))
        }
        Command::Incidents(IncidentsCommand::List {
            config,
            status,
            json,
            limit,
        }) => cli::incidents_list(config, status, json, limit).map(|out| print!("{out}")),
        Command::Incidents(IncidentsCommand::Show { config, id, json }) => {
            cli::incidents_show(config, id, json).map(|out| print!("{out}"))
        }
        Command::Incidents(IncidentsCommand::Ack(args)) => {
            cli::incidents_act(args, Act::Acknowledge).map(|out| print!("{out}"))
        }
        Command::Incidents(IncidentsCommand::Resolve(args)) => {
            cli::incidents_act(args, Act::Resolve).map(|out| print!("{out}"))
        }
        Command::Outbox(OutboxCommand::Dead { config, json }) => {
            cli::outbox_dead(config, json).map(|out| print!("{out}"))
        }
        Command::Outbox(OutboxCommand::Retry { config, sink, keys }) => {
            cli::outbox_retry(config, sink, keys).map(|out| print!("{out}"))
        }
        Command::Score { config, explain, text } => cli::score(config, explain, text),
        Command::Rules(RulesCommand::Check { dir }) => cli::rules_check(dir).map(|out| print!("{out}")),
        Command::Rules(RulesCommand::Test { dir }) => cli::rules_test(dir).map(|out| print!("{out}")),
        Command::Eval { data, hospital, json } => cli::eval(data, hospital, json).map(|out| print!("{out}")),
        Command::Lexicon(LexiconCommand::Learn { data, out }) => {
            cli::lexicon_learn(data, out).map(|msg| print!("{msg}"))
        }
        Command::Run { config, role } => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(cli::run(config, role)),
            Err(e) => Err(e.into()),
        },
        Command::Replay {
            config,
            out,
            state,
            input,
        } => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(cli::replay(config, out, state, input)),
            Err(e) => Err(e.into()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("earshot: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
