//! `cargo arcella run`'s limit flags with values the manifest would refuse:
//! each must be a one-line usage error before anything runs, never a panic
//! in the engine or a limit of zero.

use tempfile::TempDir;

use crate::support::{arcella, module_guest};

const MANIFEST: &str = "[module]\nname = \"hello\"\nversion = \"0.1.0\"\nexports = [\"arcella:component/handler@0.1.0\"]\nimports = [\"arcella:component/logging@0.1.0\"]\n";

fn module() -> TempDir {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("hello.wasm"), module_guest()).unwrap();
    std::fs::write(dir.path().join("arcella.toml"), MANIFEST).unwrap();
    dir
}

/// Runs the module with `flag value` and asserts a clap-style usage error naming the flag and the rule.
fn assert_refused(dir: &TempDir, flag: &str, value: &str, rule: &str) {
    let output = arcella(dir.path())
        .args(["run", "hello.wasm", "--event", "hello=world", flag, value])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let what = format!("{flag} {value}");
    assert_eq!(output.status.code(), Some(2), "{what}: {stderr}");
    assert!(output.stdout.is_empty(), "{what}: the module ran");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("error: invalid value '{value}' for '{flag} <")),
        "{what}: {stderr}"
    );
    assert!(first.ends_with(rule), "{what}: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert!(stderr.lines().count() <= 3, "{what}: {stderr}");
}

#[test]
fn a_timeout_past_what_the_engine_counts_is_a_usage_error_not_a_panic() {
    let dir = module();
    for timeout in ["500000000000y", "2h"] {
        assert_refused(&dir, "--timeout", timeout, "must be above 0 and at most 1h");
    }
}

#[test]
fn a_timeout_of_zero_is_a_usage_error() {
    assert_refused(
        &module(),
        "--timeout",
        "0s",
        "must be above 0 and at most 1h",
    );
}

#[test]
fn memory_of_zero_or_past_four_gibibytes_is_a_usage_error() {
    let dir = module();
    for memory in ["0", "100GiB"] {
        assert_refused(
            &dir,
            "--max-memory",
            memory,
            "must be above 0 and at most 4GiB",
        );
    }
}

#[test]
fn fuel_of_zero_or_past_a_u64_is_a_usage_error() {
    let dir = module();
    assert_refused(&dir, "--fuel", "0", "must be greater than 0");
    assert_refused(
        &dir,
        "--fuel",
        "99999999999999999999999",
        "must be at most 18446744073709551615",
    );
}

#[test]
fn limits_within_range_still_run() {
    let dir = module();
    let output = arcella(dir.path())
        .args(["run", "hello.wasm", "--event", "hello=world"])
        .args([
            "--fuel",
            "18446744073709551615",
            "--max-memory",
            "4GiB",
            "--timeout",
            "1h",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "world\n");
}
