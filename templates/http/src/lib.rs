//! `{{name}}`: an Arcella HTTP component.
//!
//! Answers `GET /` and `GET /health`, and 404 to anything else. Each request
//! is logged through the host's `logging` interface.
//!
//! `wasip2` supplies the `wasi:http/proxy` bindings and export; wit-bindgen
//! generates only the Arcella `logging` import from `wit/arcella.wit`.

use std::io::Write as _;

use arcella::component::logging::{Level, log};
use wasip2::exports::http::incoming_handler::Guest;
use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wit_bindgen::generate!({
    path: "wit",
    inline: "
        package arcella:http-guest;

        world http-guest {
            import arcella:component/logging@0.1.0;
        }
    ",
    // `logging` lives in another package than this inline world: generate it too.
    generate_all,
});

/// The component; the host calls it through its `Guest` impl.
pub struct Component;

impl Guest for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = request.method();
        let target = request.path_with_query().unwrap_or_else(|| "/".to_string());
        let path = target.split('?').next().unwrap_or_default();
        let (status, body) = route(&method, path);
        log(
            Level::Info,
            &format!("{} {target} -> {status}", method_name(&method)),
        );
        respond(response_out, status, body);
    }
}

// Native builds (for tests) skip the export: its name is not a valid symbol
// outside wasm, and only the `.wasm` is ever run.
#[cfg(target_family = "wasm")]
wasip2::http::proxy::export!(Component);

/// Picks the status and body for a request.
fn route(method: &Method, path: &str) -> (u16, &'static str) {
    match (method, path) {
        (Method::Get, "/") => (200, "Hello from {{name}}!\n"),
        (Method::Get, "/health") => (200, "ok"),
        _ => (404, "not found"),
    }
}

/// Sends a plain-text response. Failures here mean the client went away,
/// and there is no one left to tell, so they end the request.
fn respond(response_out: ResponseOutparam, status: u16, body: &str) {
    let headers = Fields::from_list(&[(
        "content-type".to_string(),
        b"text/plain; charset=utf-8".to_vec(),
    )])
    .expect("content-type is a valid header");
    let response = OutgoingResponse::new(headers);
    response
        .set_status_code(status)
        .expect("route returns valid status codes");
    let outgoing = response.body().expect("the body is taken once");
    ResponseOutparam::set(response_out, Ok(response));

    let mut stream = outgoing.write().expect("the stream is taken once");
    stream
        .write_all(body.as_bytes())
        .expect("writing the response body");
    stream.flush().expect("flushing the response body");
    drop(stream);
    OutgoingBody::finish(outgoing, None).expect("finishing the response body");
}

/// The method as it appears on the request line, for the log.
fn method_name(method: &Method) -> &str {
    match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Connect => "CONNECT",
        Method::Options => "OPTIONS",
        Method::Trace => "TRACE",
        Method::Patch => "PATCH",
        Method::Other(other) => other,
    }
}
