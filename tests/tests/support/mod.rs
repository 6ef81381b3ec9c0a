//! Helpers shared by the end-to-end tests: the `cargo-arcella` binary, a
//! crate made from a template, guests made from component-model text, and
//! a snapshot-friendly rendering of a command's outcome.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use arcella_fixtures::{REALLOC, componentize};
use assert_cmd::Command;
use tempfile::TempDir;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// The cargo target folder these tests were built in (`<target>/debug/deps/<test>` → `<target>`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its executable");
    exe.ancestors()
        .nth(3)
        .expect("tests run from <target>/<profile>/deps")
        .to_path_buf()
}

/// The `cargo-arcella` binary, built once per test run so it is never stale.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let target = target_dir();
        let status = std::process::Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "cargo-arcella",
                "--bin",
                "cargo-arcella",
            ])
            .arg("--target-dir")
            .arg(&target)
            .current_dir(workspace())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo-arcella builds");
        target.join("debug").join("cargo-arcella")
    })
}

/// A compile cache shared by the tests of one run, so each guest compiles once.
fn cache_dir() -> &'static Path {
    static CACHE: OnceLock<TempDir> = OnceLock::new();
    CACHE.get_or_init(|| TempDir::new().unwrap()).path()
}

/// `cargo-arcella` run in `dir`, as cargo runs it (`cargo-arcella arcella …`),
/// without colours and with a private compile cache.
pub fn arcella(dir: &Path) -> Command {
    Command::from_std(arcella_command(dir))
}

/// [`arcella`] as a plain `std::process::Command`, for tests that wire its output themselves.
pub fn arcella_command(dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(binary());
    command
        .current_dir(dir)
        .arg("arcella")
        .env("ARCELLA_CACHE_DIR", cache_dir())
        .env("NO_COLOR", "1")
        .env_remove("ARCELLA_WORKER_EXE")
        .env_remove("ARCELLA_TESTKIT_PATH");
    command
}

/// Exit code, stdout and stderr as one text, for snapshots.
pub fn outcome(output: &Output) -> String {
    format!(
        "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        output
            .status
            .code()
            .map_or("none (signal)".to_string(), |code| code.to_string()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    )
}

/// insta settings that hide `dir` and this workspace's path.
pub fn filters(dir: &Path) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    for path in [canonical.as_path(), dir] {
        settings.add_filter(&regex_escape(&path.display().to_string()), "[TMP]");
    }
    settings.add_filter(
        &regex_escape(&workspace().display().to_string()),
        "[WORKSPACE]",
    );
    settings.add_filter(r"\d+(\.\d+)?(ms|s)\b", "[TIME]");
    settings.add_filter(r"\d+(\.\d+)? (B|KiB|MiB)\b", "[SIZE]");
    settings
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Runs `cargo arcella new <name> --template <template>` in a fresh temp dir;
/// returns the temp dir and the crate's folder.
pub fn new_crate(template: &str, name: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    arcella(dir.path())
        .args(["new", name, "--template", template])
        .assert()
        .success();
    let root = dir.path().join(name);
    (dir, root)
}

// The guests only these tests use; the shared ones are in `arcella-fixtures`.

/// A module guest: `start` logs "started"; `handle` on topic `l…` loops
/// forever, `g…` grows memory without end, `t…` traps, `e…` returns the
/// guest's own `Err`, anything else logs the topic and echoes the payload.
pub fn module_guest() -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "arcella:component/logging@0.1.0" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  {REALLOC}
  (data (i32.const 16) "started")
  (data (i32.const 32) "stopped")
  (data (i32.const 48) "bad topic")
  (func (export "arcella:component/lifecycle@0.1.0#start") (param i32 i32) (result i32)
    (call $log (i32.const 2) (i32.const 16) (i32.const 7))
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.const 64))
  (func (export "arcella:component/lifecycle@0.1.0#stop") (result i32)
    (call $log (i32.const 2) (i32.const 32) (i32.const 7))
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.const 64))
  (func (export "arcella:component/handler@0.1.0#handle") (param $tp i32) (param $tl i32) (param $pp i32) (param $pl i32) (result i32)
    (local $first i32)
    (local.set $first (i32.load8_u (local.get $tp)))
    (if (i32.eq (local.get $first) (i32.const 108)) (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $first) (i32.const 103))
      (then (loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable))
    (if (i32.eq (local.get $first) (i32.const 116)) (then unreachable))
    (if (i32.eq (local.get $first) (i32.const 101))
      (then
        (i32.store8 (i32.const 64) (i32.const 1))
        (i32.store (i32.const 68) (i32.const 48))
        (i32.store (i32.const 72) (i32.const 9))
        (return (i32.const 64))))
    (call $log (i32.const 2) (local.get $tp) (local.get $tl))
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.store (i32.const 68) (local.get $pp))
    (i32.store (i32.const 72) (local.get $pl))
    (i32.const 64))
)"#
    );
    componentize(&wat, "module")
}

/// A `wasi:cli/command` that lists its preopened folders: it prints
/// "granted" when it has one, and exits with failure when it has none.
pub fn preopens_guest() -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "wasi:filesystem/preopens@0.2.12" "get-directories" (func $dirs (param i32)))
  (import "wasi:cli/stdout@0.2.12" "get-stdout" (func $get_stdout (result i32)))
  (import "wasi:cli/stderr@0.2.12" "get-stderr" (func $get_stderr (result i32)))
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-write-and-flush" (func $write (param i32 i32 i32 i32)))
  (import "wasi:cli/exit@0.2.12" "exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  {REALLOC}
  (data (i32.const 1024) "granted\n")
  (data (i32.const 1040) "no folder was granted\n")
  (func (export "wasi:cli/run@0.2.12#run") (result i32)
    (call $dirs (i32.const 512))
    (if (i32.eqz (i32.load (i32.const 516)))
      (then
        (call $write (call $get_stderr) (i32.const 1040) (i32.const 22) (i32.const 2048))
        (call $exit (i32.const 1))))
    (call $write (call $get_stdout) (i32.const 1024) (i32.const 8) (i32.const 2048))
    (call $exit (i32.const 0))
    (i32.const 0))
)"#
    );
    componentize(&wat, "wasi:cli/command")
}
