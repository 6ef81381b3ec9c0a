//! What a call into a guest returns besides its value: its cost and its logs.

use std::time::Duration;

use crate::services::logging::LogRecord;
use crate::services::wasi::output::Captured;

/// What one call cost, beside its result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Call<T> {
    /// What the call returned.
    pub value: T,
    /// Fuel it consumed.
    pub fuel: u64,
    /// Log records the guest wrote during the call, up to a per-call bound.
    pub logs: Vec<LogRecord>,
    /// Records written past that bound: emitted as they came, not kept in `logs`.
    pub dropped_logs: u64,
    /// How long it took.
    pub duration: Duration,
}

/// The result of running a `wasi:cli/command`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommandOutput {
    /// The guest's exit code (0 when `run` returned `ok`, 1 for `err`).
    pub exit_code: i32,
    /// Captured stdout (empty unless capturing).
    pub stdout: Captured,
    /// Captured stderr (empty unless capturing).
    pub stderr: Captured,
}

impl<T> Call<T> {
    /// The same call with its value turned by `f`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Call<U> {
        Call {
            value: f(self.value),
            fuel: self.fuel,
            logs: self.logs,
            dropped_logs: self.dropped_logs,
            duration: self.duration,
        }
    }
}
