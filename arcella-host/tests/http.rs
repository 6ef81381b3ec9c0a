//! Serving `wasi:http/proxy` components: routing, limits, body size, concurrency and outbound HTTP.
//!
//! The guest is `tests/fixtures/http-guest`, a real Rust component built here
//! with `cargo build --target wasm32-wasip2` (once per test binary).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arcella_fixtures::{fetch_module, http_guest as guest};
use arcella_host::EngineSettings;
use arcella_host::Limits;
use arcella_host::http::{HttpService, ServeOptions};
use arcella_host::internal::Loaded;
use arcella_host::internal::SandboxSettings;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::net::{TcpListener, TcpStream};

async fn server(limits: Limits, http: &[&str], options: ServeOptions) -> SocketAddr {
    let loaded = Loaded::compile("web", &guest(), EngineSettings::default(), None).unwrap();
    let mut settings = SandboxSettings {
        limits,
        ..SandboxSettings::default()
    };
    settings.capabilities.http = http.iter().map(ToString::to_string).collect();
    let service = Arc::new(HttpService::new(Arc::new(loaded), &settings, options).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(service.serve(listener, std::future::pending()));
    address
}

async fn request(address: SocketAddr, method: &str, path: &str, body: Vec<u8>) -> (u16, String) {
    let stream = TcpStream::connect(address).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(wasmtime_wasi_http::io::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", address.to_string())
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn get(address: SocketAddr, path: &str) -> (u16, String) {
    request(address, "GET", path, Vec::new()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn routes_answer_and_unknown_paths_are_404() {
    let address = server(Limits::default(), &[], ServeOptions::default()).await;
    assert_eq!(get(address, "/").await, (200, "hello\n".into()));
    assert_eq!(get(address, "/nope").await, (404, "not found\n".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trap_is_a_500_and_the_next_request_is_fine() {
    let address = server(Limits::default(), &[], ServeOptions::default()).await;
    assert_eq!(get(address, "/trap").await.0, 500);
    assert_eq!(get(address, "/").await, (200, "hello\n".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spinning_guest_times_out_with_504_or_runs_out_of_fuel_with_500() {
    let slow = Limits {
        fuel: u64::MAX / 2,
        timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let address = server(slow, &[], ServeOptions::default()).await;
    assert_eq!(get(address, "/loop").await.0, 504);
    assert_eq!(get(address, "/").await.0, 200);

    let address = server(
        Limits {
            fuel: 5_000_000,
            ..Limits::default()
        },
        &[],
        ServeOptions::default(),
    )
    .await;
    assert_eq!(get(address, "/loop").await.0, 500);
    assert_eq!(get(address, "/").await.0, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_body_gets_413_and_a_small_one_is_read() {
    let address = server(
        Limits::default(),
        &[],
        ServeOptions {
            max_body: 1024,
            ..ServeOptions::default()
        },
    )
    .await;
    assert_eq!(
        request(address, "POST", "/echo", vec![b'x'; 100]).await,
        (200, "100 bytes\n".into())
    );
    assert_eq!(
        request(address, "POST", "/echo", vec![b'x'; 4096]).await.0,
        413
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_concurrent_requests_all_succeed() {
    let address = server(Limits::default(), &[], ServeOptions::default()).await;
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..200 {
        requests.spawn(get(address, "/"));
    }
    while let Some(result) = requests.join_next().await {
        assert_eq!(result.unwrap(), (200, "hello\n".into()));
    }
}

/// A loopback server the guest may call, answering 204 to everything.
async fn upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(
                wasmtime_wasi_http::io::TokioIo::new(stream),
                hyper::service::service_fn(|_request| async {
                    let mut response = hyper::Response::new(Full::new(Bytes::new()));
                    *response.status_mut() = hyper::StatusCode::NO_CONTENT;
                    Ok::<_, std::convert::Infallible>(response)
                }),
            ));
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_requests_follow_the_allow_list_and_the_ssrf_guard() {
    let upstream = upstream().await;
    let fetch = format!("/fetch?url=http://{upstream}/");

    let listed = upstream.to_string();
    let allowed = server(Limits::default(), &[&listed], ServeOptions::default()).await;
    assert_eq!(get(allowed, &fetch).await, (200, "status 204\n".into()));

    let unlisted = server(
        Limits::default(),
        &["api.example.com"],
        ServeOptions::default(),
    )
    .await;
    assert_eq!(
        get(unlisted, &fetch).await,
        (200, "error: ErrorCode::HttpRequestDenied\n".into())
    );

    // A wildcard never opens loopback or private addresses.
    let wildcard = server(Limits::default(), &["*"], ServeOptions::default()).await;
    assert_eq!(
        get(wildcard, &fetch).await,
        (200, "error: ErrorCode::HttpRequestDenied\n".into())
    );
    let metadata = server(Limits::default(), &["*"], ServeOptions::default()).await;
    assert_eq!(
        get(metadata, "/fetch?url=http://169.254.169.254/latest").await,
        (200, "error: ErrorCode::HttpRequestDenied\n".into())
    );
}

/// The children of this process whose executable is `name`.
fn children_named(name: &str) -> Vec<u32> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`; comm may hold spaces, so split after its `)`.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let comm = head
            .split_once(" (")
            .map(|(_, comm)| comm)
            .unwrap_or_default();
        let ppid = rest.split_whitespace().nth(1).unwrap_or_default();
        if ppid == me && name.starts_with(comm) {
            found.push(entry.file_name().to_string_lossy().parse().unwrap());
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_serves_http_and_a_new_one_takes_over_when_it_is_killed() {
    use arcella_host::worker::WorkerCommand;
    use arcella_host::{HostOptions, Isolation, Manifest};

    let mut manifest = Manifest::defaults("web", std::path::Path::new("."));
    manifest.module.isolation = Isolation::Worker;
    manifest.module.imports = vec!["wasi:http/outgoing-handler@0.2.0".into()];
    manifest.capabilities.http = vec!["api.example.com".into()];
    let options = HostOptions {
        cache: None,
        worker: WorkerCommand {
            program: env!("CARGO_BIN_EXE_arcella-worker").into(),
        },
        ..HostOptions::new().unwrap()
    };
    let (listening, address) = tokio::sync::oneshot::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let wasm = guest();
    let server = tokio::spawn(async move {
        let mut host = arcella_host::Host::new(options);
        host.install(manifest, wasm).await.unwrap();
        host.serve(
            "web",
            ServeOptions {
                listen: "127.0.0.1:0".parse().unwrap(),
                ..ServeOptions::default()
            },
            |address| {
                let _ = listening.send(address);
            },
            async {
                let _ = stopped.await;
            },
        )
        .await
    });
    let address = address.await.unwrap();
    assert_eq!(get(address, "/").await, (200, "hello\n".into()));
    let workers = children_named("arcella-worker");
    assert_eq!(workers.len(), 1, "one worker serves: {workers:?}");

    std::process::Command::new("kill")
        .args(["-9", &workers[0].to_string()])
        .status()
        .unwrap();
    let mut served = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(stream) = TcpStream::connect(address).await {
            drop(stream);
            if get(address, "/").await.0 == 200 {
                served = true;
                break;
            }
        }
    }
    assert!(served, "a new worker serves on the same address");
    let replacement = children_named("arcella-worker");
    assert_eq!(replacement.len(), 1, "{replacement:?}");
    assert_ne!(replacement, workers, "it is a new process");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(
        children_named("arcella-worker").is_empty(),
        "the worker is gone after shutdown"
    );
}

/// What installing `wasm` as `name` under `manifest` says, with `max_size` as the size cap.
async fn install_error(name: &str, wasm: Vec<u8>, max_size: u64) -> arcella_host::Error {
    use arcella_host::{Host, HostOptions, Manifest};
    let manifest = Manifest::defaults(name, std::path::Path::new("."));
    let mut host = Host::new(HostOptions {
        cache: None,
        max_component_size: max_size,
        ..HostOptions::new().unwrap()
    });
    host.install(manifest, wasm).await.unwrap_err()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http_component_is_refused_before_serving_as_a_module_is() {
    use arcella_host::Error;
    let codes = |error: &Error| match error {
        Error::Contract { diagnostics, .. } => diagnostics
            .iter()
            .map(|diagnostic| diagnostic.code.clone())
            .collect::<Vec<_>>(),
        other => panic!("not a contract error: {other}"),
    };
    // Both import `wasi:http/outgoing-handler`; neither manifest declares or grants it.
    let http = install_error("web", guest(), u64::MAX).await;
    let module = install_error("fetcher", fetch_module(), u64::MAX).await;
    assert_eq!(codes(&http), ["A0603", "A0604"], "{http}");
    assert_eq!(codes(&http), codes(&module));

    let http = install_error("web", guest(), 1024).await;
    let module = install_error("fetcher", fetch_module(), 1024).await;
    assert!(
        matches!(http, Error::TooLarge { limit: 1024, .. }),
        "{http}"
    );
    assert_eq!(http.kind(), module.kind());
}
