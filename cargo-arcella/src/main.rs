//! `cargo arcella`: scaffold, check, build, run and test WebAssembly components.
//!
//! This file parses, dispatches, and decides the exit code; the commands live
//! in [`commands`], the rendering of errors in [`cli::report`].

mod cli;
mod commands;
mod diagnostics;
mod outcome;
mod project;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    // Before the worker check: a worker serving HTTP writes its access log
    // to the stderr it shares with this process. The testkit's host (and
    // its workers) log only when asked: their stderr is the test's.
    if std::env::var_os(arcella_testkit::HOST_MODE_ENV).is_none()
        || std::env::var_os("ARCELLA_LOG").is_some()
    {
        init_logging();
    }
    // Worker isolation re-runs this executable as a worker; that run ends here.
    arcella_host::worker::run_if_worker();
    // `cargo arcella test` runs the tests' components in this executable, as
    // the testkit's host; that run ends here too.
    arcella_testkit::run_if_host();

    let cli = cli::Cli::parse_from(cli::arguments());
    let verbose = cli.verbose();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(cli::EXIT_FAILED);
        }
    };
    let result = runtime.block_on(cli.command.exec());
    // Exit codes are decided here and nowhere else.
    let code = match result {
        Ok(outcome::Outcome::Success) => 0,
        Ok(outcome::Outcome::Failed) => cli::EXIT_FAILED,
        Ok(outcome::Outcome::Exited(code)) => u8::try_from(code).unwrap_or(cli::EXIT_FAILED),
        Err(error) => {
            eprint!("{}", cli::report(&error, verbose));
            if cli::is_component_failure(&error) {
                cli::EXIT_FAILED
            } else {
                cli::EXIT_USAGE
            }
        }
    };
    // Don't wait for a stdin reader blocked in the runtime's blocking pool.
    runtime.shutdown_background();
    ExitCode::from(code)
}

/// Host messages (the HTTP access log, denied requests, warnings) go to
/// stderr; `ARCELLA_LOG` takes a `tracing` filter to see more. Guest log
/// records are printed by the commands themselves.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ARCELLA_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "warn,arcella::access=info,arcella::http=info,arcella::guest=off",
        )
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .try_init();
}
