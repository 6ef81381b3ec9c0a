//! Commands through the harness: arguments, output, exit codes and limits.

mod support;

use arcella_fixtures::command_guest;
use arcella_testkit::{Harness, Isolation, assert_trace};
use support::WORKER;

#[test]
fn a_command_prints_and_exits_with_its_code() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        let mut h = Harness::from_bytes(&command_guest("hi\n", 2, false, false))
            .name("cmd")
            .isolation(isolation)
            .worker_exe(WORKER)
            .start()
            .unwrap();
        let out = h.run(&["a", "b"]).unwrap();
        assert_eq!(out.exit_code, 1);
        assert!(!out.success());
        assert_eq!(out.stdout_text(), "hi\nhi\n");
        insta::allow_duplicates! {
            assert_trace!(h);
        }
    }
}

#[test]
fn an_output_flood_is_capped_and_counted() {
    let mut h = Harness::from_bytes(&command_guest("0123456789", 1000, true, false))
        .isolation(Isolation::Main)
        .capture_limit(16)
        .start()
        .unwrap();
    let out = h.run(&[]).unwrap();
    assert_eq!(out.stdout, b"0123456789012345");
    assert_trace!(h);
}

#[test]
fn a_spinning_command_runs_out_of_fuel() {
    let mut h = Harness::from_bytes(&command_guest("", 0, true, true))
        .name("spin")
        .isolation(Isolation::Main)
        .fuel(1_000_000)
        .start()
        .unwrap();
    let error = h.run(&[]).unwrap_err();
    assert_eq!(error.kind(), "fuel-exhausted");
    assert_trace!(h);
}
