//! Guests for tests, written as core-wasm text and turned into components
//! against the repository's own `wit/`, the way toolchains do. Shared by the
//! host's and the testkit's tests.
#![allow(dead_code)]

use std::path::Path;

use wit_component::{ComponentEncoder, StringEncoding, embed_component_metadata};
use wit_parser::Resolve;

/// Wraps `core_wat` into a component of `world` (e.g. `module` or `wasi:cli/command`).
pub fn componentize(core_wat: &str, world: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let (package, _) = resolve
        .push_dir(&wit)
        .expect("the repository's WIT resolves");
    let world = resolve
        .select_world(&[package], Some(world))
        .expect("world exists");
    let mut module = wat::parse_str(core_wat).expect("fixture WAT parses");
    embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)
        .expect("metadata embeds");
    ComponentEncoder::default()
        .module(&module)
        .expect("module is accepted")
        .validate(true)
        .encode()
        .expect("component encodes")
}

/// A bump allocator, shared by the fixtures.
pub const REALLOC: &str = r#"
  (global $heap (mut i32) (i32.const 4096))
  (func $realloc (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $ptr i32) (local $end i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (local.set $end (i32.add (local.get $ptr) (local.get 3)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))) (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $ptr))
"#;

/// `start` and `stop` of a module-world guest that do nothing and succeed
/// (the result is written at offset 64), for guests that misbehave elsewhere.
pub const LIFECYCLE_OK: &str = r#"
  (func (export "arcella:component/lifecycle@0.1.0#start") (param i32 i32) (result i32)
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.const 64))
  (func (export "arcella:component/lifecycle@0.1.0#stop") (result i32)
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.const 64))
"#;

/// A module-world guest that logs and echoes, counts, and misbehaves on request.
///
/// `start` logs the first `[config]` value (or "started") and fails when
/// `start_fails`. `handle` dispatches on the topic's first letter:
/// `l`oop forever, `g`row memory without end, `r`ecurse without end,
/// `t`rap, `c`ount (returns the count as one byte), `e`rror (the guest's own
/// `Err`), anything else echoes the payload back after logging the topic.
pub fn module_guest(start_fails: bool) -> Vec<u8> {
    let start_result = if start_fails {
        r#"(i32.store8 (i32.const 64) (i32.const 1)) (i32.store (i32.const 68) (i32.const 96)) (i32.store (i32.const 72) (i32.const 17))"#
    } else {
        r#"(i32.store8 (i32.const 64) (i32.const 0))"#
    };
    let wat = format!(
        r#"(module
  (import "arcella:component/logging@0.1.0" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (global $count (mut i32) (i32.const 0))
  {REALLOC}
  (data (i32.const 16) "started")
  (data (i32.const 32) "stopped")
  (data (i32.const 48) "bad topic")
  (data (i32.const 96) "refusing to start")
  (func (export "arcella:component/lifecycle@0.1.0#start") (param $list i32) (param $len i32) (result i32)
    (if (i32.gt_u (local.get $len) (i32.const 0))
      (then (call $log (i32.const 2) (i32.load offset=8 (local.get $list)) (i32.load offset=12 (local.get $list))))
      (else (call $log (i32.const 2) (i32.const 16) (i32.const 7))))
    {start_result}
    (i32.const 64))
  (func (export "arcella:component/lifecycle@0.1.0#stop") (result i32)
    (call $log (i32.const 1) (i32.const 32) (i32.const 7))
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.const 64))
  (func $recurse (param i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "arcella:component/handler@0.1.0#handle") (param $tp i32) (param $tl i32) (param $pp i32) (param $pl i32) (result i32)
    (local $first i32)
    (local.set $first (i32.load8_u (local.get $tp)))
    (if (i32.eq (local.get $first) (i32.const 108)) (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $first) (i32.const 103))
      (then (loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable))
    (if (i32.eq (local.get $first) (i32.const 114)) (then (drop (call $recurse (i32.const 0)))))
    (if (i32.eq (local.get $first) (i32.const 116)) (then unreachable))
    (if (i32.eq (local.get $first) (i32.const 99))
      (then
        (global.set $count (i32.add (global.get $count) (i32.const 1)))
        (i32.store8 (i32.const 80) (global.get $count))
        (i32.store8 (i32.const 64) (i32.const 0))
        (i32.store (i32.const 68) (i32.const 80))
        (i32.store (i32.const 72) (i32.const 1))
        (return (i32.const 64))))
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

/// A `wasi:cli/command` that writes `text` to stdout `repeat` times, then
/// exits with `ok` or `err` (exit code 1), or spins forever when `spin`.
pub fn command_guest(text: &str, repeat: u32, ok: bool, spin: bool) -> Vec<u8> {
    let escaped: String = text.bytes().map(|b| format!("\\{b:02x}")).collect();
    let len = text.len();
    let status = i32::from(!ok);
    let spin = if spin {
        "(loop $forever (br $forever))"
    } else {
        ""
    };
    let wat = format!(
        r#"(module
  (import "wasi:cli/stdout@0.2.12" "get-stdout" (func $get_stdout (result i32)))
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-write-and-flush" (func $write (param i32 i32 i32 i32)))
  (import "wasi:cli/exit@0.2.12" "exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  {REALLOC}
  (data (i32.const 1024) "{escaped}")
  (func (export "wasi:cli/run@0.2.12#run") (result i32)
    (local $out i32) (local $i i32)
    (local.set $out (call $get_stdout))
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $i) (i32.const {repeat})))
        (call $write (local.get $out) (i32.const 1024) (i32.const {len}) (i32.const 512))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
    {spin}
    (call $exit (i32.const {status}))
    (i32.const 0))
)"#
    );
    componentize(&wat, "wasi:cli/command")
}

/// `tests/fixtures/http-guest`, a real Rust `wasi:http/proxy` component, built
/// once per test binary with `cargo build --release --target wasm32-wasip2`
/// into `target/e2e`. Routes: `/` answers, `/trap` panics, `/loop` spins,
/// `/echo` counts the body, `/fetch?url=…` makes an outbound GET, else 404.
pub fn http_guest() -> Vec<u8> {
    static WASM: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    WASM.get_or_init(|| {
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let manifest = workspace.join("tests/fixtures/http-guest/Cargo.toml");
        let target_dir = workspace.join("target/e2e");
        let status = std::process::Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &target_dir)
            .status()
            .expect("cargo runs");
        assert!(
            status.success(),
            "building the http guest failed (is the wasm32-wasip2 target installed?)"
        );
        std::fs::read(target_dir.join("wasm32-wasip2/release/http_guest.wasm")).unwrap()
    })
    .clone()
}
