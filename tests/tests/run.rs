//! `cargo arcella run` on prebuilt components (made from component text, no
//! wasm build): results, guest errors, limits and capabilities.

mod support;

use std::path::Path;

use arcella_fixtures::command_guest;
use support::{arcella, filters, module_guest, outcome, preopens_guest};
use tempfile::TempDir;

/// `wasm` saved as `<dir>/hello.wasm`, with `manifest` beside it when given.
fn component(wasm: &[u8], manifest: Option<&str>) -> TempDir {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("hello.wasm"), wasm).unwrap();
    if let Some(manifest) = manifest {
        std::fs::write(dir.path().join("arcella.toml"), manifest).unwrap();
    }
    dir
}

fn run(dir: &Path, args: &[&str]) -> String {
    let output = arcella(dir)
        .args(["run", "hello.wasm"])
        .args(args)
        .output()
        .unwrap();
    let _guard = filters(dir).bind_to_scope();
    outcome(&output)
}

const MODULE_MANIFEST: &str = "[module]\nname = \"hello\"\nversion = \"0.1.0\"\nexports = [\"arcella:component/handler@0.1.0\"]\nimports = [\"arcella:component/logging@0.1.0\"]\n";

#[test]
fn a_module_handles_each_event_in_order_and_logs() {
    let dir = component(&module_guest(), Some(MODULE_MANIFEST));
    insta::assert_snapshot!(run(
        dir.path(),
        &["--event", "hello=world", "--event", "again=twice"]
    ));
}

#[test]
fn a_module_reads_events_from_stdin_until_eof() {
    let dir = component(&module_guest(), Some(MODULE_MANIFEST));
    let output = arcella(dir.path())
        .args(["run", "hello.wasm", "--isolation", "main"])
        .write_stdin("first one\n\nsecond two\n")
        .output()
        .unwrap();
    insta::assert_snapshot!(outcome(&output));
}

#[test]
fn a_guest_error_is_printed_and_fails_the_run() {
    let dir = component(&module_guest(), Some(MODULE_MANIFEST));
    insta::assert_snapshot!(run(dir.path(), &["--event", "error", "--event", "next=ok"]));
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let dir = component(&module_guest(), Some(MODULE_MANIFEST));
    insta::assert_snapshot!(run(dir.path(), &["--fuel", "100000", "--event", "loop"]));
}

#[test]
fn a_memory_bomb_reaches_the_memory_limit() {
    let dir = component(&module_guest(), Some(MODULE_MANIFEST));
    insta::assert_snapshot!(run(
        dir.path(),
        &["--max-memory", "1MiB", "--event", "grow"]
    ));
}

#[test]
fn a_trap_shows_its_backtrace_only_when_verbose() {
    let dir = component(&module_guest(), Some(MODULE_MANIFEST));
    let quiet = run(dir.path(), &["--event", "trap"]);
    let verbose = run(dir.path(), &["--event", "trap", "--verbose"]);
    assert!(quiet.starts_with("exit code: 1"), "{quiet}");
    assert!(quiet.contains("run with --verbose"), "{quiet}");
    assert!(verbose.contains("guest backtrace:"), "{verbose}");
    insta::assert_snapshot!(quiet);
}

#[test]
fn a_component_whose_exports_disagree_with_its_manifest_is_refused() {
    let manifest = "[module]\nname = \"hello\"\nversion = \"0.1.0\"\nexports = [\"wasi:cli/run@0.2.0\"]\nimports = []\n";
    let dir = component(&module_guest(), Some(manifest));
    insta::assert_snapshot!(run(dir.path(), &["--event", "greet=world"]));
}

#[test]
fn a_command_prints_its_output_and_passes_its_exit_code_through() {
    let ok = component(
        &command_guest("hello from a command\n", 1, true, false),
        None,
    );
    insta::assert_snapshot!(run(ok.path(), &[]));
    let failing = component(&command_guest("about to fail\n", 1, false, false), None);
    let text = run(failing.path(), &[]);
    assert!(text.starts_with("exit code: 1"), "{text}");
}

#[test]
fn a_command_may_not_read_a_folder_it_was_not_granted() {
    let dir = component(&preopens_guest(), None);
    insta::assert_snapshot!(run(dir.path(), &[]));
    let granted = run(dir.path(), &["--dir", ".:/data:ro"]);
    assert!(granted.starts_with("exit code: 0"), "{granted}");
    assert!(granted.contains("granted"), "{granted}");
}

#[test]
fn events_given_to_a_command_are_a_usage_error() {
    let dir = component(&command_guest("hi\n", 1, true, false), None);
    insta::assert_snapshot!(run(dir.path(), &["--event", "x"]));
}

#[test]
fn a_missing_component_file_is_a_usage_error() {
    let dir = TempDir::new().unwrap();
    insta::assert_snapshot!(run(dir.path(), &[]));
}

#[test]
fn a_file_that_is_not_a_component_is_refused() {
    let dir = component(b"not wasm at all", None);
    insta::assert_snapshot!(run(dir.path(), &[]));
}

#[test]
fn a_bad_flag_value_is_a_usage_error() {
    let dir = component(&command_guest("hi\n", 1, true, false), None);
    let text = run(dir.path(), &["--max-memory", "lots"]);
    assert!(text.starts_with("exit code: 2"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn invoke_calls_an_export_in_wave_syntax_and_prints_the_result() {
    let dir = component(&module_guest(), Some(MODULE_MANIFEST));
    insta::assert_snapshot!(run(
        dir.path(),
        &["--invoke", r#"handle("hi", [104, 105])"#]
    ));
}

#[test]
fn invoke_of_an_unknown_function_fails() {
    let dir = component(&module_guest(), Some(MODULE_MANIFEST));
    let text = run(dir.path(), &["--invoke", "nope()"]);
    assert!(text.starts_with("exit code: 1"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_keyvalue_backend_that_is_not_one_is_a_usage_error() {
    let dir = component(&command_guest("hi\n", 1, true, false), None);
    let text = run(dir.path(), &["--keyvalue", "mysql://localhost:3306"]);
    assert!(text.starts_with("exit code: 2"), "{text}");
    assert!(
        text.contains("write `memory`, `redb:PATH` or `redis://HOST:PORT/DB`"),
        "{text}"
    );
    let text = run(dir.path(), &["--keyvalue", "redis://localhost"]);
    assert!(text.starts_with("exit code: 2"), "{text}");
    assert!(text.contains("the host and port are missing"), "{text}");
}

#[test]
fn a_redis_that_is_down_does_not_stop_the_run_and_is_named_once() {
    let manifest = format!(
        "[module]\nname = \"hello\"\nversion = \"0.1.0\"\nexports = [\"arcella:component/handler@0.1.0\"]\nimports = {:?}\n[capabilities]\nkeyvalue = [\"default\"]\n",
        arcella_fixtures::KEYVALUE_IMPORTS
    );
    let dir = component(&arcella_fixtures::keyvalue_guest(), Some(&manifest));
    // A loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = arcella(dir.path())
        .args(["run", "hello.wasm", "--isolation", "main"])
        .args(["--keyvalue", &format!("redis://127.0.0.1:{port}/0")])
        .write_stdin("i first\ni second\n")
        .output()
        .unwrap();
    let text = outcome(&output);
    // The module started and heard both events; each call failed naming
    // Redis, and the operator was told once.
    assert!(text.starts_with("exit code: 1"), "{text}");
    assert_eq!(text.matches("is failing").count(), 1, "{text}");
    let named = format!("redis at 127.0.0.1:{port}");
    assert!(
        text.matches(&named).count() >= 3,
        "the warning and both events name it: {text}"
    );
}
