//! A guest logs text full of terminal escapes and a newline that starts a
//! record of its own. `cargo arcella run` prints guest records to stderr,
//! which is usually the operator's terminal: each must stay one inert line,
//! its control characters shown as escapes.

use tempfile::TempDir;

use crate::support::{arcella, module_guest};

const MANIFEST: &str = "[module]\nname = \"hello\"\nversion = \"0.1.0\"\nexports = [\"arcella:component/handler@0.1.0\"]\nimports = [\"arcella:component/logging@0.1.0\"]\n";

/// Clears the screen, retitles the window, and forges a record of another module.
/// The guest logs the topic of each event it is sent.
const TOPIC: &str = "\u{1b}[2J\u{1b}]0;pwned\u{7}\n[INFO other-module] forged\r";

#[test]
fn a_guest_record_cannot_drive_the_terminal_or_forge_a_line() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("hello.wasm"), module_guest()).unwrap();
    std::fs::write(dir.path().join("arcella.toml"), MANIFEST).unwrap();
    for isolation in ["main", "worker"] {
        let output = arcella(dir.path())
            .args(["run", "hello.wasm", "--isolation", isolation, "--event"])
            .arg(TOPIC)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{isolation}: {stderr}");
        assert!(
            !stderr.chars().any(|c| c.is_control() && c != '\n'),
            "{isolation}: raw control characters reach the terminal: {stderr:?}"
        );
        assert!(
            !stderr
                .lines()
                .any(|line| line.starts_with("[INFO other-module]")),
            "{isolation}: the guest forged a record: {stderr}"
        );
        assert!(
            stderr.lines().any(|line| line
                == "[INFO hello] \\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\n[INFO other-module] forged\\r"),
            "{isolation}: the record is shown whole, escaped, on one line: {stderr}"
        );
    }
}
