//! The states an installed module moves through.
//!
//! ```text
//! install ─▶ Installed ─start─▶ Running ─stop─▶ Stopped ─start─▶ Running …
//!                 │                │ trap, limit, worker death
//!                 └──── start ◀── Failed
//! ```
//! A trap poisons wasmtime's store, so a module that traps goes to `Failed`
//! without its `stop` being called; the next `start` gives it a fresh instance.

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
