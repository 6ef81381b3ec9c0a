//! A guest writes terminal escapes and line breaks into the text the host
//! shows on its behalf: its log records, its error messages, the names in
//! its backtrace. Shown, that text must stay one inert line: escape
//! sequences would drive the operator's terminal (clear it, retitle it,
//! hide what follows) and a newline would forge a record of another module.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use arcella_host::services::logging::LogRecord;
use arcella_host::{Error, Host, Isolation};

use crate::support::{manifest, test_host_options};
use arcella_fixtures::{LIFECYCLE_OK, REALLOC, componentize, module_guest};

/// Clears the screen, paints red, and forges a record of another module on a line of its own.
const HOSTILE: &str =
    "\u{1b}[2J\u{1b}[31mred\u{7}\r\n[INFO other-module] forged\u{9b}31m\u{202e}reversed";

/// Ordinary printable text a guest may log and that must be shown as written.
const PRINTABLE: &str = "héllo wörld ✓ 日本 \\u{1b} \"quoted\"";

/// Whether `text` holds anything a terminal would act on rather than print.
fn has_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c))
}

/// Every guest record `emit`s to `tracing`, as its fields would be written out.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Captured {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() != "arcella::guest" {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// A field visitor that writes values as a formatter would: strings raw, the message as displayed.
#[derive(Default)]
struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        let _ = write!(self.0, "{}={value} ", field.name());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

#[tokio::test]
async fn a_log_record_is_shown_as_one_line_without_escapes() {
    let records: Arc<Mutex<Vec<LogRecord>>> = Arc::default();
    let mut options = test_host_options();
    let seen = records.clone();
    options.observers.on_log = Some(Arc::new(move |record: &LogRecord| {
        seen.lock().unwrap().push(record.clone());
    }));
    let mut host = Host::new(options);
    let captured = Captured::default();
    let _subscriber = tracing::subscriber::set_default(captured.clone());

    host.install(manifest("echo", Isolation::Main), module_guest(false))
        .await
        .unwrap();
    host.start("echo").await.unwrap();
    // The guest logs the topic of each event it is sent.
    for topic in [HOSTILE, PRINTABLE] {
        host.handle("echo", topic, b"").await.unwrap();
    }

    let records = records.lock().unwrap().clone();
    let hostile = records
        .iter()
        .find(|record| record.message == HOSTILE)
        .expect("the record keeps what the guest wrote, for callers");
    let shown = hostile.to_string();
    assert!(!has_control(&shown), "{shown:?}");
    assert!(
        shown.starts_with("[INFO echo] \\u{1b}[2J\\u{1b}[31mred\\u{7}\\r\\n[INFO other-module]"),
        "{shown}"
    );
    let printable = records
        .iter()
        .find(|record| record.message == PRINTABLE)
        .expect("the printable record");
    assert_eq!(printable.to_string(), format!("[INFO echo] {PRINTABLE}"));

    let emitted = captured.0.lock().unwrap().clone();
    assert!(
        emitted
            .iter()
            .any(|fields| fields.contains("[INFO other-module]")),
        "{emitted:?}"
    );
    for fields in &emitted {
        assert!(!has_control(fields), "emitted to tracing: {fields:?}");
    }
    assert!(
        emitted.iter().any(|fields| fields.contains(PRINTABLE)),
        "{emitted:?}"
    );
}

/// A module whose `start` fails with the first `[config]` value as its message.
fn failing_start_guest() -> Vec<u8> {
    componentize(
        &format!(
            r#"(module
  (memory (export "memory") 1)
  {REALLOC}
  (func (export "arcella:component/lifecycle@0.1.0#start") (param $list i32) (param $len i32) (result i32)
    (i32.store8 (i32.const 64) (i32.const 1))
    (i32.store (i32.const 68) (i32.load offset=8 (local.get $list)))
    (i32.store (i32.const 72) (i32.load offset=12 (local.get $list)))
    (i32.const 64))
  (func (export "arcella:component/lifecycle@0.1.0#stop") (result i32)
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.const 64))
  (func (export "arcella:component/handler@0.1.0#handle") (param i32 i32 i32 i32) (result i32)
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.store (i32.const 68) (i32.const 0))
    (i32.store (i32.const 72) (i32.const 0))
    (i32.const 64))
)"#
        ),
        "module",
    )
}

#[tokio::test]
async fn a_guest_error_message_is_shown_without_escapes() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        let mut host = Host::new(test_host_options());
        let mut hostile = manifest("grumpy", isolation);
        hostile.module.imports.clear();
        hostile.config = vec![("message".into(), HOSTILE.into())];
        host.install(hostile, failing_start_guest()).await.unwrap();
        let error = host.start("grumpy").await.unwrap_err();
        assert!(
            matches!(&error, Error::Guest { message, .. } if message == HOSTILE),
            "the error keeps the guest's message, for callers: {error:?}"
        );
        let shown = error.to_string();
        assert!(!has_control(&shown), "{shown:?}");
        assert!(
            shown.contains("\\u{1b}[2J") && shown.contains("\\n[INFO other-module]"),
            "{shown}"
        );
    }
}

/// A module whose `handle` traps in a function the name section calls `name`.
fn trap_in_named_function(name: &str) -> Vec<u8> {
    let escaped: String = name.bytes().map(|b| format!("\\{b:02x}")).collect();
    componentize(
        &format!(
            r#"(module
  (memory (export "memory") 1)
  {REALLOC}
  {LIFECYCLE_OK}
  (func $fails (@name "{escaped}") unreachable)
  (func (export "arcella:component/handler@0.1.0#handle") (param i32 i32 i32 i32) (result i32)
    (call $fails)
    (i32.const 64))
)"#
        ),
        "module",
    )
}

#[tokio::test]
async fn a_backtrace_shows_a_hostile_function_name_on_its_own_line() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        let mut host = Host::new(test_host_options());
        let mut hostile = manifest("trapper", isolation);
        hostile.module.imports.clear();
        host.install(hostile, trap_in_named_function(HOSTILE))
            .await
            .unwrap();
        host.start("trapper").await.unwrap();
        let error = host.handle("trapper", "x", b"").await.unwrap_err();
        // The CLI and the testkit print this text as it is, line by line.
        let backtrace = error.backtrace().expect("a trap has a backtrace");
        for line in backtrace.lines() {
            assert!(!has_control(line), "{isolation:?}: {line:?}");
        }
        assert!(
            backtrace.contains("!\\u{1b}[2J\\u{1b}[31mred\\u{7}\\r\\n[INFO other-module] forged"),
            "{isolation:?}: the frame names the function, escaped: {backtrace}"
        );
        assert!(
            !backtrace
                .lines()
                .any(|line| line.starts_with("[INFO other-module]")),
            "{isolation:?}: {backtrace}"
        );
    }
}
