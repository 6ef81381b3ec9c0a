//! `{{name}}`: an Arcella HTTP component.
//!
//! Answers `GET /` with the greeting of its configuration and the number of
//! visits so far, `GET /health` with `ok`, and 404 to anything else. Each
//! request is logged through the host's `logging` interface.
//!
//! It uses two standard interfaces, so other runtimes serve it too
//! (`wasmtime serve -Skeyvalue -Sconfig`, wasmCloud):
//! - `wasi:config/store` reads `greeting` from `[config]` in `arcella.toml`;
//! - `wasi:keyvalue` keeps a visit counter per page in the bucket `default`
//!   (`open("")`), which `[capabilities] keyvalue` grants. `cargo arcella run`
//!   keeps it in `.arcella/keyvalue.redb`, so the count survives restarts.
//!
//! `wasip2` supplies the `wasi:http/proxy` bindings and export; wit-bindgen
//! generates the other imports from `wit/`.

use std::io::Write as _;

use arcella::component::logging::{Level, log};
use wasi::config::store as config;
use wasi::keyvalue::{atomics, store};
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
            import wasi:keyvalue/store@0.2.0-draft;
            import wasi:keyvalue/atomics@0.2.0-draft;
            import wasi:config/store@0.2.0-rc.1;
        }
    ",
    // The imports live in other packages than this inline world: generate them too.
    generate_all,
});

/// The component; the host calls it through its `Guest` impl.
pub struct Component;

impl Guest for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = request.method();
        let target = request.path_with_query().unwrap_or_else(|| "/".to_string());
        let path = target.split('?').next().unwrap_or_default();
        let (status, body) = route(&method, path).unwrap_or_else(|problem| {
            log(Level::Error, &problem);
            (503, "unavailable, try again later\n".to_string())
        });
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

/// Picks the status and body for a request; `Err` says which service failed.
fn route(method: &Method, path: &str) -> Result<(u16, String), String> {
    Ok(match (method, path) {
        (Method::Get, "/") => {
            let visits = count_visit(path)?;
            (200, format!("{}\nvisits: {visits}\n", greeting()?))
        }
        (Method::Get, "/health") => (200, "ok".to_string()),
        _ => (404, "not found".to_string()),
    })
}

/// `greeting` from `[config]`, or a default when it is not set.
fn greeting() -> Result<String, String> {
    match config::get("greeting") {
        Ok(Some(greeting)) => Ok(greeting),
        Ok(None) => Ok("Hello from {{name}}!".to_string()),
        Err(config::Error::Upstream(message) | config::Error::Io(message)) => {
            Err(format!("wasi:config: {message}"))
        }
    }
}

/// Adds one to the visits of `path`, and returns the new count.
fn count_visit(path: &str) -> Result<u64, String> {
    // `""` opens the bucket `default`, the one every runtime serves.
    let bucket = store::open("").map_err(|error| format!("wasi:keyvalue open: {error:?}"))?;
    atomics::increment(&bucket, path, 1).map_err(|error| format!("wasi:keyvalue increment: {error:?}"))
}

/// Sends a plain-text response. Failures here mean the client went away,
/// and there is no one left to tell, so they end the request.
fn respond(response_out: ResponseOutparam, status: u16, body: String) {
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
