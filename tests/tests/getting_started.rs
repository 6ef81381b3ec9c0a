//! The guide's getting-started chapter, run as a new user would run it.
//!
//! Every `console` block of `book/src/getting-started.md` holds `$ command`
//! lines, each followed by the output the guide shows for it. This test runs
//! the commands in order in a temporary folder and compares each output with
//! the guide's, after [`normalize`] has evened out what differs between
//! machines and runs (paths, timings, sizes, hashes, the dependencies cargo
//! happened to compile). A `...` line in the guide stands for any number of
//! lines.
//!
//! The installation block (`git clone`, `cd arcella`, `cargo install`) is not
//! run: the test uses the `cargo-arcella` built from this workspace.

mod support;

use std::path::{Path, PathBuf};

use support::target_dir;

/// One `$ command` of the guide and the output shown under it.
#[derive(Debug)]
struct Example {
    command: String,
    expected: Vec<String>,
    /// Line of the command in the chapter, for failure messages.
    line: usize,
}

/// The commands of every `console` block in `markdown`, in order.
fn examples(markdown: &str) -> Vec<Example> {
    let mut examples: Vec<Example> = Vec::new();
    let mut in_console = false;
    for (number, line) in markdown.lines().enumerate() {
        if line.starts_with("```") {
            in_console = !in_console && line.trim_start_matches('`').trim() == "console";
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            examples.push(Example {
                command: command.trim().to_string(),
                expected: Vec::new(),
                line: number + 1,
            });
        } else if let Some(example) = examples.last_mut() {
            example.expected.push(line.to_string());
        }
    }
    examples
}

/// Whether `command` is part of installing Arcella, which the test does not repeat.
fn is_installation(command: &str) -> bool {
    command.starts_with("git clone ")
        || command == "cd arcella"
        || command == "cargo install --locked --path cargo-arcella"
}

/// Splits a command line into words, honouring single and double quotes.
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in command.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Runs `args` (after `cargo arcella`) in `dir`; returns stdout and stderr
/// interleaved as a terminal shows them, and the exit code.
fn run_arcella(dir: &Path, args: &[String]) -> (String, Option<i32>) {
    let (mut reader, writer) = std::io::pipe().unwrap();
    let mut command = support::arcella_command(dir);
    command
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir().join("e2e"))
        .env_remove("INSTA_UPDATE")
        .env_remove("INSTA_FORCE_PASS")
        .stdin(std::process::Stdio::null())
        .stdout(writer.try_clone().unwrap())
        .stderr(writer);
    let mut child = command.spawn().unwrap();
    // The pipe ends when the child and every process it started have exited.
    drop(command);
    let mut output = String::new();
    std::io::Read::read_to_string(&mut reader, &mut output).unwrap();
    let status = child.wait().unwrap();
    (output, status.code())
}

/// Lines as the comparison sees them: machine paths become the guide's
/// `/home/you`, timings, sizes and hashes placeholders, the progress lines
/// of dependencies (which depend on what cargo had already built) dropped,
/// runs of `test … ok` lines sorted, since tests finish in any order, and
/// trailing blank lines dropped.
fn normalize(text: &str, replacements: &[(String, &str)]) -> Vec<String> {
    let mut text = text.to_string();
    for (from, to) in replacements {
        text = text.replace(from.as_str(), to);
    }
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let progress = [
            "Compiling ",
            "Downloaded ",
            "Downloading ",
            "Locking ",
            "Adding ",
            "Updating ",
            "Blocking ",
            "Checking ",
        ]
        .iter()
        .any(|word| trimmed.starts_with(word));
        if progress && !trimmed.contains("/home/you") {
            continue;
        }
        lines.push(placeholders(line.trim_end()));
    }
    sort_test_runs(&mut lines);
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// `line` with its timings, sizes and artifact hashes made placeholders.
fn placeholders(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let mut out = Vec::with_capacity(words.len());
    for (index, word) in words.iter().enumerate() {
        let core = word.trim_start_matches('(');
        let lead = &word[..word.len() - core.len()];
        let core = core.trim_end_matches([')', ',', ';']);
        let tail = &word[lead.len() + core.len()..];
        let next = words.get(index + 1).copied().unwrap_or_default();
        let unit = next.trim_end_matches([')', ',', ';']);
        // Cargo writes long builds as `5m 12.31s`: the minutes join the seconds' placeholder.
        if lead.is_empty() && core.strip_suffix('m').is_some_and(is_number) && is_duration(unit) {
            continue;
        }
        let core = if is_duration(core) {
            "[TIME]".to_string()
        } else if is_number(core) && ["B", "KiB", "MiB"].contains(&unit) {
            "[SIZE]".to_string()
        } else if let Some((stem, hash)) = core.rsplit_once('-')
            && hash.len() == 16
            && hash.chars().all(|c| c.is_ascii_hexdigit())
        {
            format!("{stem}-[HASH]")
        } else {
            core.to_string()
        };
        out.push(format!("{lead}{core}{tail}"));
    }
    out.join(" ")
}

/// `12`, `0.52`.
fn is_number(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit())
        && text.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// `12.31s`, `5ms`.
fn is_duration(text: &str) -> bool {
    text.strip_suffix("ms")
        .or_else(|| text.strip_suffix('s'))
        .is_some_and(is_number)
}

/// Sorts each run of consecutive `test <name> ... <result>` lines.
fn sort_test_runs(lines: &mut [String]) {
    let mut start = 0;
    while start < lines.len() {
        let mut end = start;
        while end < lines.len() && lines[end].starts_with("test ") && lines[end].contains(" ... ") {
            end += 1;
        }
        lines[start..end].sort();
        start = end.max(start + 1);
    }
}

/// Whether `actual` reads as `expected`, where a `...` line in `expected`
/// matches any number of lines.
fn matches(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|skip| matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => {
            actual.first().is_some_and(|line| line == first) && matches(rest, &actual[1..])
        }
    }
}

fn chapter() -> (PathBuf, String) {
    let path = support::workspace().join("book/src/getting-started.md");
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

#[test]
fn the_getting_started_chapter_runs_as_written_and_shows_the_real_output() {
    let (path, text) = chapter();
    let examples = examples(&text);
    assert!(
        examples
            .iter()
            .any(|example| example.command.starts_with("cargo arcella test")),
        "the chapter walks through `cargo arcella test`: {examples:#?}"
    );
    let home = tempfile::TempDir::new().unwrap();
    let mut cwd = home.path().to_path_buf();
    let home_path = std::fs::canonicalize(home.path()).unwrap();
    // Cargo shows its target folder relative to the crate when it is the
    // crate's own `target/`, as it is for the guide's reader.
    let replacements = [
        (
            format!("{}/", target_dir().join("e2e").display()),
            "target/",
        ),
        (home_path.display().to_string(), "/home/you"),
        (home.path().display().to_string(), "/home/you"),
    ];
    let mut ran = 0;
    for example in &examples {
        let place = format!("{}:{}", path.display(), example.line);
        if is_installation(&example.command) {
            continue;
        }
        let words = words(&example.command);
        match words.as_slice() {
            [cd, dir] if cd == "cd" => {
                cwd = cwd.join(dir);
                assert!(cwd.is_dir(), "{place}: `cd {dir}`: there is no such folder");
            }
            [cargo, arcella, args @ ..] if cargo == "cargo" && arcella == "arcella" => {
                let (output, code) = run_arcella(&cwd, args);
                assert_eq!(
                    code,
                    Some(0),
                    "{place}: `{}` failed:\n{output}",
                    example.command
                );
                let expected = normalize(&example.expected.join("\n"), &[]);
                let actual = normalize(&output, &replacements);
                assert!(
                    matches(&expected, &actual),
                    "{place}: `{}` printed what the guide does not show.\n\
                     ----- the guide, normalized -----\n{}\n\
                     ----- the real output, normalized -----\n{}\n\
                     ----- the real output -----\n{output}",
                    example.command,
                    expected.join("\n"),
                    actual.join("\n"),
                );
                ran += 1;
            }
            _ => panic!(
                "{place}: the chapter runs `{}`, which this test does not know how to run",
                example.command
            ),
        }
    }
    assert!(ran >= 4, "new, build, run and test were all run: {ran}");
}

#[test]
fn the_walkthrough_reader_splits_commands_and_outputs() {
    let markdown = "text\n```console\n$ cargo arcella new hello\n    Created it\n$ cd hello\n```\n```text\n$ not a command\n```\n";
    let found = examples(markdown);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].command, "cargo arcella new hello");
    assert_eq!(found[0].expected, ["    Created it"]);
    assert_eq!(found[1].command, "cd hello");
    assert_eq!(
        words(r#"cargo arcella run --invoke 'handle("greet", [104])'"#),
        [
            "cargo",
            "arcella",
            "run",
            "--invoke",
            r#"handle("greet", [104])"#
        ]
    );
}

#[test]
fn normalizing_evens_out_timings_sizes_hashes_and_dependencies() {
    let text = "   Compiling wit-bindgen v0.62.0\n   Compiling hello v0.1.0 (/tmp/x/hello)\n    Finished `dev` profile in 12.31s\n    Finished `test` profile in 5m 02.50s\n     Running tests/behaviour.rs (target/debug/deps/behaviour-0123456789abcdef)\ntest b ... ok\ntest a ... ok\nwrote target/arcella/hello.wasm (81.2 KiB, module)\ntest result: ok. 2 passed; finished in 0.52s";
    let lines = normalize(text, &[("/tmp/x".to_string(), "/home/you")]);
    assert_eq!(
        lines,
        [
            "   Compiling hello v0.1.0 (/home/you/hello)",
            "    Finished `dev` profile in [TIME]",
            "    Finished `test` profile in [TIME]",
            "     Running tests/behaviour.rs (target/debug/deps/behaviour-[HASH])",
            "test a ... ok",
            "test b ... ok",
            "wrote target/arcella/hello.wasm ([SIZE] KiB, module)",
            "test result: ok. 2 passed; finished in [TIME]",
        ]
    );
    let expected: Vec<String> = ["first", "...", "last"].map(String::from).to_vec();
    let actual: Vec<String> = ["first", "a", "b", "last"].map(String::from).to_vec();
    assert!(matches(&expected, &actual));
    assert!(!matches(&expected, &actual[..3]));
}
