//! The host's error type: every way a call or a lifecycle step can fail.
//!
//! Its fields keep text as it came, from the guest or the manifest; its
//! `Display` shows each through [`escape`], so an error printed on a
//! terminal cannot drive it or forge a line.

use std::fmt;
use std::time::Duration;

use crate::backtrace::runaway_recursion;
use crate::diagnostic::Diagnostic;
use crate::lifecycle::ModuleState;
use crate::limits::format_size;
use arcella_types::escape;

/// What went wrong, with the facts a caller needs to say so.
#[derive(Debug, Clone, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Error {
    /// The guest used all the fuel one call may use.
    #[error("component '{}' ran out of fuel (limit {limit})", escape(module))]
    FuelExhausted {
        /// The module.
        module: String,
        /// Fuel allowed per call.
        limit: u64,
    },
    /// The guest tried to grow its memory past the limit.
    #[error("component '{}' reached its memory limit of {}", escape(module), format_size(*limit))]
    MemoryLimit {
        /// The module.
        module: String,
        /// Bytes allowed.
        limit: u64,
    },
    /// The call took longer than the timeout.
    #[error("component '{}' timed out after {}", escape(module), humantime::format_duration(*after))]
    Timeout {
        /// The module.
        module: String,
        /// The timeout that was reached.
        after: Duration,
    },
    /// The host had no room for another instance right now (its instance
    /// pool was full); the call was not attempted and may be retried.
    #[error("component '{module}' could not run now: the host is at capacity ({reason})")]
    Overloaded {
        /// The module.
        module: String,
        /// Which capacity was reached.
        reason: String,
    },
    /// The guest recursed deeper than its wasm stack allows.
    #[error("component '{}' overflowed its stack", escape(module))]
    StackOverflow {
        /// The module.
        module: String,
        /// The guest's backtrace, when wasmtime captured one: a frame a
        /// line, the names the guest chose escaped.
        backtrace: Option<String>,
    },
    /// The guest trapped (`unreachable`, an out-of-bounds access, a panic in the guest…).
    #[error(
        "component '{}' trapped: {}{}",
        escape(module),
        escape(message),
        StackOverflowNote { message, backtrace }
    )]
    Trap {
        /// The module.
        module: String,
        /// What the trap was.
        message: String,
        /// The guest's backtrace, when wasmtime captured one: a frame a
        /// line, the names the guest chose escaped.
        backtrace: Option<String>,
    },
    /// `lifecycle.start` or `lifecycle.stop` returned an error.
    #[error(
        "component '{}' failed to {}: {}",
        escape(module),
        escape(action),
        escape(message)
    )]
    Guest {
        /// The module.
        module: String,
        /// `start` or `stop`.
        action: String,
        /// The guest's own message.
        message: String,
    },
    /// The worker process that ran the module died.
    #[error("worker for group '{}' died: {}", escape(group), escape(cause))]
    WorkerDied {
        /// The worker group.
        group: String,
        /// How it died (exit status or signal).
        cause: String,
    },
    /// A lifecycle step that the module's state does not allow.
    #[error("cannot {} module '{}': it is {state}", escape(action), escape(module))]
    WrongState {
        /// The module.
        module: String,
        /// What was asked.
        action: String,
        /// The state it is in.
        state: ModuleState,
    },
    /// No module of that name is installed.
    #[error("no module named '{}' is installed", escape(module))]
    NotInstalled {
        /// The name asked for.
        module: String,
    },
    /// A module of that name is already installed.
    #[error(
        "a module named '{}' is already installed; use update to replace it",
        escape(module)
    )]
    AlreadyInstalled {
        /// The name.
        module: String,
    },
    /// The component does not match its manifest, or is not a usable component.
    #[error(
        "component '{}' does not match its manifest:\n{}",
        escape(module),
        render_diagnostics(diagnostics)
    )]
    Contract {
        /// The module.
        module: String,
        /// What `check` would report.
        diagnostics: Vec<WireDiagnostic>,
    },
    /// The component is larger than the host accepts.
    #[error("component is {} but the limit is {}", format_size(*size), format_size(*limit))]
    TooLarge {
        /// Its size in bytes.
        size: u64,
        /// The cap in bytes.
        limit: u64,
    },
    /// Wasmtime could not compile, link or instantiate the component.
    #[error("could not load component '{}': {}", escape(module), escape(message))]
    Load {
        /// The module.
        module: String,
        /// Wasmtime's explanation.
        message: String,
    },
    /// A `[config]` value names an environment variable that is not set
    /// where the component is installed. The value is never shown.
    #[error(
        "component '{}' cannot be installed: `[config] {}` reads the environment variable `{}`, which is not set (or not UTF-8)",
        escape(module),
        escape(key),
        escape(variable)
    )]
    ConfigEnvMissing {
        /// The module.
        module: String,
        /// The `[config]` key.
        key: String,
        /// The variable it names.
        variable: String,
    },
    /// The key-value store could not be opened (a redb file locked by
    /// another process, corrupt or unreadable).
    #[error("cannot open the key-value store {}: {message}", path.display())]
    KeyValueOpen {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        message: String,
    },
    /// A key-value backend that cannot be used as given (a Redis URL that
    /// is not one).
    #[error("the key-value backend `{backend}` cannot be used: {message}")]
    KeyValueBackend {
        /// The backend as given.
        backend: String,
        /// Why.
        message: String,
    },
    /// The operation does not apply to this kind of component.
    #[error(
        "component '{}' is a {} component and cannot {}",
        escape(module),
        escape(kind),
        escape(action)
    )]
    WrongKind {
        /// The module.
        module: String,
        /// Its kind.
        kind: String,
        /// What was asked.
        action: String,
    },
    /// An update whose new version failed to start; the old one keeps running.
    #[error(
        "update of '{}' failed, version {} keeps running: {cause}",
        escape(module),
        escape(running)
    )]
    UpdateFailed {
        /// The module.
        module: String,
        /// The version still running.
        running: String,
        /// Why the new version failed.
        cause: Box<Error>,
    },
    /// An `--invoke` call that does not name or fit an exported function.
    #[error("cannot invoke on '{}': {}", escape(module), escape(message))]
    Invoke {
        /// The module.
        module: String,
        /// What is wrong with the call.
        message: String,
    },
    /// A worker process could not be started.
    #[error("cannot start a worker for group '{}' ({}): {}", escape(group), program.display(), escape(cause))]
    WorkerStart {
        /// The worker group.
        group: String,
        /// The executable that was started.
        program: std::path::PathBuf,
        /// Why it failed.
        cause: String,
    },
    /// A worker answered something the protocol does not allow (a bug, or
    /// a worker executable of another version).
    #[error("worker protocol error: the worker {}", escape(message))]
    WorkerProtocol {
        /// What was wrong.
        message: String,
    },
    /// The compile cache could not be used.
    #[error("compile cache: {}", escape(message))]
    Cache {
        /// What failed.
        message: String,
    },
    /// An HTTP component could not listen where it was asked to.
    #[error("cannot listen on {address}: {}", escape(cause))]
    Listen {
        /// The address asked for.
        address: std::net::SocketAddr,
        /// Why (in use, not permitted…).
        cause: String,
    },
    /// The host could not do its own work (files, processes).
    // `_0` is how thiserror names a tuple field inside an expression.
    #[error("{}", escape(_0))]
    Host(String),
}

/// A diagnostic in a form that crosses the worker protocol and serializes for tools.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WireDiagnostic {
    /// The code, e.g. `A0602`.
    pub code: String,
    /// The message.
    pub message: String,
    /// The help line.
    pub help: Option<String>,
}

impl From<&Diagnostic> for WireDiagnostic {
    fn from(diagnostic: &Diagnostic) -> Self {
        Self {
            code: diagnostic.code.as_str().to_string(),
            message: diagnostic.message.clone(),
            help: diagnostic.help.clone(),
        }
    }
}

fn render_diagnostics(diagnostics: &[WireDiagnostic]) -> String {
    let mut text = String::new();
    for diagnostic in diagnostics {
        text.push_str(&format!(
            "  [{}] {}",
            escape(&diagnostic.code),
            escape(&diagnostic.message)
        ));
        if let Some(help) = &diagnostic.help {
            text.push_str(&format!(" (help: {})", escape(help)));
        }
        text.push('\n');
    }
    text.trim_end().to_string()
}

impl Error {
    /// Whether the error was a limit being reached (fuel, memory, time, stack).
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            Self::FuelExhausted { .. }
                | Self::MemoryLimit { .. }
                | Self::Timeout { .. }
                | Self::StackOverflow { .. }
        )
    }

    /// The guest backtrace, for errors that have one.
    pub fn backtrace(&self) -> Option<&str> {
        match self {
            Self::Trap { backtrace, .. } | Self::StackOverflow { backtrace, .. } => {
                backtrace.as_deref()
            }
            _ => None,
        }
    }

    /// A short, stable name of the error's kind (`fuel-exhausted`, `trap`…), for traces.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::FuelExhausted { .. } => "fuel-exhausted",
            Self::MemoryLimit { .. } => "memory-limit",
            Self::Timeout { .. } => "timeout",
            Self::Overloaded { .. } => "overloaded",
            Self::StackOverflow { .. } => "stack-overflow",
            Self::Trap { .. } => "trap",
            Self::Guest { .. } => "guest-error",
            Self::WorkerDied { .. } => "worker-died",
            Self::WrongState { .. } => "wrong-state",
            Self::NotInstalled { .. } => "not-installed",
            Self::AlreadyInstalled { .. } => "already-installed",
            Self::Contract { .. } => "contract",
            Self::TooLarge { .. } => "too-large",
            Self::Load { .. } => "load",
            Self::ConfigEnvMissing { .. } => "config-env-missing",
            Self::KeyValueOpen { .. } => "keyvalue-open",
            Self::KeyValueBackend { .. } => "keyvalue-backend",
            Self::WrongKind { .. } => "wrong-kind",
            Self::UpdateFailed { .. } => "update-failed",
            Self::Invoke { .. } => "invoke",
            Self::WorkerStart { .. } => "worker-start",
            Self::WorkerProtocol { .. } => "worker-protocol",
            Self::Cache { .. } => "cache",
            Self::Listen { .. } => "listen",
            Self::Host(_) => "host",
        }
    }
}

/// `; likely a stack overflow in the guest: …` after an out-of-bounds trap
/// whose backtrace repeats the same frames, else nothing.
///
/// Rust guests keep their stack in linear memory; overflowing it wraps the
/// stack pointer below zero and traps as an out-of-bounds access. Other
/// traps deep in a recursion are left as they are: a guest that recursed
/// and then failed for its own reasons did not overflow.
struct StackOverflowNote<'a> {
    message: &'a str,
    backtrace: &'a Option<String>,
}

impl fmt::Display for StackOverflowNote<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let out_of_bounds = wasmtime::Trap::MemoryOutOfBounds.to_string();
        if self.message != out_of_bounds.trim_start_matches("wasm trap: ") {
            return Ok(());
        }
        match self.backtrace.as_deref().and_then(runaway_recursion) {
            Some(recursion) => write!(f, "; likely a stack overflow in the guest: {recursion}"),
            None => Ok(()),
        }
    }
}

/// The host's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
