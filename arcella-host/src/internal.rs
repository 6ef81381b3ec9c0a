//! Internals other crates of this workspace (benchmarks, fuzzing) drive
//! directly; not a stable API.

pub use crate::engine::{MAX_WASM_STACK, shared_engine};
pub use crate::instance::Instance;
pub use crate::loaded::Loaded;
pub use crate::store::{Sandbox, SandboxSettings};
