//! Helpers for the testkit's tests; the shared guests are in `arcella-fixtures`.
#![allow(dead_code)]

/// The worker executable built with the testkit, for `isolation = "worker"`.
pub const WORKER: &str = env!("CARGO_BIN_EXE_arcella-testkit-host");

/// A module written as component text: `start` and `stop` succeed, `handle` echoes.
pub const ECHO_WAT: &str = r#"(component
  (core module $m
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $heap))
      (global.set $heap (i32.add (global.get $heap) (local.get 3)))
      (local.get $p))
    (func (export "start") (param i32 i32) (result i32)
      (i32.store8 (i32.const 0) (i32.const 0)) (i32.const 0))
    (func (export "stop") (result i32)
      (i32.store8 (i32.const 0) (i32.const 0)) (i32.const 0))
    (func (export "handle") (param i32 i32 i32 i32) (result i32)
      (i32.store8 (i32.const 0) (i32.const 0))
      (i32.store (i32.const 4) (local.get 2))
      (i32.store (i32.const 8) (local.get 3))
      (i32.const 0)))
  (core instance $i (instantiate $m))
  (func $start (param "config" (list (tuple string string))) (result (result (error string)))
    (canon lift (core func $i "start") (memory $i "memory") (realloc (func $i "realloc"))))
  (func $stop (result (result (error string)))
    (canon lift (core func $i "stop") (memory $i "memory") (realloc (func $i "realloc"))))
  (func $handle (param "topic" string) (param "payload" (list u8)) (result (result (list u8) (error string)))
    (canon lift (core func $i "handle") (memory $i "memory") (realloc (func $i "realloc"))))
  (instance $lifecycle (export "start" (func $start)) (export "stop" (func $stop)))
  (instance $handler (export "handle" (func $handle)))
  (export "arcella:component/lifecycle@0.1.0" (instance $lifecycle))
  (export "arcella:component/handler@0.1.0" (instance $handler))
)"#;

/// The logging, echoing, counting module of [`arcella_fixtures::module_guest`],
/// built once per test binary.
pub fn echo_guest() -> &'static [u8] {
    static GUEST: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    GUEST.get_or_init(|| arcella_fixtures::module_guest(false))
}

/// `tests/fixtures/fetch-module`, built once per test binary.
pub fn fetch_module_guest() -> &'static [u8] {
    static GUEST: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    GUEST.get_or_init(arcella_fixtures::fetch_module)
}
