//! HTTP: serving `wasi:http/proxy` components, and guarding their outbound requests.

mod admission;
pub mod outbound;
pub mod serve;

pub use outbound::{MockNetwork, OutboundRequest, OutboundResponse};
pub use serve::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_LISTEN, DEFAULT_MAX_BODY, DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_QUEUED_REQUESTS, GuestTask, HttpService, ServeOptions,
    serve, serve_component,
};
