//! What can go wrong: setting a harness up ([`Error`]), and one step of a
//! test ([`StepError`]). Both print what to do about it, also through
//! `unwrap()`: their `Debug` is their message.

use std::path::PathBuf;

use crate::trace::{Action, Log};

/// Why a harness could not be set up, or its first start failed.
#[derive(thiserror::Error)]
pub enum Error {
    /// The crate has no built component where the testkit looks.
    #[error(
        "no built component at {}\n  help: run `cargo arcella build` first, or test with `cargo arcella test`, which builds it",
        path.display()
    )]
    ComponentMissing {
        /// Where it was expected.
        path: PathBuf,
    },
    /// The component is older than the crate's sources: the test would run old code.
    #[error(
        "the component at {} is out of date: {changed}\n  help: run `cargo arcella build` first, or test with `cargo arcella test`, which builds it",
        path.display()
    )]
    ComponentStale {
        /// The component.
        path: PathBuf,
        /// What changed after it was built.
        changed: String,
    },
    /// `arcella.toml` is missing, unreadable or invalid.
    #[error("{}: {message}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong, and what to do about it.
        message: String,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Component text did not parse.
    #[error("the component text does not parse: {0}")]
    Wat(String),
    /// A test's HTTP request could not be made (a bad method, path or header).
    #[error("the request cannot be sent: {message}")]
    Request {
        /// What is wrong with it.
        message: String,
    },
    /// A builder setting was not valid (e.g. a `dir` grant).
    #[error("invalid setting: {0}")]
    Setting(String),
    /// Worker isolation was asked for, and no worker executable is known.
    #[error(
        "module '{module}' runs with isolation = \"worker\", but no worker executable was found\n  help: run the tests with `cargo arcella test`, install the CLI (`cargo install cargo-arcella`) so that `cargo-arcella` is on PATH, set ARCELLA_WORKER_EXE, or use `.isolation(Isolation::Main)`"
    )]
    NoWorker {
        /// The module.
        module: String,
    },
    /// The host refused the component (contract, size, load) or could not set up.
    #[error("{0}")]
    Host(#[from] arcella_host::Error),
    /// The module was installed, and its `start` failed.
    #[error(transparent)]
    Step(Box<StepError>),
}

impl From<StepError> for Error {
    fn from(error: StepError) -> Self {
        Self::Step(Box::new(error))
    }
}

impl std::fmt::Debug for Error {
    /// The message itself, so that `.unwrap()` prints something a person can act on.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Why one step of a test failed: the guest answered `Err`, or the host
/// stopped the call (a trap, a limit, a dead worker…).
///
/// Its message names the step, the guest's logs during it, the guest
/// backtrace when there is one, and how to raise a limit that was reached.
pub struct StepError(Box<Details>);

/// What a [`StepError`] knows, boxed so that results stay small.
pub(crate) struct Details {
    pub(crate) number: usize,
    pub(crate) action: Action,
    pub(crate) logs: Vec<Log>,
    pub(crate) cause: Cause,
}

impl StepError {
    pub(crate) fn new(number: usize, action: Action, logs: Vec<Log>, cause: Cause) -> Self {
        Self(Box::new(Details {
            number,
            action,
            logs,
            cause,
        }))
    }
}

/// Who said no.
pub(crate) enum Cause {
    /// The guest's own `Err` from `handle`.
    Guest(String),
    /// The host.
    Host(arcella_host::Error),
    /// The harness could not set the step up (e.g. the new version of an update).
    Setup(Box<Error>),
}

impl StepError {
    /// A short, stable name: `guest-error` when the guest answered `Err`,
    /// `setup` when the harness could not set the step up, else the host
    /// error's kind (`fuel-exhausted`, `memory-limit`, `timeout`,
    /// `stack-overflow`, `trap`, `worker-died`…).
    pub fn kind(&self) -> &'static str {
        match &self.0.cause {
            Cause::Guest(_) => "guest-error",
            Cause::Host(error) => error.kind(),
            Cause::Setup(_) => "setup",
        }
    }

    /// Whether a limit was reached (fuel, memory, time, stack).
    pub fn is_limit(&self) -> bool {
        matches!(&self.0.cause, Cause::Host(error) if error.is_limit())
    }

    /// The host's error, unless the guest answered `Err` itself.
    pub fn host_error(&self) -> Option<&arcella_host::Error> {
        match &self.0.cause {
            Cause::Host(error) => Some(error),
            Cause::Guest(_) | Cause::Setup(_) => None,
        }
    }

    /// The guest's own error message, when it answered `Err` (from `handle`,
    /// `start` or `stop`).
    pub fn guest_message(&self) -> Option<&str> {
        match &self.0.cause {
            Cause::Guest(message) => Some(message),
            Cause::Host(arcella_host::Error::Guest { message, .. }) => Some(message),
            Cause::Host(_) | Cause::Setup(_) => None,
        }
    }

    /// The guest backtrace, for traps and stack overflows.
    pub fn backtrace(&self) -> Option<&str> {
        self.host_error().and_then(arcella_host::Error::backtrace)
    }

    /// The step that failed.
    pub fn action(&self) -> &Action {
        &self.0.action
    }

    /// Its place in the trace, from 1.
    pub fn step_number(&self) -> usize {
        self.0.number
    }

    /// What the guest logged during the step.
    pub fn logs(&self) -> &[Log] {
        &self.0.logs
    }

    /// How to raise the limit that was reached, if one was.
    fn limit_help(&self) -> Option<&'static str> {
        match self.host_error()? {
            arcella_host::Error::FuelExhausted { .. } => Some(
                "if the guest needs more, raise it with `.fuel(…)` on the harness or `fuel` under [limits] in arcella.toml",
            ),
            arcella_host::Error::MemoryLimit { .. } => Some(
                "if the guest needs more, raise it with `.memory(…)` on the harness or `memory` under [limits] in arcella.toml",
            ),
            arcella_host::Error::Timeout { .. } => Some(
                "if the guest needs longer, raise it with `.timeout(…)` on the harness or `timeout` under [limits] in arcella.toml",
            ),
            _ => None,
        }
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {} `{}` failed: ", self.0.number, self.0.action)?;
        match &self.0.cause {
            Cause::Guest(message) => write!(f, "the guest answered Err({message:?})")?,
            Cause::Host(error) => write!(f, "{error}")?,
            Cause::Setup(error) => write!(f, "{error}")?,
        }
        if let Some(help) = self.limit_help() {
            write!(f, "\n  help: {help}")?;
        }
        if !self.0.logs.is_empty() {
            f.write_str("\nguest logs during the step:")?;
            for log in &self.0.logs {
                write!(
                    f,
                    "\n  {:<5} {}",
                    log.level.to_string(),
                    arcella_host::escape(&log.message)
                )?;
            }
        }
        if let Some(backtrace) = self.backtrace() {
            f.write_str("\nguest backtrace:")?;
            for line in backtrace.lines() {
                write!(f, "\n  {line}")?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for StepError {
    /// The message itself, so that `.unwrap()` prints something a person can act on.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for StepError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.host_error()
            .map(|error| error as &(dyn std::error::Error + 'static))
    }
}
