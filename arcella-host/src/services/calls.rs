//! What guests ask of the services that hold their state and settings
//! (`wasi:keyvalue`, `wasi:config`), told to the embedder as plain data:
//! one [`ServiceCall`] per call, in call order, through
//! [`Observers::on_service_call`](crate::Observers). A guest in a worker
//! process is heard too: its calls cross as events before the reply of the
//! operation that made them, so the order holds.
//!
//! A record is made only when someone listens: a guest whose host has no
//! listener pays one branch per call, no strings, no copies.

use std::sync::Arc;

pub use arcella_types::service_call::{Answer, PREVIEW_BYTES, Preview, ServiceCall};

/// Receives each [`ServiceCall`] as it is made.
pub type ServiceCallCallback = Arc<dyn Fn(&ServiceCall) + Send + Sync>;
