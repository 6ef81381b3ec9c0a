//! The host process a test binary's harnesses share: the same traces as in
//! process, one process for many tests, a fresh one after a crash, none
//! left behind, and one line for each way of not finding it.

mod support;

use std::io::BufRead as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arcella_testkit::{Error, Harness, HarnessBuilder, Isolation, ModuleState};
use support::{WORKER, echo_guest};

/// The testkit's own host executable, standing in for `cargo-arcella`.
const HOST: &str = WORKER;

fn echo(isolation: Isolation) -> HarnessBuilder {
    Harness::from_bytes(echo_guest())
        .name("echo")
        .config("greeting", "hi")
        .isolation(isolation)
        .worker_exe(WORKER)
}

fn converse(h: &mut Harness) {
    h.send("hello", b"world");
    h.send("count", b"");
    h.send("error", b"");
    h.send("loop", b"");
    h.start();
    h.send("count", b"");
    h.stop();
}

#[test]
fn a_harness_in_the_host_process_leaves_the_trace_it_leaves_in_process() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        let mut here = echo(isolation).fuel(3_000_000).start().unwrap();
        assert_eq!(here.host_pid(), None);
        converse(&mut here);

        let mut there = echo(isolation).fuel(3_000_000).host(HOST).start().unwrap();
        assert!(there.host_pid().is_some());
        converse(&mut there);

        assert_eq!(here.trace(), there.trace(), "{isolation:?}");
        assert_eq!(there.state(), ModuleState::Stopped);
    }
}

#[test]
fn the_harnesses_of_a_test_binary_share_one_host_process() {
    let first = echo(Isolation::Main).host(HOST).start().unwrap();
    let second = echo(Isolation::Main).host(HOST).start().unwrap();
    assert_eq!(first.host_pid(), second.host_pid());
}

#[test]
fn seeded_buckets_and_setup_errors_cross_as_data() {
    let h = Harness::from_bytes(echo_guest())
        .keyvalue("default", [("greeting", "hello"), ("count", "1")])
        .host(HOST)
        .install()
        .unwrap();
    let bucket = h.keyvalue("default");
    assert_eq!(bucket.get("greeting"), Some(&b"hello"[..]));
    assert_eq!(bucket.len(), 2);

    let error = Harness::from_wat("(component")
        .host(HOST)
        .install()
        .unwrap_err();
    assert!(matches!(error, Error::Wat(_)), "{error}");
    let error = Harness::for_crate("/nowhere")
        .host(HOST)
        .install()
        .unwrap_err();
    assert!(matches!(error, Error::Manifest { .. }), "{error}");
}

fn wait_until_gone(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        // A zombie waiting for its new parent to reap it is gone too.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat)
                if stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z')) =>
            {
                return true;
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    false
}

#[test]
fn a_crashed_host_fails_the_step_naming_the_crash_and_the_next_harness_gets_a_fresh_one() {
    // A host of its own (a copy of the executable), so that the other
    // tests of this binary keep theirs.
    let dir = tempfile::tempdir().unwrap();
    let host = dir.path().join("crashing-host");
    std::fs::copy(HOST, &host).unwrap();
    let mut h = echo(Isolation::Main).host(&host).start().unwrap();
    let pid = h.host_pid().unwrap();
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(wait_until_gone(pid));

    let error = h.send("count", b"").unwrap_err();
    assert_eq!(error.kind(), "host-lost");
    let message = error.to_string();
    assert!(
        message.contains("crashed (killed by signal 9)"),
        "{message}"
    );
    assert!(
        message.contains("the next harness starts a fresh host"),
        "{message}"
    );

    let mut fresh = echo(Isolation::Main).host(&host).start().unwrap();
    assert_ne!(fresh.host_pid(), Some(pid));
    assert_eq!(fresh.send("count", b"").unwrap(), [1]);
}

/// Run by [`a_killed_test_binary_leaves_no_host_behind`] in a process of
/// its own: starts a harness, says the host's pid, and waits to be killed.
#[test]
#[ignore = "run as a child of another test"]
fn child_starts_a_host_and_waits() {
    let Some(host) = std::env::var_os("ARCELLA_TEST_CHILD_HOST") else {
        return;
    };
    let h = echo(Isolation::Worker)
        .host(Path::new(&host))
        .start()
        .unwrap();
    println!("\nhost-pid {}", h.host_pid().unwrap());
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn a_killed_test_binary_leaves_no_host_behind() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_starts_a_host_and_waits",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ARCELLA_TEST_CHILD_HOST", HOST)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let pid: u32 = stdout
        .lines()
        .map_while(Result::ok)
        // libtest may print the test's name on the same line first.
        .find_map(|line| {
            line.split_once("host-pid ")
                .map(|(_, pid)| pid.trim().parse().unwrap())
        })
        .expect("the child names its host");
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    child.kill().unwrap(); // SIGKILL: no destructor, no exit handler runs
    child.wait().unwrap();
    assert!(
        wait_until_gone(pid),
        "the host {pid} outlived its test binary"
    );
}

/// An executable script printing `line` the way a host announces itself.
fn fake_host(dir: &Path, line: &str) -> std::path::PathBuf {
    let path = dir.join("fake-host");
    std::fs::write(
        &path,
        format!("#!/bin/sh\necho '{line}'\nexec cat >/dev/null\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_host_of_another_protocol_is_refused_naming_both_versions_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let host = fake_host(dir.path(), "arcella-testkit-host 999 9.9.9 /nowhere.sock");
    let error = echo(Isolation::Main).host(&host).install().unwrap_err();
    assert!(
        matches!(error, Error::HostVersion { theirs: 999, .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "speaks host protocol {}",
            arcella_testkit::PROTOCOL
        )),
        "{message}"
    );
    assert!(
        message.contains("(cargo-arcella 9.9.9) speaks protocol 999"),
        "{message}"
    );
    assert!(message.contains("cargo install --locked"), "{message}");
}

#[test]
fn a_program_that_is_not_a_host_or_is_missing_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let other = fake_host(dir.path(), "usage: something else");
    let error = echo(Isolation::Main).host(&other).install().unwrap_err();
    assert!(
        error
            .to_string()
            .contains("is not an Arcella host with a testkit: it printed `usage: something else`"),
        "{error}"
    );

    let error = echo(Isolation::Main)
        .host(dir.path().join("absent"))
        .install()
        .unwrap_err();
    assert!(matches!(error, Error::HostMissing { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("cargo arcella test"), "{message}");
    assert!(message.contains("cargo install --locked"), "{message}");
}
