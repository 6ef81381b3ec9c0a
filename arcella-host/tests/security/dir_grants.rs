//! A directory grant cannot be redirected while the component runs.
//!
//! The attack: a guest that may write to the parent of a read-only grant
//! renames the granted folder and leaves a *relative* symlink out of the
//! sandbox in its place. Each HTTP request's store used to open the grant's
//! path afresh, and so followed the symlink on the next request. Here the
//! same settings build two stores, as two requests do.

use arcella_host::EngineSettings;
use arcella_host::capabilities::DirGrant;
use arcella_host::internal::Loaded;
use arcella_host::internal::{Sandbox, SandboxSettings};
use arcella_host::{Error, Stdio};

use arcella_fixtures::{REALLOC, componentize};

/// A command that reads up to 64 bytes of `/data/secret` through its first
/// preopened folder and prints them; exit code 1 when it cannot.
fn reader() -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "wasi:filesystem/preopens@0.2.12" "get-directories" (func $dirs (param i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.open-at" (func $open_at (param i32 i32 i32 i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.read" (func $read (param i32 i64 i64 i32)))
  (import "wasi:cli/stdout@0.2.12" "get-stdout" (func $get_stdout (result i32)))
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-write-and-flush" (func $write (param i32 i32 i32 i32)))
  (import "wasi:cli/exit@0.2.12" "exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  {REALLOC}
  (data (i32.const 1024) "secret")
  (func (export "wasi:cli/run@0.2.12#run") (result i32)
    (local $file i32)
    ;; preopens: list<tuple<descriptor, string>> at 512 (ptr, len)
    (call $dirs (i32.const 512))
    (if (i32.eqz (i32.load (i32.const 516))) (then (call $exit (i32.const 1))))
    ;; open-at(dir, path-flags 0, "secret", open-flags 0, descriptor-flags read) -> result at 600
    (call $open_at (i32.load (i32.load (i32.const 512))) (i32.const 0) (i32.const 1024) (i32.const 6) (i32.const 0) (i32.const 1) (i32.const 600))
    (if (i32.load8_u (i32.const 600)) (then (call $exit (i32.const 1))))
    (local.set $file (i32.load (i32.const 604)))
    ;; read(file, 64, 0) -> result<tuple<list<u8>, bool>> at 640
    (call $read (local.get $file) (i64.const 64) (i64.const 0) (i32.const 640))
    (if (i32.load8_u (i32.const 640)) (then (call $exit (i32.const 1))))
    (call $write (call $get_stdout) (i32.load (i32.const 644)) (i32.load (i32.const 648)) (i32.const 2048))
    (call $exit (i32.const 0))
    (i32.const 0))
)"#
    );
    componentize(&wat, "wasi:cli/command")
}

/// Runs the reader once in a store of `sandbox`: what it printed, or why it could not run.
async fn read_secret(loaded: &Loaded, sandbox: &Sandbox) -> Result<String, Error> {
    let call = loaded.run_command(sandbox).await?;
    Ok(String::from_utf8_lossy(&call.value.stdout.bytes).into_owned())
}

#[tokio::test]
async fn a_grant_swapped_for_a_symlink_is_refused_not_followed() {
    let root = tempfile::tempdir().unwrap();
    let granted = root.path().join("public");
    std::fs::create_dir(&granted).unwrap();
    std::fs::write(granted.join("secret"), "inside the grant").unwrap();
    let outside = root.path().join("private");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret"), "OUTSIDE THE GRANT").unwrap();

    let loaded = Loaded::compile("reader", &reader(), EngineSettings::default(), None).unwrap();
    let settings = SandboxSettings {
        stdio: Stdio::Capture { limit: 1 << 10 },
        ..SandboxSettings::default()
    };
    let mut settings = settings;
    settings.capabilities.dirs = vec![DirGrant {
        host: granted.canonicalize().unwrap(),
        guest: "/data".into(),
        read_only: true,
    }];
    // One sandbox, as an installed component has: each run is a new store of it.
    let sandbox = loaded.sandbox(&settings);
    assert_eq!(
        read_secret(&loaded, &sandbox).await.unwrap(),
        "inside the grant"
    );

    // The swap: the granted folder moves away, a relative symlink takes its place.
    std::fs::rename(&granted, root.path().join("moved")).unwrap();
    std::os::unix::fs::symlink("private", &granted).unwrap();

    match read_secret(&loaded, &sandbox).await {
        Ok(read) => assert!(
            !read.contains("OUTSIDE"),
            "the guest read through the swapped symlink: {read}"
        ),
        Err(error) => assert!(
            error.to_string().contains("was replaced"),
            "the error says the grant was replaced: {error}"
        ),
    }
}
