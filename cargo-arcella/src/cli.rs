//! The command line: the commands and how an error reads.

use std::ffi::OsString;
use std::fmt::Write as _;

use clap::{Parser, Subcommand};

use crate::commands::{
    build::BuildCommand, check::CheckCommand, new::NewCommand, run::RunCommand, test::TestCommand,
};
use crate::outcome::{Outcome, UserError};

/// Exit code when the component or the check failed (trap, limit, error diagnostic, guest failure).
pub const EXIT_FAILED: u8 = 1;
/// Exit code for a bad invocation or unreadable input.
pub const EXIT_USAGE: u8 = 2;

/// Scaffold, check, build, run and test WebAssembly components with Arcella.
#[derive(Debug, Parser)]
#[command(name = "cargo-arcella", bin_name = "cargo arcella", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new component crate from a template.
    New(NewCommand),
    /// Check arcella.toml, the crate's WIT and the built component, without building.
    Check(CheckCommand),
    /// Build the component for wasm32-wasip2 and check it against arcella.toml.
    Build(BuildCommand),
    /// Run a component: build the crate's and run it, or run a given `.wasm`.
    Run(Box<RunCommand>),
    /// Build the component, then run the crate's tests against it.
    Test(TestCommand),
}

impl Cli {
    /// Whether the user asked for details such as guest backtraces.
    pub fn verbose(&self) -> bool {
        matches!(&self.command, Command::Run(run) if run.options.verbose)
    }
}

impl Command {
    /// Runs the command.
    pub async fn exec(self) -> anyhow::Result<Outcome> {
        match self {
            Self::New(command) => command.exec(),
            Self::Check(command) => command.exec(),
            Self::Build(command) => command.exec().await.map(|(outcome, _)| outcome),
            Self::Run(command) => command.exec().await,
            Self::Test(command) => command.exec().await,
        }
    }
}

/// The command line without the `arcella` that cargo inserts when it runs
/// `cargo-arcella` as `cargo arcella`.
pub fn arguments() -> Vec<OsString> {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|arg| arg == "arcella") {
        args.remove(1);
    }
    args
}

/// Whether `error` is the component failing (a host error) rather than the user or the input.
pub fn is_component_failure(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<arcella_host::Error>().is_some())
}

/// The one rendering of an error for the terminal: `error: …`, its causes,
/// a help line when one is known, and the guest backtrace when `verbose`.
pub fn report(error: &anyhow::Error, verbose: bool) -> String {
    let mut text = format!("error: {error}\n");
    for cause in error.chain().skip(1) {
        let _ = writeln!(text, "  caused by: {cause}");
    }
    if let Some(help) = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<UserError>()?.help.as_deref())
    {
        let _ = writeln!(text, "help: {help}");
    }
    let host = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<arcella_host::Error>());
    if let Some(backtrace) = host.and_then(arcella_host::Error::backtrace) {
        if verbose {
            let _ = writeln!(text, "guest backtrace:\n{}", backtrace.trim_end());
        } else {
            text.push_str("note: run with --verbose to see the guest backtrace\n");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed_and_its_defaults_parse() {
        Cli::command().debug_assert();
        let Command::Run(run) = Cli::parse_from(["cargo-arcella", "run"]).command else {
            panic!("`run` parses as the run command");
        };
        assert_eq!(run.options.max_body, arcella_host::http::DEFAULT_MAX_BODY);
    }
}
