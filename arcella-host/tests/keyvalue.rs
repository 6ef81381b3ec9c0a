//! The `wasi:keyvalue` host service, with a WAT guest that imports its
//! three interfaces: each operation against each backend (memory, redb, and
//! a real `redis-server` each test starts), the per-bucket grant, the
//! limits, one store shared by two modules, two hosts sharing one Redis, a
//! redb file that outlives its host, and Redis going away mid-run.

// `serial()`'s guard spans each whole test on purpose; every test has a
// runtime and a thread of its own, so awaiting while holding it blocks no
// other task of that runtime.
#![allow(clippy::await_holding_lock)]

mod support;

use std::path::Path;
use std::sync::OnceLock;

use arcella_fixtures::{KEYVALUE_IMPORTS as IMPORTS, keyvalue_guest};
use arcella_host::{Host, Isolation, KeyValue, KeyValueBackend, Manifest};
use support::redis::RedisServer;

/// The guest, built once: `arcella_fixtures::keyvalue_guest`, whose doc
/// lists the operations each topic runs (`g`et, `s`et, `i`ncrement…).
fn guest() -> Vec<u8> {
    static GUEST: OnceLock<Vec<u8>> = OnceLock::new();
    GUEST.get_or_init(keyvalue_guest).clone()
}

/// A manifest importing the three interfaces, granted `buckets`.
fn manifest(name: &str, isolation: Isolation, buckets: &[&str]) -> Manifest {
    let mut manifest = support::manifest(name, isolation);
    manifest.module.imports = IMPORTS.iter().map(ToString::to_string).collect();
    manifest.capabilities.keyvalue = buckets.iter().map(ToString::to_string).collect();
    manifest
}

fn host(keyvalue: KeyValue) -> Host {
    Host::new(arcella_host::HostOptions {
        keyvalue,
        ..support::test_host_options()
    })
}

fn redb(dir: &Path) -> KeyValue {
    KeyValue::open(&KeyValueBackend::Redb {
        path: dir.join("keyvalue.redb"),
    })
    .unwrap()
}

fn redis(server: &RedisServer) -> KeyValue {
    KeyValue::open(&KeyValueBackend::Redis { url: server.url() }).unwrap()
}

/// `handle`'s reply, or its error as text.
async fn call(
    host: &mut Host,
    module: &str,
    topic: &str,
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    match host.handle(module, topic, payload).await {
        Ok(handled) => handled
            .value
            .map_err(|error| format!("guest error: {error}")),
        Err(error) => Err(format!("host error: {error}")),
    }
}

/// The payload of `s`: the key's length, the key, the value.
fn set_payload(key: &str, value: &[u8]) -> Vec<u8> {
    let mut payload = vec![u8::try_from(key.len()).unwrap()];
    payload.extend_from_slice(key.as_bytes());
    payload.extend_from_slice(value);
    payload
}

async fn installed(keyvalue: KeyValue, buckets: &[&str]) -> Host {
    let mut host = host(keyvalue);
    host.install(manifest("kv", Isolation::Main, buckets), guest())
        .await
        .unwrap();
    host.start("kv").await.unwrap();
    host
}

async fn every_operation_works(keyvalue: KeyValue) {
    let mut host = installed(keyvalue.clone(), &["default", "sessions"]).await;
    let ok = |reply: Result<Vec<u8>, String>| reply.unwrap();

    assert_eq!(ok(call(&mut host, "kv", "g", b"greeting").await), b"<none>");
    assert_eq!(ok(call(&mut host, "kv", "e", b"greeting").await), [0]);
    ok(call(&mut host, "kv", "s", &set_payload("greeting", b"hello")).await);
    assert_eq!(ok(call(&mut host, "kv", "g", b"greeting").await), b"hello");
    assert_eq!(ok(call(&mut host, "kv", "e", b"greeting").await), [1]);
    assert_eq!(
        keyvalue.get("default", "greeting").unwrap().as_deref(),
        Some(&b"hello"[..]),
        "open(\"\") is the bucket `default`"
    );
    assert_eq!(
        ok(call(&mut host, "kv", "gsessions", b"greeting").await),
        b"<none>",
        "buckets are apart"
    );
    ok(call(&mut host, "kv", "d", b"greeting").await);
    assert_eq!(ok(call(&mut host, "kv", "g", b"greeting").await), b"<none>");

    assert_eq!(
        ok(call(&mut host, "kv", "isessions", b"visits").await),
        1u64.to_le_bytes()
    );
    assert_eq!(
        ok(call(&mut host, "kv", "isessions", b"visits").await),
        2u64.to_le_bytes()
    );
    assert_eq!(
        ok(call(&mut host, "kv", "gsessions", b"visits").await),
        b"2",
        "a counter is decimal text"
    );

    ok(call(&mut host, "kv", "Ssessions", b"").await);
    assert_eq!(ok(call(&mut host, "kv", "Msessions", b"").await), b"1,2,,");
    let mut listed = vec![0];
    listed.extend_from_slice(&[0; 8]);
    listed.extend_from_slice(b"a\nb\nvisits\n");
    assert_eq!(ok(call(&mut host, "kv", "lsessions", b"").await), listed);
    ok(call(&mut host, "kv", "Dsessions", b"").await);
    assert_eq!(ok(call(&mut host, "kv", "Msessions", b"").await), b",,,");
    assert_eq!(
        keyvalue.get("sessions", "visits").unwrap().as_deref(),
        Some(&b"2"[..])
    );
}

/// Runs this binary's tests one at a time: one of them captures the host's
/// `tracing` output on its thread, and a callsite that another thread
/// registers meanwhile may be cached as one no subscriber listens to.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[tokio::test]
async fn every_operation_works_in_memory() {
    let _serial = serial();
    every_operation_works(KeyValue::default()).await;
}

#[tokio::test]
async fn every_operation_works_on_redb() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    every_operation_works(redb(dir.path())).await;
}

#[tokio::test]
async fn every_operation_works_on_redis() {
    let _serial = serial();
    let server = RedisServer::start();
    every_operation_works(redis(&server)).await;
}

#[tokio::test]
async fn list_keys_pages_with_a_cursor_in_memory() {
    let _serial = serial();
    list_keys_pages_with_a_cursor(KeyValue::default()).await;
}

#[tokio::test]
async fn list_keys_pages_with_a_cursor_on_redb() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    list_keys_pages_with_a_cursor(redb(dir.path())).await;
}

#[tokio::test]
async fn list_keys_pages_with_a_cursor_on_redis() {
    let _serial = serial();
    let server = RedisServer::start();
    list_keys_pages_with_a_cursor(redis(&server)).await;
}

async fn list_keys_pages_with_a_cursor(keyvalue: KeyValue) {
    let limit = arcella_host::services::keyvalue::KeyValueLimits::default().page;
    for i in 0..limit + 3 {
        keyvalue.set("default", &format!("k{i:05}"), b"v").unwrap();
    }
    let mut host = installed(keyvalue, &["default"]).await;
    let first = call(&mut host, "kv", "l", b"").await.unwrap();
    assert_eq!(first[0], 1, "a cursor follows a full page");
    let cursor = u64::from_le_bytes(first[1..9].try_into().unwrap());
    assert_eq!(cursor, limit as u64);
    assert_eq!(
        first[9..]
            .split(|b| *b == b'\n')
            .filter(|k| !k.is_empty())
            .count(),
        limit
    );
    let rest = call(&mut host, "kv", "l", &cursor.to_le_bytes())
        .await
        .unwrap();
    assert_eq!(rest[0], 0, "the last page has no cursor");
    let expected = format!("k{:05}\nk{:05}\nk{:05}\n", limit, limit + 1, limit + 2);
    assert_eq!(String::from_utf8_lossy(&rest[9..]), expected);
}

#[tokio::test]
async fn an_ungranted_bucket_is_denied() {
    let _serial = serial();
    let keyvalue = KeyValue::default();
    keyvalue.set("secrets", "token", b"s3cr3t").unwrap();
    let mut host = installed(keyvalue.clone(), &["sessions"]).await;
    assert_eq!(
        call(&mut host, "kv", "gsecrets", b"token")
            .await
            .unwrap_err(),
        "guest error: access-denied"
    );
    assert_eq!(
        call(&mut host, "kv", "g", b"token").await.unwrap_err(),
        "guest error: access-denied",
        "`default` is a bucket like any other: not granted unless named"
    );
    assert!(call(&mut host, "kv", "gsessions", b"token").await.is_ok());
}

#[tokio::test]
async fn a_star_grants_every_bucket() {
    let _serial = serial();
    let mut host = installed(KeyValue::default(), &["*"]).await;
    assert!(call(&mut host, "kv", "ganything", b"k").await.is_ok());
    assert!(call(&mut host, "kv", "g", b"k").await.is_ok());
}

#[tokio::test]
async fn no_grant_denies_everything() {
    let _serial = serial();
    let mut host = installed(KeyValue::default(), &[]).await;
    assert_eq!(
        call(&mut host, "kv", "g", b"k").await.unwrap_err(),
        "guest error: access-denied"
    );
}

#[tokio::test]
async fn limits_are_named_in_errors_and_the_host_lives() {
    let _serial = serial();
    let keyvalue = KeyValue::default();
    let mut host = installed(keyvalue.clone(), &["default"]).await;
    let limits = arcella_host::services::keyvalue::KeyValueLimits::default();

    let big = vec![7u8; limits.value + 1];
    let error = call(&mut host, "kv", "s", &set_payload("big", &big))
        .await
        .unwrap_err();
    assert!(
        error.contains("value limit") && error.contains(&limits.value.to_string()),
        "{error}"
    );
    assert_eq!(
        keyvalue.get("default", "big").unwrap(),
        None,
        "nothing was written"
    );
    let fits = vec![7u8; limits.value];
    call(&mut host, "kv", "s", &set_payload("big", &fits))
        .await
        .unwrap();

    let long_key = "k".repeat(limits.key + 1);
    let error = call(&mut host, "kv", "g", long_key.as_bytes())
        .await
        .unwrap_err();
    assert!(error.contains("key limit"), "{error}");

    assert_eq!(
        call(&mut host, "kv", "e", b"big").await.unwrap(),
        [1],
        "the host lives"
    );

    // The instance keeps the buckets it never drops, across calls.
    let opens = u8::try_from(limits.buckets + 1).unwrap();
    let error = call(&mut host, "kv", "o", &[opens]).await.unwrap_err();
    assert_eq!(
        error,
        format!(
            "guest error: {0} buckets are open; the keyvalue limit is {0} buckets per instance",
            limits.buckets
        )
    );
}

#[tokio::test]
async fn two_modules_share_one_bucket() {
    let _serial = serial();
    let mut host = host(KeyValue::default());
    for name in ["writer", "reader"] {
        host.install(manifest(name, Isolation::Main, &["shared"]), guest())
            .await
            .unwrap();
        host.start(name).await.unwrap();
    }
    call(
        &mut host,
        "writer",
        "sshared",
        &set_payload("k", b"from writer"),
    )
    .await
    .unwrap();
    assert_eq!(
        call(&mut host, "reader", "gshared", b"k").await.unwrap(),
        b"from writer"
    );
}

async fn every_isolation_shares_one_store(keyvalue: KeyValue) {
    let mut host = host(keyvalue.clone());
    let modules = [
        ("in-process", Isolation::Main, "default"),
        ("worker-a", Isolation::Worker, "a"),
        ("worker-b", Isolation::Worker, "b"),
    ];
    for (name, isolation, group) in modules {
        let mut manifest = manifest(name, isolation, &["shared"]);
        manifest.module.group = group.to_string();
        host.install(manifest, guest()).await.unwrap();
        host.start(name).await.unwrap();
    }
    call(
        &mut host,
        "worker-a",
        "sshared",
        &set_payload("k", b"from a"),
    )
    .await
    .unwrap();
    assert_eq!(
        call(&mut host, "worker-b", "gshared", b"k").await.unwrap(),
        b"from a"
    );
    assert_eq!(
        call(&mut host, "in-process", "gshared", b"k")
            .await
            .unwrap(),
        b"from a"
    );
    assert_eq!(
        keyvalue.get("shared", "k").unwrap().as_deref(),
        Some(&b"from a"[..])
    );
    for (name, _, _) in modules {
        call(&mut host, name, "ishared", b"n").await.unwrap();
    }
    assert_eq!(
        call(&mut host, "worker-b", "ishared", b"n").await.unwrap(),
        4u64.to_le_bytes()
    );
    assert_eq!(
        call(&mut host, "worker-a", "gsecrets", b"k")
            .await
            .unwrap_err(),
        "guest error: access-denied",
        "a worker's guest is held to its grant"
    );
    let big = vec![1u8; arcella_host::services::keyvalue::KeyValueLimits::default().value + 1];
    let error = call(&mut host, "worker-a", "sshared", &set_payload("big", &big))
        .await
        .unwrap_err();
    assert!(error.contains("value limit"), "{error}");
}

#[tokio::test]
async fn every_isolation_shares_one_store_in_memory() {
    let _serial = serial();
    every_isolation_shares_one_store(KeyValue::default()).await;
}

#[tokio::test]
async fn every_isolation_shares_one_store_on_redb() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    every_isolation_shares_one_store(redb(dir.path())).await;
}

#[tokio::test]
async fn every_isolation_shares_one_store_on_redis() {
    let _serial = serial();
    let server = RedisServer::start();
    every_isolation_shares_one_store(redis(&server)).await;
}

/// Two hosts, each with its own connections to one Redis, one running the
/// module in its process and the other in a worker: each sees the other's
/// writes, and their increments add up.
#[tokio::test]
async fn two_hosts_share_one_bucket_through_redis() {
    let _serial = serial();
    let server = RedisServer::start();
    let mut first = installed(redis(&server), &["shared"]).await;
    let mut second = host(redis(&server));
    second
        .install(manifest("kv", Isolation::Worker, &["shared"]), guest())
        .await
        .unwrap();
    second.start("kv").await.unwrap();

    call(
        &mut first,
        "kv",
        "sshared",
        &set_payload("k", b"from the first"),
    )
    .await
    .unwrap();
    assert_eq!(
        call(&mut second, "kv", "gshared", b"k").await.unwrap(),
        b"from the first"
    );
    for turn in 1..=4u64 {
        let host = if turn % 2 == 1 {
            &mut first
        } else {
            &mut second
        };
        assert_eq!(
            call(host, "kv", "ishared", b"n").await.unwrap(),
            turn.to_le_bytes()
        );
    }
    call(&mut second, "kv", "Sshared", b"").await.unwrap();
    assert_eq!(
        call(&mut first, "kv", "Mshared", b"").await.unwrap(),
        b"1,2,,"
    );
    call(&mut first, "kv", "Dshared", b"").await.unwrap();
    assert_eq!(
        call(&mut second, "kv", "Mshared", b"").await.unwrap(),
        b",,,"
    );
    let mut listed = vec![0];
    listed.extend_from_slice(&[0; 8]);
    listed.extend_from_slice(b"k\nn\n");
    assert_eq!(
        call(&mut second, "kv", "lshared", b"").await.unwrap(),
        listed
    );
}

#[tokio::test]
async fn redb_data_outlives_the_host() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    {
        let mut host = installed(redb(dir.path()), &["default"]).await;
        call(&mut host, "kv", "s", &set_payload("kept", b"yes"))
            .await
            .unwrap();
        call(&mut host, "kv", "i", b"n").await.unwrap();
    }
    let mut host = installed(redb(dir.path()), &["default"]).await;
    assert_eq!(call(&mut host, "kv", "g", b"kept").await.unwrap(), b"yes");
    assert_eq!(
        call(&mut host, "kv", "i", b"n").await.unwrap(),
        2u64.to_le_bytes()
    );
}

/// Everything the `tracing` subscriber it makes writes, kept as text.
#[derive(Clone, Default)]
struct Written(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Written {
    /// Collects what this thread logs until the guard is dropped (a
    /// `current_thread` runtime runs in-process guests on this thread).
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let written = Self::default();
        let writer = written.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (written, tracing::subscriber::set_default(subscriber))
    }

    fn lines(&self, level: &str) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|line| line.contains(level))
            .map(ToString::to_string)
            .collect()
    }
}

impl std::io::Write for Written {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_denial_logs_one_warning_with_the_line_that_would_grant_it() {
    let _serial = serial();
    let (written, _logs) = Written::capture();

    let mut host = installed(KeyValue::default(), &["default", "sessions"]).await;
    call(&mut host, "kv", "gsecrets", b"k").await.unwrap_err();
    let warnings = written.lines("WARN");
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains(r#"keyvalue = ["default", "sessions", "secrets"]"#)
            && warnings[0].contains("`kv`"),
        "{warnings:#?}"
    );
}

// ---- check ----

#[test]
fn check_warns_when_keyvalue_is_imported_without_a_grant() {
    let _serial = serial();
    use arcella_host::contract::check_bytes;
    use arcella_host::diagnostic::Code;

    let granted = manifest("checked", Isolation::Main, &["default"]);
    let codes = |manifest: &Manifest| -> Vec<Code> {
        check_bytes(&guest(), manifest)
            .iter()
            .map(|d| d.code)
            .collect()
    };
    assert_eq!(codes(&granted), []);

    let ungranted = manifest("checked", Isolation::Main, &[]);
    assert_eq!(codes(&ungranted), [Code::KeyValueNotGranted]);
    let diagnostic = &check_bytes(&guest(), &ungranted)[0];
    assert!(
        diagnostic.message.contains("wasi:keyvalue/"),
        "{diagnostic:?}"
    );
    assert_eq!(
        diagnostic.help.as_deref(),
        Some(r#"keyvalue = ["default"]"#)
    );

    let mut undeclared = granted;
    undeclared.module.imports.clear();
    assert_eq!(
        codes(&undeclared),
        [
            Code::UndeclaredImport,
            Code::UndeclaredImport,
            Code::UndeclaredImport
        ],
        "the interfaces must be declared"
    );
}

/// `[limits] keyvalue-*` bound the guest's calls wherever it runs: the
/// limits cross to a worker with the rest of its settings.
#[tokio::test]
async fn manifest_limits_bound_keyvalue_calls_in_either_isolation() {
    let _serial = serial();
    let mut host = host(KeyValue::default());
    for (name, isolation) in [
        ("in-process", Isolation::Main),
        ("worker", Isolation::Worker),
    ] {
        let mut manifest = manifest(name, isolation, &["default"]);
        manifest.limits.keyvalue.value = 8;
        manifest.limits.keyvalue.key = 4;
        manifest.limits.keyvalue.page = 2;
        host.install(manifest, guest()).await.unwrap();
        host.start(name).await.unwrap();

        let error = call(&mut host, name, "s", &set_payload("k", b"123456789"))
            .await
            .unwrap_err();
        assert!(
            error.contains("the value is 9 bytes; the keyvalue value limit is 8 bytes"),
            "{name}: {error}"
        );
        call(&mut host, name, "s", &set_payload("k", b"12345678"))
            .await
            .unwrap();
        let error = call(&mut host, name, "g", b"kkkkk").await.unwrap_err();
        assert!(error.contains("key limit is 4 bytes"), "{name}: {error}");

        for key in ["a", "b", "c"] {
            call(&mut host, name, "s", &set_payload(key, b"v"))
                .await
                .unwrap();
        }
        // Four keys, two to a page: the first page says more follow.
        let page = call(&mut host, name, "l", b"").await.unwrap();
        assert_eq!(page[0], 1, "{name}: a cursor to the next page");
        assert_eq!(&page[9..], b"a\nb\n", "{name}");
        host.remove(name).await.unwrap();
    }
}

// ---- Redis going away ----

/// Redis killed mid-run (no shutdown of its own) and started again on the
/// same port: while it is down every call fails naming it, the operator
/// gets one warning, and once it is back calls succeed and every write it
/// had acknowledged is there (it syncs its append-only file before it
/// answers; a call that failed while it was down wrote nothing).
#[tokio::test(flavor = "current_thread")]
async fn redis_going_away_mid_run_fails_calls_warns_once_and_loses_nothing_acknowledged() {
    let _serial = serial();
    let (written, _logs) = Written::capture();
    let mut server = RedisServer::start_durable();
    let mut host = installed(redis(&server), &["default"]).await;
    call(&mut host, "kv", "s", &set_payload("kept", b"yes"))
        .await
        .unwrap();
    assert_eq!(
        call(&mut host, "kv", "i", b"n").await.unwrap(),
        1u64.to_le_bytes()
    );

    server.kill();
    let down = format!("guest error: redis at {}: ", server.address());
    let set = set_payload("while-down", b"x");
    for (topic, payload) in [
        ("g", &b"kept"[..]),
        ("s", &set),
        ("i", b"n"),
        ("d", b"kept"),
        ("e", b"kept"),
        ("l", b""),
        ("S", b""),
        ("M", b""),
        ("D", b""),
    ] {
        let error = call(&mut host, "kv", topic, payload).await.unwrap_err();
        assert!(error.starts_with(&down), "{topic}: {error}");
    }

    server.restart();
    assert_eq!(call(&mut host, "kv", "g", b"kept").await.unwrap(), b"yes");
    assert_eq!(
        call(&mut host, "kv", "i", b"n").await.unwrap(),
        2u64.to_le_bytes(),
        "the acknowledged increment was kept, the failed one never applied"
    );
    assert_eq!(
        call(&mut host, "kv", "g", b"while-down").await.unwrap(),
        b"<none>"
    );

    let warnings = written.lines("WARN");
    assert_eq!(warnings.len(), 1, "one warning per outage: {warnings:#?}");
    assert!(
        warnings[0].contains(&format!("redis at {}", server.address())),
        "{warnings:#?}"
    );
    let back = written.lines("INFO");
    assert_eq!(back.len(), 1, "{back:#?}");
    assert!(back[0].contains("is back"), "{back:#?}");
}

/// A Redis that is not up when the host starts does not stop it: the
/// operator is warned once, calls fail naming it, and succeed once it is up.
#[tokio::test(flavor = "current_thread")]
async fn a_host_starts_while_redis_is_down_and_serves_once_it_is_up() {
    let _serial = serial();
    let (written, _logs) = Written::capture();
    let mut server = RedisServer::start();
    server.kill();

    let mut host = installed(redis(&server), &["default"]).await;
    let warnings = written.lines("WARN");
    assert_eq!(warnings.len(), 1, "warned at start: {warnings:#?}");
    assert!(
        warnings[0].contains(&format!("redis at {}", server.address())),
        "{warnings:#?}"
    );
    let error = call(&mut host, "kv", "g", b"k").await.unwrap_err();
    assert!(
        error.starts_with(&format!("guest error: redis at {}: ", server.address())),
        "{error}"
    );

    server.restart();
    call(&mut host, "kv", "s", &set_payload("k", b"v"))
        .await
        .unwrap();
    assert_eq!(call(&mut host, "kv", "g", b"k").await.unwrap(), b"v");
    assert_eq!(written.lines("WARN").len(), 1, "the same outage");
    let back = written.lines("INFO");
    assert_eq!(back.len(), 1, "{back:#?}");
    assert!(back[0].contains("is back"), "{back:#?}");
}

/// A Redis that hangs (stopped, its connections open) holds a call only
/// until the backend's read timeout: the call fails naming it, and calls
/// succeed again once it runs.
#[tokio::test(flavor = "current_thread")]
async fn a_hung_redis_fails_calls_instead_of_holding_them() {
    let _serial = serial();
    let (written, _logs) = Written::capture();
    let server = RedisServer::start();
    let mut host = installed(redis(&server), &["default"]).await;
    call(&mut host, "kv", "s", &set_payload("k", b"v"))
        .await
        .unwrap();

    server.pause();
    let down = format!("guest error: redis at {}: ", server.address());
    for topic in ["g", "i"] {
        let error = call(&mut host, "kv", topic, b"k").await.unwrap_err();
        assert!(
            error.starts_with(&down) && error.contains("no answer within"),
            "{topic}: {error}"
        );
    }
    server.resume();
    assert_eq!(call(&mut host, "kv", "g", b"k").await.unwrap(), b"v");
    assert_eq!(written.lines("WARN").len(), 1, "one warning per outage");
    assert_eq!(written.lines("INFO").len(), 1);
}
