//! `[limits]` integers too large for the host: `check` must point at each
//! one with a code, and `run` must say why it refuses, never exit 1 in silence.

use std::path::Path;

use crate::support::{arcella, module_guest, new_crate};

const MODULE: &str = "[module]\nname = \"hello\"\nversion = \"0.1.0\"\n";

/// The limits an attacker writes: each fits no `u64`, the last one no `i128`.
fn hostile_limits() -> Vec<String> {
    vec![
        "fuel = 99999999999999999999999".to_string(),
        "fuel = 18446744073709551616".to_string(),
        "fuel = 0xffffffffffffffffff".to_string(),
        format!("memory = {}", "9".repeat(43)),
    ]
}

#[test]
fn check_reports_each_out_of_range_limit_as_json_with_its_code_and_place() {
    let (_dir, root) = new_crate("module", "hello");
    let template = std::fs::read_to_string(root.join("arcella.toml")).unwrap();
    for limit in hostile_limits() {
        // The template writes each limit at its default; the attacker rewrites one.
        let key = &limit[..limit.find(' ').unwrap()];
        let manifest: String = template
            .lines()
            .map(|line| {
                if line.starts_with(&format!("{key} =")) {
                    limit.as_str()
                } else {
                    line
                }
            })
            .flat_map(|line| [line, "\n"])
            .collect();
        std::fs::write(root.join("arcella.toml"), &manifest).unwrap();
        let output = arcella(&root)
            .args(["check", "--format", "json"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{limit}: {stdout}");
        let diagnostics: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let diagnostics = diagnostics.as_array().unwrap();
        assert_eq!(diagnostics.len(), 1, "{limit}: {stdout}");
        let line = manifest.lines().position(|line| line == limit).unwrap() + 1;
        assert_eq!(diagnostics[0]["code"], "A0202", "{limit}: {stdout}");
        assert_eq!(diagnostics[0]["line"], line, "{limit}: {stdout}");
        let column = limit.find('=').unwrap() + 3;
        assert_eq!(diagnostics[0]["column"], column, "{limit}: {stdout}");
    }
}

#[test]
fn run_says_why_it_refuses_an_out_of_range_limit() {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(dir.path().join("hello.wasm"), module_guest()).unwrap();
    for limit in hostile_limits() {
        let manifest = format!(
            "{MODULE}exports = [\"arcella:component/handler@0.1.0\"]\nimports = [\"arcella:component/logging@0.1.0\"]\n[limits]\n{limit}\n"
        );
        std::fs::write(dir.path().join("arcella.toml"), manifest).unwrap();
        let output = run(dir.path(), &["--event", "hello=world"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{limit}: {stderr}");
        assert!(stderr.contains("error[A0202]"), "{limit}: {stderr}");
        assert!(stderr.contains("arcella.toml:7:"), "{limit}: {stderr}");
        assert!(output.stdout.is_empty(), "{limit}: the module never ran");
    }
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    arcella(dir)
        .args(["run", "hello.wasm"])
        .args(args)
        .output()
        .unwrap()
}
