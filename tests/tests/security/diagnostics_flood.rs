//! A manifest made to flood `check`: thousands of bad entries on one long
//! line. Each diagnostic used to repeat the whole line, so output grew with
//! the square of the input. Now people get the first few, each with the
//! line cut around its caret, and tools get all of them, in linear time.

use std::time::{Duration, Instant};

use crate::support::{arcella, new_crate};

const ENTRIES: usize = 8000;

/// A module crate whose `exports` is one line of `count` entries made by `entry`.
fn flooded_crate(
    count: usize,
    entry: impl Fn(usize) -> String,
) -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, root) = new_crate("module", "hello");
    let exports: Vec<String> = (0..count)
        .map(|index| format!("\"{}\"", entry(index)))
        .collect();
    let manifest = format!(
        "[module]\nname = \"hello\"\nversion = \"0.1.0\"\nexports = [{}]\n",
        exports.join(", ")
    );
    std::fs::write(root.join("arcella.toml"), manifest).unwrap();
    (dir, root)
}

/// `ENTRIES` interfaces the crate's WIT does not define.
fn unknown_interface(index: usize) -> String {
    format!("nowhere:unknown/interface{index}@0.1.0")
}

#[test]
fn human_output_is_capped_per_file_and_cuts_long_lines() {
    let (_dir, root) = flooded_crate(ENTRIES, unknown_interface);
    let started = Instant::now();
    let output = arcella(&root)
        .arg("check")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.len() < 64 << 10,
        "{} bytes of stderr in {elapsed:?}",
        stderr.len()
    );
    assert_eq!(output.status.code(), Some(1), "{elapsed:?}");
    let longest = stderr.lines().map(|line| line.chars().count()).max();
    assert!(longest < Some(300), "a line of {longest:?} characters");
    assert!(
        stderr.contains('…'),
        "the long line is cut around the caret"
    );
    assert_eq!(stderr.matches("error[A0502]").count(), 50);
    assert!(
        stderr.contains(&format!(
            "… and {} more diagnostics in arcella.toml (use --format json for all)",
            ENTRIES - 50
        )),
        "{}",
        &stderr[stderr.len().saturating_sub(2000)..]
    );
    assert!(
        stderr.contains(&format!("has {ENTRIES} errors")),
        "the summary still counts them all"
    );
}

#[test]
fn json_output_keeps_every_diagnostic_and_stays_linear() {
    // As many entries as a one-mebibyte manifest holds: each is no interface name at all.
    const FLOOD: usize = 60_000;
    let (_dir, root) = flooded_crate(FLOOD, |index| format!("x{index}"));
    let started = Instant::now();
    let output = arcella(&root)
        .args(["check", "--format", "json"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(1), "{elapsed:?}");
    assert!(
        output.stdout.len() < FLOOD * 512,
        "{} bytes of JSON in {elapsed:?}",
        output.stdout.len()
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let diagnostics = json.as_array().unwrap();
    assert_eq!(diagnostics.len(), FLOOD);
    let last = &diagnostics[FLOOD - 1];
    assert_eq!(last["code"], "A0110");
    assert_eq!(last["line"], 4);
    let manifest = std::fs::read_to_string(root.join("arcella.toml")).unwrap();
    let line = manifest.lines().nth(3).unwrap();
    let column = line.rfind("\"x").unwrap() + 1;
    assert_eq!(last["column"], column);
}
