//! Guests that misbehave: each hits its limit, the step says so, and the module can start again.

mod support;

use std::time::Duration;

use arcella_testkit::{Harness, Isolation, ModuleState, assert_trace};
use support::{WORKER, echo_guest};

fn hostile(isolation: Isolation) -> arcella_testkit::HarnessBuilder {
    Harness::from_bytes(echo_guest())
        .name("hostile")
        .isolation(isolation)
        .worker_exe(WORKER)
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let mut h = hostile(Isolation::Main).fuel(2_000_000).start().unwrap();
    let error = h.send("loop", b"").unwrap_err();
    assert_eq!(error.kind(), "fuel-exhausted");
    assert!(error.is_limit());
    let host_error = error.host_error().unwrap();
    assert_eq!(host_error.kind(), "fuel-exhausted");
    assert_eq!(host_error.limit.as_deref(), Some("2000000"));
    assert_eq!(h.state(), ModuleState::Failed);

    h.start().unwrap();
    assert_eq!(h.send("say", b"again").unwrap(), b"again");
    assert_trace!(h);
}

#[test]
fn a_memory_bomb_reaches_the_memory_limit_in_a_worker() {
    let mut h = hostile(Isolation::Worker).memory(8 << 20).start().unwrap();
    let error = h.send("grow", b"").unwrap_err();
    assert_eq!(error.kind(), "memory-limit");
    assert!(error.is_limit());
    insta::assert_snapshot!(error.to_string(), @r#"
    step 2 `send("grow", "")` failed: component 'hostile' reached its memory limit of 8MiB
      help: if the guest needs more, raise it with `.memory(…)` on the harness or `memory` under [limits] in arcella.toml
    "#);
    assert_trace!("a_memory_bomb_in_a_worker", h);
}

#[test]
fn a_loop_with_ample_fuel_times_out() {
    let mut h = hostile(Isolation::Main)
        .fuel(u64::MAX / 2)
        .timeout(Duration::from_millis(100))
        .start()
        .unwrap();
    let error = h.send("loop", b"").unwrap_err();
    assert_eq!((error.kind(), error.is_limit()), ("timeout", true));
}

#[test]
fn unbounded_recursion_overflows_the_stack() {
    let mut h = hostile(Isolation::Worker).start().unwrap();
    let error = h.send("recurse", b"").unwrap_err();
    assert_eq!((error.kind(), error.is_limit()), ("stack-overflow", true));
}

#[test]
fn a_trap_shows_the_step_and_the_guest_backtrace() {
    let mut h = hostile(Isolation::Main).start().unwrap();
    let error = h.send("trap", b"").unwrap_err();
    assert_eq!((error.kind(), error.is_limit()), ("trap", false));
    assert_eq!(error.step_number(), 2);
    let message = error.to_string();
    assert!(
        message.starts_with("step 2 `send(\"trap\", \"\")` failed: component 'hostile' trapped:"),
        "{message}"
    );
    assert!(message.contains("\nguest backtrace:\n"), "{message}");
    assert!(
        message.contains(error.backtrace().unwrap().lines().next().unwrap()),
        "{message}"
    );
    assert_trace!(h);
}

#[test]
#[should_panic(expected = "guest backtrace:")]
fn unwrapping_a_trap_panics_with_the_guest_backtrace() {
    let mut h = hostile(Isolation::Main).start().unwrap();
    h.send("trap", b"").unwrap();
}
