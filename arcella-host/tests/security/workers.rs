//! A worker dies with its host, even while its guest is mid-call.
//!
//! The attack: a guest spins in a call with an hour's timeout; the host is
//! killed (`kill -9`, or Ctrl-C of `cargo arcella run`, which does not reach
//! the worker's own process group). The worker must not keep running it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arcella_host::{Host, HostOptions, Isolation, Limits};

use crate::support::{manifest, test_host_options};
use arcella_fixtures::module_guest;

/// Set in the environment of the test binary when it plays the doomed host.
const ROLE: &str = "ARCELLA_SECURITY_ROLE";

/// The line the doomed host prints once its worker runs the endless call.
const WORKER_PID: &str = "worker pid: ";

/// The doomed host: starts a worker, prints its pid, then calls a guest that
/// loops for up to an hour. Runs only when the test below starts it.
#[tokio::test]
#[ignore = "played by a child process of a_worker_dies_with_its_killed_host"]
async fn doomed_host() {
    if std::env::var_os(ROLE).is_none() {
        return;
    }
    let mut host = Host::new(test_host_options());
    let mut spinning = manifest("spin", Isolation::Worker);
    spinning.limits = Limits {
        fuel: u64::MAX / 4,
        timeout: Limits::MAX_TIMEOUT,
        ..Limits::default()
    };
    let group = spinning.module.group.clone();
    host.install(spinning, module_guest(false)).await.unwrap();
    host.start("spin").await.unwrap();
    println!("{WORKER_PID}{}", host.worker_pid(&group).unwrap());
    let _ = host.handle("spin", "loop", b"").await;
}

#[test]
fn a_worker_dies_with_its_killed_host() {
    let mut doomed = Command::new(std::env::current_exe().unwrap())
        .args([
            "workers::doomed_host",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(ROLE, "doomed")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(doomed.stdout.take().unwrap());
    let worker: u32 = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix(WORKER_PID).map(str::to_string))
        .expect("the doomed host prints its worker's pid")
        .trim()
        .parse()
        .unwrap();
    // Let the call reach the guest's loop, then kill the host outright.
    std::thread::sleep(Duration::from_millis(300));
    doomed.kill().unwrap();
    doomed.wait().unwrap();

    let bound = Instant::now() + Duration::from_secs(20);
    while is_running(worker) {
        assert!(
            Instant::now() < bound,
            "worker {worker} still runs its guest 20 s after its host was killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether process `pid` exists and is not a zombie.
fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Set when the test binary plays a host whose command floods its stdout.
const FLOOD_ROLE: &str = "ARCELLA_SECURITY_FLOOD";

/// A host that runs a command writing 4,000-byte lines in a worker, its output
/// inherited: the worker writes it to this process's own stdout.
#[tokio::test]
#[ignore = "played by a child process of uncaptured_output_reaches_the_hosts_stdout_intact"]
async fn flooding_host() {
    if std::env::var_os(FLOOD_ROLE).is_none() {
        return;
    }
    let mut host = Host::new(HostOptions {
        stdio: arcella_host::Stdio::Inherit,
        ..test_host_options()
    });
    let mut command = manifest("flood", Isolation::Worker);
    command.module.imports.clear();
    let line = format!("{}\n", "x".repeat(3_999));
    host.install(
        command,
        arcella_fixtures::command_guest(&line, 4096, true, false),
    )
    .await
    .unwrap();
    let ran = host.run("flood", &[]).await.unwrap();
    assert_eq!(ran.value.exit_code, 0);
}

#[test]
fn uncaptured_output_reaches_the_hosts_stdout_intact() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "workers::flooding_host",
            "--exact",
            "--ignored",
            "--nocapture",
            "--quiet",
        ])
        .env(FLOOD_ROLE, "flood")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = output
        .stdout
        .split(|byte| *byte == b'\n')
        .filter(|line| line.len() == 3_999 && line.iter().all(|byte| *byte == b'x'))
        .count();
    assert_eq!(lines, 4096, "every line of 16 MB arrives whole and once");
}
