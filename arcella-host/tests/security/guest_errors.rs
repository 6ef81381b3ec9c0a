//! Errors a guest can read carry no host backtraces.
//!
//! The attack: with `RUST_BACKTRACE=1` in the host's environment, a guest
//! makes a host call fail (a write to a closed stream, say) and reads the
//! error through `wasi:io/error.to-debug-string`, which formats the host's
//! error with `{:?}`: it used to include the host's Rust backtrace, with the
//! build machine's paths.

use std::process::Command;

/// Set when the test binary runs as the child that formats the error.
const ROLE: &str = "ARCELLA_SECURITY_ROLE";

/// Formats a host I/O error the way `to-debug-string` shows it to a guest.
#[test]
#[ignore = "run by errors_shown_to_guests_have_no_host_backtrace with RUST_BACKTRACE=1"]
fn debug_string_of_a_host_error() {
    if std::env::var_os(ROLE).is_none() {
        return;
    }
    let error = wasmtime::Error::from(std::io::Error::other("the stream is closed"));
    let shown = format!("{error:?}");
    assert!(
        !shown.to_lowercase().contains("backtrace") && !shown.contains(".rs:"),
        "a guest would see the host's backtrace: {shown}"
    );
}

#[test]
fn errors_shown_to_guests_have_no_host_backtrace() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "guest_errors::debug_string_of_a_host_error",
            "--exact",
            "--ignored",
        ])
        .env(ROLE, "formatter")
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LIB_BACKTRACE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("1 passed"), "the formatter ran: {stdout}");
}
