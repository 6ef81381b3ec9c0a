//! Serving `wasi:http/proxy` components: one fresh instance per request, under load bounds.

mod admission;
mod serve;

pub(crate) use serve::bind_and_serve;
pub use serve::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_LISTEN, DEFAULT_MAX_BODY, DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_QUEUED_REQUESTS, GuestTask, HttpService, ServeOptions,
};
