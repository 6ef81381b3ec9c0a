//! `TOPIC PAYLOAD` lines on `cargo arcella run`'s stdin from an attacker who
//! never sends a newline: a line longer than `--max-body` is refused by name
//! and skipped without being held in memory, and the events after it still run.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use tempfile::TempDir;

use crate::support::{arcella, arcella_command, module_guest};

const MANIFEST: &str = "[module]\nname = \"hello\"\nversion = \"0.1.0\"\nexports = [\"arcella:component/handler@0.1.0\"]\nimports = [\"arcella:component/logging@0.1.0\"]\n";

fn module() -> TempDir {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("hello.wasm"), module_guest()).unwrap();
    std::fs::write(dir.path().join("arcella.toml"), MANIFEST).unwrap();
    dir
}

/// `small one`, a `big` event of `size` bytes, then `next two`.
fn events_around_a_line_of(size: usize) -> Vec<u8> {
    let mut input = b"small one\nbig ".to_vec();
    input.resize(input.len() + size, b'x');
    input.extend_from_slice(b"\nnext two\n");
    input
}

#[test]
fn a_line_longer_than_max_body_is_refused_by_name_and_the_next_one_runs() {
    let dir = module();
    let output = arcella(dir.path())
        .args(["run", "hello.wasm", "--isolation", "main"])
        .write_stdin(events_around_a_line_of(3 << 20))
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown = short(&output.stderr);
    assert!(
        output.stdout == b"one\ntwo\n",
        "stdout: {}; stderr: {shown}",
        short(&output.stdout)
    );
    assert_eq!(output.status.code(), Some(1), "{shown}");
    let refusal = stderr
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {shown}"));
    assert!(
        refusal.contains("line 2") && refusal.contains("2MiB") && refusal.contains("--max-body"),
        "{shown}"
    );
    assert!(stderr.len() < 4096, "{shown}");
}

#[test]
fn max_body_sets_the_longest_event_line() {
    let dir = module();
    let output = arcella(dir.path())
        .args(["run", "hello.wasm", "--max-body", "16B"])
        .write_stdin("short fits\nwide 0123456789abcdef\n")
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown = short(&output.stderr);
    assert!(
        output.stdout == b"fits\n",
        "stdout: {}; stderr: {shown}",
        short(&output.stdout)
    );
    assert!(stderr.contains("16B"), "{shown}");
    assert_eq!(output.status.code(), Some(1), "{shown}");
}

/// `bytes` as text, cut to its first 200 characters and its length, for assertion messages.
fn short(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let head: String = text.chars().take(200).collect();
    format!("{head:?}… ({} bytes)", bytes.len())
}

/// The peak resident memory of process `pid`, in bytes, while it runs.
#[cfg(target_os = "linux")]
fn peak_memory(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(target_os = "linux")]
#[test]
fn a_600_mebibyte_line_is_never_held_whole() {
    const LINE: usize = 600 << 20;
    const BUDGET: u64 = 256 << 20;
    let dir = module();
    let mut child = arcella_command(dir.path())
        .args(["run", "hello.wasm", "--isolation", "main"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let (done_writing, keep_open) = mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 20];
        let _ = stdin.write_all(b"big ");
        for _ in 0..LINE / chunk.len() {
            if stdin.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = stdin.write_all(b"\nnext two\n");
        let _ = stdin.flush();
        // Stay open, so the run is still alive when its peak is read.
        let _ = keep_open.recv();
    });
    let (lines, echoed) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let answer = echoed.recv_timeout(Duration::from_secs(300));
    let peak = peak_memory(pid);
    drop(done_writing);
    let _ = writer.join();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        answer.as_deref(),
        Ok("two"),
        "the event after the long line ran"
    );
    let peak = peak.expect("the run was still alive to be measured");
    assert!(
        peak < BUDGET,
        "a {} MiB line took the run to {} MiB",
        LINE >> 20,
        peak >> 20
    );
}
