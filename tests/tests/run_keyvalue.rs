//! `cargo arcella run`'s key-value store, with a real Rust module over
//! `wasi:keyvalue` driven through the real CLI: the default redb file beside
//! `arcella.toml`, `--keyvalue` and `ARCELLA_KEYVALUE`, a store that is
//! locked or corrupt, and a write acknowledged to the guest that survives
//! `kill -9` of the host, in both isolations.

mod support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Output, Stdio};
use std::time::{Duration, Instant};

use arcella_fixtures::keyvalue_module;
use support::{arcella, arcella_command, filters, module_guest, outcome};
use tempfile::TempDir;

/// Where `run` keeps the data when told nothing, relative to `arcella.toml`.
const DEFAULT_FILE: &str = ".arcella/keyvalue.redb";

/// The module's manifest: it imports the bucket interfaces and is granted `default`.
fn manifest(isolation: &str) -> String {
    let placement = match isolation {
        "main" => "isolation = \"main\"\ntrusted = true\nasync = true\n",
        _ => "isolation = \"worker\"\n",
    };
    format!(
        "[module]\nname = \"counter\"\nversion = \"0.1.0\"\n{placement}\
         imports = [\"wasi:keyvalue/store@0.2.0-draft\", \"wasi:keyvalue/atomics@0.2.0-draft\"]\n\n\
         [capabilities]\nkeyvalue = [\"default\"]\n"
    )
}

/// A folder with the keyvalue module as `counter.wasm` and its `arcella.toml`.
fn project(isolation: &str) -> TempDir {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("counter.wasm"), keyvalue_module()).unwrap();
    std::fs::write(dir.path().join("arcella.toml"), manifest(isolation)).unwrap();
    dir
}

/// `run counter.wasm` in `dir` with `args`, the environment left as the test's.
fn run(dir: &Path, args: &[&str]) -> Output {
    arcella(dir)
        .args(["run", "counter.wasm"])
        .args(args)
        .env_remove("ARCELLA_KEYVALUE")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{}", outcome(output));
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// A `run` of the module reading events from a pipe, as an operator's
/// terminal would feed it.
struct Running {
    child: Child,
    events: ChildStdin,
    replies: BufReader<ChildStdout>,
}

impl Running {
    /// Starts `run counter.wasm` in `dir`; `marker` is set in its
    /// environment, which its workers inherit, to find them later.
    fn start(dir: &Path, marker: &str) -> Self {
        let mut child = arcella_command(dir)
            .args(["run", "counter.wasm"])
            .env_remove("ARCELLA_KEYVALUE")
            .env(MARKER, marker)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let events = child.stdin.take().unwrap();
        let replies = BufReader::new(child.stdout.take().unwrap());
        Self {
            child,
            events,
            replies,
        }
    }

    /// Sends one `TOPIC PAYLOAD` line and waits for the module's reply line.
    fn send(&mut self, event: &str) -> String {
        writeln!(self.events, "{event}").unwrap();
        let mut reply = String::new();
        self.replies.read_line(&mut reply).unwrap();
        if reply.is_empty() {
            let mut stderr = String::new();
            let _ = self
                .child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr);
            panic!("`run` ended before replying to `{event}`: {stderr}");
        }
        reply.trim_end().to_string()
    }
}

#[test]
fn the_default_store_is_a_redb_file_beside_arcella_toml_kept_across_runs() {
    let dir = project("worker");
    let first = run(dir.path(), &["--event", "increment=visits"]);
    assert_eq!(stdout(&first), "1\n");
    assert!(
        dir.path().join(DEFAULT_FILE).is_file(),
        "the file and its folder are created"
    );
    let again = run(dir.path(), &["--event", "increment=visits"]);
    assert_eq!(stdout(&again), "2\n");

    // Beside arcella.toml, wherever the run starts.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let output = arcella(&elsewhere)
        .args(["run", "../counter.wasm", "--event", "increment=visits"])
        .env_remove("ARCELLA_KEYVALUE")
        .output()
        .unwrap();
    assert_eq!(stdout(&output), "3\n");
    assert!(!elsewhere.join(".arcella").exists());
}

#[test]
fn a_component_that_does_not_import_keyvalue_gets_no_store() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("hello.wasm"), module_guest()).unwrap();
    std::fs::write(
        dir.path().join("arcella.toml"),
        "[module]\nname = \"hello\"\nversion = \"0.1.0\"\nimports = [\"arcella:component/logging@0.1.0\"]\n",
    )
    .unwrap();
    for args in [&[][..], &["--keyvalue", "redb:named.redb"]] {
        let output = arcella(dir.path())
            .args(["run", "hello.wasm", "--event", "hello=world"])
            .args(args)
            .env_remove("ARCELLA_KEYVALUE")
            .output()
            .unwrap();
        assert_eq!(stdout(&output), "world\n");
    }
    assert!(!dir.path().join(".arcella").exists(), "no default folder");
    assert!(!dir.path().join("named.redb").exists(), "no named file");
}

#[test]
fn arcella_keyvalue_picks_the_backend_and_the_flag_wins_over_it() {
    let dir = project("worker");
    let with_env = |value: &str, args: &[&str]| {
        arcella(dir.path())
            .args(["run", "counter.wasm", "--event", "increment=visits"])
            .args(args)
            .env("ARCELLA_KEYVALUE", value)
            .output()
            .unwrap()
    };
    assert_eq!(stdout(&with_env("memory", &[])), "1\n");
    assert_eq!(
        stdout(&with_env("memory", &[])),
        "1\n",
        "memory keeps nothing"
    );
    assert!(!dir.path().join(".arcella").exists());

    assert_eq!(stdout(&with_env("redb:env.redb", &[])), "1\n");
    assert_eq!(stdout(&with_env("redb:env.redb", &[])), "2\n");
    assert!(dir.path().join("env.redb").is_file());

    let flag = ["--keyvalue", "redb:flag/kv.redb"];
    assert_eq!(stdout(&with_env("memory", &flag)), "1\n");
    assert_eq!(stdout(&with_env("redb:env.redb", &flag)), "2\n");
    assert!(
        dir.path().join("flag/kv.redb").is_file(),
        "the flag's file, its folder created"
    );

    let bad = with_env("memcached", &[]);
    assert_eq!(bad.status.code(), Some(2), "{}", outcome(&bad));

    let help = arcella(dir.path())
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = stdout(&help);
    assert!(help.contains("ARCELLA_KEYVALUE"), "{help}");
    assert!(help.contains(DEFAULT_FILE), "{help}");
}

/// The run's outcome with the temporary folder hidden, for a snapshot.
fn shown(dir: &Path, output: &Output) -> String {
    let _guard = filters(dir).bind_to_scope();
    outcome(output)
}

/// Exit code 2 (input that could not be read), nothing on stdout, and one
/// line on stderr naming the file.
fn assert_refused_in_one_line(output: &Output) {
    let text = outcome(output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(output.stdout.is_empty(), "nothing ran: {text}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{text}");
    assert!(stderr.contains(DEFAULT_FILE), "{text}");
}

#[test]
fn a_second_run_of_the_same_project_is_refused_while_the_first_holds_the_store() {
    let dir = project("worker");
    let mut first = Running::start(dir.path(), "lock-first");
    assert_eq!(
        first.send("increment visits"),
        "1",
        "the first run holds the store"
    );

    let second = run(dir.path(), &["--event", "increment=visits"]);
    assert_refused_in_one_line(&second);
    insta::assert_snapshot!(shown(dir.path(), &second));

    assert_eq!(first.send("increment visits"), "2", "the first run goes on");
    drop(first.events);
    assert!(first.child.wait().unwrap().success());
    assert_eq!(
        stdout(&run(dir.path(), &["--event", "increment=visits"])),
        "3\n",
        "once the first run ended, the store opens"
    );
}

#[test]
fn a_corrupt_store_file_stops_the_run_naming_it_and_is_left_as_it_is() {
    let dir = project("worker");
    std::fs::create_dir(dir.path().join(".arcella")).unwrap();
    // 64 KiB of noise from a fixed seed: not a redb file, and the same every run.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let garbage: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    std::fs::write(dir.path().join(DEFAULT_FILE), &garbage).unwrap();

    let output = run(dir.path(), &["--event", "increment=visits"]);
    assert_refused_in_one_line(&output);
    insta::assert_snapshot!(shown(dir.path(), &output));
    assert_eq!(
        std::fs::read(dir.path().join(DEFAULT_FILE)).unwrap(),
        garbage,
        "the operator's file is not overwritten"
    );
}

/// The variable that marks the processes of one test's run.
const MARKER: &str = "ARCELLA_E2E_MARKER";

/// The processes whose environment has [`MARKER`] set to `marker`: a run
/// and the workers it started, which inherit its environment.
fn processes_marked(marker: &str) -> Vec<u32> {
    let wanted = format!("{MARKER}={marker}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|byte| *byte == 0)
                    .any(|variable| variable == wanted.as_bytes())
            })
        })
        .collect()
}

/// Waits until no process carries `marker`, for at most `bound`; those left.
fn left_after(marker: &str, bound: Duration) -> Vec<u32> {
    let deadline = Instant::now() + bound;
    loop {
        let left = processes_marked(marker);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn a_write_acknowledged_to_the_guest_survives_kill_9_of_the_host(isolation: &str) {
    let dir = project(isolation);
    let marker = format!("kill-{isolation}-{}", std::process::id());
    let mut host = Running::start(dir.path(), &marker);
    assert_eq!(host.send("set durable=yes"), "ok");
    assert_eq!(host.send("increment visits"), "1");
    let workers: Vec<u32> = processes_marked(&marker)
        .into_iter()
        .filter(|pid| *pid != host.child.id())
        .collect();
    assert_eq!(
        workers.is_empty(),
        isolation == "main",
        "a worker runs the module only with worker isolation: {workers:?}"
    );

    host.child.kill().unwrap(); // SIGKILL: no chance to flush or close anything
    let status = host.child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    // A worker notices its host is gone on its own, within moments.
    let left = left_after(&marker, Duration::from_secs(30));
    assert!(left.is_empty(), "processes left behind: {left:?}");

    let output = run(
        dir.path(),
        &["--event", "get=durable", "--event", "increment=visits"],
    );
    assert_eq!(stdout(&output), "yes\n2\n");
}

#[test]
fn a_write_acknowledged_in_the_hosts_process_survives_kill_9() {
    a_write_acknowledged_to_the_guest_survives_kill_9_of_the_host("main");
}

#[test]
fn a_write_acknowledged_in_a_worker_survives_kill_9_of_its_host() {
    a_write_acknowledged_to_the_guest_survives_kill_9_of_the_host("worker");
}
