//! HTTP: serving `wasi:http/proxy` components, and guarding their outbound requests.

pub mod outbound;
pub mod serve;

pub use serve::{
    DEFAULT_LISTEN, DEFAULT_MAX_BODY, HttpService, ServeOptions, serve, serve_component,
};
