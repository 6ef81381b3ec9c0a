//! Each template end to end: `new` → `check` → `build` → `run` → `test`,
//! with real cargo builds. The crates share one cargo target folder
//! (`<target>/e2e`), so std, wit-bindgen and the testkit compile once for
//! all of them.

mod support;

use std::path::Path;

use support::{arcella, filters, new_crate, outcome, target_dir};

/// `cargo arcella <args>` in `root`, building into the shared e2e target
/// folder, with snapshots checked as in CI: a changed one fails, and
/// nothing is written.
fn step(root: &Path, args: &[&str]) -> std::process::Output {
    arcella(root)
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir().join("e2e"))
        .env("CARGO_TERM_QUIET", "true")
        .env("CI", "true")
        .env_remove("INSTA_UPDATE")
        .env_remove("INSTA_FORCE_PASS")
        .env_remove("INSTA_WORKSPACE_ROOT")
        .output()
        .unwrap()
}

/// `cargo arcella test` in `root` passes: the template's own tests and
/// snapshots hold, run in the host process of this `cargo-arcella`; the
/// crate's tests compile no wasmtime of their own.
fn assert_tests_pass(root: &Path) {
    let test = step(root, &["test"]);
    assert!(test.status.success(), "{}", outcome(&test));
    let stdout = String::from_utf8_lossy(&test.stdout);
    assert!(stdout.contains("test result: ok."), "{stdout}");
    assert_no_wasmtime(root);
}

/// The crate's dependency tree, tests included, has no wasmtime, cranelift
/// or wasmtime-wasi: the testkit runs components in the installed host.
fn assert_no_wasmtime(root: &Path) {
    let tree = std::process::Command::new(env!("CARGO"))
        .current_dir(root)
        .args(["tree", "--offline", "-e", "normal,dev", "--prefix", "none"])
        .env("CARGO_TARGET_DIR", target_dir().join("e2e"))
        .output()
        .unwrap();
    assert!(tree.status.success(), "{}", outcome(&tree));
    let tree = String::from_utf8_lossy(&tree.stdout);
    assert!(tree.contains("arcella-testkit"), "{tree}");
    for heavy in ["wasmtime", "cranelift", "arcella-host"] {
        assert!(
            !tree.lines().any(|line| line.starts_with(heavy)),
            "`{heavy}` is in the tests' dependency tree:\n{tree}"
        );
    }
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
    assert_tests_pass(&root);
}

#[test]
fn a_change_in_behaviour_fails_the_snapshot_test_with_a_diff_and_writes_nothing() {
    let (_dir, root) = new_crate("module", "hello-changed");
    assert_tests_pass(&root);
    let source = root.join("src/lib.rs");
    let text = std::fs::read_to_string(&source).unwrap();
    let changed = text.replace("starting with greeting", "starting up with greeting");
    assert_ne!(text, changed, "the template logs `starting with greeting`");
    std::fs::write(&source, changed).unwrap();

    let test = step(&root, &["test"]);
    assert_eq!(test.status.code(), Some(101), "{}", outcome(&test));
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
    assert!(
        output.contains("Snapshot Summary") || output.contains("Snapshot:"),
        "insta reports the snapshot: {output}"
    );
    for line in [
        "-      - info: \"starting with greeting `Hello`\"",
        "+      - info: \"starting up with greeting `Hello`\"",
    ] {
        assert!(
            output.lines().any(|shown| shown.contains(line)),
            "the diff shows `{line}`: {output}"
        );
    }
    let pending: Vec<_> = std::fs::read_dir(root.join("tests/snapshots"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".snap"))
        .collect();
    assert!(
        pending.is_empty(),
        "CI writes no pending snapshots: {pending:?}"
    );
}

#[test]
fn the_command_template_builds_checks_and_runs_with_arguments() {
    let (dir, root) = built("command");
    let run = step(&root, &["run", "--env", "GREETING=Howdy", "--", "Arcella"]);
    let _guard = filters(dir.path()).bind_to_scope();
    insta::assert_snapshot!(outcome(&run));
    let failing = step(&root, &["run", "--", "--fail"]);
    assert_eq!(failing.status.code(), Some(1), "{}", outcome(&failing));
    assert_tests_pass(&root);
}

/// A plain HTTP/1.1 GET over loopback; returns the status line and the body.
fn get(address: &str, path: &str) -> (String, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.lines().next().unwrap_or_default().to_string();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn the_http_template_builds_checks_and_serves_until_ctrl_c() {
    let (_dir, root) = built("http");
    let (server, address) = serve(&root);
    let (status, body) = get(&address, "/");
    assert!(status.contains("200"), "{status}");
    assert!(
        body.contains("Hello from hello-http!\nvisits: 1\n"),
        "{body}"
    );
    assert!(get(&address, "/").1.contains("visits: 2\n"));
    assert!(get(&address, "/missing").0.contains("404"));
    let rest = stop(server);
    assert!(
        rest.contains("GET / 200"),
        "the access log names each request: {rest}"
    );

    // The count is kept in the project's key-value file, across runs.
    assert!(root.join(".arcella/keyvalue.redb").is_file());
    let (server, address) = serve(&root);
    assert!(get(&address, "/").1.contains("visits: 3\n"));
    stop(server);
    assert_tests_pass(&root);
}

/// A server the test started, killed if the test fails before it stops it.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `cargo arcella run` of the HTTP component in `root`, once it serves.
fn serve(root: &std::path::Path) -> (Server, String) {
    use std::io::BufRead as _;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let mut server = std::process::Command::new(support::binary())
        .current_dir(root)
        .args(["arcella", "run", "--listen", &address])
        .env("NO_COLOR", "1")
        .env("CARGO_TARGET_DIR", target_dir().join("e2e"))
        .env("CARGO_TERM_QUIET", "true")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = server.stderr.take().unwrap();
    let mut server = Server(server);
    let mut stderr = std::io::BufReader::new(stderr);
    let mut line = String::new();
    while !line.contains("serving") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the server ended before serving"
        );
    }
    assert!(line.contains(&format!("http://{address}/")), "{line}");
    server.0.stderr = Some(stderr.into_inner());
    (server, address)
}

/// Ctrl-C to `server`: it ends cleanly; returns the rest of its stderr.
fn stop(mut server: Server) -> String {
    std::process::Command::new("kill")
        .args(["-INT", &server.0.id().to_string()])
        .status()
        .unwrap();
    let status = server.0.wait().unwrap();
    assert!(status.success(), "Ctrl-C ends serving cleanly: {status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(server.0.stderr.as_mut().unwrap(), &mut rest).unwrap();
    rest
}
