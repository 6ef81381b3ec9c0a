//! An HTTP server that hostile or merely many clients cannot wear down.
//!
//! The attacks: a client that opens a connection and never finishes its
//! headers (slowloris), many idle connections, and more slow requests than
//! the instance pool holds, which used to turn load into immediate 500s.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arcella_host::EngineSettings;
use arcella_host::Limits;
use arcella_host::http::{HttpService, ServeOptions};
use arcella_host::internal::Loaded;
use arcella_host::internal::SandboxSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use arcella_fixtures::http_guest;

/// A request the guest answers at once, on a connection closed after it.
const QUICK: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// A request the guest spins on until its timeout.
const SPIN: &[u8] = b"GET /loop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// Limits under which `/loop` runs out of time, never of fuel.
fn spinning_limits(timeout: Duration) -> Limits {
    Limits {
        timeout,
        fuel: u64::MAX / 4,
        ..Limits::default()
    }
}

async fn server(limits: Limits, options: ServeOptions) -> SocketAddr {
    let loaded = Loaded::compile("web", &http_guest(), EngineSettings::default(), None).unwrap();
    let settings = SandboxSettings {
        limits,
        ..SandboxSettings::default()
    };
    let service = Arc::new(HttpService::new(Arc::new(loaded), &settings, options).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(service.serve(listener, std::future::pending()));
    address
}

/// Sends a raw request and reads until the server closes or `bound` passes:
/// the response's text, and whether the server closed the connection.
async fn raw(address: SocketAddr, request: &[u8], bound: Duration) -> (String, bool) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + bound;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&received).into(), true),
            Ok(Ok(read)) => {
                received.extend_from_slice(&buffer[..read]);
                if received.windows(4).any(|window| window == b"\r\n\r\n") {
                    return (String::from_utf8_lossy(&received).into(), false);
                }
            }
            Err(_elapsed) => return (String::from_utf8_lossy(&received).into(), false),
        }
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let address = server(
        Limits::default(),
        ServeOptions {
            header_read_timeout: Duration::from_millis(300),
            ..ServeOptions::default()
        },
    )
    .await;
    let (_, closed) = raw(
        address,
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        Duration::from_secs(15),
    )
    .await;
    assert!(closed, "the server still holds a half-sent request open");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let address = server(
        Limits::default(),
        ServeOptions {
            header_read_timeout: Duration::from_millis(300),
            ..ServeOptions::default()
        },
    )
    .await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = vec![0u8; 1 << 16];
    let read = stream.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
    // Now idle: the server must close, not hold the connection forever.
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "an idle keep-alive connection stays open");
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let address = server(
        Limits::default(),
        ServeOptions {
            max_connections: 2,
            ..ServeOptions::default()
        },
    )
    .await;
    let idle_a = TcpStream::connect(address).await.unwrap();
    let _idle_b = TcpStream::connect(address).await.unwrap();
    let waiting = tokio::spawn(raw(address, QUICK, Duration::from_secs(20)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "a third connection was served while two held the only slots"
    );
    drop(idle_a);
    let (response, _) = waiting.await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
}

// Spinning guests hold a runtime thread each, as they do when served.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_past_the_queue_get_503_with_retry_after_not_500() {
    let limits = spinning_limits(Duration::from_secs(3));
    let address = server(
        limits,
        ServeOptions {
            max_concurrent_requests: 2,
            max_queued_requests: 1,
            ..ServeOptions::default()
        },
    )
    .await;
    let mut slow = Vec::new();
    for _ in 0..3 {
        slow.push(tokio::spawn(raw(address, SPIN, Duration::from_secs(20))));
    }
    // Two run and one waits; the next is answered at once, and told when to retry.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (response, _) = raw(address, QUICK, Duration::from_secs(2)).await;
    assert!(response.starts_with("HTTP/1.1 503"), "{response:?}");
    assert!(
        response.to_ascii_lowercase().contains("retry-after: 1"),
        "{response:?}"
    );
    for request in slow {
        let (response, _) = request.await.unwrap();
        assert!(
            !response.starts_with("HTTP/1.1 500"),
            "a slow request queued behind others failed: {response:?}"
        );
    }
}

/// Set when the test binary plays a server short of file descriptors.
const FEW_DESCRIPTORS_ROLE: &str = "ARCELLA_SECURITY_FEW_FDS";

/// A server run under `ulimit -n 64`: prints its address, serves for a while.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "played by a child process of running_out_of_descriptors_neither_spins_nor_floods_the_log"]
async fn server_with_few_descriptors() {
    if std::env::var_os(FEW_DESCRIPTORS_ROLE).is_none() {
        return;
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let address = server(Limits::default(), ServeOptions::default()).await;
    println!("listening on {address}");
    tokio::time::sleep(Duration::from_secs(8)).await;
}

#[test]
fn running_out_of_descriptors_neither_spins_nor_floods_the_log() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Command, Stdio};

    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 64 && exec \"$0\" http_serving::server_with_few_descriptors --exact --ignored --nocapture")
        .arg(std::env::current_exe().unwrap())
        .env(FEW_DESCRIPTORS_ROLE, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let address: SocketAddr = loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the server never listened"
        );
        if let Some(address) = line.trim().strip_prefix("listening on ") {
            break address.parse().unwrap();
        }
    };
    // Far more connections than the server has descriptors.
    let flood: Vec<std::net::TcpStream> = (0..150)
        .filter_map(|_| std::net::TcpStream::connect(address).ok())
        .collect();
    assert!(flood.len() > 64, "the backlog took the connections");
    std::thread::sleep(Duration::from_secs(2));
    drop(flood);
    // Once descriptors are free again, a request is served.
    std::thread::sleep(Duration::from_millis(1500));
    let mut client = std::net::TcpStream::connect(address).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    client.write_all(QUICK).unwrap();
    let mut response = String::new();
    let _ = client.read_to_string(&mut response);
    child.kill().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    child.wait().unwrap();
    let warnings = stderr
        .lines()
        .filter(|line| line.contains("accepting a connection failed"))
        .count();
    assert!(
        (1..=3).contains(&warnings),
        "{warnings} warnings about failing accepts (want one every 5 s): {}",
        &stderr[..stderr.len().min(2000)]
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
}

// Two runtime threads, as on a 2-core machine: spinning guests must not hold both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spinning_guests_do_not_starve_other_requests() {
    let limits = spinning_limits(Duration::from_secs(4));
    let address = server(limits, ServeOptions::default()).await;
    let spinning: Vec<_> = (0..4)
        .map(|_| tokio::spawn(raw(address, SPIN, Duration::from_secs(20))))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (response, _) = raw(address, QUICK, Duration::from_secs(20)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
    assert!(
        spinning.iter().all(|request| !request.is_finished()),
        "the quick request was answered only after a spinning one ended"
    );
    for request in spinning {
        let (response, _) = request.await.unwrap();
        assert!(response.starts_with("HTTP/1.1 504"), "{response:?}");
    }
}

#[tokio::test]
async fn a_request_without_a_host_is_a_400_not_a_500() {
    let address = server(Limits::default(), ServeOptions::default()).await;
    let (response, _) = raw(address, b"GET / HTTP/1.0\r\n\r\n", Duration::from_secs(10)).await;
    assert!(response.starts_with("HTTP/1.0 400"), "{response:?}");
}
