//! Helpers for the host's tests; the guests are in `arcella-fixtures`.
#![allow(dead_code)]

use std::path::Path;

use arcella_host::Manifest;

pub mod redis;

/// A host for tests: no compile cache, output discarded, workers started
/// from this package's `arcella-worker`.
pub fn test_host_options() -> arcella_host::HostOptions {
    arcella_host::HostOptions {
        cache: None,
        stdio: arcella_host::Stdio::Discard,
        worker: arcella_host::worker::WorkerCommand {
            program: env!("CARGO_BIN_EXE_arcella-worker").into(),
        },
        ..arcella_host::HostOptions::new().expect("host options")
    }
}

/// A manifest named `name` for tests, with defaults and the given isolation.
pub fn manifest(name: &str, isolation: arcella_host::Isolation) -> Manifest {
    let mut manifest = Manifest::defaults(name, Path::new("."));
    manifest.module.isolation = isolation;
    manifest.module.trusted = true;
    manifest.module.r#async = true;
    manifest.module.imports = vec!["arcella:component/logging@0.1.0".into()];
    manifest.config = vec![("greeting".into(), "hello".into())];
    manifest
}
