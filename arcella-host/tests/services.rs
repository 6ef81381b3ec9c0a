//! The `wasi:config` and `wasi:logging` host services, with a WAT guest
//! that imports both, in each isolation; and what `check` says of them.

mod support;

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use arcella_fixtures::{command_guest, config_guest};
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

/// The guest, built once: `arcella_fixtures::config_guest`, whose doc
/// lists what each topic does (`g`et, get-`a`ll, `l`og).
fn guest() -> Vec<u8> {
    static GUEST: OnceLock<Vec<u8>> = OnceLock::new();
    GUEST.get_or_init(config_guest).clone()
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
