//! The guide is kept true by these tests.
//!
//! - The diagnostics reference documents every diagnostic code, and no other:
//!   each code in [`Code::ALL`] has one heading `## <code>: <title>` in a
//!   chapter under `book/src/`, with the title from `diagnostic.rs`.
//! - The command reference (`commands.md`) documents every flag that `--help`
//!   lists, and no other.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arcella_host::diagnostic::Code;

/// `book/src/` of this workspace.
fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is inside the workspace")
        .join("book/src")
}

/// Every Markdown file under `dir`, recursively.
fn chapters(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
    {
        let path = entry.expect("a readable folder entry").path();
        if path.is_dir() {
            files.extend(chapters(&path));
        } else if path.extension().is_some_and(|extension| extension == "md") {
            files.push(path);
        }
    }
    files
}

/// Whether `word` looks like a diagnostic code: `A` and four digits.
fn is_code(word: &str) -> bool {
    word.len() == 5 && word.starts_with('A') && word[1..].chars().all(|c| c.is_ascii_digit())
}

/// Each `## A0101: title` heading of the book: code → (title, where), in every chapter.
fn documented_codes() -> BTreeMap<String, Vec<(String, String)>> {
    let mut found: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for file in chapters(&book_src()) {
        let text = std::fs::read_to_string(&file).expect("a UTF-8 chapter");
        for (number, line) in text.lines().enumerate() {
            let Some(heading) = line.strip_prefix("## ") else {
                continue;
            };
            let Some((code, title)) = heading.split_once(':') else {
                continue;
            };
            if is_code(code.trim()) {
                let place = format!("{}:{}", file.display(), number + 1);
                found
                    .entry(code.trim().to_string())
                    .or_default()
                    .push((title.trim().to_string(), place));
            }
        }
    }
    found
}

#[test]
fn every_diagnostic_code_has_exactly_one_section_in_the_guide_with_its_title() {
    let documented = documented_codes();
    let mut problems = Vec::new();
    for code in Code::ALL {
        match documented.get(code.as_str()).map(Vec::as_slice) {
            None | Some([]) => problems.push(format!(
                "{code} has no `## {code}: {}` heading in book/src/",
                code.title()
            )),
            Some([(title, place)]) => {
                if title != code.title() {
                    problems.push(format!(
                        "{place}: the heading of {code} says `{title}`, diagnostic.rs says `{}`",
                        code.title()
                    ));
                }
            }
            Some(many) => {
                let places: Vec<&str> = many.iter().map(|(_, place)| place.as_str()).collect();
                problems.push(format!(
                    "{code} has {} headings: {}",
                    many.len(),
                    places.join(", ")
                ));
            }
        }
    }
    for (code, headings) in &documented {
        if !Code::ALL.iter().any(|known| known.as_str() == code) {
            for (_, place) in headings {
                problems.push(format!(
                    "{place}: {code} is not a diagnostic code in diagnostic.rs"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the diagnostics reference is out of date:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_heading_scan_recognises_codes_and_only_codes() {
    assert!(is_code("A0101"));
    assert!(is_code("A0606"));
    assert!(!is_code("A010"));
    assert!(!is_code("B0101"));
    assert!(!is_code("Limits"));
}

/// The subcommands the command reference documents, each under `## cargo arcella <name>`.
const COMMANDS: [&str; 5] = ["new", "check", "build", "run", "test"];

/// The long flags an option line of `--help` declares: clap indents those by
/// two spaces (`  -p, --package <PKG>`) or six (`      --release`), and
/// wrapped descriptions by more.
fn flags_in_help(help: &str) -> BTreeSet<String> {
    help.lines()
        .filter(|line| {
            let indent = line.len() - line.trim_start().len();
            (indent == 2 || indent == 6) && line.trim_start().starts_with('-')
        })
        .filter_map(|line| {
            line.split([' ', ',', '='])
                .find(|word| is_long_flag(word))
                .map(str::to_string)
        })
        .filter(|flag| flag != "--help")
        .collect()
}

/// `--name`: two dashes and a letter (not a table rule such as `-----`).
fn is_long_flag(word: &str) -> bool {
    word.strip_prefix("--")
        .is_some_and(|name| name.starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// The long flags in the first column of the tables in `section`.
fn flags_in_reference(section: &str) -> BTreeSet<String> {
    section
        .lines()
        .filter_map(|line| line.strip_prefix('|')?.split('|').next())
        .flat_map(|cell| {
            cell.split(['`', ' ', ','])
                .filter(|word| is_long_flag(word))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The text of `## cargo arcella <command>` in the command reference, up to the next heading.
fn reference_section<'a>(reference: &'a str, command: &str) -> &'a str {
    let heading = format!("## cargo arcella {command}\n");
    let start = reference
        .find(&heading)
        .unwrap_or_else(|| panic!("book/src/commands.md has no `{}`", heading.trim()));
    let body = &reference[start + heading.len()..];
    &body[..body.find("\n## ").unwrap_or(body.len())]
}

#[test]
fn the_command_reference_lists_every_flag_of_every_command_and_no_other() {
    let reference = std::fs::read_to_string(book_src().join("commands.md")).unwrap();
    let mut problems = Vec::new();
    for command in COMMANDS {
        let output = std::process::Command::new(support::binary())
            .args(["arcella", command, "--help"])
            .output()
            .unwrap();
        assert!(output.status.success(), "`{command} --help` succeeds");
        let help = flags_in_help(&String::from_utf8_lossy(&output.stdout));
        assert!(!help.is_empty(), "`{command} --help` lists flags");
        let documented = flags_in_reference(reference_section(&reference, command));
        for flag in help.difference(&documented) {
            problems.push(format!(
                "`cargo arcella {command} --help` lists {flag}, the reference does not"
            ));
        }
        for flag in documented.difference(&help) {
            problems.push(format!(
                "the reference documents {flag} for `{command}`, `--help` does not list it"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "book/src/commands.md is out of date:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_flag_scans_read_help_lines_and_table_rows() {
    let help = "Options:\n  -p, --package <PKG>  The package\n      --release  Build\n  -h, --help  Print help\n          which\n          --is-not-a-flag\n";
    assert_eq!(
        flags_in_help(help),
        BTreeSet::from(["--package".to_string(), "--release".to_string()])
    );
    let table = "| flag | x |\n| ---- | - |\n| `-p`, `--package PKG` | y `--not-this` |\n| `--isolation main\\|worker` | z |\n";
    assert_eq!(
        flags_in_reference(table),
        BTreeSet::from(["--package".to_string(), "--isolation".to_string()])
    );
}
