//! The `wasi:config` and `wasi:logging` host services, with a WAT guest
//! that imports both, in each isolation; and what `check` says of them.

mod support;

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use arcella_fixtures::{REALLOC, command_guest, componentize_with_wit};
use arcella_host::contract::{check_bytes, check_wit};
use arcella_host::diagnostic::{Code, Diagnostic};
use arcella_host::manifest::{ConfigValue, Manifest};
use arcella_host::{Error, Host, HostOptions, Isolation, Level, LogRecord};

const CONFIG: &str = "wasi:config/store@0.2.0-rc.1";
const LOGGING: &str = "wasi:logging/logging@0.1.0-draft";

/// A variable cargo sets for every test it runs, so the test needs no
/// `set_var`: its value is the package's name.
const PRESENT: &str = "CARGO_PKG_NAME";
const MISSING: &str = "ARCELLA_TEST_VARIABLE_THAT_IS_NEVER_SET";

/// The guest's world, with the two proposals' WIT as the runtimes that
/// serve them define it (nested packages, so the guest needs no `deps/`).
const GUEST_WIT: &str = r#"
package test:services;

package wasi:config@0.2.0-rc.1 {
  interface store {
    variant error { upstream(string), io(string) }
    get: func(key: string) -> result<option<string>, error>;
    get-all: func() -> result<list<tuple<string, string>>, error>;
  }
}

package wasi:logging@0.1.0-draft {
  interface logging {
    enum level { trace, debug, info, warn, error, critical }
    log: func(level: level, context: string, message: string);
  }
}

world guest {
  import wasi:config/store@0.2.0-rc.1;
  import wasi:logging/logging@0.1.0-draft;
  export arcella:component/lifecycle@0.1.0;
  export arcella:component/handler@0.1.0;
}
"#;

/// A module-world guest over `wasi:config` and `wasi:logging`.
///
/// `start` logs its first `[config]` value (info, context `start`).
/// `handle` dispatches on the topic's first letter: `g`et the key in the
/// payload (its value, or `none`), get-`a`ll (each pair logged as info with
/// the key as context; replies the count as one byte), `l`og the payload at
/// `critical` with context `config` and at `trace` with no context.
fn guest() -> Vec<u8> {
    static GUEST: OnceLock<Vec<u8>> = OnceLock::new();
    GUEST
        .get_or_init(|| {
            let wat = format!(
                r#"(module
  (import "wasi:config/store@0.2.0-rc.1" "get" (func $get (param i32 i32 i32)))
  (import "wasi:config/store@0.2.0-rc.1" "get-all" (func $get_all (param i32)))
  (import "wasi:logging/logging@0.1.0-draft" "log" (func $log (param i32 i32 i32 i32 i32)))
  (memory (export "memory") 1)
  {REALLOC}
  (data (i32.const 16) "none")
  (data (i32.const 24) "config")
  (data (i32.const 40) "start")
  (func (export "arcella:component/lifecycle@0.1.0#start") (param $list i32) (param $len i32) (result i32)
    (if (i32.gt_u (local.get $len) (i32.const 0))
      (then (call $log (i32.const 2) (i32.const 40) (i32.const 5)
        (i32.load offset=8 (local.get $list)) (i32.load offset=12 (local.get $list)))))
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.const 64))
  (func (export "arcella:component/lifecycle@0.1.0#stop") (result i32)
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.const 64))
  (func (export "arcella:component/handler@0.1.0#handle") (param $tp i32) (param $tl i32) (param $pp i32) (param $pl i32) (result i32)
    (local $first i32) (local $list i32) (local $n i32) (local $i i32) (local $entry i32)
    (local.set $first (i32.load8_u (local.get $tp)))
    (i32.store8 (i32.const 64) (i32.const 0))
    (if (i32.eq (local.get $first) (i32.const 103))
      (then
        (call $get (local.get $pp) (local.get $pl) (i32.const 128))
        (if (i32.ne (i32.load8_u (i32.const 128)) (i32.const 0)) (then unreachable))
        (if (i32.eq (i32.load8_u (i32.const 132)) (i32.const 1))
          (then
            (i32.store (i32.const 68) (i32.load (i32.const 136)))
            (i32.store (i32.const 72) (i32.load (i32.const 140))))
          (else
            (i32.store (i32.const 68) (i32.const 16))
            (i32.store (i32.const 72) (i32.const 4))))
        (return (i32.const 64))))
    (if (i32.eq (local.get $first) (i32.const 97))
      (then
        (call $get_all (i32.const 160))
        (if (i32.ne (i32.load8_u (i32.const 160)) (i32.const 0)) (then unreachable))
        (local.set $list (i32.load (i32.const 164)))
        (local.set $n (i32.load (i32.const 168)))
        (block $done (loop $next
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $entry (i32.add (local.get $list) (i32.mul (local.get $i) (i32.const 16))))
          (call $log (i32.const 2)
            (i32.load (local.get $entry)) (i32.load offset=4 (local.get $entry))
            (i32.load offset=8 (local.get $entry)) (i32.load offset=12 (local.get $entry)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
        (i32.store8 (i32.const 80) (local.get $n))
        (i32.store (i32.const 68) (i32.const 80))
        (i32.store (i32.const 72) (i32.const 1))
        (return (i32.const 64))))
    (if (i32.eq (local.get $first) (i32.const 108))
      (then
        (call $log (i32.const 5) (i32.const 24) (i32.const 6) (local.get $pp) (local.get $pl))
        (call $log (i32.const 0) (i32.const 0) (i32.const 0) (local.get $pp) (local.get $pl))))
    (i32.store (i32.const 68) (local.get $pp))
    (i32.store (i32.const 72) (local.get $pl))
    (i32.const 64))
)"#
            );
            componentize_with_wit(&wat, GUEST_WIT, "guest")
        })
        .clone()
}

/// The records the host's observer heard, in order.
type Heard = Arc<Mutex<Vec<LogRecord>>>;

fn options() -> (HostOptions, Heard) {
    let heard = Heard::default();
    let mut options = support::test_host_options();
    let sink = heard.clone();
    options.observers.on_log = Some(Arc::new(move |record: &LogRecord| {
        sink.lock().unwrap().push(record.clone());
    }));
    (options, heard)
}

/// A manifest that declares both imports, with `config` as its `[config]`.
fn manifest(name: &str, isolation: Isolation, config: Vec<(&str, ConfigValue)>) -> Manifest {
    let mut manifest = support::manifest(name, isolation);
    manifest.module.imports = vec![CONFIG.into(), LOGGING.into()];
    manifest.config = config
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect();
    manifest
}

fn messages(records: &[LogRecord]) -> Vec<(Level, &str)> {
    records
        .iter()
        .map(|record| (record.level, record.message.as_str()))
        .collect()
}

async fn config_is_served_from_the_manifest_and_the_environment(isolation: Isolation) {
    let (options, _) = options();
    let mut host = Host::new(options);
    let config = vec![
        ("greeting", ConfigValue::from("hello")),
        ("package", ConfigValue::Env(PRESENT.into())),
    ];
    host.install(manifest("configured", isolation, config), guest())
        .await
        .unwrap();
    let start = host.start("configured").await.unwrap();
    assert_eq!(messages(&start.logs), [(Level::Info, "start: hello")]);

    let got = host.handle("configured", "get", b"greeting").await.unwrap();
    assert_eq!(got.value.unwrap(), b"hello");
    let got = host.handle("configured", "get", b"package").await.unwrap();
    assert_eq!(
        got.value.unwrap(),
        env!("CARGO_PKG_NAME").as_bytes(),
        "the env reference is resolved"
    );
    let got = host.handle("configured", "get", b"absent").await.unwrap();
    assert_eq!(got.value.unwrap(), b"none");

    let all = host.handle("configured", "all", b"").await.unwrap();
    assert_eq!(all.value.unwrap(), [2]);
    let mut pairs: Vec<&str> = all.logs.iter().map(|r| r.message.as_str()).collect();
    pairs.sort_unstable();
    let package = format!("package: {}", env!("CARGO_PKG_NAME"));
    assert_eq!(pairs, ["greeting: hello", package.as_str()]);
}

#[tokio::test]
async fn config_is_served_from_the_manifest_and_the_environment_in_process() {
    config_is_served_from_the_manifest_and_the_environment(Isolation::Main).await;
}

#[tokio::test]
async fn config_is_served_from_the_manifest_and_the_environment_in_a_worker() {
    config_is_served_from_the_manifest_and_the_environment(Isolation::Worker).await;
}

#[tokio::test]
async fn start_receives_the_resolved_value_of_an_env_reference() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        let (options, _) = options();
        let mut host = Host::new(options);
        let config = vec![("package", ConfigValue::Env(PRESENT.into()))];
        host.install(manifest("from-env", isolation, config), guest())
            .await
            .unwrap();
        let start = host.start("from-env").await.unwrap();
        let expected = format!("start: {}", env!("CARGO_PKG_NAME"));
        assert_eq!(
            messages(&start.logs),
            [(Level::Info, expected.as_str())],
            "{isolation:?}"
        );
    }
}

async fn a_missing_variable_refuses_the_install_naming_it(isolation: Isolation) {
    let (options, _) = options();
    let mut host = Host::new(options);
    let config = vec![
        ("greeting", ConfigValue::from("hello")),
        ("api_key", ConfigValue::Env(MISSING.into())),
    ];
    let error = host
        .install(manifest("unset", isolation, config), guest())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::ConfigEnvMissing { module, key, variable }
            if module == "unset" && key == "api_key" && variable == MISSING),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(MISSING), "{message}");
    assert!(host.state("unset").is_none(), "nothing was installed");
}

#[tokio::test]
async fn a_missing_variable_refuses_the_install_naming_it_in_process() {
    a_missing_variable_refuses_the_install_naming_it(Isolation::Main).await;
}

#[tokio::test]
async fn a_missing_variable_refuses_the_install_naming_it_in_a_worker() {
    a_missing_variable_refuses_the_install_naming_it(Isolation::Worker).await;
}

#[tokio::test]
async fn a_command_with_a_missing_variable_is_refused_at_install() {
    let (options, _) = options();
    let mut host = Host::new(options);
    let mut manifest = support::manifest("cmd", Isolation::Main);
    manifest.module.imports = vec!["wasi:cli/run@0.2.0".into()];
    manifest.config = vec![("token".into(), ConfigValue::Env(MISSING.into()))];
    let error = host
        .install(manifest, command_guest("hi", 1, true, false))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::ConfigEnvMissing { variable, .. } if variable == MISSING),
        "{error:?}"
    );
}

async fn wasi_logging_records_reach_the_call_and_the_observers(isolation: Isolation) {
    let (options, heard) = options();
    let mut host = Host::new(options);
    host.install(manifest("logger", isolation, Vec::new()), guest())
        .await
        .unwrap();
    host.start("logger").await.unwrap();
    let call = host.handle("logger", "log", b"disk full").await.unwrap();
    let expected = [
        (Level::Error, "config: disk full"),
        (Level::Trace, "disk full"),
    ];
    assert_eq!(messages(&call.logs), expected);
    assert!(call.logs.iter().all(|record| record.module == "logger"));
    let heard = heard.lock().unwrap();
    assert_eq!(messages(&heard), expected, "the observer hears each record");
}

#[tokio::test]
async fn wasi_logging_records_reach_the_call_and_the_observers_in_process() {
    wasi_logging_records_reach_the_call_and_the_observers(Isolation::Main).await;
}

#[tokio::test]
async fn wasi_logging_records_reach_the_call_and_the_observers_in_a_worker() {
    wasi_logging_records_reach_the_call_and_the_observers(Isolation::Worker).await;
}

// ---- check ----

fn codes(diagnostics: &[Diagnostic]) -> Vec<Code> {
    diagnostics
        .iter()
        .map(|diagnostic| diagnostic.code)
        .collect()
}

/// The manifest's `imports` checked as `check` does, against the host.
fn check_imports(imports: &[&str]) -> Vec<Diagnostic> {
    let mut manifest = Manifest::defaults("hello", Path::new("."));
    manifest.module.imports = imports.iter().map(ToString::to_string).collect();
    let listed: Vec<String> = imports.iter().map(|name| format!("\"{name}\"")).collect();
    let source = format!(
        "[module]\nname = \"hello\"\nimports = [{}]\n",
        listed.join(", ")
    );
    check_wit(
        Path::new("/nonexistent/wit"),
        &manifest,
        Path::new("arcella.toml"),
        &source,
    )
}

#[test]
fn config_and_logging_are_known_to_check_at_their_versions() {
    assert_eq!(codes(&check_imports(&[CONFIG, LOGGING])), []);
    assert_eq!(
        codes(&check_imports(&[
            "wasi:config/store",
            "wasi:logging/logging"
        ])),
        [],
        "an entry without a version names them too"
    );
}

#[test]
fn config_and_logging_at_other_versions_are_a0502_naming_the_version_served() {
    let diagnostics = check_imports(&[
        "wasi:config/store@0.2.0",
        "wasi:logging/logging@0.1.0",
        "wasi:config/store@0.2.0-draft",
    ]);
    let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "the host provides `wasi:config/store@0.2.0-rc.1`, not `wasi:config/store@0.2.0`",
            "the host provides `wasi:logging/logging@0.1.0-draft`, not `wasi:logging/logging@0.1.0`",
            "the host provides `wasi:config/store@0.2.0-rc.1`, not `wasi:config/store@0.2.0-draft`",
        ]
    );
    assert!(diagnostics.iter().all(|d| d.code == Code::UnknownInterface));
}

#[test]
fn a_component_importing_config_and_logging_passes_when_they_are_declared() {
    let declared = manifest("checked", Isolation::Worker, Vec::new());
    assert_eq!(codes(&check_bytes(&guest(), &declared)), []);

    let mut undeclared = declared;
    undeclared.module.imports.clear();
    let diagnostics = check_bytes(&guest(), &undeclared);
    assert_eq!(
        codes(&diagnostics),
        [Code::UndeclaredImport, Code::UndeclaredImport]
    );
    assert!(diagnostics[0].message.contains(CONFIG), "{diagnostics:?}");
    assert!(diagnostics[1].message.contains(LOGGING), "{diagnostics:?}");
}

#[test]
fn a_declaration_of_another_version_does_not_cover_the_import() {
    let mut manifest = manifest("checked", Isolation::Worker, Vec::new());
    manifest.module.imports = vec![
        "wasi:config/store@0.2.0-rc.2".into(),
        "wasi:logging/logging@0.1.0".into(),
    ];
    assert_eq!(
        codes(&check_bytes(&guest(), &manifest)),
        [Code::UndeclaredImport, Code::UndeclaredImport]
    );
}
