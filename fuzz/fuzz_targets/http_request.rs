//! Raw bytes from an untrusted client to a live server: hyper's HTTP/1
//! parser, the host's admission and body limits, and the host's hand-off of
//! the request to a fresh guest instance per request. The guest
//! (`fuzz/guests/http.wat`) reads the method, path, every header and the
//! whole body, so all of them cross into the guest.
//!
//! Once per process an `HttpService` serves on 127.0.0.1:0 from its own
//! runtime thread. Per input: connect, write the input, shut down our
//! writing half, and read the reply until the server closes. The server
//! must stay up, must close the connection within a bound, and anything it
//! sends must be an HTTP/1.x response. A panic anywhere aborts the process.
#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arcella_host::EngineSettings;
use arcella_host::Limits;
use arcella_host::http::{HttpService, ServeOptions};
use arcella_host::internal::Loaded;
use arcella_host::internal::SandboxSettings;
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a connection may stay open after the client stopped sending.
/// The server's own bounds (header read 1 s, guest call 2 s) are well inside.
const CLOSE_BOUND: Duration = Duration::from_secs(20);

struct Fixture {
    client: tokio::runtime::Runtime,
    address: SocketAddr,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let loaded = Loaded::compile(
            "web",
            arcella_fuzz::http_guest(),
            EngineSettings::default(),
            None,
        )
        .expect("the http guest loads");
        let settings = SandboxSettings {
            limits: Limits {
                timeout: Duration::from_secs(2),
                ..Limits::default()
            },
            ..SandboxSettings::default()
        };
        let options = ServeOptions {
            max_body: 64 << 10,
            header_read_timeout: Duration::from_secs(1),
            ..ServeOptions::default()
        };
        let service = Arc::new(
            HttpService::new(Arc::new(loaded), &settings, options).expect("an HTTP service"),
        );
        let (ready, address) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("fuzz-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("server runtime");
                runtime.block_on(async move {
                    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                    ready
                        .send(listener.local_addr().expect("address"))
                        .expect("fuzz thread waits");
                    service
                        .serve(listener, std::future::pending())
                        .await
                        .expect("serve");
                    panic!("the server stopped serving");
                });
            })
            .expect("server thread");
        let client = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("client runtime");
        Fixture {
            client,
            address: address.recv().expect("the server is listening"),
        }
    })
}

async fn exchange(address: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(address)
        .await
        .expect("the server accepts connections");
    // The server may answer and close before it has read everything.
    if stream.write_all(request).await.is_ok() {
        let _ = stream.shutdown().await;
    }
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply).await;
    reply
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let reply = fixture
        .client
        .block_on(async {
            tokio::time::timeout(CLOSE_BOUND, exchange(fixture.address, data)).await
        })
        .expect("the server closed the connection in time");
    if std::env::var_os("ARCELLA_FUZZ_SHOW_REPLY").is_some() {
        eprintln!("{}", String::from_utf8_lossy(&reply));
    }
    // hyper answers an HTTP/1.0 request in HTTP/1.0.
    assert!(
        reply.is_empty() || reply.starts_with(b"HTTP/1.1 ") || reply.starts_with(b"HTTP/1.0 "),
        "not an HTTP/1.x response: {:?}",
        String::from_utf8_lossy(&reply[..reply.len().min(200)])
    );
});
