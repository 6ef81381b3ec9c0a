//! Finding a crate's component and manifest, and saying what to do when they are not right.

mod support;

use std::fs::{File, FileTimes};
use std::path::Path;
use std::time::{Duration, SystemTime};

use arcella_testkit::{Error, Harness};
use support::echo_guest;

const MANIFEST: &str = r#"
[module]
name = "hello"
version = "0.3.0"
isolation = "main"
trusted = true
async = true
imports = ["arcella:component/logging@0.1.0", "arcella:component/types@0.1.0"]

[limits]
fuel = 3_000_000

[config]
greeting = "from the manifest"
"#;

fn write_at(path: &Path, bytes: &[u8], at: SystemTime) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    let file = File::options().write(true).open(path).unwrap();
    file.set_times(FileTimes::new().set_modified(at)).unwrap();
}

/// A crate folder with `arcella.toml` and `src/lib.rs` written an hour ago.
fn crate_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let then = SystemTime::now() - Duration::from_secs(3600);
    write_at(&dir.path().join("arcella.toml"), MANIFEST.as_bytes(), then);
    write_at(&dir.path().join("src/lib.rs"), b"", then);
    dir
}

#[test]
fn a_crates_built_component_runs_under_its_manifest() {
    let dir = crate_dir();
    write_at(
        &dir.path().join("target/arcella/hello.wasm"),
        echo_guest(),
        SystemTime::now(),
    );
    let mut h = Harness::for_crate(dir.path()).start().unwrap();
    assert_eq!(h.name(), "hello");
    assert_eq!(h.send("loop", b"").unwrap_err().kind(), "fuel-exhausted");
    insta::assert_yaml_snapshot!(h.trace().without_fuel(), @r#"
    module: hello
    steps:
      - start:
          greeting: from the manifest
        logs:
          - info: from the manifest
        result: ok
      - send: loop
        payload: ""
        error:
          kind: fuel-exhausted
          limit: "3000000"
          message: "component 'hello' ran out of fuel (limit 3000000)"
    "#);
}

#[test]
fn a_crate_without_a_built_component_says_to_build_it() {
    let dir = crate_dir();
    let error = Harness::for_crate(dir.path()).start().unwrap_err();
    assert!(matches!(error, Error::ComponentMissing { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("target/arcella/hello.wasm"), "{message}");
    assert!(
        message.contains("run `cargo arcella build` first"),
        "{message}"
    );
}

#[test]
fn a_component_older_than_its_sources_says_to_rebuild_it() {
    let dir = crate_dir();
    let long_ago = SystemTime::now() - Duration::from_secs(7200);
    write_at(
        &dir.path().join("target/arcella/hello.wasm"),
        echo_guest(),
        long_ago,
    );
    let error = Harness::for_crate(dir.path()).start().unwrap_err();
    let Error::ComponentStale { changed, .. } = &error else {
        panic!("expected a stale component, got {error}");
    };
    assert!(
        changed.contains("changed after the component was built"),
        "{changed}"
    );
    assert!(error.to_string().contains("cargo arcella build"), "{error}");
}

#[test]
fn an_invalid_manifest_is_reported_with_its_problems() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("arcella.toml"), "[module]\nname = 7\n").unwrap();
    let error = Harness::for_crate(dir.path()).start().unwrap_err();
    assert!(matches!(error, Error::Manifest { .. }), "{error}");
    assert!(error.to_string().contains("cargo arcella check"), "{error}");
}

#[test]
fn a_file_takes_the_manifest_beside_it() {
    let dir = crate_dir();
    let wasm = dir.path().join("hello.wasm");
    std::fs::write(&wasm, echo_guest()).unwrap();
    let h = Harness::from_file(&wasm).start().unwrap();
    assert_eq!(h.name(), "hello");
}

#[test]
fn a_file_without_a_manifest_runs_under_defaults_named_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("lonely.wasm");
    std::fs::write(&wasm, echo_guest()).unwrap();
    let h = Harness::from_file(&wasm)
        .isolation(arcella_testkit::Isolation::Main)
        .start()
        .unwrap();
    assert_eq!(h.name(), "lonely");
}

#[test]
fn component_text_that_does_not_parse_is_reported() {
    let error = Harness::from_wat("(component (oops))").start().unwrap_err();
    assert!(matches!(error, Error::Wat(_)), "{error}");
}

#[test]
fn a_folder_without_a_manifest_says_what_a_component_crate_needs() {
    let dir = tempfile::tempdir().unwrap();
    let error = Harness::for_crate(dir.path()).start().unwrap_err();
    assert!(matches!(error, Error::Manifest { .. }), "{error}");
    assert!(
        error.to_string().contains("there is no manifest here"),
        "{error}"
    );
}

#[test]
fn limits_out_of_the_manifests_ranges_are_refused() {
    let dir = crate_dir();
    let wasm = dir.path().join("hello.wasm");
    std::fs::write(&wasm, echo_guest()).unwrap();
    let error = Harness::from_file(&wasm).fuel(0).start().unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid setting: `fuel` must be greater than 0"
    );
    let error = Harness::from_file(&wasm)
        .timeout(Duration::from_secs(1 << 40))
        .start()
        .unwrap_err();
    assert!(matches!(error, Error::Setting(_)), "{error}");
}
