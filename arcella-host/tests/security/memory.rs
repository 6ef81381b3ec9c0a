//! The memory limit holds for a component as a whole.
//!
//! The attack: stay under the limit with each linear memory or table, and
//! define many of them. Under the default 64 MiB limit, a hundred memories of
//! 60 MiB each used to run, in the host's own process with `isolation = "main"`.

use arcella_host::EngineSettings;
use arcella_host::{Error, Host, HostOptions, Isolation, Stdio};

use crate::support::{manifest, test_host_options};
use arcella_fixtures::{REALLOC, componentize};

/// A command whose core module defines `extra` memories and `tables` funcref
/// tables of the given sizes besides its own, then exits successfully.
fn hoarder(extra_memories: u32, pages: u32, tables: u32, elements: u32) -> Vec<u8> {
    let memories: String = (0..extra_memories)
        .map(|index| format!("(memory $hoard{index} {pages})\n"))
        .collect();
    let tables: String = (0..tables)
        .map(|index| format!("(table $hoard_table{index} {elements} funcref)\n"))
        .collect();
    let wat = format!(
        r#"(module
  (memory (export "memory") 1)
  {memories}
  {tables}
  {REALLOC}
  (func (export "wasi:cli/run@0.2.12#run") (result i32) (i32.const 0))
)"#
    );
    componentize(&wat, "wasi:cli/command")
}

fn options(pooling: bool) -> HostOptions {
    HostOptions {
        engine: EngineSettings {
            pooling,
            ..EngineSettings::default()
        },
        stdio: Stdio::Capture { limit: 1 << 20 },
        ..test_host_options()
    }
}

/// Runs `wasm` as a command under the default limits; the error if it fails.
async fn run(wasm: Vec<u8>, isolation: Isolation, pooling: bool) -> Result<i32, Error> {
    let mut host = Host::new(options(pooling));
    let mut command = manifest("hoarder", isolation);
    command.module.imports.clear();
    host.install(command, wasm).await?;
    let output = host.run("hoarder", &[]).await?;
    Ok(output.value.exit_code)
}

#[tokio::test]
async fn memories_are_limited_together_not_one_by_one() {
    // Three memories of 30 MiB: each under 64 MiB, together 90 MiB.
    for isolation in [Isolation::Main, Isolation::Worker] {
        for pooling in [false, true] {
            let outcome = run(hoarder(3, 480, 0, 0), isolation, pooling).await;
            assert!(
                matches!(outcome, Err(Error::MemoryLimit { .. })),
                "{isolation:?}, pooling {pooling}: {outcome:?}"
            );
        }
    }
}

#[tokio::test]
async fn tables_count_against_the_memory_limit() {
    // Ten tables of a million references: 80 MiB of host memory.
    let outcome = run(hoarder(0, 0, 10, 1_000_000), Isolation::Main, false).await;
    assert!(
        matches!(outcome, Err(Error::MemoryLimit { .. })),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn the_number_of_memories_is_capped() {
    // Forty memories of one page: tiny, but each costs the host a reservation.
    let outcome = run(hoarder(40, 1, 0, 0), Isolation::Main, false).await;
    let error = outcome.expect_err("forty memories are refused");
    assert!(
        error.to_string().contains("memor"),
        "the error says memories were refused: {error}"
    );
}

#[tokio::test]
async fn a_component_within_the_limit_still_runs() {
    let outcome = run(hoarder(1, 480, 1, 1000), Isolation::Main, false).await;
    assert_eq!(outcome.unwrap(), 0);
}

/// A command that prints what its memory holds at two places (`0` for a
/// zero byte, `1` for the marker) and then writes the marker there: one
/// place in the first 64 KiB (which the pool resets with `memset`) and one
/// past it (which it gives back to the kernel).
fn marker() -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "wasi:cli/stdout@0.2.12" "get-stdout" (func $get_stdout (result i32)))
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-write-and-flush" (func $write (param i32 i32 i32 i32)))
  (memory (export "memory") 2)
  {REALLOC}
  (func (export "wasi:cli/run@0.2.12#run") (result i32)
    (i32.store8 (i32.const 3000) (i32.add (i32.const 48) (i32.load8_u (i32.const 1000))))
    (i32.store8 (i32.const 3001) (i32.add (i32.const 48) (i32.load8_u (i32.const 70000))))
    (call $write (call $get_stdout) (i32.const 3000) (i32.const 2) (i32.const 3100))
    (i32.store8 (i32.const 1000) (i32.const 1))
    (i32.store8 (i32.const 70000) (i32.const 1))
    (i32.const 0))
)"#
    );
    componentize(&wat, "wasi:cli/command")
}

#[tokio::test]
async fn an_instance_never_sees_what_the_previous_one_left_in_its_memory() {
    for pooling in [true, false] {
        let mut host = Host::new(options(pooling));
        host.install(manifest("marker", Isolation::Main), marker())
            .await
            .unwrap();
        for run in 0..3 {
            let call = host.run("marker", &[]).await.unwrap();
            assert_eq!(
                String::from_utf8_lossy(&call.value.stdout.bytes),
                "00",
                "run {run} (pooling {pooling}) started from a zeroed memory"
            );
        }
    }
}
