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
    use std::io::BufRead as _;
    let (_dir, root) = built("http");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let mut server = std::process::Command::new(support::binary())
        .current_dir(&root)
        .args(["arcella", "run", "--listen", &address])
        .env("NO_COLOR", "1")
        .env("CARGO_TARGET_DIR", target_dir().join("e2e"))
        .env("CARGO_TERM_QUIET", "true")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("serving") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the server ended before serving"
        );
    }
    assert!(line.contains(&format!("http://{address}/")), "{line}");

    let (status, body) = get(&address, "/");
    assert!(status.contains("200"), "{status}");
    assert!(body.contains("Hello from hello-http!"), "{body}");
    assert!(get(&address, "/missing").0.contains("404"));

    std::process::Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status()
        .unwrap();
    let status = server.wait().unwrap();
    assert!(status.success(), "Ctrl-C ends serving cleanly: {status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(
        rest.contains("GET / 200"),
        "the access log names each request: {rest}"
    );
}
