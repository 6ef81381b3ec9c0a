//! Plain data the Arcella host and its testkit share.
//!
//! The testkit runs components in a host process and speaks to it in these
//! terms; keeping them in a crate of their own lets a component crate's
//! tests name them without compiling the host (and wasmtime) themselves.

pub mod service_call;
mod terminal_text;

pub use service_call::{Answer, Preview, ServiceCall};
pub use terminal_text::{Escaped, escape};

/// Severity of a guest's log record.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Very verbose.
    Trace,
    /// Verbose.
    Debug,
    /// Normal.
    Info,
    /// Something looks wrong.
    Warn,
    /// Something failed.
    Error,
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Trace => "TRACE",
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
        })
    }
}

/// Where a module's code runs.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// In the host process, on its async runtime. Only for trusted modules.
    Main,
    /// In a separate worker process shared by the module's group.
    #[default]
    Worker,
}

/// The kinds of component the host knows how to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentKind {
    /// The `arcella:component/module` world: lifecycle and handler.
    Module,
    /// A `wasi:cli/command`: exports `wasi:cli/run`.
    Command,
    /// A `wasi:http/proxy`: exports `wasi:http/incoming-handler`.
    Http,
}

impl std::fmt::Display for ComponentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Module => "module",
            Self::Command => "command",
            Self::Http => "http",
        })
    }
}

/// Where a module is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModuleState {
    /// Compiled and checked, never started.
    Installed,
    /// Started and taking calls.
    Running,
    /// Stopped cleanly; can be started again.
    Stopped,
    /// Trapped, hit a limit, failed to start, or lost its worker; can be started again.
    Failed,
}

impl ModuleState {
    /// Whether `start` is allowed from this state.
    pub fn can_start(self) -> bool {
        !matches!(self, Self::Running)
    }
}

impl std::fmt::Display for ModuleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Installed => "installed",
            Self::Running => "running",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
        })
    }
}
