//! The embedded host of Arcella: WebAssembly components under limits and
//! default-deny capabilities, in this process or in workers, through a
//! lifecycle of install, start, stop, update and remove. Binaries that embed
//! it call [`run_if_worker`] first in `main`: a worker re-runs the executable.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use arcella_host::{Host, HostOptions};
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

pub mod cache;
pub mod capabilities;
pub mod contract;
pub mod diagnostic;
pub mod http;
pub mod limits;
pub mod manifest;
pub mod services;
pub mod worker;

pub use arcella_types::escape;
pub use call::{Call, CommandOutput};
pub use contract::DEFAULT_MAX_COMPONENT_SIZE;
pub use engine::EngineSettings;
pub use error::{Error, Result, WireDiagnostic};
pub use host::{Host, HostOptions};
pub use kind::ComponentKind;
pub use lifecycle::ModuleState;
pub use limits::Limits;
pub use manifest::{Isolation, Manifest};
pub use services::calls::{ServiceCall, ServiceCallCallback};
pub use services::keyvalue::{KeyValue, KeyValueBackend};
pub use services::logging::{Level, LogCallback, LogRecord};
pub use services::wasi::output::{Captured, OutputCallback, Stdio, Stream};
pub use services::{Backends, outbound_http::Network};
pub use store::Observers;
pub use worker::{WorkerCommand, run_if_worker};

mod backtrace;
mod bindings;
mod call;
mod enforce;
mod engine;
mod error;
mod host;
mod instance;
#[doc(hidden)]
pub mod internal;
mod kind;
mod lifecycle;
mod loaded;
mod placement;
mod store;
