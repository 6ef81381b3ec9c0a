//! HTTP: serving `wasi:http/proxy` components, and guarding their outbound requests.

pub mod outbound;
pub mod serve;

pub use outbound::{MockNetwork, OutboundRequest, OutboundResponse};
pub use serve::{
    DEFAULT_LISTEN, DEFAULT_MAX_BODY, GuestTask, HttpService, ServeOptions, serve, serve_component,
};
