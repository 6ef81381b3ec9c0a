//! Sockets link, and reach only the endpoints the manifest grants.
//!
//! The attack: a guest connects to a service on the host's loopback (a
//! database, an admin port) that no one granted it. Sockets used to be
//! refused at install, so components using `std::net` could not run at all;
//! now they run, and each connection is checked.

use std::net::TcpListener;
use std::time::Duration;

use arcella_host::EngineSettings;
use arcella_host::Stdio;
use arcella_host::capabilities::SocketGrant;
use arcella_host::internal::Loaded;
use arcella_host::internal::SandboxSettings;

use arcella_fixtures::{REALLOC, componentize};

/// A command that connects over TCP to 127.0.0.1:`port` and prints `C` when
/// connected, or `E` and the error code's letter (`B` = access-denied) when
/// creating, starting or finishing the connection fails.
fn connector(port: u16) -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "wasi:sockets/instance-network@0.2.12" "instance-network" (func $network (result i32)))
  (import "wasi:sockets/tcp-create-socket@0.2.12" "create-tcp-socket" (func $create (param i32 i32)))
  (import "wasi:sockets/tcp@0.2.12" "[method]tcp-socket.start-connect"
    (func $start (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "wasi:sockets/tcp@0.2.12" "[method]tcp-socket.finish-connect" (func $finish (param i32 i32)))
  (import "wasi:sockets/tcp@0.2.12" "[method]tcp-socket.subscribe" (func $subscribe (param i32) (result i32)))
  (import "wasi:io/poll@0.2.12" "[method]pollable.block" (func $block (param i32)))
  (import "wasi:cli/stdout@0.2.12" "get-stdout" (func $get_stdout (result i32)))
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-write-and-flush" (func $write (param i32 i32 i32 i32)))
  (import "wasi:cli/exit@0.2.12" "exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  {REALLOC}
  (func $say (param $first i32) (param $second i32) (param $len i32)
    (i32.store8 (i32.const 1024) (local.get $first))
    (i32.store8 (i32.const 1025) (local.get $second))
    (call $write (call $get_stdout) (i32.const 1024) (local.get $len) (i32.const 2048)))
  (func $fail (param $code i32)
    (call $say (i32.const 69) (i32.add (i32.const 65) (local.get $code)) (i32.const 2))
    (call $exit (i32.const 1)))
  (func (export "wasi:cli/run@0.2.12#run") (result i32)
    (local $socket i32) (local $network i32)
    (local.set $network (call $network))
    ;; create-tcp-socket(ipv4) -> result<tcp-socket, error-code> at 512
    (call $create (i32.const 0) (i32.const 512))
    (if (i32.load8_u (i32.const 512)) (then (call $fail (i32.load8_u (i32.const 516)))))
    (local.set $socket (i32.load (i32.const 516)))
    ;; start-connect(network, ipv4(port, 127.0.0.1)) -> result<_, error-code> at 528
    (call $start (local.get $socket) (local.get $network)
      (i32.const 0) (i32.const {port}) (i32.const 127) (i32.const 0) (i32.const 0) (i32.const 1)
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
      (i32.const 528))
    (if (i32.load8_u (i32.const 528)) (then (call $fail (i32.load8_u (i32.const 529)))))
    ;; finish-connect until it no longer would block (8)
    (loop $again
      (call $block (call $subscribe (local.get $socket)))
      (call $finish (local.get $socket) (i32.const 544))
      (if (i32.load8_u (i32.const 544))
        (then
          (br_if $again (i32.eq (i32.load8_u (i32.const 548)) (i32.const 8)))
          (call $fail (i32.load8_u (i32.const 548))))))
    (call $say (i32.const 67) (i32.const 0) (i32.const 1))
    (call $exit (i32.const 0))
    (i32.const 0))
)"#
    );
    componentize(&wat, "wasi:cli/command")
}

/// Runs the connector against a fresh loopback listener under `grants`:
/// what it printed, and whether the listener saw a connection.
async fn connect_with(grants: &[&str]) -> (String, bool) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let grants: Vec<String> = grants
        .iter()
        .map(|grant| grant.replace("PORT", &port.to_string()))
        .collect();
    let loaded = Loaded::compile(
        "connector",
        &connector(port),
        EngineSettings::default(),
        None,
    )
    .unwrap();
    let mut settings = SandboxSettings {
        stdio: Stdio::Capture { limit: 1 << 10 },
        ..SandboxSettings::default()
    };
    settings.capabilities.sockets = grants
        .iter()
        .map(|grant| SocketGrant::parse(grant).unwrap())
        .collect();
    let call = loaded
        .run_command(&loaded.sandbox(&settings))
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&call.value.stdout.bytes).into_owned();
    // A connection the guest made is in the backlog by the time it printed.
    std::thread::sleep(Duration::from_millis(50));
    (printed, listener.accept().is_ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_connects_to_a_granted_endpoint() {
    let (printed, connected) = connect_with(&["tcp://127.0.0.1:PORT"]).await;
    assert_eq!(printed, "C");
    assert!(connected, "the listener saw the guest's connection");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_without_grants_gets_access_denied_and_reaches_nothing() {
    let (printed, connected) = connect_with(&[]).await;
    assert_eq!(printed, "EB", "access-denied when creating the socket");
    assert!(!connected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_for_another_endpoint_does_not_open_this_one() {
    let (printed, connected) = connect_with(&["tcp://127.0.0.1:1", "udp://127.0.0.1:PORT"]).await;
    assert_eq!(printed, "EB", "access-denied when connecting");
    assert!(!connected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_granted_name_opens_the_addresses_it_resolves_to() {
    let (printed, connected) = connect_with(&["tcp://localhost:PORT"]).await;
    assert_eq!(printed, "C");
    assert!(connected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_installs_a_component_that_imports_sockets_without_grants_and_denies_them() {
    use arcella_host::{Host, Manifest};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    // No grant: `check` warns (A0607); installing must not refuse it.
    let manifest = Manifest::defaults("connector", std::path::Path::new("."));
    let mut host = Host::new(arcella_host::HostOptions {
        stdio: Stdio::Capture { limit: 1 << 10 },
        ..crate::support::test_host_options()
    });
    host.install(manifest, connector(port)).await.unwrap();
    let call = host.run("connector", &[]).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&call.value.stdout.bytes), "EB");
    assert!(listener.accept().is_err());
}
