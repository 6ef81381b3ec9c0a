//! A legal amount of logging does not kill a worker.
//!
//! The attack: ten thousand records of 16 KiB (the largest message) in one
//! call. They used to travel back in the call's reply as one 164 MB frame,
//! over the protocol's cap: the worker died and took its group with it.

use arcella_host::{Host, Isolation};

use crate::support::{manifest, test_host_options};
use arcella_fixtures::{LIFECYCLE_OK, REALLOC, componentize};

/// A module whose `handle` logs `records` messages of 16 KiB, then echoes.
fn flooder(records: u32) -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "arcella:component/logging@0.1.0" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  {REALLOC}
  {LIFECYCLE_OK}
  (func (export "arcella:component/handler@0.1.0#handle") (param i32 i32 i32 i32) (result i32)
    (local $i i32)
    (memory.fill (i32.const 8192) (i32.const 120) (i32.const 16384))
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $i) (i32.const {records})))
        (call $log (i32.const 2) (i32.const 8192) (i32.const 16384))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.store (i32.const 68) (i32.const 0))
    (i32.store (i32.const 72) (i32.const 0))
    (i32.const 64))
)"#
    );
    componentize(&wat, "module")
}

#[tokio::test]
async fn ten_thousand_large_records_in_one_call_keep_the_worker_alive() {
    let mut host = Host::new(test_host_options());
    host.install(manifest("flood", Isolation::Worker), flooder(10_000))
        .await
        .unwrap();
    host.start("flood").await.unwrap();
    let call = host.handle("flood", "flood", b"").await.unwrap();
    assert_eq!(call.value, Ok(Vec::new()));
    assert!(!call.logs.is_empty());
    assert_eq!(
        call.logs.len() as u64 + call.dropped_logs,
        10_000,
        "every record is kept or counted"
    );
    // The worker is alive and serves the next call.
    assert!(host.handle("flood", "again", b"").await.is_ok());
}
