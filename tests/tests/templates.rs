//! Each template end to end: `new` → `check` → `build` → `run`, with real
//! cargo builds. The crates share one cargo target folder (`<target>/e2e`),
//! so std and wit-bindgen compile once for all of them.

mod support;

use std::path::Path;

use support::{arcella, filters, new_crate, outcome, target_dir};

/// `cargo arcella <args>` in `root`, building into the shared e2e target folder.
fn step(root: &Path, args: &[&str]) -> std::process::Output {
    arcella(root)
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir().join("e2e"))
        .env("CARGO_TERM_QUIET", "true")
        .output()
        .unwrap()
}

/// Creates, checks and builds `template`; returns its temp folder and root.
fn built(template: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, root) = new_crate(template, &format!("hello-{template}"));
    let check = step(&root, &["check"]);
    assert!(check.status.success(), "{}", outcome(&check));
    let build = step(&root, &["build"]);
    assert!(build.status.success(), "{}", outcome(&build));
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert!(
        stderr.contains(&format!("target/arcella/hello-{template}.wasm")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!(", {template})")), "{stderr}");
    let check = step(&root, &["check", "--deny-warnings"]);
    assert!(check.status.success(), "{}", outcome(&check));
    (dir, root)
}

#[test]
fn the_module_template_builds_checks_and_answers_events() {
    let (dir, root) = built("module");
    let run = step(
        &root,
        &[
            "run",
            "--config",
            "greeting=Hi",
            "--event",
            "greet=world",
            "--event",
            "count",
            "--event",
            "nope",
        ],
    );
    let _guard = filters(dir.path()).bind_to_scope();
    insta::assert_snapshot!(outcome(&run));
}

#[test]
fn the_command_template_builds_checks_and_runs_with_arguments() {
    let (dir, root) = built("command");
    let run = step(&root, &["run", "--env", "GREETING=Howdy", "--", "Arcella"]);
    let _guard = filters(dir.path()).bind_to_scope();
    insta::assert_snapshot!(outcome(&run));
    let failing = step(&root, &["run", "--", "--fail"]);
    assert_eq!(failing.status.code(), Some(1), "{}", outcome(&failing));
}

#[test]
fn the_http_template_builds_checks_and_says_serving_is_not_here_yet() {
    let (dir, root) = built("http");
    let run = step(&root, &["run"]);
    let _guard = filters(dir.path()).bind_to_scope();
    insta::assert_snapshot!(outcome(&run));
}
