//! `wasi:logging/logging@0.1.0-draft`: the portable logging interface
//! wasmCloud serves, going where `arcella:component/logging` goes.
//!
//! A record takes the same path as the Arcella interface's (the tracing
//! sink, the observers, the call's records and their limits, see
//! [`super::logging`]). The draft has one level more, `critical`, which
//! becomes [`Level::Error`]; and a `context` string, which is kept in the
//! message as its prefix, `context: message` (only `message` when the
//! context is empty), so that it is visible wherever a record is shown.
//!
//! It must be declared in `imports`, as `arcella:component/logging` is, and
//! needs no grant: a record reaches only the host's own log.

use wasmtime::component::{HasSelf, Linker};

use super::logging::Level;
use super::{Provided, Service};
use crate::store::GuestState;

mod bindings {
    #![allow(missing_docs)]

    // The draft's WIT, as wasmCloud and the WASI proposal define it: the
    // repository's `wit/deps/logging.wit`, which guests build against too.
    wasmtime::component::bindgen!({
        path: "../wit/deps/logging.wit",
        world: "wasi:logging/imports",
    });
}

use bindings::wasi::logging::logging::{self, Level as WitLevel};

/// The version of `wasi:logging` served: the one wasmCloud serves.
pub const WASI_LOGGING_VERSION: &str = "0.1.0-draft";

/// `wasi:logging/logging`.
pub(crate) const SERVICE: Service = Service {
    name: "wasi-logging",
    grants: &[],
    interfaces: &[Provided::declared("wasi:logging/logging").at(WASI_LOGGING_VERSION)],
    add_to_linker,
};

fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    logging::add_to_linker::<GuestState, HasSelf<GuestState>>(linker, |state| state)
}

impl logging::Host for GuestState {
    fn log(&mut self, level: WitLevel, context: String, message: String) {
        self.record_log(level.into(), with_context(&context, message));
    }
}

impl From<WitLevel> for Level {
    /// The same level; `critical`, which Arcella's levels lack, is `Error`.
    fn from(level: WitLevel) -> Self {
        match level {
            WitLevel::Trace => Self::Trace,
            WitLevel::Debug => Self::Debug,
            WitLevel::Info => Self::Info,
            WitLevel::Warn => Self::Warn,
            WitLevel::Error | WitLevel::Critical => Self::Error,
        }
    }
}

/// `context: message`, or `message` alone when there is no context.
fn with_context(context: &str, message: String) -> String {
    if context.is_empty() {
        message
    } else {
        format!("{context}: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_prefixes_the_message_when_there_is_one() {
        assert_eq!(with_context("db", "slow query".into()), "db: slow query");
        assert_eq!(with_context("", "plain".into()), "plain");
    }

    #[test]
    fn critical_is_an_error() {
        assert_eq!(Level::from(WitLevel::Critical), Level::Error);
        assert_eq!(Level::from(WitLevel::Warn), Level::Warn);
    }
}
