//! The states an installed module moves through.
//!
//! ```text
//! install ─▶ Installed ─start─▶ Running ─stop─▶ Stopped ─start─▶ Running …
//!                 │                │ trap, limit, worker death
//!                 └──── start ◀── Failed
//! ```
//! A trap poisons wasmtime's store, so a module that traps goes to `Failed`
//! without its `stop` being called; the next `start` gives it a fresh instance.

pub use arcella_types::ModuleState;
