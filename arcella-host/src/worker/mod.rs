//! Worker isolation: modules that run in a separate process, one process per group.

mod entry;
mod lifeline;
pub(crate) mod pool;
mod process;
#[doc(hidden)]
pub mod protocol;

pub use entry::{GROUP_ENV, WORKER_ENV, run_if_worker};
pub use process::{WorkerCommand, WorkerProcess};
