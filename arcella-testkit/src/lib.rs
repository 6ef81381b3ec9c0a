//! Snapshot-test WebAssembly components inside the Arcella host.
//!
//! A [`Harness`] runs one component in the Arcella host, under its
//! `arcella.toml` and the settings a test puts over it, with deterministic
//! clocks and random numbers. The host is the installed `cargo-arcella`,
//! started once per test binary (`cargo arcella test` points the testkit at
//! itself; else `ARCELLA_HOST` or `cargo-arcella` on `PATH`), so a
//! component crate's tests compile no wasmtime of their own; with the
//! `embedded` feature the host runs in the test process instead. Each step
//! is recorded in a [`Trace`] (calls, replies, errors, guest logs, its
//! calls to `wasi:keyvalue` and `wasi:config`, fuel) made to be
//! snapshotted with `insta`:
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
//! [`HttpMock`]s, never by the network. Each harness has a key-value store
//! of its own, in memory: seed a bucket with [`HarnessBuilder::keyvalue`],
//! read it back with [`Harness::keyvalue`].

mod builder;
mod client;
#[cfg(feature = "embedded")]
mod engine;
mod error;
mod harness;
mod mock;
mod protocol;
mod session;
pub mod trace;

pub use arcella_types::{ComponentKind, Isolation, Level, ModuleState};
pub use builder::{COMPONENT_ENV, DEFAULT_CAPTURE_LIMIT, HOST_ENV, HarnessBuilder, WORKER_EXE_ENV};
#[cfg(feature = "embedded")]
pub use engine::server::run_if_host;
pub use error::{Error, HostError, StepError};
pub use harness::{Bucket, Harness, HttpResponse, MAX_RESPONSE_BODY, Outcome, RunOutput};
pub use mock::HttpMock;
pub use protocol::{HOST_MODE_ENV, PROTOCOL};
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
