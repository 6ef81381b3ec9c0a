//! Snapshot-test WebAssembly components inside the Arcella host.
//!
//! A [`Harness`] runs one component in an embedded host, under its
//! `arcella.toml` and the settings a test puts over it, with deterministic
//! clocks and random numbers. Each step is recorded in a [`Trace`] (calls,
//! replies, errors, guest logs, fuel) made to be snapshotted with `insta`:
//!
//! ```no_run
//! use arcella_testkit::Harness;
//!
//! let mut h = Harness::for_crate(env!("CARGO_MANIFEST_DIR")).start().unwrap();
//! h.send("greet", b"world");
//! h.stop();
//! insta::assert_yaml_snapshot!(h.trace());
//! ```
//!
//! Commands are run with [`Harness::run`], HTTP components answer
//! [`Harness::request`], and their outbound requests are answered by
//! [`HttpMock`]s, never by the network. Modules with `isolation = "worker"`
//! need a worker executable: `cargo arcella test` provides one, else
//! `cargo-arcella` on `PATH` or `ARCELLA_WORKER_EXE`.

mod builder;
mod components;
mod error;
mod harness;
mod mock;
pub mod trace;

pub use arcella_host::services::logging::Level;
pub use arcella_host::{ComponentKind, Isolation, ModuleState};
pub use builder::{COMPONENT_ENV, DEFAULT_CAPTURE_LIMIT, HarnessBuilder, WORKER_EXE_ENV};
pub use error::{Error, StepError};
pub use harness::{Harness, HttpResponse, MAX_RESPONSE_BODY, Outcome, RunOutput};
pub use mock::HttpMock;
pub use trace::Trace;

#[doc(hidden)]
pub use insta;

/// Snapshots a harness's trace as YAML beside the calling test, like
/// `insta::assert_yaml_snapshot!(h.trace())`, without a direct dependency on `insta`.
///
/// ```no_run
/// # let h = arcella_testkit::Harness::from_wat("(component)").install().unwrap();
/// arcella_testkit::assert_trace!(h);
/// arcella_testkit::assert_trace!("after_restart", h);
/// ```
#[macro_export]
macro_rules! assert_trace {
    ($harness:expr $(,)?) => {
        $crate::insta::assert_yaml_snapshot!($harness.trace())
    };
    ($name:expr, $harness:expr $(,)?) => {
        $crate::insta::assert_yaml_snapshot!($name, $harness.trace())
    };
}
