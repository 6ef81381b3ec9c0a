//! Every call a guest makes to `wasi:keyvalue` and `wasi:config` reaches
//! the embedder's `Observers::on_service_call` as a record, in call order,
//! whatever the isolation; a value read from the environment shows as its
//! reference; and `get-all` answers in key order.

mod support;

use std::sync::{Arc, Mutex, OnceLock};

use arcella_fixtures::{KEYVALUE_IMPORTS, config_guest, keyvalue_guest};
use arcella_host::manifest::ConfigValue;
use arcella_host::services::keyvalue::KeyValueLimits;
use arcella_host::{Host, HostOptions, Isolation, Level, LogRecord, ServiceCall};

/// What the observers heard, in order.
#[derive(Clone, Default)]
struct Heard {
    calls: Arc<Mutex<Vec<ServiceCall>>>,
    logs: Arc<Mutex<Vec<LogRecord>>>,
}

impl Heard {
    /// The calls heard so far, one line each, and forgets them.
    fn lines(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .drain(..)
            .map(|call| call.to_string())
            .collect()
    }
}

fn host() -> (Host, Heard) {
    let heard = Heard::default();
    let (calls, logs) = (heard.calls.clone(), heard.logs.clone());
    let mut options: HostOptions = support::test_host_options();
    options.observers.on_service_call = Some(Arc::new(move |call: &ServiceCall| {
        calls.lock().unwrap().push(call.clone());
    }));
    options.observers.on_log = Some(Arc::new(move |record: &LogRecord| {
        logs.lock().unwrap().push(record.clone());
    }));
    (Host::new(options), heard)
}

fn keyvalue() -> Vec<u8> {
    static GUEST: OnceLock<Vec<u8>> = OnceLock::new();
    GUEST.get_or_init(keyvalue_guest).clone()
}

fn config() -> Vec<u8> {
    static GUEST: OnceLock<Vec<u8>> = OnceLock::new();
    GUEST.get_or_init(config_guest).clone()
}

/// The payload of the keyvalue guest's `s`: the key's length, the key, the value.
fn set_payload(key: &str, value: &[u8]) -> Vec<u8> {
    let mut payload = vec![u8::try_from(key.len()).unwrap()];
    payload.extend_from_slice(key.as_bytes());
    payload.extend_from_slice(value);
    payload
}

async fn every_keyvalue_call_is_reported_in_order(isolation: Isolation) {
    let (mut host, heard) = host();
    let mut manifest = support::manifest("kv", isolation);
    manifest.module.imports = KEYVALUE_IMPORTS.iter().map(ToString::to_string).collect();
    manifest.capabilities.keyvalue = vec!["default".into()];
    host.install(manifest, keyvalue()).await.unwrap();
    host.start("kv").await.unwrap();
    assert!(heard.lines().is_empty(), "start makes no service call");

    let big = vec![7u8; KeyValueLimits::default().value + 1];
    let calls: [(&str, Vec<u8>); 13] = [
        ("s", set_payload("name", b"Ada")),
        ("g", b"name".to_vec()),
        ("e", b"name".to_vec()),
        ("i", b"visits".to_vec()),
        ("l", Vec::new()),
        ("S", Vec::new()),
        ("M", Vec::new()),
        ("D", Vec::new()),
        ("d", b"name".to_vec()),
        ("g", b"name".to_vec()),
        ("gsecrets", b"token".to_vec()),
        ("s", set_payload("long", &[b'x'; 40])),
        ("s", set_payload("big", &big)),
    ];
    for (topic, payload) in &calls {
        host.handle("kv", topic, payload).await.unwrap();
    }
    let open = r#"keyvalue.open("default") -> ok"#;
    let expected = [
        open,
        r#"keyvalue.set("default", "name", "Ada") -> ok"#,
        open,
        r#"keyvalue.get("default", "name") -> "Ada""#,
        open,
        r#"keyvalue.exists("default", "name") -> true"#,
        open,
        r#"keyvalue.increment("default", "visits", 1) -> 1"#,
        open,
        r#"keyvalue.list-keys("default") -> ["name", "visits"]"#,
        open,
        r#"keyvalue.set-many("default", [("a", "1"), ("b", "2")]) -> ok"#,
        open,
        r#"keyvalue.get-many("default", ["a", "b", "zz"]) -> ["1", "2", none]"#,
        open,
        r#"keyvalue.delete-many("default", ["a", "b"]) -> ok"#,
        open,
        r#"keyvalue.delete("default", "name") -> ok"#,
        open,
        r#"keyvalue.get("default", "name") -> none"#,
        r#"keyvalue.open("secrets") -> error: access-denied"#,
        open,
        r#"keyvalue.set("default", "long", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"… (40 bytes)) -> ok"#,
        open,
        "keyvalue.set(\"default\", \"big\", hex 0707070707070707070707070707070707070707070707070707070707070707… (1048577 bytes)) -> error: other: the value is 1048577 bytes; the keyvalue value limit is 1048576 bytes",
    ];
    assert_eq!(heard.lines(), expected);
}

#[tokio::test]
async fn every_keyvalue_call_is_reported_in_order_in_process() {
    every_keyvalue_call_is_reported_in_order(Isolation::Main).await;
}

#[tokio::test]
async fn every_keyvalue_call_is_reported_in_order_from_a_worker() {
    every_keyvalue_call_is_reported_in_order(Isolation::Worker).await;
}

#[tokio::test]
async fn a_record_carries_the_module_and_the_call_as_data() {
    let (mut host, heard) = host();
    let mut manifest = support::manifest("counter", Isolation::Worker);
    manifest.module.imports = KEYVALUE_IMPORTS.iter().map(ToString::to_string).collect();
    manifest.capabilities.keyvalue = vec!["default".into()];
    host.install(manifest, keyvalue()).await.unwrap();
    host.start("counter").await.unwrap();
    host.handle("counter", "i", b"/").await.unwrap();
    let calls = heard.calls.lock().unwrap().clone();
    let increment = &calls[1];
    assert_eq!(increment.module, "counter");
    assert_eq!(increment.interface, "wasi:keyvalue/atomics");
    assert_eq!(increment.operation, "increment");
    assert_eq!(increment.bucket.as_deref(), Some("default"));
    assert_eq!(increment.keys, ["/"]);
    assert_eq!(increment.delta, Some(1));
    assert_eq!(
        increment.result,
        Ok(arcella_host::services::calls::Answer::Counter(1))
    );
}

/// A variable cargo sets for every test it runs: its value is the package's name.
const PRESENT: &str = "CARGO_PKG_NAME";

async fn config_calls_are_reported_with_environment_values_hidden(isolation: Isolation) {
    let (mut host, heard) = host();
    let mut manifest = support::manifest("configured", isolation);
    manifest.module.imports = vec![
        "wasi:config/store@0.2.0-rc.1".into(),
        "wasi:logging/logging@0.1.0-draft".into(),
    ];
    manifest.config = vec![
        ("zeta".into(), ConfigValue::Text("last".into())),
        ("package".into(), ConfigValue::Env(PRESENT.into())),
        ("alpha".into(), ConfigValue::Text("first".into())),
    ];
    host.install(manifest, config()).await.unwrap();
    host.start("configured").await.unwrap();
    heard.logs.lock().unwrap().clear();

    let got = host.handle("configured", "get", b"package").await.unwrap();
    assert_eq!(
        got.value.unwrap(),
        env!("CARGO_PKG_NAME").as_bytes(),
        "the guest gets the value"
    );
    host.handle("configured", "get", b"absent").await.unwrap();
    host.handle("configured", "all", b"").await.unwrap();
    let hidden = r#""{ env = \"CARGO_PKG_NAME\" }""#;
    assert_eq!(
        heard.lines(),
        [
            format!(r#"config.get("package") -> {hidden}"#),
            r#"config.get("absent") -> none"#.to_string(),
            format!(
                r#"config.get-all() -> [("alpha", "first"), ("package", {hidden}), ("zeta", "last")]"#
            ),
        ],
        "the record never shows a value read from the environment"
    );
    let logged: Vec<(Level, String)> = heard
        .logs
        .lock()
        .unwrap()
        .iter()
        .map(|record| (record.level, record.message.clone()))
        .collect();
    assert_eq!(
        logged,
        [
            (Level::Info, "alpha: first".to_string()),
            (Level::Info, format!("package: {}", env!("CARGO_PKG_NAME"))),
            (Level::Info, "zeta: last".to_string()),
        ],
        "get-all gives the guest its pairs in key order"
    );
}

#[tokio::test]
async fn config_calls_are_reported_with_environment_values_hidden_in_process() {
    config_calls_are_reported_with_environment_values_hidden(Isolation::Main).await;
}

#[tokio::test]
async fn config_calls_are_reported_with_environment_values_hidden_from_a_worker() {
    config_calls_are_reported_with_environment_values_hidden(Isolation::Worker).await;
}
