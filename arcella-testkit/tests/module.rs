//! Modules through the harness: start, send, stop, restart, update, and the traces they leave.

mod support;

use arcella_fixtures::module_guest;
use arcella_testkit::{Error, Harness, Isolation, Level, ModuleState, assert_trace};
use support::{ECHO_WAT, WORKER, echo_guest};

/// The echo module, named `echo`, greeting with `hi`, in `isolation`.
fn echo(isolation: Isolation) -> Harness {
    Harness::from_bytes(echo_guest())
        .name("echo")
        .config("greeting", "hi")
        .isolation(isolation)
        .worker_exe(WORKER)
        .start()
        .unwrap()
}

/// The same conversation for every isolation: it must leave the same trace.
fn converse(h: &mut Harness) {
    h.send("hello", b"world");
    h.send("count", b"");
    h.send("count", b"");
    h.send("error", b"");
    h.send("bytes", &[0, 159, 146, 150]);
    h.stop();
}

#[test]
fn a_module_logs_echoes_and_counts() {
    let mut h = echo(Isolation::Main);
    converse(&mut h);
    assert_trace!(h);
}

#[test]
fn the_trace_is_the_same_in_a_worker_as_in_process() {
    let mut in_process = echo(Isolation::Main);
    converse(&mut in_process);
    let mut in_worker = echo(Isolation::Worker);
    converse(&mut in_worker);
    assert_eq!(in_process.trace(), in_worker.trace());
}

#[test]
fn each_step_returns_what_the_guest_answered() {
    let mut h = echo(Isolation::Main);
    assert_eq!(h.send("hello", b"world").unwrap(), b"world");
    assert_eq!(h.send("count", b"").unwrap(), [1]);
    assert!(h.send("count", b"").is_ok());

    let refused = h.send("error", b"").unwrap_err();
    assert_eq!(refused.kind(), "guest-error");
    assert_eq!(refused.guest_message(), Some("bad topic"));
    assert!(!refused.is_limit() && refused.host_error().is_none());
    assert_eq!(
        h.state(),
        ModuleState::Running,
        "a guest's own error is an answer, not a failure"
    );
    assert_eq!(h.send("count", b"").unwrap(), [3]);
}

#[test]
fn a_restart_is_a_fresh_instance() {
    let mut h = echo(Isolation::Main);
    h.send("count", b"").unwrap();
    h.stop().unwrap();
    assert_eq!(h.state(), ModuleState::Stopped);
    h.start().unwrap();
    assert_eq!(h.send("count", b"").unwrap(), [1]);
}

#[test]
fn logs_at_keeps_records_at_that_level_and_above() {
    let mut h = echo(Isolation::Main);
    h.send("hello", b"").unwrap();
    h.stop().unwrap();
    assert_eq!(h.logs_at(Level::Info), ["hi", "hello"]);
    assert_eq!(h.logs_at(Level::Debug), ["hi", "hello", "stopped"]);
    assert!(h.logs_at(Level::Warn).is_empty());
}

#[test]
fn fuel_can_be_left_out_of_the_trace() {
    let mut h = echo(Isolation::Main);
    h.send("hello", b"world").unwrap();
    assert!(h.trace().steps.iter().all(|step| step.fuel.is_some()));
    assert!(
        h.trace()
            .without_fuel()
            .steps
            .iter()
            .all(|step| step.fuel.is_none())
    );

    let mut h = Harness::from_bytes(echo_guest())
        .isolation(Isolation::Main)
        .without_fuel()
        .start()
        .unwrap();
    h.send("hello", b"world").unwrap();
    assert!(h.trace().steps.iter().all(|step| step.fuel.is_none()));
}

#[test]
fn a_start_that_fails_names_the_step_and_the_guests_reason() {
    let error = Harness::from_bytes(&module_guest(true))
        .name("grumpy")
        .isolation(Isolation::Main)
        .start()
        .unwrap_err();
    assert!(matches!(&error, Error::Step(step) if step.kind() == "guest-error"));
    insta::assert_snapshot!(error.to_string(), @r"
    step 1 `start()` failed: component 'grumpy' failed to start: refusing to start
    guest logs during the step:
      INFO  started
    ");
}

#[test]
fn a_start_that_fails_is_recorded_when_the_harness_is_only_installed() {
    let mut h = Harness::from_bytes(&module_guest(true))
        .name("grumpy")
        .isolation(Isolation::Worker)
        .worker_exe(WORKER)
        .install()
        .unwrap();
    assert_eq!(h.state(), ModuleState::Installed);
    assert_eq!(
        h.start().unwrap_err().guest_message(),
        Some("refusing to start")
    );
    assert_eq!(h.state(), ModuleState::Failed);
    assert_trace!(h);
}

#[test]
fn an_update_replaces_the_running_version_and_a_failed_one_leaves_it_running() {
    let mut h = echo(Isolation::Main);
    h.send("count", b"");
    h.update(Harness::from_bytes(&module_guest(true)));
    assert_eq!(
        h.send("count", b"").unwrap(),
        [2],
        "the old instance keeps running"
    );
    h.update(Harness::from_bytes(echo_guest()).config("greeting", "hello again"));
    assert_eq!(
        h.send("count", b"").unwrap(),
        [1],
        "the new version starts afresh"
    );
    h.update(Harness::from_wat("(component"));
    assert_trace!(h);
}

#[test]
fn a_component_written_as_text_runs() {
    let mut h = Harness::from_wat(ECHO_WAT)
        .isolation(Isolation::Main)
        .start()
        .unwrap();
    assert_eq!(h.name(), "component");
    assert_eq!(h.send("echo", b"ping").unwrap(), b"ping");
    h.stop().unwrap();
    assert_trace!(h);
}
