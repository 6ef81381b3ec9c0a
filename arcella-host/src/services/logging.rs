//! The `arcella:component/logging` import: records kept for callers, and emitted through `tracing`.
//!
//! A record keeps the guest's text as written, for callers that inspect it;
//! wherever it is shown (its `Display`, [`emit`]) control characters appear
//! as escapes, so that a guest cannot drive the terminal or forge a record.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::{Provided, Service};
use crate::bindings::arcella::component::types::Level as WitLevel;
use crate::bindings::arcella::component::{logging, types};
use crate::store::GuestState;
use arcella_types::escape;

/// `arcella:component/logging`, and the types it uses.
pub(crate) const SERVICE: Service = Service {
    name: "logging",
    grants: &[],
    interfaces: &[
        Provided::free("arcella:component/types").at(ARCELLA_VERSION),
        Provided::declared("arcella:component/logging").at(ARCELLA_VERSION),
    ],
    add_to_linker,
};

/// The version of the `arcella:component` package the host is built against (`wit/`).
const ARCELLA_VERSION: &str = "0.1.0";

fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    logging::add_to_linker::<GuestState, HasSelf<GuestState>>(linker, |state| state)?;
    types::add_to_linker::<GuestState, HasSelf<GuestState>>(linker, |state| state)
}

/// Bytes of log messages one call keeps in its result (and so in a worker's
/// reply frame); records past it are still emitted as they are written, and
/// counted as dropped from the result.
pub const MAX_LOG_BYTES_PER_CALL: usize = 1 << 20;

/// The records of the call under way in one store.
#[derive(Default)]
pub(crate) struct CallLog {
    records: Vec<LogRecord>,
    bytes: usize,
    dropped: u64,
}

impl CallLog {
    /// The records since the last take, and how many were dropped from them.
    pub(crate) fn take(&mut self) -> (Vec<LogRecord>, u64) {
        self.bytes = 0;
        (
            std::mem::take(&mut self.records),
            std::mem::take(&mut self.dropped),
        )
    }

    fn keep(&mut self, record: LogRecord) {
        let bytes = record.message.len() + record.module.len();
        if self.records.len() < MAX_RECORDS_PER_CALL && self.bytes + bytes <= MAX_LOG_BYTES_PER_CALL
        {
            self.bytes += bytes;
            self.records.push(record);
        } else {
            self.dropped += 1;
        }
    }
}

impl types::Host for GuestState {}

impl logging::Host for GuestState {
    fn log(&mut self, level: types::Level, message: String) {
        self.record_log(level.into(), message);
    }
}

impl GuestState {
    /// Records one guest log line, whichever interface it came through:
    /// emitted, told to the observers, and kept for the call's result.
    pub(crate) fn record_log(&mut self, level: Level, message: String) {
        let record = LogRecord {
            module: self.module.to_string(),
            level,
            message: truncate_message(message),
        };
        emit(&record);
        if let Some(on_log) = &self.observers.on_log {
            on_log(&record);
        }
        self.log.keep(record);
    }
}

/// Longest message kept; the rest is cut so a guest cannot make the host hold gigabytes.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Records kept per call; later ones are counted, not kept.
pub const MAX_RECORDS_PER_CALL: usize = 10_000;

pub use arcella_types::Level;

impl From<WitLevel> for Level {
    fn from(level: WitLevel) -> Self {
        match level {
            WitLevel::Trace => Self::Trace,
            WitLevel::Debug => Self::Debug,
            WitLevel::Info => Self::Info,
            WitLevel::Warn => Self::Warn,
            WitLevel::Error => Self::Error,
        }
    }
}

/// One record a guest logged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogRecord {
    /// The module that logged it.
    pub module: String,
    /// Its level.
    pub level: Level,
    /// Its message (cut at [`MAX_MESSAGE_BYTES`]).
    pub message: String,
}

impl std::fmt::Display for LogRecord {
    /// `[INFO module] message` on one line, control characters escaped.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{} {}] {}",
            self.level,
            escape(&self.module),
            escape(&self.message)
        )
    }
}

/// Receives each record as it is logged (the CLI prints it, the testkit keeps it).
pub type LogCallback = Arc<dyn Fn(&LogRecord) + Send + Sync>;

/// Emits `record` through `tracing`, under the `arcella::guest` target,
/// its module and message escaped (subscribers write fields as they are).
pub fn emit(record: &LogRecord) {
    let (module, message) = (escape(&record.module), escape(&record.message));
    match record.level {
        Level::Trace => tracing::trace!(target: "arcella::guest", %module, "{message}"),
        Level::Debug => tracing::debug!(target: "arcella::guest", %module, "{message}"),
        Level::Info => tracing::info!(target: "arcella::guest", %module, "{message}"),
        Level::Warn => tracing::warn!(target: "arcella::guest", %module, "{message}"),
        Level::Error => tracing::error!(target: "arcella::guest", %module, "{message}"),
    }
}

/// Cuts `message` to at most [`MAX_MESSAGE_BYTES`] on a character boundary.
pub fn truncate_message(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str("… (truncated)");
    }
    message
}
