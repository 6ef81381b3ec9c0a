//! A guest recurses without end on a stack it keeps in linear memory, as
//! Rust guests do (`__stack_pointer`). That stack runs out long before
//! wasmtime's native one: the pointer wraps below zero and the next frame's
//! store traps as an out-of-bounds access, which says nothing of the real
//! cause. The error must name the likely stack overflow and the function.

use arcella_host::{Error, Host, Isolation};

use crate::support::{manifest, test_host_options};
use arcella_fixtures::{LIFECYCLE_OK, REALLOC, componentize, module_guest};

/// A module whose `handle` calls `$deep`, which moves a shadow stack
/// pointer down 64 bytes and stores to it on each call, then calls itself.
fn shadow_stack_guest() -> Vec<u8> {
    componentize(
        &format!(
            r#"(module
  (memory (export "memory") 1)
  (global $__stack_pointer (mut i32) (i32.const 32768))
  {REALLOC}
  {LIFECYCLE_OK}
  (func $deep (param $depth i32)
    (local $frame i32)
    (local.set $frame (i32.sub (global.get $__stack_pointer) (i32.const 64)))
    (global.set $__stack_pointer (local.get $frame))
    (i32.store (local.get $frame) (local.get $depth))
    (call $deep (i32.add (local.get $depth) (i32.const 1)))
    (global.set $__stack_pointer (i32.add (local.get $frame) (i32.const 64))))
  (func (export "arcella:component/handler@0.1.0#handle") (param i32 i32 i32 i32) (result i32)
    (call $deep (i32.const 0))
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.store (i32.const 68) (i32.const 0))
    (i32.store (i32.const 72) (i32.const 0))
    (i32.const 64))
)"#
        ),
        "module",
    )
}

fn host() -> Host {
    Host::new(test_host_options())
}

#[tokio::test]
async fn a_shadow_stack_overflow_is_named_with_its_function() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        let mut host = host();
        let mut hostile = manifest("deep", isolation);
        hostile.module.imports.clear();
        host.install(hostile, shadow_stack_guest()).await.unwrap();
        host.start("deep").await.unwrap();
        let error = host.handle("deep", "go", b"").await.unwrap_err();
        assert!(matches!(error, Error::Trap { .. }), "{error:?}");
        let shown = error.to_string();
        assert!(
            shown.contains("out of bounds memory access"),
            "the trap itself is still said: {shown}"
        );
        assert!(
            shown.contains("likely a stack overflow in the guest"),
            "{isolation:?}: {shown}"
        );
        assert!(shown.contains("frames of `deep`"), "{isolation:?}: {shown}");
        assert_eq!(shown.lines().count(), 1, "one line: {shown}");
    }
}

#[tokio::test]
async fn a_trap_without_recursion_is_not_called_a_stack_overflow() {
    let mut host = host();
    host.install(manifest("plain", Isolation::Main), module_guest(false))
        .await
        .unwrap();
    host.start("plain").await.unwrap();
    // The guest executes `unreachable` on topic `trap`.
    let error = host.handle("plain", "trap", b"").await.unwrap_err();
    assert!(matches!(error, Error::Trap { .. }), "{error:?}");
    assert!(!error.to_string().contains("stack overflow"), "{error}");
}
