//! The embedded host of Arcella: it runs WebAssembly components under
//! limits (fuel, memory, time, stack), with default-deny capabilities, in
//! this process or in worker processes, through a lifecycle of install,
//! start, stop, update and remove.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use arcella_host::{Host, HostOptions, Manifest};
//!
//! let report = arcella_host::manifest::load("hello/arcella.toml".as_ref())?;
//! let manifest = report.manifest.expect("a valid manifest");
//! let mut host = Host::new(HostOptions::new()?);
//! host.install(manifest, std::fs::read("hello.wasm")?).await?;
//! host.start("hello").await?;
//! let reply = host.handle("hello", "greet", b"world").await?;
//! println!("{:?}", reply.value);
//! host.stop("hello").await?;
//! # Ok(()) }
//! ```
//!
//! Binaries that embed the host call [`worker::run_if_worker`] first in
//! `main`: worker isolation re-runs the same executable as a worker.

pub mod backtrace;
mod bindings;
pub mod cache;
pub mod capabilities;
pub mod contract;
mod determinism;
pub mod diagnostic;
pub mod dir_grants;
pub mod engine;
pub mod error;
mod host;
pub mod http;
pub mod instance;
pub mod kind;
pub mod lifecycle;
pub mod limits;
pub mod logging;
pub mod manifest;
pub mod output;
mod sandbox;
mod sockets;
mod store_limiter;
pub mod terminal_text;
pub mod worker;

pub use contract::DEFAULT_MAX_COMPONENT_SIZE;
pub use error::{Error, Result};
pub use host::{Host, HostOptions};
pub use instance::{Call, CommandOutput};
pub use kind::ComponentKind;
pub use lifecycle::ModuleState;
pub use limits::Limits;
pub use manifest::{Isolation, Manifest};
pub use output::{Captured, Stdio};
pub use sandbox::SandboxSettings;
